package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Monday 9 to Sunday 15 March 2026 is ISO week 2026-W11.
var mon = day(time.March, 9)

func TestReportTraineeHours(t *testing.T) {
	type outcome struct {
		reason  domain.Rejection
		already bool
		period  civil.Month
		late    bool
	}
	ok := func(p civil.Month) outcome { return outcome{period: p} }
	rej := func(r domain.Rejection) outcome { return outcome{reason: r} }
	for _, tc := range []struct {
		name     string
		given    []domain.Event
		learner  string
		lines    []domain.ReportedLine
		edit     func(*domain.ReportHours)
		want     []outcome
		accepted []string // ids in the event
	}{
		{name: "accepted", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 120)},
			want: []outcome{ok(month(time.March))}, accepted: []string{"a"}},
		{name: "invalid minutes", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 0), rl(1, "b", "l-1", mon, 1441)},
			want: []outcome{rej(domain.RejectInvalid), rej(domain.RejectInvalid)}},
		{name: "invalid line id", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a b", "l-1", mon, 10)}, want: []outcome{rej(domain.RejectInvalid)}},
		{name: "another learner's line", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-2", mon, 10)}, want: []outcome{rej(domain.RejectInvalid)}},
		{name: "learner never enrolled", learner: "l-9", lines: []domain.ReportedLine{rl(0, "a", "l-9", mon, 60)}, want: []outcome{rej(domain.RejectNotEnrolled)}},
		{name: "before entry", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", day(time.January, 4), 60)}, want: []outcome{rej(domain.RejectNotEnrolled)}},
		{name: "after exit", learner: "l-2", lines: []domain.ReportedLine{rl(0, "a", "l-2", day(time.April, 1), 60)}, want: []outcome{rej(domain.RejectNotEnrolled)}},
		{name: "exit day counts", learner: "l-2", lines: []domain.ReportedLine{rl(0, "a", "l-2", day(time.March, 31), 60)}, want: []outcome{ok(month(time.March))}, accepted: []string{"a"}},
		{name: "outside contract period", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", civil.Date{Year: 2027, Month: time.January, Day: 1}, 60)},
			edit: func(c *domain.ReportHours) {
				c.Enrolment = domain.Episodes{"l-1": {{Number: 1, Entry: day(time.January, 1)}}}
			},
			want: []outcome{rej(domain.RejectOutsideContract)}},
		{name: "daily cap exactly reached", learner: "l-1", given: []domain.Event{accepted(hl("x", mon, 400))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 20)}, want: []outcome{ok(month(time.March))}, accepted: []string{"a"}},
		{name: "daily cap counts accepted lines", learner: "l-1", given: []domain.Event{accepted(hl("x", mon, 400))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 21)}, want: []outcome{rej(domain.RejectDailyCap)}},
		{name: "daily cap counts the report's earlier lines", learner: "l-1",
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 300), rl(1, "b", "l-1", mon, 121), rl(2, "c", "l-1", mon, 120)},
			want:  []outcome{ok(month(time.March)), rej(domain.RejectDailyCap), ok(month(time.March))}, accepted: []string{"a", "c"}},
		{name: "daily cap counts corrections", learner: "l-1",
			given: []domain.Event{accepted(hl("x", mon, 100)), domain.TraineeLineCorrected{CorrectsID: "x", LineID: "x-fix", Date: mon, PreviousMinutes: 100, Minutes: 400, Activity: domain.ActivityFaceToFace}},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 30)}, want: []outcome{rej(domain.RejectDailyCap)}},
		{name: "weekly cap", learner: "l-1",
			given: []domain.Event{accepted(hl("d1", mon, 420), hl("d2", mon.AddDays(1), 420), hl("d3", mon.AddDays(2), 420), hl("d4", mon.AddDays(3), 420), hl("d5", mon.AddDays(4), 420))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon.AddDays(5), 1)}, want: []outcome{rej(domain.RejectWeeklyCap)}},
		{name: "weekly cap reached exactly", learner: "l-1",
			given: []domain.Event{accepted(hl("d1", mon, 420), hl("d2", mon.AddDays(1), 420), hl("d3", mon.AddDays(2), 420), hl("d4", mon.AddDays(3), 420))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon.AddDays(5), 420), rl(1, "b", "l-1", mon.AddDays(6), 1)},
			want:  []outcome{ok(month(time.March)), rej(domain.RejectWeeklyCap)}, accepted: []string{"a"}},
		{name: "same line again is a no-op", learner: "l-1", given: []domain.Event{accepted(hl("a", mon, 120))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 120)}, want: []outcome{{already: true, period: month(time.March)}}},
		{name: "line id reused with other content", learner: "l-1", given: []domain.Event{accepted(hl("a", mon, 120))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 60)}, want: []outcome{rej(domain.RejectDuplicateID)}},
		{name: "line id used by a correction", learner: "l-1",
			given: []domain.Event{accepted(hl("x", mon, 100)), domain.TraineeLineCorrected{CorrectsID: "x", LineID: "a", Date: mon, PreviousMinutes: 100, Minutes: 50, Activity: domain.ActivityFaceToFace}},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 30)}, want: []outcome{rej(domain.RejectDuplicateID)}},
		{name: "line id used elsewhere in the contract", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 30)},
			edit: func(c *domain.ReportHours) { c.TakenElsewhere = func(id string) bool { return id == "a" } },
			want: []outcome{rej(domain.RejectDuplicateID)}},
		{name: "closed period: late line on the next", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 30)},
			edit: func(c *domain.ReportHours) { c.Closed = domain.Closed{month(time.March): true} },
			want: []outcome{{period: month(time.April), late: true}}, accepted: []string{"a"}},
		{name: "no open period left", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 30)},
			edit: func(c *domain.ReportHours) {
				c.Closed = domain.Closed{}
				for p := month(time.March); p.Compare(month(time.December)) <= 0; p = p.Next() {
					c.Closed[p] = true
				}
			},
			want: []outcome{rej(domain.RejectPeriodClosed)}},
		{name: "budget exceeded", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 60), rl(1, "b", "l-1", mon.AddDays(1), 1)},
			edit: func(c *domain.ReportHours) {
				c.Budget = &domain.Budget{Terms: c.Terms, Used: map[int]int64{1: c.Terms.AnnualEnvelopeCents - 1500}}
			},
			want: []outcome{ok(month(time.March)), rej(domain.RejectBudgetExceeded)}, accepted: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ledger(tc.given...)
			c := domain.ReportHours{LedgerID: "lg-1", ContractID: "c-1", LearnerID: tc.learner, RequestID: "r-1", Week: domain.WeekOf(tc.lines[0].Date),
				Terms: terms(), Lines: tc.lines, Enrolment: enrolled()}
			if tc.edit != nil {
				tc.edit(&c)
			}
			evs, results := domain.DecideHours(l, c)
			if len(results) != len(tc.want) {
				t.Fatalf("results %+v, want %d", results, len(tc.want))
			}
			for i, r := range results {
				w := tc.want[i]
				if r.Index != tc.lines[i].Index || r.LineID != tc.lines[i].ID {
					t.Errorf("result %d addresses %d/%s", i, r.Index, r.LineID)
				}
				if r.Reason != w.reason || r.Accepted != (w.reason == domain.RejectNone) || r.Already != w.already {
					t.Errorf("line %d: %+v, want %+v", i, r, w)
				}
				if r.Accepted && (r.Period != w.period || r.Late != w.late) {
					t.Errorf("line %d billed on %s late=%v, want %s late=%v", i, r.Period, r.Late, w.period, w.late)
				}
				if !r.Accepted && r.Detail == "" {
					t.Errorf("line %d rejected without detail", i)
				}
			}
			var ids []string
			for _, ev := range evs {
				e := ev.(domain.TraineeHoursReported)
				if e.LearnerID != tc.learner || e.OperatorID != "op-1" || e.RequestID != "r-1" {
					t.Errorf("event %+v", e)
				}
				for _, ln := range e.Lines {
					ids = append(ids, ln.ID)
					if ln.Rate != 1500 || ln.Amount != domain.Amount(ln.Minutes, 1500) {
						t.Errorf("line %+v is not priced at the contract's rate", ln)
					}
				}
			}
			if !reflect.DeepEqual(ids, tc.accepted) {
				t.Fatalf("accepted %v, want %v", ids, tc.accepted)
			}
		})
	}
}

func TestSplitReport(t *testing.T) {
	lines := []domain.ReportedLine{
		rl(0, "a", "l-2", mon, 60),
		rl(1, "b", "l-1", mon.AddDays(7), 60),
		rl(2, "c", "l-1", mon, 60),
		rl(3, "a", "l-1", mon, 30), // id used by line 0
		rl(4, "d", "bad", mon, 30),
		rl(5, "e", "l-1", mon, -5),
		rl(6, "f", "l-1", mon.AddDays(6), 60), // Sunday: same week as mon
	}
	groups, rejected := domain.SplitReport(lines, func(l domain.ReportedLine) string {
		if l.LearnerID == "bad" {
			return "learner_id: not an id"
		}
		return ""
	})
	wantRejected := map[int]domain.Rejection{3: domain.RejectDuplicateID, 4: domain.RejectInvalid, 5: domain.RejectInvalid}
	if len(rejected) != len(wantRejected) {
		t.Fatalf("rejected %+v", rejected)
	}
	for _, r := range rejected {
		if wantRejected[r.Index] != r.Reason {
			t.Errorf("line %d rejected %s, want %s", r.Index, r.Reason, wantRejected[r.Index])
		}
	}
	type g struct {
		learner string
		week    int
		ids     []string
	}
	var got []g
	for _, b := range groups {
		var ids []string
		for _, l := range b.Lines {
			ids = append(ids, l.ID)
		}
		got = append(got, g{b.LearnerID, b.Week.Week, ids})
	}
	want := []g{{"l-1", 11, []string{"c", "f"}}, {"l-1", 12, []string{"b"}}, {"l-2", 11, []string{"a"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups %+v, want %+v", got, want)
	}
}

func TestCorrectLine(t *testing.T) {
	base := []domain.Event{accepted(hl("x", mon, 120), hl("y", mon, 200))}
	fixed := domain.TraineeLineCorrected{CorrectsID: "x", LineID: "x-fix", Date: mon, PreviousMinutes: 120, Minutes: 60, Activity: domain.ActivityFaceToFace}
	for _, tc := range []struct {
		name    string
		given   []domain.Event
		cmd     domain.CorrectLine
		closed  domain.Closed
		kind    apperr.Kind
		code    string
		reason  domain.Rejection
		already bool
		delta   int64
		period  civil.Month
		late    bool
	}{
		{name: "fewer minutes", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 60}, delta: 1500 - 3000, period: month(time.March)},
		{name: "cancelled", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 0}, delta: -3000, period: month(time.March)},
		{name: "more minutes within the cap", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 220}, delta: 5500 - 3000, period: month(time.March)},
		{name: "more minutes over the daily cap", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 221}, reason: domain.RejectDailyCap},
		{name: "correction of the latest value", given: append(base[:1:1], fixed), cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix2", Minutes: 90}, delta: 2250 - 1500, period: month(time.March)},
		{name: "same correction again", given: append(base[:1:1], fixed), cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 60}, already: true, period: month(time.March)},
		{name: "correction id reused", given: append(base[:1:1], fixed), cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 30}, reason: domain.RejectDuplicateID},
		{name: "correction id is a line's", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "y", Minutes: 30}, reason: domain.RejectDuplicateID},
		{name: "correcting a correction", given: append(base[:1:1], fixed), cmd: domain.CorrectLine{CorrectsID: "x-fix", LineID: "z", Minutes: 30}, kind: apperr.KindFailedPrecondition, code: domain.ReasonCorrectCorrection},
		{name: "unknown line", given: base, cmd: domain.CorrectLine{CorrectsID: "nope", LineID: "z", Minutes: 30}, kind: apperr.KindNotFound},
		{name: "reason required", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "z", Minutes: 30, Reason: " "}, kind: apperr.KindInvalidArgument},
		{name: "negative minutes", given: base, cmd: domain.CorrectLine{CorrectsID: "x", LineID: "z", Minutes: -1}, kind: apperr.KindInvalidArgument},
		{name: "line's period closed: late correction", given: base, closed: domain.Closed{month(time.March): true},
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 60}, delta: -1500, period: month(time.April), late: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cmd
			if c.Reason == "" {
				c.Reason = "wrong sheet"
			}
			c.Activity = domain.ActivityFaceToFace
			c.LearnerID, c.Terms, c.Enrolment, c.Closed = "l-1", terms(), enrolled(), tc.closed
			evs, r, err := domain.DecideCorrection(ledger(tc.given...), c)
			if tc.kind != apperr.KindInternal {
				wantErr(t, err, tc.kind, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Reason != tc.reason || r.Already != tc.already {
				t.Fatalf("result %+v, want reason %s already %v", r, tc.reason, tc.already)
			}
			if tc.reason != domain.RejectNone || tc.already {
				if len(evs) != 0 {
					t.Fatalf("events %+v", evs)
				}
				return
			}
			e := evs[0].(domain.TraineeLineCorrected)
			if e.Delta != tc.delta || r.AmountCts != tc.delta || e.Period != tc.period || e.Late != tc.late || e.CorrectsID != c.CorrectsID || e.Minutes != c.Minutes {
				t.Fatalf("correction %+v, want delta %d on %s late=%v", e, tc.delta, tc.period, tc.late)
			}
		})
	}
}

func TestBackdatedExitFlagsLaterLines(t *testing.T) {
	// l-2's first episode was closed on 31 March, recorded late; a second
	// episode starts on 1 May.
	d := func(m time.Month, dd int) civil.Date { return day(m, dd) }
	given := []domain.Event{
		domain.TraineeHoursReported{LedgerID: "lg-2", ContractID: "c-1", LearnerID: "l-2", Lines: []domain.HourLine{
			{ID: "before", Date: d(time.March, 31), Minutes: 60}, {ID: "after", Date: d(time.April, 1), Minutes: 60},
			{ID: "cancelled", Date: d(time.April, 2), Minutes: 60}, {ID: "flagged", Date: d(time.April, 3), Minutes: 60},
			{ID: "back", Date: d(time.May, 1), Minutes: 60},
		}},
		domain.TraineeLineCorrected{CorrectsID: "cancelled", LineID: "cancelled-fix", Date: d(time.April, 2), PreviousMinutes: 60, Minutes: 0},
		domain.TraineeLinesFlagged{LineIDs: []string{"flagged"}, Reason: domain.AnomalyExitBackdated},
	}
	l := ledger(given...)
	evs := domain.DecideFlag(l, domain.FlagUnenrolled{ExitDate: d(time.March, 31), Episode: 1, Enrolment: enrolled(), Terms: terms(),
		Closed: domain.Closed{month(time.April): true}, Today: d(time.April, 20)})
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	e := evs[0].(domain.TraineeLinesFlagged)
	if !reflect.DeepEqual(e.LineIDs, []string{"after"}) || e.Reason != domain.AnomalyExitBackdated || e.Period != month(time.May) || e.ExitDate != d(time.March, 31) {
		t.Fatalf("flagged %+v", e)
	}
	l.Apply(e)
	if again := domain.DecideFlag(l, domain.FlagUnenrolled{ExitDate: d(time.March, 31), Enrolment: enrolled(), Terms: terms(), Today: d(time.April, 20)}); again != nil {
		t.Fatalf("flagged twice: %+v", again)
	}
	if l.Lines["after"].Anomaly != domain.AnomalyExitBackdated || l.Lines["after"].Current != 60 {
		t.Fatalf("the line is kept, flagged: %+v", l.Lines["after"])
	}
}
