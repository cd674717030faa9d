package console_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/xuri/excelize/v2"
)

// In the browser, an operator uploads a Windows-1252 CSV with good and bad
// lines, follows the progress then reads the report, downloads the
// rejected lines, fixes and uploads them again; the same with an .xlsx; opens the correction of a
// line and sees a refusal next to its field. The hub, the report and the
// correction page pass the accessibility check.
func TestBrowserReportHours(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short (make test-fast); make test and CI run it")
	}
	sc := repSetup(t)
	e := sc.e
	dir := t.TempDir()
	tab := bt.Browser(t)
	browserLogin(t, e, tab, "operator", "op-1")
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "Déclarer des heures") || !strings.Contains(got, "Mes relevés") {
		t.Errorf("the operator's home lacks the report links: %q", got)
	}

	bt.Navigate(t, tab, e.URL+"/declarations")
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "declaration-heures")

	// Many good lines (so that the import takes a moment) and three bad.
	var b strings.Builder
	b.WriteString("Identifiant;Nom;Date;Durée (h);Activité\r\n")
	for i := range 1200 {
		who := sc.ines
		if i%2 == 1 {
			who = sc.marc
		}
		b.WriteString(who + ";;" + repDay(sc.today.AddDays(-1-i%20)) + ";0,1;Formation à distance\r\n")
	}
	b.WriteString(sc.paul + ";Petit Paul;" + repDay(sc.today.AddDays(-2)) + ";1;présentiel\r\n")                  // 1202: not enrolled
	b.WriteString(sc.ines + ";Lefèvre Inès;" + repDay(sc.today.AddDays(3)) + ";1;présentiel\r\n")                 // 1203: future
	b.WriteString(sc.marc + ";Durand Marc;" + repDay(sc.today.AddDays(-3)) + ";3 heures et demie;Évaluation\r\n") // 1204: unreadable
	file := filepath.Join(dir, "heures-été.csv")
	if err := os.WriteFile(file, repCP1252(t, b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	bt.Upload(t, tab, "#fichier", file)
	bt.SubmitForm(t, tab, "#fichier")
	if !strings.Contains(bt.Location(t, tab), "/declarations/import/") {
		t.Fatalf("after the upload: %s", bt.Location(t, tab))
	}
	// The page may already be the report, or reload any moment: the
	// progress is only read, not checked further.
	if p := bt.Eval[string](t, tab, `(document.getElementById("import-progress-text") || {}).textContent || ""`); p != "" {
		t.Logf("progress seen: %s", p)
	}
	bt.WaitVisible(t, tab, "#totaux") // the script reloads the page once finished
	// Read the finished report from a fresh load: the document the script
	// reloaded may still be settling, and chromedp's node ids with it.
	bt.Navigate(t, tab, bt.Location(t, tab))
	if got := strings.Join(strings.Fields(bt.Text(t, tab, "#totaux")), " "); !strings.Contains(got, "1 200 lignes acceptées") || !strings.Contains(got, "3 lignes rejetées") {
		t.Errorf("totals: %q", got)
	}
	for line, want := range map[string]string{
		"1202": "pas inscrit", "1203": "postérieure à aujourd'hui", "1204": "durée invalide",
	} {
		if got := bt.Text(t, tab, "#ligne-"+line); !strings.Contains(got, want) {
			t.Errorf("line %s: %q lacks %q", line, got, want)
		}
	}
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "declaration-heures-resultat")

	// The rejects, as the download link gives them.
	status, body, ctype := bt.Fetch(t, tab, bt.Location(t, tab)+"/rejets")
	if status != 200 || !strings.Contains(ctype, "windows-1252") {
		t.Fatalf("rejects: %d %s", status, ctype)
	}
	text, _ := charmap.Windows1252.NewDecoder().Bytes(body)
	cr := csv.NewReader(bytes.NewReader(text))
	cr.Comma = ';'
	records, err := cr.ReadAll()
	if err != nil || len(records) != 4 || records[0][len(records[0])-1] != "Motif du rejet" {
		t.Fatalf("rejects: %v\n%s", err, text)
	}
	records[1][0] = sc.ines                      // the right learner
	records[2][2] = repDay(sc.today.AddDays(-3)) // a past day
	records[3][3] = "3,5"                        // a duration
	var fixed bytes.Buffer
	cw := csv.NewWriter(&fixed)
	cw.Comma = ';'
	_ = cw.WriteAll(records)
	fixedFile := filepath.Join(dir, "heures-été-rejets.csv")
	if err := os.WriteFile(fixedFile, repCP1252(t, fixed.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	bt.Navigate(t, tab, e.URL+"/declarations")
	bt.Upload(t, tab, "#fichier", fixedFile)
	bt.SubmitForm(t, tab, "#fichier")
	bt.WaitVisible(t, tab, "#totaux")
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "Aucune ligne rejetée") {
		t.Fatalf("the fixed rejects: %q", got)
	}

	// An .xlsx file: a good line and one with an unknown activity; its
	// rejects come back as .xlsx, fixed and sent again.
	day := time.Date(sc.today.Year, sc.today.Month, sc.today.Day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -4)
	x := excelize.NewFile()
	sh := x.GetSheetName(0)
	_ = x.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Minutes", "Activité"})
	_ = x.SetSheetRow(sh, "A2", &[]any{sc.ines, day, 45, "Entretien individuel"})
	_ = x.SetSheetRow(sh, "A3", &[]any{sc.marc, day, 50, "Cuisine"})
	style, _ := x.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	_ = x.SetCellStyle(sh, "B2", "B3", style)
	xlsxFile := filepath.Join(dir, "heures.xlsx")
	if err := x.SaveAs(xlsxFile); err != nil {
		t.Fatal(err)
	}
	bt.Navigate(t, tab, e.URL+"/declarations")
	bt.Upload(t, tab, "#fichier", xlsxFile)
	bt.SubmitForm(t, tab, "#fichier")
	bt.WaitVisible(t, tab, "#totaux")
	bt.Navigate(t, tab, bt.Location(t, tab))
	if got := bt.Text(t, tab, "#ligne-3"); !strings.Contains(got, "activité inconnue") {
		t.Errorf("xlsx line 3: %q", got)
	}
	status, body, _ = bt.Fetch(t, tab, bt.Location(t, tab)+"/rejets")
	rejects, err := excelize.OpenReader(bytes.NewReader(body))
	if status != 200 || err != nil {
		t.Fatalf("xlsx rejects: %d %v", status, err)
	}
	rows, _ := rejects.GetRows(rejects.GetSheetName(0))
	if len(rows) != 2 || rows[0][len(rows[0])-1] != "Motif du rejet" || rows[1][3] != "Cuisine" {
		t.Fatalf("xlsx rejects: %q", rows)
	}
	_ = rejects.SetCellValue(rejects.GetSheetName(0), "D2", "Formation en présentiel")
	if err := rejects.SaveAs(filepath.Join(dir, "heures-rejets.xlsx")); err != nil {
		t.Fatal(err)
	}
	bt.Navigate(t, tab, e.URL+"/declarations")
	bt.Upload(t, tab, "#fichier", filepath.Join(dir, "heures-rejets.xlsx"))
	bt.SubmitForm(t, tab, "#fichier")
	bt.WaitVisible(t, tab, "#totaux")
	bt.Navigate(t, tab, bt.Location(t, tab))
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "Aucune ligne rejetée") {
		t.Fatalf("the fixed xlsx rejects: %q", got)
	}

	// Correct an accepted line: a refusal next to its field first.
	if !bt.Eval[bool](t, tab, `document.querySelector("details").open`) {
		bt.Click(t, tab, "details summary")
	}
	bt.ClickAndWait(t, tab, `details a[href^="/declarations/correction"]`)
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "declaration-correction")
	bt.Type(t, tab, "#duree", "0")
	bt.SubmitForm(t, tab, "#duree")
	if got := bt.Text(t, tab, "#motif-error"); !strings.Contains(got, "Motif refusé") {
		t.Fatalf("a correction without reason: %q", got)
	}
	bt.CheckAccessibility(t, tab)
	bt.Type(t, tab, "#motif", "Séance annulée, saisie par erreur.")
	bt.SubmitForm(t, tab, "#motif")
	if loc := bt.Location(t, tab); !strings.Contains(loc, "/releves/"+sc.contract+"/") {
		t.Fatalf("after the correction: %s", loc)
	}
}
