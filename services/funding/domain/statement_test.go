package domain_test

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func books(evs ...domain.Event) *domain.Books {
	b := domain.NewBooks()
	b.Apply(domain.ContractCreated{ContractID: "c-1", Terms: terms()})
	for _, ev := range evs {
		b.Apply(ev)
	}
	return b
}

func closed(m time.Month) domain.StatementClosed {
	return domain.StatementClosed{ContractID: "c-1", Period: month(m), ClosedOn: civil.Date{Year: 2026, Month: m + 1, Day: 5}}
}

func TestDecideStatement(t *testing.T) {
	open := domain.StatementState{}
	shut := domain.StatementState{}
	shut.Apply(closed(time.March))
	on := func(k domain.LineKey) bool { return k == domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"} }
	for _, tc := range []struct {
		name  string
		s     domain.StatementState
		cmd   any
		kind  apperr.Kind
		code  string
		close bool
	}{
		{name: "close after the month", s: open, cmd: domain.CloseStatement{Period: month(time.March), Today: day(time.April, 1), Terms: terms()}, close: true},
		{name: "close during the month", s: open, cmd: domain.CloseStatement{Period: month(time.March), Today: day(time.March, 31), Terms: terms()}, kind: apperr.KindFailedPrecondition, code: domain.ReasonPeriodNotOver},
		{name: "close again is a no-op", s: shut, cmd: domain.CloseStatement{Period: month(time.March), Today: day(time.May, 1), Terms: terms()}},
		{name: "period outside the contract", s: open, cmd: domain.CloseStatement{Period: civil.Month{Year: 2025, Month: time.December}, Today: day(time.May, 1), Terms: terms()}, kind: apperr.KindFailedPrecondition, code: domain.ReasonPeriodOutside},
		{name: "review a line", s: open, cmd: domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: on,
			Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}, Reason: "no signature"}}}},
		{name: "rejection needs a reason", s: open, cmd: domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: on,
			Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}}}}, kind: apperr.KindInvalidArgument},
		{name: "review a line not on the statement", s: open, cmd: domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: on,
			Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitGroupHour, ID: "a"}, Approved: true}}}, kind: apperr.KindFailedPrecondition, code: domain.ReasonLineUnknown},
		{name: "review a closed statement", s: shut, cmd: domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: on,
			Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}, Approved: true}}}, kind: apperr.KindFailedPrecondition, code: domain.ReasonStatementClosed},
		{name: "no decision", s: open, cmd: domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: on}, kind: apperr.KindInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.DecideStatement(tc.s, tc.cmd)
			if tc.kind != apperr.KindInternal {
				wantErr(t, err, tc.kind, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, isReview := tc.cmd.(domain.ReviewStatement); isReview {
				if len(evs) != 1 {
					t.Fatalf("events %+v", evs)
				}
				return
			}
			if (len(evs) == 1) != tc.close {
				t.Fatalf("events %+v, want a closure: %v", evs, tc.close)
			}
		})
	}
}

func TestStatementTotalsAndUnits(t *testing.T) {
	b := books(
		accepted(hl("a", mon, 90), hl("b", mon.AddDays(1), 31)),
		domain.GroupHoursReported{GroupSessionID: "grp", Line: domain.GroupLine{ID: "g", Date: mon, Minutes: 120, Attendees: []string{"l-1"}, Period: month(time.March), Rate: 4000, Amount: 8000}},
		domain.FlatFeeClaimed{LearnerID: "l-1", Type: domain.FeeNeedsAnalysisCompleted, FactRef: "an-1", LineID: "f", Period: month(time.March), Amount: 20000},
	)
	st := b.Statement(month(time.March))
	want := domain.Totals{TraineeMinutes: 121, TraineeAmount: 2250 + 775, GroupMinutes: 120, GroupAmount: 8000, FeeCount: 1, FeeAmount: 20000, Amount: 2250 + 775 + 8000 + 20000}
	if st.Totals != want {
		t.Fatalf("totals %+v, want %+v", st.Totals, want)
	}
	if len(st.Lines) != 4 || st.OperatorID != "op-1" {
		t.Fatalf("statement %+v", st)
	}
	if got := b.Statement(month(time.April)); len(got.Lines) != 0 || got.Totals != (domain.Totals{}) {
		t.Fatalf("april %+v", got)
	}
}

func TestLateLinesAfterClosure(t *testing.T) {
	// The line was decided for March while March was open, but its event
	// comes after the closure in the stream: April bills it, late.
	b := books(accepted(hl("a", day(time.March, 30), 60)), closed(time.March), accepted(hl("b", day(time.March, 31), 60)))
	march, april := b.Statement(month(time.March)), b.Statement(month(time.April))
	if march.Totals.Amount != 1500 || !march.Closed || len(march.Lines) != 1 {
		t.Fatalf("march %+v", march)
	}
	if april.Totals.Amount != 1500 || len(april.Lines) != 1 || !april.Lines[0].Late || april.Lines[0].LineID != "b" {
		t.Fatalf("april %+v", april)
	}
}

func TestCorrectionsAreNewLines(t *testing.T) {
	fix := domain.TraineeLineCorrected{LearnerID: "l-1", CorrectsID: "a", LineID: "a-fix", Date: mon, PreviousMinutes: 120, Minutes: 60, Rate: 1500, Delta: -1500, Period: month(time.March)}
	b := books(accepted(hl("a", mon, 120)), fix)
	st := b.Statement(month(time.March))
	if len(st.Lines) != 2 || st.Lines[0].Amount != 3000 || st.Lines[0].CorrectedBy != "a-fix" || st.Lines[1].Amount != -1500 || st.Lines[1].CorrectsID != "a" || st.Lines[1].Minutes != -60 {
		t.Fatalf("lines %+v", st.Lines)
	}
	if st.Totals.Amount != 1500 || st.Totals.TraineeMinutes != 60 {
		t.Fatalf("totals %+v", st.Totals)
	}
	// A correction of a closed month's line is billed on the open month:
	// the closed statement does not change.
	b = books(accepted(hl("a", mon, 120)), closed(time.March), fix)
	if m := b.Statement(month(time.March)); m.Totals.Amount != 3000 || m.Lines[0].CorrectedBy != "" {
		t.Fatalf("march changed: %+v", m)
	}
	if a := b.Statement(month(time.April)); a.Totals.Amount != -1500 || !a.Lines[0].Late {
		t.Fatalf("april %+v", a)
	}
}

func TestAnomaliesAreNeverDeleted(t *testing.T) {
	flag := domain.TraineeLinesFlagged{LearnerID: "l-1", LineIDs: []string{"a"}, Reason: domain.AnomalyExitBackdated, ExitDate: mon.AddDays(-1), Period: month(time.March)}
	key := domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}
	t.Run("open period", func(t *testing.T) {
		b := books(accepted(hl("a", mon, 120), hl("b", mon.AddDays(-1), 60)), flag)
		st := b.Statement(month(time.March))
		if len(st.Lines) != 2 || st.Lines[0].Status != domain.StatusAnomaly || st.Lines[0].Anomaly != domain.AnomalyExitBackdated {
			t.Fatalf("lines %+v", st.Lines)
		}
		if st.Totals.Amount != 1500 || st.Totals.AnomalyCount != 1 || st.Totals.AnomalyAmount != 3000 {
			t.Fatalf("totals %+v", st.Totals)
		}
		approved := books(accepted(hl("a", mon, 120), hl("b", mon.AddDays(-1), 60)), flag,
			domain.StatementReviewed{Period: month(time.March), Reviews: []domain.Review{{Key: key, Approved: true}}})
		if tot := approved.Statement(month(time.March)).Totals; tot.Amount != 4500 || tot.AnomalyCount != 0 {
			t.Fatalf("approved %+v", tot)
		}
		rejected := books(accepted(hl("a", mon, 120), hl("b", mon.AddDays(-1), 60)), flag,
			domain.StatementReviewed{Period: month(time.March), Reviews: []domain.Review{{Key: key, Reason: "not in the scheme"}}})
		st = rejected.Statement(month(time.March))
		if st.Totals.Amount != 1500 || st.Lines[0].Status != domain.StatusRejected || st.Lines[0].ReviewReason != "not in the scheme" {
			t.Fatalf("rejected %+v", st)
		}
	})
	t.Run("closed period: reversal on the open one", func(t *testing.T) {
		flag := flag
		flag.Period = month(time.April)
		b := books(accepted(hl("a", mon, 120)), closed(time.March), flag)
		if m := b.Statement(month(time.March)); m.Totals.Amount != 3000 || m.Lines[0].Status != domain.StatusBilled {
			t.Fatalf("march changed: %+v", m)
		}
		a := b.Statement(month(time.April))
		if len(a.Lines) != 1 || !a.Lines[0].Reversal || a.Lines[0].Amount != -3000 || a.Totals.Amount != -3000 {
			t.Fatalf("april %+v", a)
		}
		// The funder approves the line after all: the reversal is withdrawn.
		b.Apply(domain.StatementReviewed{Period: month(time.April), Reviews: []domain.Review{{Key: key, Approved: true}}})
		if a := b.Statement(month(time.April)); a.Totals.Amount != 0 || a.Lines[0].Status != domain.StatusRejected {
			t.Fatalf("approved %+v", a)
		}
	})
	t.Run("correction of a flagged line is an anomaly too", func(t *testing.T) {
		b := books(accepted(hl("a", mon, 120)), flag,
			domain.TraineeLineCorrected{CorrectsID: "a", LineID: "a-fix", Date: mon, PreviousMinutes: 120, Minutes: 60, Rate: 1500, Delta: -1500, Period: month(time.March)})
		st := b.Statement(month(time.March))
		if st.Totals.Amount != 0 || st.Totals.AnomalyCount != 2 || st.Totals.AnomalyAmount != 1500 {
			t.Fatalf("totals %+v", st.Totals)
		}
	})
	t.Run("a review of a closed statement changes nothing", func(t *testing.T) {
		b := books(accepted(hl("a", mon, 120)), closed(time.March),
			domain.StatementReviewed{Period: month(time.March), Reviews: []domain.Review{{Key: key, Reason: "late review"}}})
		if st := b.Statement(month(time.March)); st.Totals.Amount != 3000 {
			t.Fatalf("closed statement changed: %+v", st.Totals)
		}
	})
}

func TestExportCSV(t *testing.T) {
	b := books(
		accepted(hl("a;1", mon, 90), hl("b", mon.AddDays(1), 31)),
		domain.TraineeLinesFlagged{LineIDs: []string{"b"}, Reason: domain.AnomalyExitBackdated, Period: month(time.March)},
		domain.FlatFeeClaimed{LearnerID: "l-1", Type: domain.FeeCustom, CustomCode: "BILAN_FINAL", FactRef: `PV "final"`, LineID: "f", Period: month(time.March), Amount: 10001},
	)
	st := b.Statement(month(time.March))
	out := domain.ExportCSV(st)
	if !bytes.HasPrefix(out, []byte(strings.Join(domain.CSVColumns, ";")+"\r\n")) {
		t.Fatalf("header: %q", out)
	}
	r := csv.NewReader(bytes.NewReader(out))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 { // header, a;1, f (the anomaly is left out), TOTAL
		t.Fatalf("rows %q", rows)
	}
	amount := len(domain.CSVColumns) - 2
	var sum int64
	for _, row := range rows[1 : len(rows)-1] {
		n, _ := strconv.ParseInt(row[amount], 10, 64)
		sum += n
	}
	last := rows[len(rows)-1]
	total, _ := strconv.ParseInt(last[amount], 10, 64)
	if last[2] != "TOTAL" || total != st.Totals.Amount || sum != total || last[amount+1] != "122,51" {
		t.Fatalf("total row %q, sum %d, statement %d", last, sum, st.Totals.Amount)
	}
	if rows[1][3] != "a;1" || rows[2][10] != "CUSTOM:BILAN_FINAL" || rows[2][11] != `PV "final"` {
		t.Fatalf("rows %q", rows)
	}
	if got := domain.Euros(-5); got != "-0,05" {
		t.Fatalf("Euros(-5) = %s", got)
	}
}

func TestBudget(t *testing.T) {
	tm := terms()
	tm.AnnualEnvelopeCents = 1_000_000
	for _, tc := range []struct {
		name      string
		used      int64
		today     civil.Date
		percent   int
		forecast  int64
		warning   bool
		exhausted bool
	}{
		{name: "nothing yet", today: day(time.January, 15), forecast: 0},
		{name: "79 %", used: 790_000, today: day(time.March, 31), percent: 79, forecast: 790_000 + 790_000*9/3},
		{name: "80 % warns", used: 800_000, today: day(time.April, 1), percent: 80, forecast: 800_000 + 800_000*8/4, warning: true},
		{name: "100 % refuses", used: 1_000_000, today: day(time.December, 31), percent: 100, forecast: 1_000_000, warning: true, exhausted: true},
		{name: "year over", used: 500_000, today: civil.Date{Year: 2027, Month: time.March, Day: 1}, percent: 50, forecast: 500_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := domain.BudgetOf(tm, map[int]int64{1: tc.used}, 1, tc.today)
			if v.Consumed != tc.used || v.Percent != tc.percent || v.Forecast != tc.forecast || v.Warning != tc.warning || v.Exhausted != tc.exhausted ||
				v.ForecastOver != max(0, tc.forecast-tm.AnnualEnvelopeCents) {
				t.Fatalf("budget %+v", v)
			}
			if v.From != day(time.January, 1) || v.To != day(time.December, 31) {
				t.Fatalf("year %s..%s", v.From, v.To)
			}
		})
	}
	// A forecast over the envelope says by how much: 978 € forecast in
	// June against 500 €.
	small := terms()
	small.AnnualEnvelopeCents = 50_000
	if v := domain.BudgetOf(small, map[int]int64{1: 48_900}, 1, day(time.June, 10)); v.Forecast != 97_800 || v.ForecastOver != 47_800 {
		t.Fatalf("forecast %d, over %d; want 97800 and 47800", v.Forecast, v.ForecastOver)
	}
	// Used sums billed amounts per contract year.
	b := books(accepted(hl("a", mon, 60)), domain.FlatFeeClaimed{LineID: "f", Period: month(time.March), Amount: 100})
	if used := b.Used(); used[1] != 1600 {
		t.Fatalf("used %v", used)
	}
}

// A statement reviewed (what a review answers) is the statement the books
// show once they fold the review: the same statuses, reasons and totals,
// reversals and corrections included; a closed one does not change.
func TestReviewedStatementIsWhatTheBooksShow(t *testing.T) {
	key := func(u domain.Unit, id string) domain.LineKey { return domain.LineKey{Unit: u, ID: id} }
	given := []domain.Event{
		accepted(hl("a", mon, 120), hl("b", mon.AddDays(1), 60), hl("c", mon.AddDays(2), 30)),
		domain.TraineeLineCorrected{CorrectsID: "a", LineID: "a-fix", Date: mon, PreviousMinutes: 120, Minutes: 60, Rate: 1500, Delta: -1500, Period: month(time.March)},
		domain.TraineeLinesFlagged{LineIDs: []string{"b"}, Reason: domain.AnomalyExitBackdated, Period: month(time.March)},
		domain.GroupHoursReported{GroupSessionID: "grp-7", Line: domain.GroupLine{ID: "c", Date: mon, Minutes: 60, Attendees: []string{"l-1"}, Period: month(time.March), Rate: 4000, Amount: 4000}},
		domain.FlatFeeClaimed{LearnerID: "l-1", Type: domain.FeeNeedsAnalysisCompleted, FactRef: "an-1", LineID: "f", Period: month(time.March), Amount: 20000},
	}
	review := domain.StatementReviewed{Period: month(time.March), Reviews: []domain.Review{
		{Key: key(domain.UnitTraineeHour, "a-fix"), Reason: "no signature"},
		{Key: key(domain.UnitTraineeHour, "b"), Approved: true},
		{Key: key(domain.UnitGroupHour, "c"), Reason: "no attendance sheet"},
		{Key: key(domain.UnitFlatFee, "f"), Approved: true},
	}}
	before := books(given...).Statement(month(time.March))
	on := before.LineKeys()
	for _, k := range []domain.LineKey{key(domain.UnitTraineeHour, "a"), key(domain.UnitTraineeHour, "a-fix"), key(domain.UnitGroupHour, "c"), key(domain.UnitFlatFee, "f")} {
		if !on[k] {
			t.Errorf("the statement has no line %v", k)
		}
	}
	if on[key(domain.UnitFlatFee, "c")] || on[key(domain.UnitTraineeHour, "zz")] || len(on) != 6 {
		t.Error("the statement has lines it does not hold")
	}
	got := before.Reviewed(review)
	want := books(append(given, review)...).Statement(month(time.March))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reviewed\n%+v\nbooks\n%+v", got, want)
	}
	if reflect.DeepEqual(before, want) {
		t.Fatal("the review changed nothing: the test proves nothing")
	}
	if len(before.Lines) != len(got.Lines) || before.Lines[1].Status == got.Lines[1].Status {
		t.Fatalf("Reviewed changed the statement it was given: %+v", before.Lines)
	}

	shut := books(append(given, closed(time.March))...).Statement(month(time.March))
	if again := shut.Reviewed(review); !reflect.DeepEqual(again, shut) {
		t.Fatalf("a closed statement changed: %+v", again)
	}
}
