package sheet

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// sp writes test expectations with "_" standing for U+00A0.
func sp(s string) string { return strings.ReplaceAll(s, "_", "\u00a0") }

const (
	theo = "0b8e6f1c-5d2a-4c3e-9f10-1a2b3c4d5e6f"
	zoe  = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
)

func day(y int, m time.Month, d int) civil.Date { return civil.Date{Year: y, Month: m, Day: d} }

func TestParseHours(t *testing.T) {
	ok := []struct {
		in   string
		want int32
	}{
		{"7", 420}, {"7 h", 420}, {"7h", 420}, {"7 heures", 420}, {"1 heure", 60}, {"0", 0},
		{"3,5", 210}, {"3.5", 210}, {"3,50", 210}, {"3,5 h", 210}, {"0,25", 15}, {"1,75", 105},
		{"0,1", 6}, {"2,05", 123}, {"7,000000000", 420},
		{"3 h 30", 210}, {"3h30", 210}, {"3H30", 210}, {"3 h 05", 185}, {"3h30min", 210},
		{"3:30", 210}, {"36:00", 2160}, {"0:45", 45}, {"3:30:00", 210},
		{"45 min", 45}, {"45min", 45}, {"90 minutes", 90},
		{"\u00a07\u00a0h\u202f30 ", 450},
	}
	for _, c := range ok {
		got, err := ParseHours(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseHours(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "durée manquante_: attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"  ", "durée manquante_: attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"3,33", "durée invalide_: « 3,33 » heures ne font pas un nombre entier de minutes (3,5 fait 210_min, 3,25 fait 195_min)"},
		{"0,001", "durée invalide_: « 0,001 » heures ne font pas un nombre entier de minutes (3,5 fait 210_min, 3,25 fait 195_min)"},
		{"3h75", "durée invalide_: « 3h75 »_; les minutes vont de 00 à 59"},
		{"3:60", "durée invalide_: « 3:60 »_; les minutes vont de 00 à 59"},
		{"3:30:15", "durée invalide_: « 3:30:15 »_; pas de secondes, des minutes entières"},
		{"3h5", "durée invalide_: « 3h5 »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"-2", "durée invalide_: « -2 »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"trois", "durée invalide_: « trois »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"3,5,5", "durée invalide_: « 3,5,5 »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
		{"12345", "durée invalide_: « 12345 »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30"},
	}
	for _, c := range bad {
		got, err := ParseHours(c.in)
		if err == nil || err.Error() != sp(c.want) {
			t.Errorf("ParseHours(%q) = %d, %v; want error %q", c.in, got, err, sp(c.want))
		}
	}
}

func csvTable(t testing.TB, text string) *Table {
	t.Helper()
	return mustRead(t, []byte(text))
}

func TestHourLinesColumns(t *testing.T) {
	want := func(ref string) []HourLine {
		return []HourLine{{
			Line: 2, LearnerID: theo, Date: day(2026, 3, 5), Minutes: 210,
			Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, OperatorLineID: ref,
		}}
	}
	cases := []struct {
		name, text string
		ref        string
	}{
		{"French", "Identifiant;Date;Durée (min);Activité;Référence\n" + theo + ";05/03/2026;210;Formation en présentiel;L-1\n", "L-1"},
		{"English", "learner_id,date,minutes,activity,operator_line_id\n" + theo + ",2026-03-05,210,ACTIVITY_TYPE_FACE_TO_FACE,L-1\n", "L-1"},
		{"upper case, no accents, hours", "ID STAGIAIRE;JOUR;DUREE;TYPE;N° LIGNE\n" + theo + ";5/3/2026;3,5;formation en presentiel;L-1\n", "L-1"},
		{"other synonyms, extra columns, no reference", "Nom;Stagiaire;Date de la séance;Heures;Type d'activité;Commentaire\nMartin;" + theo + ";05.03.2026;3h30;1;rien\n", ""},
		{"Nº and hours in 3 h 30", "learner;day;hours;activity;Nº ligne\n" + theo + ";05/03/2026;3 h 30;face to face;L-1\n", "L-1"},
		{"a Motif du rejet column is ignored", "Identifiant;Date;Minutes;Activité;Motif du rejet\n" + theo + ";05/03/2026;210;Présentiel;date invalide\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := csvTable(t, c.text)
			lines, problems := HourLines(tb)
			if problems != nil {
				t.Fatalf("problems %+v", problems)
			}
			for i := range lines {
				lines[i].Raw = nil
			}
			if w := want(c.ref); !reflect.DeepEqual(lines, w) {
				t.Errorf("lines\n got %+v\nwant %+v", lines, w)
			}
		})
	}
}

func TestHourLinesHeaderProblems(t *testing.T) {
	cases := []struct {
		name, text string
		want       []Problem
	}{
		{"all missing", "Nom;Prénom\nMartin;Théo\n", []Problem{{Line: 1, Message: sp(
			"colonnes manquantes_: identifiant du stagiaire (« identifiant »), date (« date »), durée (« minutes » ou « heures »), activité (« activité »)")}}},
		{"one missing", "identifiant;date;heures\nx;y;z\n", []Problem{{Line: 1, Message: sp("colonne manquante_: activité (« activité »)")}}},
		{"header after a sep line", "sep=;\nidentifiant;date;activité\nx;y;z\n", []Problem{{Line: 2, Message: sp("colonne manquante_: durée (« minutes » ou « heures »)")}}},
		{"minutes and hours", "identifiant;date;minutes;heures;activité\nx;y;z;t;u\n", []Problem{{Line: 1, Message: sp(
			"colonnes « minutes » et « heures »_: la durée doit être dans une seule colonne, en minutes ou en heures")}}},
		{"two date columns", "identifiant;Date;Jour;minutes;activité\nx;y;z;t;u\n", []Problem{{Line: 1, Message: sp(
			"colonnes « Date » et « Jour »_: toutes deux lues comme date (« date »)_; n'en gardez qu'une")}}},
		{"no row", "identifiant;date;minutes;activité\n", []Problem{{Line: 1, Message: "aucune ligne sous l'en-tête"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, problems := HourLines(csvTable(t, c.text))
			if lines != nil || !reflect.DeepEqual(problems, c.want) {
				t.Errorf("HourLines = %v, %+v; want no line, %+v", lines, problems, c.want)
			}
		})
	}
}

func TestHourLinesValues(t *testing.T) {
	const header = "Identifiant;Date;Heures;Activité;Référence\n"
	cases := []struct {
		name, row string
		want      []Problem // at line 2
	}{
		{"learner missing", ";05/03/2026;3,5;1;R1", []Problem{{Column: "Identifiant", Message: "identifiant du stagiaire manquant"}}},
		{"learner not an id", "Théo Martin;05/03/2026;3,5;1;R1", []Problem{{Column: "Identifiant", Message: sp(
			"identifiant du stagiaire invalide_: « Théo Martin »_; attendu l'identifiant avenir du stagiaire, 32 chiffres et lettres de a à f en groupes 8-4-4-4-12")}}},
		{"date missing", theo + ";;3,5;1;R1", []Problem{{Column: "Date", Message: sp("date manquante_: attendu JJ/MM/AAAA")}}},
		{"date that does not exist", theo + ";31/02/2026;3,5;1;R1", []Problem{{Column: "Date", Message: sp("date invalide_: le 31/02/2026 n'existe pas")}}},
		{"date in another format", theo + ";March 5;3,5;1;R1", []Problem{{Column: "Date", Message: sp(`date invalide_: "March 5", attendu JJ/MM/AAAA`)}}},
		{"hours not whole minutes", theo + ";05/03/2026;3,33;1;R1", []Problem{{Column: "Heures", Message: sp(
			"durée invalide_: « 3,33 » heures ne font pas un nombre entier de minutes (3,5 fait 210_min, 3,25 fait 195_min)")}}},
		{"activity missing", theo + ";05/03/2026;3,5;;R1", []Problem{{Column: "Activité", Message: sp(
			"activité manquante_: attendu Formation en présentiel, Formation à distance, Entretien individuel, Évaluation, positionnement, Mise en situation en entreprise ou sur plateau technique (ou leur numéro, de 1 à 5)")}}},
		{"activity unknown", theo + ";05/03/2026;3,5;9;R1", []Problem{{Column: "Activité", Message: sp(
			"activité inconnue_: « 9 »_; attendu Formation en présentiel, Formation à distance, Entretien individuel, Évaluation, positionnement, Mise en situation en entreprise ou sur plateau technique (ou leur numéro, de 1 à 5)")}}},
		{"every value wrong", "x;y;z;w;a b", []Problem{
			{Column: "Identifiant", Message: sp("identifiant du stagiaire invalide_: « x »_; attendu l'identifiant avenir du stagiaire, 32 chiffres et lettres de a à f en groupes 8-4-4-4-12")},
			{Column: "Date", Message: sp(`date invalide_: "y", attendu JJ/MM/AAAA`)},
			{Column: "Heures", Message: sp("durée invalide_: « z »_; attendu des heures_: 7, 3,5, 3_h_30 ou 3:30")},
			{Column: "Activité", Message: sp("activité inconnue_: « w »_; attendu Formation en présentiel, Formation à distance, Entretien individuel, Évaluation, positionnement, Mise en situation en entreprise ou sur plateau technique (ou leur numéro, de 1 à 5)")},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, problems := HourLines(csvTable(t, header+c.row+"\n"))
			for i := range c.want {
				c.want[i].Line = 2
			}
			if lines != nil || !reflect.DeepEqual(problems, c.want) {
				t.Errorf("HourLines = %+v,\n%+v\nwant no line,\n%+v", lines, problems, c.want)
			}
		})
	}
}

// What funding decides of a line that reads well is left to funding: no
// duration is too short or too long for the file, no reference has a wrong
// form; HourLines reads them as they are.
func TestHourLinesLeaveFundingRulesToFunding(t *testing.T) {
	text := "Identifiant;Date;Heures;Activité;Référence\n" +
		theo + ";05/03/2026;0;1;R1\n" +
		theo + ";05/03/2026;25;1;R2\n" +
		theo + ";05/03/2026;3,5;1;R 3\n" +
		theo + ";05/03/2026;3,5;1;" + strings.Repeat("é", 33) + "\n"
	lines, problems := HourLines(csvTable(t, text))
	if problems != nil {
		t.Fatalf("problems %+v", problems)
	}
	var got []string
	for _, l := range lines {
		got = append(got, strconv.Itoa(int(l.Minutes))+" "+l.OperatorLineID)
	}
	want := []string{"0 R1", "1500 R2", "210 R 3", "210 " + strings.Repeat("é", 33)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestHourLinesMixed(t *testing.T) {
	text := "Identifiant;Date;Minutes;Activité;Référence\n" +
		strings.ToUpper(theo) + "; 05/03/2026 ;210 min;Formation à distance;A1\n" + // 2: ok, id canonicalised
		"\n" +
		zoe + ";06/03/2026;3h30;distanciel;A2\n" + // 4: ok
		zoe + ";06/03/2026;3,5;Évaluation;A3\n" + // 5: minutes column refuses decimals
		zoe + ";07/03/2026;1500;entretien;A1\n" + // 6: reference used at line 2 (1500 min: funding's to refuse)
		"{" + zoe + "};08/03/2026;60;WORKPLACE;\n" + // 7: ok, no reference
		zoe + ";09/03/2026;60;4;\n" // 8: ok, empty references are not duplicates
	lines, problems := HourLines(csvTable(t, text))
	var got []string
	for _, l := range lines {
		got = append(got, strings.Join([]string{
			strconv.Itoa(l.Line), l.LearnerID, l.Date.String(), strconv.Itoa(int(l.Minutes)), l.Activity.String(), l.OperatorLineID,
		}, " "))
	}
	want := []string{
		"2 " + theo + " 2026-03-05 210 ACTIVITY_TYPE_DISTANCE A1",
		"4 " + zoe + " 2026-03-06 210 ACTIVITY_TYPE_DISTANCE A2",
		"7 " + zoe + " 2026-03-08 60 ACTIVITY_TYPE_WORKPLACE ",
		"8 " + zoe + " 2026-03-09 60 ACTIVITY_TYPE_ASSESSMENT ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
	if raw := lines[0].Raw; raw[1] != " 05/03/2026 " {
		t.Errorf("Raw keeps the cells as read: %q", raw)
	}
	wantProblems := []Problem{
		{Line: 5, Column: "Minutes", Message: sp(`durée invalide_: "3,5", précisez l'unité (3,5 h pour des heures)`)},
		{Line: 6, Column: "Référence", Message: "référence « A1 » déjà utilisée à la ligne 2"},
	}
	if !reflect.DeepEqual(problems, wantProblems) {
		t.Errorf("problems\n got %+v\nwant %+v", problems, wantProblems)
	}
	reasons := RejectReasons(problems)
	wantReasons := map[int]string{
		5: sp(`Minutes_: durée invalide_: "3,5", précisez l'unité (3,5 h pour des heures)`),
		6: "Référence\u00a0: référence « A1 » déjà utilisée à la ligne 2",
	}
	if !reflect.DeepEqual(reasons, wantReasons) {
		t.Errorf("reasons\n got %v\nwant %v", reasons, wantReasons)
	}
}

func TestHourLinesXLSX(t *testing.T) {
	data := workbook(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Heures", "Activité", "Référence"}))
		must(t, f.SetSheetRow(sh, "A2", &[]any{theo, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 3.5, "Formation en présentiel", 1001}))
		must(t, f.SetSheetRow(sh, "A3", &[]any{zoe, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), 7, 2, 1002}))
		must(t, f.SetSheetRow(sh, "A4", &[]any{zoe, time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), 3.33, 2, 1003}))
		must(t, f.SetCellFloat(sh, "C5", 3.5/24, -1, 64))
		must(t, f.SetSheetRow(sh, "A5", &[]any{zoe, time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)}))
		must(t, f.SetSheetRow(sh, "D5", &[]any{"Entretien", "1004"}))
		date := style(t, f, custom("dd/mm/yyyy"))
		must(t, f.SetCellStyle(sh, "B2", "B5", date))
		must(t, f.SetCellStyle(sh, "C5", "C5", style(t, f, custom("h:mm"))))
	})
	lines, problems := HourLines(mustRead(t, data))
	for i := range lines {
		lines[i].Raw = nil
	}
	want := []HourLine{
		{Line: 2, LearnerID: theo, Date: day(2026, 3, 5), Minutes: 210, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, OperatorLineID: "1001"},
		{Line: 3, LearnerID: zoe, Date: day(2026, 3, 6), Minutes: 420, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, OperatorLineID: "1002"},
		{Line: 5, LearnerID: zoe, Date: day(2026, 3, 8), Minutes: 210, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW, OperatorLineID: "1004"},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines\n got %+v\nwant %+v", lines, want)
	}
	wantProblems := []Problem{{Line: 4, Column: "Heures", Message: sp(
		"durée invalide_: « 3,33 » heures ne font pas un nombre entier de minutes (3,5 fait 210_min, 3,25 fait 195_min)")}}
	if !reflect.DeepEqual(problems, wantProblems) {
		t.Errorf("problems %+v, want %+v", problems, wantProblems)
	}
}

func TestNormalise(t *testing.T) {
	cases := map[string]string{
		"Durée (min)":      "duree min",
		"  DURÉE-MIN ":     "duree min",
		"N° ligne":         "n ligne",
		"Nº ligne":         "no ligne",
		"learner_id":       "learner id",
		"Type d'activité":  "type d activite",
		"Réf. ligne":       "ref ligne",
		"Motif du rejet":   "motif du rejet",
		"ÉVALUATION":       "evaluation",
		"\u00a0Jour\u00a0": "jour",
	}
	for in, want := range cases {
		if got := normalise(in); got != want {
			t.Errorf("normalise(%q) = %q, want %q", in, got, want)
		}
	}
}
