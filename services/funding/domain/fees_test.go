package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestReportGroupHours(t *testing.T) {
	line := domain.GroupLine{ID: "g1", Date: mon, Minutes: 180, Trainer: "M. Martin", Attendees: []string{"l-1", "l-2"}, Period: month(time.March), Rate: 4000, Amount: 12000}
	given := domain.GroupHoursReported{LedgerID: "gl", ContractID: "c-1", GroupSessionID: "grp-7", Line: line}
	twelve := []string{"l-1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11", "a12"}
	everyone := domain.Learners{}
	for _, id := range append(twelve, "a13") {
		everyone[id] = domain.Learner{Territory: "T05", Enrolments: []domain.Enrolment{{Number: 1, ContractID: "c-1", From: day(time.January, 1)}}}
	}
	for _, tc := range []struct {
		name      string
		given     []domain.Event
		id        string
		d         civil.Date
		minutes   int
		trainer   string
		attendees []string
		enrol     domain.Learners
		reason    domain.Rejection
		already   bool
		detail    string
	}{
		{name: "accepted", id: "g1", d: mon, minutes: 180, trainer: "M. Martin", attendees: []string{"l-1", "l-2"}},
		{name: "exactly the max group size", id: "g1", d: mon, minutes: 60, trainer: "T", attendees: twelve, enrol: everyone},
		{name: "over the max group size", id: "g1", d: mon, minutes: 60, trainer: "T", attendees: append(twelve, "a13"), enrol: everyone, reason: domain.RejectGroupTooLarge},
		{name: "attendees not enrolled are named", id: "g1", d: mon, minutes: 60, trainer: "T", attendees: []string{"l-1", "l-9", "l-3", "l-4"}, reason: domain.RejectNotEnrolled,
			detail: "2 of 4 attendees had no enrolment with contract c-1 on 2026-03-09: l-9, l-3"},
		{name: "an attendee left the contract", id: "g1", d: day(time.April, 7), minutes: 60, trainer: "T", attendees: []string{"l-1", "l-2"}, reason: domain.RejectNotEnrolled, detail: ": l-2"},
		{name: "an attendee outside the lot", id: "g1", d: mon, minutes: 60, trainer: "T", attendees: []string{"l-1", "l-4"}, reason: domain.RejectTerritoryNotInLot,
			detail: "1 of 2 attendees live outside the lot of contract c-1 (T05): l-4"},
		{name: "date after today", id: "g1", d: today.AddDays(1), minutes: 60, trainer: "T", attendees: []string{"l-1"}, reason: domain.RejectDateInFuture},
		{name: "attendee twice", id: "g1", d: mon, minutes: 60, trainer: "T", attendees: []string{"l-1", "l-1"}, reason: domain.RejectInvalid},
		{name: "no attendee", id: "g1", d: mon, minutes: 60, trainer: "T", reason: domain.RejectInvalid},
		{name: "no minutes", id: "g1", d: mon, trainer: "T", attendees: []string{"l-1"}, reason: domain.RejectInvalid},
		{name: "outside contract period", id: "g1", d: civil.Date{Year: 2025, Month: time.December, Day: 31}, minutes: 60, trainer: "T", attendees: []string{"l-1"}, reason: domain.RejectOutsideContract},
		{name: "same line again", given: []domain.Event{given}, id: "g1", d: mon, minutes: 180, trainer: "M. Martin", attendees: []string{"l-1", "l-2"}, already: true},
		{name: "line id reused", given: []domain.Event{given}, id: "g1", d: mon, minutes: 120, trainer: "M. Martin", attendees: []string{"l-1", "l-2"}, reason: domain.RejectDuplicateID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := domain.NewGroupLedger()
			for _, ev := range tc.given {
				g.Apply(ev)
			}
			enrol := tc.enrol
			if enrol == nil {
				enrol = enrolled()
			}
			evs, r, err := domain.DecideGroup(g, domain.ReportGroup{LedgerID: "gl", ContractID: "c-1", GroupSessionID: "grp-7", RequestID: "r", LineID: tc.id,
				Date: tc.d, Minutes: tc.minutes, Trainer: tc.trainer, Attendees: tc.attendees, Terms: terms(), Learners: enrol, Today: today})
			if err != nil {
				t.Fatal(err)
			}
			if r.Reason != tc.reason || r.Already != tc.already || r.Accepted != (tc.reason == domain.RejectNone) {
				t.Fatalf("result %+v, want %s already=%v", r, tc.reason, tc.already)
			}
			if !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("detail %q, want it to say %q", r.Detail, tc.detail)
			}
			if (r.Reason == domain.RejectInvalid) != (r.Field != "") {
				t.Fatalf("an invalid line names its field, and only it: %+v", r)
			}
			if (len(evs) == 1) != (r.Accepted && !r.Already) {
				t.Fatalf("events %+v for %+v", evs, r)
			}
			if len(evs) == 1 {
				e := evs[0].(domain.GroupHoursReported)
				if e.Line.Rate != 4000 || e.Line.Amount != domain.Amount(tc.minutes, 4000) || e.Line.Period != month(time.March) {
					t.Fatalf("line %+v", e.Line)
				}
			}
		})
	}
}

func TestClaimFlatFee(t *testing.T) {
	facts := []domain.Fact{
		{Type: domain.FeeNeedsAnalysisCompleted, Ref: "an-1", Date: day(time.February, 3)},
		{Type: domain.FeeImmersionPartiallyCompleted, Ref: "s-1", Date: day(time.March, 20)},
		{Type: domain.FeeImmersionCompleted, Ref: "s-2", Date: day(time.April, 10)},
		{Type: domain.FeeImmersionCompleted, Ref: "s-3", Date: day(time.May, 10)},
		{Type: domain.FeeExitToEmployment, Ref: "episode-1", Date: day(time.June, 30)},
		{Type: domain.FeeExitToQualifyingTraining, Ref: "episode-0", Date: civil.Date{Year: 2025, Month: time.June, Day: 30}},
		{Type: domain.FeeImmersionPartiallyCompleted, Ref: "s-9", Date: day(time.August, 31)},
	}
	claimed := func(typ domain.FeeType, code, ref, line string) domain.Event {
		return domain.FlatFeeClaimed{LedgerID: "fl", ContractID: "c-1", LearnerID: "l-1", Type: typ, CustomCode: code, FactRef: ref, Evidence: ref, LineID: line, Amount: 1}
	}
	noFees := terms()
	noFees.FlatFees = noFees.FlatFees[:1]
	for _, tc := range []struct {
		name     string
		given    []domain.Event
		typ      domain.FeeType
		code     string
		evidence string
		line     string
		terms    *domain.Terms
		budget   bool
		noFacts  bool
		learner  string                    // l-1 by default
		paid     map[string]domain.Payment // under other contracts, by fact ref
		reason   domain.Rejection
		already  bool
		ref      string
		amount   int64
		period   civil.Month
		detail   string
	}{
		{name: "needs analysis matched", typ: domain.FeeNeedsAnalysisCompleted, line: "f1", ref: "an-1", amount: 20000, period: month(time.February)},
		{name: "partial immersion matched", typ: domain.FeeImmersionPartiallyCompleted, line: "f1", ref: "s-1", amount: 7500, period: month(time.March)},
		{name: "exit to employment matched", typ: domain.FeeExitToEmployment, line: "f1", ref: "episode-1", amount: 50000, period: month(time.June)},
		{name: "second immersion after the first", given: []domain.Event{claimed(domain.FeeImmersionCompleted, "", "s-2", "f0")}, typ: domain.FeeImmersionCompleted, line: "f1", ref: "s-3", amount: 15000, period: month(time.May)},
		{name: "every fact paid here", given: []domain.Event{claimed(domain.FeeNeedsAnalysisCompleted, "", "an-1", "f0")}, typ: domain.FeeNeedsAnalysisCompleted, line: "f1",
			reason: domain.RejectFactAlreadyPaid, detail: "the fee of fact an-1 (2026-02-03) was already paid under this contract (claim f0)"},
		{name: "paid under another contract", typ: domain.FeeNeedsAnalysisCompleted, line: "f1", paid: map[string]domain.Payment{"an-1": {ContractID: "c-2", OperatorID: "op-2", LineID: "x"}},
			reason: domain.RejectFactAlreadyPaid, detail: "already paid under contract c-2 (operator op-2, claim x)"},
		{name: "paid elsewhere even when not enrolled here", learner: "l-3", typ: domain.FeeNeedsAnalysisCompleted, line: "f1",
			paid: map[string]domain.Payment{"an-1": {ContractID: "c-2", OperatorID: "op-2", LineID: "x"}}, reason: domain.RejectFactAlreadyPaid},
		{name: "the next fact when one was paid elsewhere", typ: domain.FeeImmersionCompleted, line: "f1", paid: map[string]domain.Payment{"s-2": {ContractID: "c-2"}},
			ref: "s-3", amount: 15000, period: month(time.May)},
		{name: "not enrolled with the contract on the fact's day", learner: "l-3", typ: domain.FeeNeedsAnalysisCompleted, line: "f1",
			reason: domain.RejectNotEnrolled, detail: "fact an-1 of 2026-02-03: learner l-3 had no enrolment with contract c-1 on 2026-02-03: enrolled with contract c-2 that day"},
		{name: "the fact of a day enrolled", learner: "l-2", typ: domain.FeeImmersionCompleted, line: "f1", ref: "s-3", amount: 15000, period: month(time.May)},
		{name: "outside the lot", learner: "l-4", typ: domain.FeeNeedsAnalysisCompleted, line: "f1", reason: domain.RejectTerritoryNotInLot},
		{name: "fact after today", given: []domain.Event{claimed(domain.FeeImmersionPartiallyCompleted, "", "s-1", "f0")}, typ: domain.FeeImmersionPartiallyCompleted,
			line: "f1", reason: domain.RejectDateInFuture, detail: "2026-08-31 is after today (2026-07-15)"},
		{name: "custom fee not enrolled", learner: "l-3", typ: domain.FeeCustom, code: "BILAN_FINAL", evidence: "PV-2026-04", line: "f1", reason: domain.RejectNotEnrolled},
		{name: "fee not in contract", typ: domain.FeeImmersionCompleted, line: "f1", terms: &noFees, reason: domain.RejectNotInContract},
		{name: "no fact", typ: domain.FeeNeedsAnalysisCompleted, line: "f1", noFacts: true, reason: domain.RejectFactNotFound},
		{name: "fact outside the contract period", typ: domain.FeeExitToQualifyingTraining, line: "f1", reason: domain.RejectFactNotFound},
		{name: "same claim again", given: []domain.Event{claimed(domain.FeeNeedsAnalysisCompleted, "", "an-1", "f1")}, typ: domain.FeeNeedsAnalysisCompleted, line: "f1", evidence: "an-1", already: true},
		{name: "claim id reused", given: []domain.Event{claimed(domain.FeeNeedsAnalysisCompleted, "", "an-1", "f1")}, typ: domain.FeeImmersionCompleted, line: "f1", reason: domain.RejectDuplicateID},
		{name: "custom fee on evidence", typ: domain.FeeCustom, code: "BILAN_FINAL", evidence: "PV-2026-04", line: "f1", ref: "PV-2026-04", amount: 10000, period: month(time.July)},
		{name: "custom fee without evidence", typ: domain.FeeCustom, code: "BILAN_FINAL", line: "f1", reason: domain.RejectInvalid},
		{name: "custom evidence claimed twice", given: []domain.Event{claimed(domain.FeeCustom, "BILAN_FINAL", "PV-2026-04", "f0")}, typ: domain.FeeCustom, code: "BILAN_FINAL", evidence: "PV-2026-04", line: "f1", reason: domain.RejectAlreadyClaimed},
		{name: "custom code unknown", typ: domain.FeeCustom, code: "OTHER", evidence: "PV", line: "f1", reason: domain.RejectNotInContract},
		{name: "unknown type", typ: 42, line: "f1", reason: domain.RejectInvalid},
		{name: "over the envelope", typ: domain.FeeNeedsAnalysisCompleted, line: "f1", budget: true, reason: domain.RejectBudgetExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := domain.NewFeesLedger()
			for _, ev := range tc.given {
				f.Apply(ev)
			}
			tm := terms()
			if tc.terms != nil {
				tm = *tc.terms
			}
			learner := "l-1"
			if tc.learner != "" {
				learner = tc.learner
			}
			c := domain.ClaimFee{LedgerID: "fl", ContractID: "c-1", LearnerID: learner, RequestID: "r", LineID: tc.line, Type: tc.typ, CustomCode: tc.code,
				Evidence: tc.evidence, Terms: tm, Facts: facts, Learner: enrolled().Get(learner), Today: day(time.July, 15),
				Paid: func(f domain.Fact) (domain.Payment, bool) { p, ok := tc.paid[f.Ref]; return p, ok }}
			if tc.noFacts {
				c.Facts = nil
			}
			if tc.budget {
				c.Budget = &domain.Budget{Terms: tm, Used: map[int]int64{1: tm.AnnualEnvelopeCents - 19999}}
			}
			evs, r, err := domain.DecideFee(f, c)
			if err != nil {
				t.Fatal(err)
			}
			if r.Reason != tc.reason || r.Already != tc.already {
				t.Fatalf("result %+v, want %s already=%v", r, tc.reason, tc.already)
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
			e := evs[0].(domain.FlatFeeClaimed)
			if e.FactRef != tc.ref || e.Amount != tc.amount || e.Period != tc.period || r.AmountCts != tc.amount {
				t.Fatalf("claim %+v, want fact %s amount %d on %s", e, tc.ref, tc.amount, tc.period)
			}
			// A standard fee claims its fact, across contracts; a custom one
			// is its contract's own.
			if tc.typ == domain.FeeCustom {
				if len(evs) != 1 {
					t.Fatalf("custom fee events %+v", evs)
				}
				return
			}
			want := domain.FactFeeClaimed{LearnerID: learner, Type: tc.typ, FactRef: tc.ref, ContractID: "c-1", OperatorID: "op-1", LineID: tc.line}
			if len(evs) != 2 || evs[1] != want {
				t.Fatalf("events %+v, want the claim and %+v", evs, want)
			}
		})
	}
}
