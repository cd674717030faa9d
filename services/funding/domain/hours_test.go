package domain_test

import (
	"reflect"
	"strings"
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
		detail   string   // in a rejected line's detail
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
			edit: func(c *domain.ReportHours) { c.Today = civil.Date{Year: 2027, Month: time.January, Day: 10} },
			want: []outcome{rej(domain.RejectOutsideContract)}},
		{name: "date after today", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 60), rl(1, "b", "l-1", mon.AddDays(1), 60)},
			edit: func(c *domain.ReportHours) { c.Today = mon },
			want: []outcome{ok(month(time.March)), rej(domain.RejectDateInFuture)}, accepted: []string{"a"}, detail: "2026-03-10 is after today (2026-03-09)"},
		{name: "enrolled with another contract", learner: "l-3", lines: []domain.ReportedLine{rl(0, "a", "l-3", mon, 60)},
			want: []outcome{rej(domain.RejectNotEnrolled)}, detail: "no enrolment with contract c-1 on 2026-03-09: enrolled with contract c-2 that day"},
		{name: "territory not in the lot", learner: "l-4", lines: []domain.ReportedLine{rl(0, "a", "l-4", mon, 60)},
			want: []outcome{rej(domain.RejectTerritoryNotInLot)}, detail: "lives in territory T01, not in the lot of contract c-1 (T05)"},
		{name: "enrolment ended", learner: "l-2", lines: []domain.ReportedLine{rl(0, "a", "l-2", day(time.April, 6), 60)},
			want: []outcome{rej(domain.RejectNotEnrolled)}, detail: "(as far as funding knows the pathway's enrolments)"},
		{name: "the scheme's daily cap counts every contract", learner: "l-1", given: []domain.Event{acceptedIn("c-2", hl("x", mon, 300))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 120), rl(1, "b", "l-1", mon, 1)},
			want:  []outcome{ok(month(time.March)), rej(domain.RejectDailyCap)}, accepted: []string{"a"},
			detail: "421 minutes on 2026-03-09 across contracts c-1 (121), c-2 (300): over the daily cap of 420"},
		{name: "an immersion day counts", learner: "l-1", given: []domain.Event{acceptedIn("c-2", hl("x", mon, 300))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 300)},
			edit:  func(c *domain.ReportHours) { c.Learner.Immersion = map[civil.Date]int{mon: 90, mon.AddDays(1): 420} },
			want:  []outcome{rej(domain.RejectDailyCap)}, detail: "690 minutes on 2026-03-09 across contracts c-1 (300), c-2 (300), immersion (90): over the daily cap of 420"},
		{name: "a full immersion day leaves nothing", learner: "l-1", lines: []domain.ReportedLine{rl(0, "a", "l-1", mon.AddDays(1), 1)},
			edit: func(c *domain.ReportHours) { c.Learner.Immersion = map[civil.Date]int{mon.AddDays(1): 420} },
			want: []outcome{rej(domain.RejectDailyCap)}, detail: "across contracts c-1 (1), immersion (420)"},
		{name: "the contract's own daily cap counts its lines only", learner: "l-1", given: []domain.Event{acceptedIn("c-2", hl("x", mon, 100))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 241), rl(1, "b", "l-1", mon, 240)},
			edit:  func(c *domain.ReportHours) { c.Terms.DailyCapMinutes = 240 },
			want:  []outcome{rej(domain.RejectDailyCap), ok(month(time.March))}, accepted: []string{"b"},
			detail: "241 minutes on 2026-03-09 under contract c-1, over the contract's daily cap of 240"},
		{name: "the scheme's weekly cap counts every contract and immersion", learner: "l-1",
			given: []domain.Event{acceptedIn("c-2", hl("d1", mon, 420), hl("d2", mon.AddDays(1), 420), hl("d3", mon.AddDays(2), 420))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon.AddDays(3), 420), rl(1, "b", "l-1", mon.AddDays(4), 1)},
			edit: func(c *domain.ReportHours) {
				c.Learner.Immersion = map[civil.Date]int{mon.AddDays(5): 420, mon.AddDays(7): 420}
			},
			want: []outcome{ok(month(time.March)), rej(domain.RejectWeeklyCap)}, accepted: []string{"a"},
			detail: "2101 minutes in week 2026-W11 across contracts c-1 (421), c-2 (1260), immersion (420): over the weekly cap of 2100"},
		{name: "the contract's own weekly cap", learner: "l-1", given: []domain.Event{accepted(hl("x", mon, 420))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon.AddDays(1), 200)},
			edit:  func(c *domain.ReportHours) { c.Terms.WeeklyCapMinutes = 600 },
			want:  []outcome{rej(domain.RejectWeeklyCap)}, detail: "620 minutes in week 2026-W11 under contract c-1, over the contract's weekly cap of 600"},
		{name: "another contract's line id is its own", learner: "l-1", given: []domain.Event{acceptedIn("c-2", hl("a", mon, 60))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 60)}, want: []outcome{ok(month(time.March))}, accepted: []string{"a"}},
		{name: "daily cap exactly reached", learner: "l-1", given: []domain.Event{accepted(hl("x", mon, 400))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 20)}, want: []outcome{ok(month(time.March))}, accepted: []string{"a"}},
		{name: "daily cap counts accepted lines", learner: "l-1", given: []domain.Event{accepted(hl("x", mon, 400))},
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 21)}, want: []outcome{rej(domain.RejectDailyCap)}},
		{name: "daily cap counts the report's earlier lines", learner: "l-1",
			lines: []domain.ReportedLine{rl(0, "a", "l-1", mon, 300), rl(1, "b", "l-1", mon, 121), rl(2, "c", "l-1", mon, 120)},
			want:  []outcome{ok(month(time.March)), rej(domain.RejectDailyCap), ok(month(time.March))}, accepted: []string{"a", "c"}},
		{name: "daily cap counts corrections", learner: "l-1",
			given: []domain.Event{accepted(hl("x", mon, 100)), domain.TraineeLineCorrected{ContractID: "c-1", CorrectsID: "x", LineID: "x-fix", Date: mon, PreviousMinutes: 100, Minutes: 400, Activity: domain.ActivityFaceToFace}},
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
			given: []domain.Event{accepted(hl("x", mon, 100)), domain.TraineeLineCorrected{ContractID: "c-1", CorrectsID: "x", LineID: "a", Date: mon, PreviousMinutes: 100, Minutes: 50, Activity: domain.ActivityFaceToFace}},
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
				Terms: terms(), Lines: tc.lines, Learner: enrolled().Get(tc.learner), Today: today}
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
				if !r.Accepted && tc.detail != "" && !strings.Contains(r.Detail, tc.detail) {
					t.Errorf("line %d: detail %q, want it to say %q", i, r.Detail, tc.detail)
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
	// An invalid line names the field refused, for a program to tell people.
	wantField := map[int]string{4: "learner_id", 5: "minutes"}
	if len(rejected) != len(wantRejected) {
		t.Fatalf("rejected %+v", rejected)
	}
	for _, r := range rejected {
		if wantRejected[r.Index] != r.Reason || wantField[r.Index] != r.Field {
			t.Errorf("line %d rejected %s on %q, want %s on %q", r.Index, r.Reason, r.Field, wantRejected[r.Index], wantField[r.Index])
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
	fixed := domain.TraineeLineCorrected{ContractID: "c-1", CorrectsID: "x", LineID: "x-fix", Date: mon, PreviousMinutes: 120, Minutes: 60, Activity: domain.ActivityFaceToFace}
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
		// the command's learner (l-1 by default), day and immersion days
		learner   string
		today     civil.Date
		immersion map[civil.Date]int
		detail    string
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
		{name: "more minutes over the scheme's cap across contracts", given: append(base[:1:1], acceptedIn("c-2", hl("o", mon, 100))),
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 121}, reason: domain.RejectDailyCap,
			detail: "421 minutes on 2026-03-09 across contracts c-1 (321), c-2 (100): over the daily cap of 420"},
		{name: "more minutes over the cap with an immersion", given: base, immersion: map[civil.Date]int{mon: 100},
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 121}, reason: domain.RejectDailyCap, detail: "immersion (100)"},
		{name: "more minutes once the learner left the contract", given: base, learner: "l-3",
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 130}, reason: domain.RejectNotEnrolled, detail: "enrolled with contract c-2"},
		{name: "more minutes on a line dated after today", given: base, today: mon.AddDays(-1),
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 130}, reason: domain.RejectDateInFuture, detail: "the corrected line's date 2026-03-09"},
		{name: "fewer minutes whatever the rules", given: base, learner: "l-3", today: mon.AddDays(-1),
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 0}, delta: -3000, period: month(time.March)},
		{name: "another contract's line is not this contract's", given: []domain.Event{acceptedIn("c-2", hl("x", mon, 120))},
			cmd: domain.CorrectLine{CorrectsID: "x", LineID: "x-fix", Minutes: 60}, kind: apperr.KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cmd
			if c.Reason == "" {
				c.Reason = "wrong sheet"
			}
			c.Activity = domain.ActivityFaceToFace
			learner, now := "l-1", today
			if tc.learner != "" {
				learner = tc.learner
			}
			if !tc.today.IsZero() {
				now = tc.today
			}
			c.ContractID, c.LearnerID, c.Terms, c.Learner, c.Closed, c.Today = "c-1", "l-1", terms(), enrolled().Get(learner), tc.closed, now
			c.Learner.Immersion = tc.immersion
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
			if !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("detail %q, want it to say %q", r.Detail, tc.detail)
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
		domain.TraineeHoursReported{LedgerID: "lg-2", ContractID: "c-2", LearnerID: "l-2", Lines: []domain.HourLine{
			{ID: "after", Date: d(time.April, 1), Minutes: 30},
		}},
		domain.TraineeLineCorrected{ContractID: "c-1", CorrectsID: "cancelled", LineID: "cancelled-fix", Date: d(time.April, 2), PreviousMinutes: 60, Minutes: 0},
		domain.TraineeLinesFlagged{ContractID: "c-1", LineIDs: []string{"flagged"}, Reason: domain.AnomalyExitBackdated},
	}
	l := ledger(given...)
	l2 := enrolled().Get("l-2")
	cmd := domain.FlagLines{LedgerID: "lw", After: d(time.March, 31), Episode: 1, Reason: domain.AnomalyExitBackdated,
		Billable: func(_ string, day civil.Date) bool { return l2.InScheme(day) },
		Closed: func(c string) domain.Closed {
			if c == "c-1" {
				return domain.Closed{month(time.April): true}
			}
			return nil
		},
		Today: d(time.April, 20)}
	evs := domain.DecideFlag(l, cmd)
	if len(evs) != 2 {
		t.Fatalf("events %+v, want one per contract", evs)
	}
	e := evs[0].(domain.TraineeLinesFlagged)
	if e.ContractID != "c-1" || e.LedgerID != "lw" || !reflect.DeepEqual(e.LineIDs, []string{"after"}) || e.Reason != domain.AnomalyExitBackdated ||
		e.Period != month(time.May) || e.ExitDate != d(time.March, 31) {
		t.Fatalf("flagged %+v", e)
	}
	if e2 := evs[1].(domain.TraineeLinesFlagged); e2.ContractID != "c-2" || !reflect.DeepEqual(e2.LineIDs, []string{"after"}) || e2.Period != month(time.April) {
		t.Fatalf("flagged under c-2 %+v", e2)
	}
	for _, ev := range evs {
		l.Apply(ev)
	}
	if again := domain.DecideFlag(l, cmd); again != nil {
		t.Fatalf("flagged twice: %+v", again)
	}
	if ln := l.Lines[domain.LineRef{ContractID: "c-1", ID: "after"}]; ln.Anomaly != domain.AnomalyExitBackdated || ln.Current != 60 {
		t.Fatalf("the line is kept, flagged: %+v", ln)
	}
}

func TestEndedEnrolmentFlagsTheContractsLaterLines(t *testing.T) {
	// l-1 left contract c-1 on 10 March (recorded later); its lines under
	// c-2 stay billed, and so do its c-1 lines up to its last day.
	l := ledger(
		accepted(hl("on-last-day", mon.AddDays(1), 60), hl("after", mon.AddDays(2), 60), hl("later", mon.AddDays(3), 60)),
		acceptedIn("c-2", hl("other", mon.AddDays(2), 60)),
	)
	learner := enrolled().Get("l-1")
	learner.Enrolments[0].To = mon.AddDays(1)
	evs := domain.DecideFlag(l, domain.FlagLines{LedgerID: "lw", After: mon.AddDays(1), ContractID: "c-1", Reason: domain.AnomalyEnrolmentEnded, Episode: 1,
		Billable: func(c string, day civil.Date) bool { return learner.EnrolledWith(c, day) }, Today: day(time.March, 20)})
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	e := evs[0].(domain.TraineeLinesFlagged)
	if e.ContractID != "c-1" || !reflect.DeepEqual(e.LineIDs, []string{"after", "later"}) || e.Reason != domain.AnomalyEnrolmentEnded || e.Period != month(time.March) {
		t.Fatalf("flagged %+v", e)
	}
}
