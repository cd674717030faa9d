package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// TestFundingCommands walks funding on the server's day, 26 November 2026:
// a contract, hours reported one by one and from a CSV file (with lines
// rejected and lines unreadable, named by their line numbers), October's
// statement read, exported and closed by the funder, a late line billed in
// November, the budget, and the roles kept apart.
func TestFundingCommands(t *testing.T) {
	h := newCLIHarness(t)
	admin := h.mint(auth.Principal{Subject: "cli-admin", Role: auth.RoleAdmin})
	operator := h.mint(auth.Principal{Subject: "op-evreux", Role: auth.RoleOperator, OperatorID: "op-evreux", Territories: []string{"T05"}})
	other := h.mint(auth.Principal{Subject: "op-caen", Role: auth.RoleOperator, OperatorID: "op-caen", Territories: []string{"T05"}})
	funder := h.mint(auth.Principal{Subject: "region", Role: auth.RoleFunder})
	referent := h.mint(auth.Principal{Subject: "ref-05", Role: auth.RoleReferent, ReferentID: "ref-05", Territories: []string{"T05"}})

	create := []string{"funding", "contracts", "create", "--operator-id", "op-evreux", "--operator-name", "AFPA Normandie", "--reference", "Lot 5 Eure", "--territory", "T05",
		"--from", "2026-10-01", "--to", "2027-09-30", "--trainee-hour-rate-cents", "1250", "--group-hour-rate-cents", "4500",
		"--fee", "needs-analysis-completed=15000", "--fee", "custom:MOBILITY=5000", "--envelope-cents", "100000000", "--max-group-size", "12"}
	// The programme is required.
	h.expect(admin, 2, create, "programme")
	create = append(create, "--programme", "avenir")
	h.expect(admin, 2, append(create[:len(create):len(create)], "--programme", "lottery"), "programme", "avenir, action, other")
	h.expect(admin, 2, append(create[:len(create):len(create)], "--fee", "astrology=1"), "fee")
	h.expect(referent, 1, create, "PermissionDenied")
	contract := h.id(h.expect(admin, 0, append(create, "-o", "json")), "contract_id")
	got := h.expect(operator, 0, []string{"funding", "contracts", "get", contract}, "12,50 €", "420 min/day, 2100 min/week", "PROGRAMME       avenir")
	if v := tableValue(got, "OPERATOR NAME"); v != "AFPA Normandie" {
		t.Fatalf("OPERATOR NAME %q in\n%s", v, got)
	}
	h.eventually(funder, []string{"funding", "contracts", "list"}, "OPERATOR NAME", "AFPA Normandie")
	h.expect(other, 1, []string{"funding", "contracts", "get", contract}, "NotFound")
	h.expect(referent, 1, []string{"funding", "contracts", "list"}, "PermissionDenied")

	a, b := h.register("T05"), h.register("T05")
	for _, id := range []string{a, b} {
		h.eventually(admin, []string{"pathways", "enter", id, "--entry-date", "2026-10-27"}, "ACTIVE")
		// The contract reaches the pathway in moments.
		h.eventually(admin, []string{"pathways", "enrol", id, "--contract", contract, "--kind", "accompaniment", "--from", "2026-10-27"}, contract)
	}
	// Funding learns the enrolments from PATHWAY in moments: the first line
	// is refused (not enrolled) until then, and a refused line stores
	// nothing.
	h.eventually(operator, []string{"funding", "hours", "report", contract, "--line-id", "L-0", "--learner", a,
		"--date", "2026-10-27", "--minutes", "60", "--activity", "face-to-face", "--request-id", "first-line"}, "accepted")
	h.eventually(operator, []string{"funding", "hours", "report", contract, "--line-id", "L-00", "--learner", b,
		"--date", "2026-10-27", "--minutes", "30", "--activity", "assessment", "--request-id", "first-line-b"}, "accepted")

	file := filepath.Join(t.TempDir(), "heures-octobre.csv")
	csv := "operator_line_id;learner_id;date;minutes;activity\n" +
		"L-1;" + a + ";2026-10-28;420;face-to-face\n" + // line 2: accepted
		"L-2;" + a + ";2026-10-28;60;face-to-face\n" + // line 3: over the daily cap
		"L-3;" + b + ";2026-10-29;210;distance\n" + // line 4: accepted
		"L-4;" + b + ";29/10/2026;60;distance\n" + // line 5: unreadable date
		"L-5;" + b + ";2026-10-20;60;distance\n" + // line 6: before the entry
		"L-6;" + b + ";2026-10-30;60;knitting\n" // line 7: unknown activity
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	// Rejected lines make the import exit 1, after the summary in full.
	out := h.expect(operator, 1, []string{"funding", "hours", "import", contract, file, "--request-id", "october-file"},
		"7 lines read: 1 header, 0 blank (skipped), 2 accepted (131,25 €), 4 rejected (2 unreadable, 2 refused)",
		"line 5: unreadable: date", "line 7: unreadable: activity",
		"line 3 (L-2): refused: daily-cap-exceeded", "line 6 (L-5): refused: learner-not-enrolled", "4 of 6 lines of hours rejected")
	if again := h.expect(operator, 1, []string{"funding", "hours", "import", contract, file, "--request-id", "october-file"}); again != out {
		t.Fatalf("importing the file again answered\n%s\nthen\n%s", out, again)
	}
	// In JSON too: every line, and the exit status.
	summary := importJSON(t, h.expect(operator, 1, []string{"funding", "hours", "import", contract, file, "--request-id", "october-file", "-o", "json"}))
	if summary.LinesRead != 7 || summary.Accepted != 2 || summary.Rejected != 2 || summary.BlankLines != 0 ||
		!slices.Equal(summary.unreadable(), []int{5, 7}) || !slices.Equal(summary.refused(), []int{3, 6}) {
		t.Fatalf("import -o json: %+v", summary)
	}
	h.expect(admin, 2, []string{"funding", "hours", "import", contract, filepath.Join(t.TempDir(), "missing.csv")})
	// One line rejected: exit 1, in the table and in JSON, printed in full.
	h.expect(operator, 1, []string{"funding", "hours", "report", contract, "--line-id", "L-8", "--learner", a,
		"--date", "2026-10-20", "--minutes", "60", "--activity", "face-to-face"}, "rejected: learner-not-enrolled", "line L-8 rejected")
	h.expect(operator, 1, []string{"funding", "hours", "report", contract, "--line-id", "L-8", "--learner", a,
		"--date", "2026-10-20", "--minutes", "60", "--activity", "face-to-face", "-o", "json"}, `"reason": "REJECTION_REASON_LEARNER_NOT_ENROLLED"`)
	// Work is reported once done: no day after today (26 November).
	h.expect(operator, 1, []string{"funding", "hours", "report", contract, "--line-id", "L-9", "--learner", a,
		"--date", "2026-11-27", "--minutes", "60", "--activity", "face-to-face"}, "rejected: date-in-future", "2026-11-27 is after today (2026-11-26)")

	// October: 60 + 30 + 420 + 210 minutes at 12,50 € an hour.
	statement := []string{"funding", "statements", "get", contract, "--period", "2026-10"}
	h.eventually(funder, statement, "TRAINEE HOURS  150,00 € (720 minutes)", "TOTAL          150,00 €", "L-3")
	h.expect(funder, 2, []string{"funding", "statements", "get", contract, "--period", "October"})
	export := filepath.Join(t.TempDir(), "releve.csv")
	h.expect(funder, 0, []string{"funding", "statements", "export", contract, "--period", "2026-10", "--out", export}, "total 150,00 €")
	b2, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b2)), "\r\n")
	if len(rows) != 6 || !strings.HasPrefix(rows[0], "contract_id;period;unit") || !strings.Contains(rows[5], ";TOTAL;") || !strings.Contains(rows[5], ";15000;150,00") {
		t.Fatalf("export:\n%s", b2)
	}

	// The funder closes October; a line for October reported later is
	// billed in November, flagged late.
	h.expect(operator, 1, []string{"funding", "statements", "close", contract, "--period", "2026-10"}, "PermissionDenied")
	h.expect(funder, 0, []string{"funding", "statements", "close", contract, "--period", "2026-10"}, "closed on 2026-11-26")
	h.eventually(operator, []string{"funding", "hours", "report", contract, "--line-id", "L-7", "--learner", a,
		"--date", "2026-10-29", "--minutes", "60", "--activity", "workplace"}, "2026-11 (late)", "12,50 €")
	h.expect(operator, 1, []string{"funding", "claim-fee", contract, a, "--type", "needs-analysis-completed", "--line-id", "F-1"}, "fact-not-found")
	h.expect(operator, 0, []string{"funding", "claimable", contract}, "LEARNER  NAME  FEE  FACT  DATE  RATE  STATE  NOTE")
	h.expect(other, 1, []string{"funding", "claimable", contract}, "NotFound")
	h.eventually(funder, []string{"funding", "budget", contract}, "CONSUMED       162,50 € (0 %)", "within the envelope")

	// The funder's month in one call: October, closed, across contracts.
	h.eventually(funder, []string{"funding", "statements", "list", "--period", "2026-10"}, contract, "closed on 2026-11-26", "Lot 5 Eure",
		"TOTAL (1 statement): 150,00 €; trainee hours 150,00 € (720 minutes)")
	h.expect(funder, 0, []string{"funding", "statements", "list", "--period", "2026-10", "--status", "open"}, "TOTAL (0 statements): 0,00 €")
	h.expect(funder, 0, []string{"funding", "statements", "list", "--period", "2026-10", "--programme", "avenir", "--territory", "T05", "--territory", "T14"},
		"TOTAL T05 (1 statement): 150,00 €", "TOTAL T14 (0 statements)")
	h.expect(funder, 0, []string{"funding", "statements", "list", "--period", "2026-10", "-o", "json"}, `"statement_count": 1`, `"status": "STATEMENT_STATUS_CLOSED"`)
	h.expect(other, 0, []string{"funding", "statements", "list", "--period", "2026-10"}, "TOTAL (0 statements)")
	h.expect(funder, 2, []string{"funding", "statements", "list"}, "period")
	h.expect(funder, 2, []string{"funding", "statements", "list", "--period", "2026-10", "--status", "pending"}, "open, reviewed, closed")

	// A contract of 500 € a year from November: 81,50 € in its first month
	// forecast 978 € for the year, 478 € over its envelope.
	small := []string{"funding", "contracts", "create", "--operator-id", "op-evreux", "--reference", "Lot 5 ateliers", "--territory", "T05",
		"--from", "2026-11-01", "--to", "2027-10-31", "--trainee-hour-rate-cents", "3000", "--envelope-cents", "50000", "--max-group-size", "12",
		"--programme", "other", "-o", "json"}
	contract2 := h.id(h.expect(admin, 0, small), "contract_id")
	h.eventually(admin, []string{"pathways", "enrol", a, "--contract", contract2, "--kind", "workshops", "--from", "2026-11-02"}, contract2)
	h.eventually(operator, []string{"funding", "hours", "report", contract2, "--line-id", "W-1", "--learner", a,
		"--date", "2026-11-02", "--minutes", "163", "--activity", "face-to-face"}, "accepted", "81,50 €")
	h.eventually(funder, []string{"funding", "budget", contract2}, "FORECAST       978,00 €, over the envelope by 478,00 €",
		"the forecast is over the envelope by 478,00 €")

	// Programmes: the scheme's figures until an admin sets the year's.
	h.eventually(funder, []string{"funding", "programme", "budget", "--programme", "other"}, "FIGURES    the scheme's (never set)", "CONSUMED   81,50 € (100 %)",
		"2026-11", "81,50 €")
	h.expect(funder, 1, []string{"funding", "programme", "set", "--programme", "other", "--year", "2026", "--envelope-cents", "100000", "--target", "20",
		"--reason", "ateliers"}, "PermissionDenied")
	h.expect(admin, 0, []string{"funding", "programme", "set", "--programme", "other", "--year", "2026", "--envelope-cents", "100000", "--target", "20",
		"--reason", "ateliers"}, "ENVELOPE   1 000,00 €", "20 beneficiaries")
	h.eventually(funder, []string{"funding", "programme", "budget", "--programme", "other", "--year", "2026"}, "ENVELOPE   1 000,00 €", "FIGURES    set",
		"CONSUMED   81,50 € (8 %)")
	h.expect(funder, 2, []string{"funding", "programme", "budget"}, "programme")
	h.expect(funder, 0, []string{"funding", "statements", "review", contract, "--period", "2026-11", "--reject", "trainee-hour/L-7=no attendance sheet"})
	h.expect(funder, 2, []string{"funding", "statements", "review", contract, "--period", "2026-11"})

	// A file of 12 lines with stray quotes in two places: each spoils its
	// own line only, named by its number; every line is accounted for.
	file = filepath.Join(t.TempDir(), "heures-novembre.csv")
	csv = "operator_line_id;learner_id;date;minutes;activity\n" + // line 1
		"L-10;" + a + ";2026-11-02;60;face-to-face\n" + // 2: accepted
		"L-11;" + a + ";2026-11-03;\"210;face-to-face\n" + // 3: a quote left open
		"L-12;" + a + ";2026-11-03;120;distance\n" + // 4: accepted
		"L-13;" + b + ";2026-11-02;60;distance\n" + // 5: accepted
		"\n" + // 6: blank
		"L-14;" + b + ";2026-11-03;60;work\"place\n" + // 7: a stray quote
		"L-15;" + b + ";2026-11-04;60;workplace\n" + // 8: accepted
		"L-16;" + b + ";2026-11-04;420;workplace\n" + // 9: over the daily cap
		"L-17;" + b + ";2026-11-05;\"30\";assessment\n" + // 10: accepted (quoted)
		"L-18;" + a + ";2026-11-06;30;assessment\n" + // 11: accepted
		"L-19;" + a + ";2026-11-09;30;assessment\n" // 12: accepted
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	h.expect(operator, 1, []string{"funding", "hours", "import", contract, file, "--request-id", "november-file"},
		"12 lines read: 1 header, 1 blank (skipped), 7 accepted (81,25 €), 3 rejected (2 unreadable, 1 refused)",
		"line 3: unreadable: a quote", "line 7: unreadable: a stray quote", "line 9 (L-16): refused: daily-cap-exceeded")
	summary = importJSON(t, h.expect(operator, 1, []string{"funding", "hours", "import", contract, file, "--request-id", "november-file", "-o", "json"}))
	if summary.HeaderLines+summary.BlankLines+summary.Accepted+summary.Rejected+len(summary.UnreadableLines) != 12 || summary.LinesRead != 12 ||
		summary.Accepted != 7 || !slices.Equal(summary.unreadable(), []int{3, 7}) || !slices.Equal(summary.refused(), []int{9}) || summary.UnansweredLines != 0 {
		t.Fatalf("12 lines not all accounted for: %+v", summary)
	}
}

// hoursImport is what funding hours import -o json says of a file.
type hoursImport struct {
	LinesRead       int `json:"lines_read"`
	HeaderLines     int `json:"header_lines"`
	BlankLines      int `json:"blank_lines"`
	Accepted        int `json:"accepted"`
	Rejected        int `json:"rejected"`
	UnansweredLines int `json:"unanswered_lines"`
	UnreadableLines []struct {
		Line    int    `json:"line"`
		Problem string `json:"problem"`
	} `json:"unreadable_lines"`
	RejectedLines []struct {
		Line           int    `json:"line"`
		OperatorLineID string `json:"operator_line_id"`
		Reason         string `json:"reason"`
	} `json:"rejected_lines"`
}

func (s hoursImport) unreadable() []int {
	var lines []int
	for _, u := range s.UnreadableLines {
		lines = append(lines, u.Line)
	}
	return lines
}

func (s hoursImport) refused() []int {
	var lines []int
	for _, r := range s.RejectedLines {
		lines = append(lines, r.Line)
	}
	return lines
}

// importJSON reads the JSON of an import: the standard output, before
// the error on standard error.
func importJSON(t *testing.T, out string) hoursImport {
	t.Helper()
	var s hoursImport
	body, _, _ := strings.Cut(out, "\nError: ")
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return s
}
