package sheet

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// What HourLines checks is what it takes to read a value (a date that is a
// date, a duration that is a number of minutes or hours, a known activity, a
// learner id that is an id) and what only the file can tell (a reference
// used twice in it). What funding decides about a line that reads well (its
// minutes from 1 to a day, the form of a reference, enrolments, caps...) is
// funding's to say, line by line, in FundingService.ReportTraineeHours' answer.

// HourLine is one trainee-hour line of a spreadsheet, read: the fields of
// fundingv1.ReportedLine.
type HourLine struct {
	Line      int    // the row's line in the file
	LearnerID string // canonical lowercase UUID
	Date      civil.Date
	Minutes   int32 // as read, 0 included: funding bounds a line's minutes
	Activity  fundingv1.ActivityType
	// OperatorLineID is the operator's reference of the line, "" when the
	// file has no reference column or the cell is empty: the caller decides
	// (ask for one, or derive one). When given it is unique in the file
	// (trimmed of spaces); funding checks its form.
	OperatorLineID string
	Raw            []string // the row's cells as read
}

// Problem is why a row (or the header) cannot be reported.
type Problem struct {
	Line    int
	Column  string // the column's header as in the file; "" for the header itself
	Message string // French, to show as is
}

// field is a column HourLines looks for.
type field int

const (
	fieldLearner field = iota
	fieldDate
	fieldMinutes
	fieldHours
	fieldActivity
	fieldLineID
	fieldCount
)

// columnNames lists the headers each field is recognised by, normalised
// (see normalise): case, accents and punctuation do not matter, so
// « Durée (min) », « DUREE MIN » and « durée-min » all match "duree min".
var columnNames = [fieldCount][]string{
	fieldLearner: {
		"identifiant", "identifiant stagiaire", "identifiant du stagiaire", "id stagiaire", "id du stagiaire",
		"stagiaire", "identifiant apprenant", "id apprenant", "apprenant", "learner id", "learner", "learnerid",
	},
	fieldDate: {"date", "jour", "date seance", "date de seance", "date de la seance", "day"},
	fieldMinutes: {
		"minutes", "minute", "min", "duree min", "duree minutes", "duree en minutes", "nb minutes",
		"nombre de minutes", "temps min", "temps en minutes",
	},
	fieldHours: {
		"heures", "heure", "hours", "duree", "duree h", "duree heures", "duree en heures", "nb heures",
		"nb h", "nombre d heures", "nombre heures", "temps", "temps h", "temps en heures",
	},
	fieldActivity: {"activite", "type", "activity", "type d activite", "type activite", "activity type"},
	fieldLineID: {
		"reference", "ref", "ref ligne", "reference ligne", "reference de ligne", "operator line id", "n ligne",
		"no ligne", "num ligne", "numero ligne", "numero de ligne", "line id", "id ligne", "identifiant ligne",
	},
}

// fieldNames are the fields as French messages name them.
var fieldNames = [fieldCount]string{
	fieldLearner:  "identifiant du stagiaire (« identifiant »)",
	fieldDate:     "date (« date »)",
	fieldMinutes:  "durée en minutes (« minutes »)",
	fieldHours:    "durée en heures (« heures »)",
	fieldActivity: "activité (« activité »)",
	fieldLineID:   "référence de ligne (« référence »)",
}

var headerField = func() map[string]field {
	m := map[string]field{}
	for f, names := range columnNames {
		for _, n := range names {
			if _, dup := m[n]; dup {
				panic("sheet: header " + n + " names two fields")
			}
			m[n] = field(f)
		}
	}
	return m
}()

// normalise lowers s, removes its accents (compatibility decomposition, so
// « º » is « o »), turns anything but letters and digits into single spaces
// and trims it.
func normalise(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// activities maps a normalised activity, as people write it, to its value:
// the French label (fr.Options), the enum value name with or without its
// ACTIVITY_TYPE_ prefix, its number, and a few words operators use.
var activities, activityLabels = func() (map[string]fundingv1.ActivityType, []string) {
	m := map[string]fundingv1.ActivityType{}
	var labels []string
	add := func(s string, v fundingv1.ActivityType) {
		k := normalise(s)
		if old, dup := m[k]; dup && old != v {
			panic("sheet: activity " + s + " names two values")
		}
		m[k] = v
	}
	for _, o := range fr.Options(fundingv1.ActivityType(0).Descriptor()) {
		v := fundingv1.ActivityType(o.Value)
		add(o.Label, v)
		add(o.Name, v)
		add(strings.TrimPrefix(o.Name, "ACTIVITY_TYPE_"), v)
		add(strconv.Itoa(int(o.Value)), v)
		labels = append(labels, o.Label)
	}
	for s, v := range map[string]fundingv1.ActivityType{
		"présentiel": fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, "en présentiel": fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
		"distanciel": fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, "à distance": fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE,
		"FOAD":      fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE,
		"entretien": fundingv1.ActivityType_ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW, "entretien individuel": fundingv1.ActivityType_ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW,
		"évaluation": fundingv1.ActivityType_ACTIVITY_TYPE_ASSESSMENT, "positionnement": fundingv1.ActivityType_ACTIVITY_TYPE_ASSESSMENT,
		"mise en situation": fundingv1.ActivityType_ACTIVITY_TYPE_WORKPLACE, "entreprise": fundingv1.ActivityType_ACTIVITY_TYPE_WORKPLACE,
		"plateau technique": fundingv1.ActivityType_ACTIVITY_TYPE_WORKPLACE,
	} {
		add(s, v)
	}
	return m, labels
}()

// HourLines maps a table to trainee-hour lines. Columns are recognised by
// their header (columnNames: French or English, case, accents and
// punctuation ignored); other columns, « Motif du rejet » among them, are
// ignored. Required: the learner, the date, the duration in minutes or in
// hours (one column, not both) and the activity; the operator's line
// reference is optional (see HourLine.OperatorLineID).
//
// A header problem (missing, doubled or conflicting columns, no row) gives
// problems at the header line and no lines. Otherwise each row gives a line
// or, when a value is wrong, one problem per wrong value; problems come in
// line order.
func HourLines(t *Table) ([]HourLine, []Problem) {
	cols, problems := hourColumns(t)
	if problems != nil {
		return nil, problems
	}
	if len(t.Rows) == 0 {
		return nil, []Problem{{Line: t.HeaderLine, Message: "aucune ligne sous l'en-tête"}}
	}
	var lines []HourLine
	seen := map[string]int{} // operator line id → its first line
	for _, row := range t.Rows {
		ln := HourLine{Line: row.Line, Raw: row.Cells}
		var bad []Problem
		add := func(f field, msg string) {
			bad = append(bad, Problem{Line: row.Line, Column: t.Header[cols[f]], Message: msg})
		}
		cell := func(f field) string { return strings.Trim(row.Cell(cols[f]), spaces) }

		if id, msg := learnerID(cell(fieldLearner)); msg != "" {
			add(fieldLearner, msg)
		} else {
			ln.LearnerID = id
		}

		if d, err := fr.ParseDate(cell(fieldDate)); err != nil {
			add(fieldDate, err.Error())
		} else {
			ln.Date = d
		}

		durationField := fieldMinutes
		parse := fr.ParseMinutes
		if cols[fieldMinutes] < 0 {
			durationField, parse = fieldHours, ParseHours
		}
		if m, err := parse(cell(durationField)); err != nil {
			add(durationField, err.Error())
		} else {
			ln.Minutes = m
		}

		if a, msg := activity(cell(fieldActivity)); msg != "" {
			add(fieldActivity, msg)
		} else {
			ln.Activity = a
		}

		if cols[fieldLineID] >= 0 {
			id := cell(fieldLineID)
			switch {
			case id == "":
			case seen[id] != 0:
				add(fieldLineID, fmt.Sprintf("référence « %s » déjà utilisée à la ligne %d", id, seen[id]))
			default:
				seen[id] = row.Line
				ln.OperatorLineID = id
			}
		}

		if bad != nil {
			problems = append(problems, bad...)
			continue
		}
		lines = append(lines, ln)
	}
	return lines, problems
}

// hourColumns finds the column of each field (-1 when absent), or the
// problems of the header.
func hourColumns(t *Table) ([fieldCount]int, []Problem) {
	var cols [fieldCount]int
	for i := range cols {
		cols[i] = -1
	}
	var problems []Problem
	headerProblem := func(format string, args ...any) {
		problems = append(problems, Problem{Line: t.HeaderLine, Message: fmt.Sprintf(format, args...)})
	}
	for i, h := range t.Header {
		f, ok := headerField[normalise(h)]
		if !ok {
			continue
		}
		if j := cols[f]; j >= 0 {
			headerProblem("colonnes « %s » et « %s »%s: toutes deux lues comme %s%s; n'en gardez qu'une", t.Header[j], h, nbsp, fieldNames[f], nbsp)
			continue
		}
		cols[f] = i
	}
	if cols[fieldMinutes] >= 0 && cols[fieldHours] >= 0 {
		headerProblem("colonnes « %s » et « %s »%s: la durée doit être dans une seule colonne, en minutes ou en heures", t.Header[cols[fieldMinutes]], t.Header[cols[fieldHours]], nbsp)
	}
	var missing []string
	for _, f := range []field{fieldLearner, fieldDate, fieldMinutes, fieldActivity} {
		if cols[f] < 0 && (f != fieldMinutes || cols[fieldHours] < 0) {
			name := fieldNames[f]
			if f == fieldMinutes {
				name = "durée (« minutes » ou « heures »)"
			}
			missing = append(missing, name)
		}
	}
	if missing != nil {
		word := "colonne manquante"
		if len(missing) > 1 {
			word = "colonnes manquantes"
		}
		headerProblem("%s%s: %s", word, nbsp, strings.Join(missing, ", "))
	}
	return cols, problems
}

func learnerID(s string) (string, string) {
	if s == "" {
		return "", "identifiant du stagiaire manquant"
	}
	u, err := uuid.Parse(s)
	if err != nil || len(s) > 45 {
		return "", fmt.Sprintf("identifiant du stagiaire invalide%s: « %s »%s; attendu l'identifiant avenir du stagiaire, 32 chiffres et lettres de a à f en groupes 8-4-4-4-12", nbsp, clip(s), nbsp)
	}
	return u.String(), ""
}

func activity(s string) (fundingv1.ActivityType, string) {
	if s == "" {
		return 0, "activité manquante" + nbsp + ": " + activityChoices()
	}
	if a, ok := activities[normalise(s)]; ok {
		return a, ""
	}
	return 0, fmt.Sprintf("activité inconnue%s: « %s »%s; %s", nbsp, clip(s), nbsp, activityChoices())
}

func activityChoices() string {
	return "attendu " + strings.Join(activityLabels, ", ") + " (ou leur numéro, de 1 à " + strconv.Itoa(len(activityLabels)) + ")"
}

// clip shortens what a message quotes of a cell.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

var (
	wholeHours    = regexp.MustCompile(`^(\d{1,4})(?:h|heures?)?$`)
	decimalHours  = regexp.MustCompile(`^(\d{1,4})[,.](\d{1,9})(?:h|heures?)?$`)
	hoursAndMins  = regexp.MustCompile(`^(\d{1,4})h(\d{2})(?:min|mn)?$`)
	clockDuration = regexp.MustCompile(`^(\d{1,4}):(\d{2})(?::(\d{2}))?$`)
	onlyMinutes   = regexp.MustCompile(`^(\d{1,6})(?:min|mn|minutes?)$`)
	noSpaces      = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "\t", "")
)

const expectedHours = "attendu des heures" + nbsp + ": 7, 3,5, 3" + nbsp + "h" + nbsp + "30 ou 3:30"

// ParseHours reads a duration written in hours, as hour columns hold it,
// into whole minutes: "7" or "7 h" (420), "3,5" or "3.5" (210), "3 h 30" or
// "3h30" (210), "3:30" (a spreadsheet time, 210), and "45 min" (45). Decimal
// hours must come to a whole number of minutes ("3,33" is refused). Integer
// arithmetic only; errors are French.
func ParseHours(s string) (int32, error) {
	shown := strings.Trim(s, spaces)
	t := noSpaces.Replace(strings.ToLower(shown))
	switch {
	case t == "":
		return 0, errors.New("durée manquante" + nbsp + ": " + expectedHours)
	case wholeHours.MatchString(t):
		return int32(atoi(wholeHours.FindStringSubmatch(t)[1]) * 60), nil
	case decimalHours.MatchString(t):
		p := decimalHours.FindStringSubmatch(t)
		scale := int64(1)
		for range len(p[2]) {
			scale *= 10
		}
		frac := atoi(p[2]) * 60
		if frac%scale != 0 {
			return 0, fmt.Errorf("durée invalide%s: « %s » heures ne font pas un nombre entier de minutes (3,5 fait 210"+nbsp+"min, 3,25 fait 195"+nbsp+"min)", nbsp, clip(shown))
		}
		return int32(atoi(p[1])*60 + frac/scale), nil
	case hoursAndMins.MatchString(t):
		p := hoursAndMins.FindStringSubmatch(t)
		return hm(shown, atoi(p[1]), atoi(p[2]), 0)
	case clockDuration.MatchString(t):
		p := clockDuration.FindStringSubmatch(t)
		return hm(shown, atoi(p[1]), atoi(p[2]), atoi(p[3]))
	case onlyMinutes.MatchString(t):
		return int32(atoi(onlyMinutes.FindStringSubmatch(t)[1])), nil
	}
	return 0, fmt.Errorf("durée invalide%s: « %s »%s; %s", nbsp, clip(shown), nbsp, expectedHours)
}

func hm(shown string, h, m, sec int64) (int32, error) {
	switch {
	case m > 59:
		return 0, fmt.Errorf("durée invalide%s: « %s »%s; les minutes vont de 00 à 59", nbsp, clip(shown), nbsp)
	case sec != 0:
		return 0, fmt.Errorf("durée invalide%s: « %s »%s; pas de secondes, des minutes entières", nbsp, clip(shown), nbsp)
	}
	return int32(h*60 + m), nil
}

// atoi reads digits matched by a regexp (at most 9).
func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// RejectReasons gathers problems by line, several of a line joined by
// « ; », for WriteRejects.
func RejectReasons(problems []Problem) map[int]string {
	byLine := map[int][]string{}
	for _, p := range problems {
		msg := p.Message
		if p.Column != "" {
			msg = p.Column + nbsp + ": " + msg
		}
		byLine[p.Line] = append(byLine[p.Line], msg)
	}
	out := make(map[int]string, len(byLine))
	for line, msgs := range byLine {
		out[line] = strings.Join(msgs, nbsp+"; ")
	}
	return out
}
