package auth_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestLearnerScope(t *testing.T) {
	day := civil.Date{Year: 2026, Month: 11, Day: 26}
	graceEnd := civil.Date{Year: 2026, Month: 12, Day: 26}
	followed := auth.LearnerScope{Territory: "T05", Referent: "ref-a", FormerReferents: map[string]civil.Date{"ref-f": graceEnd},
		Operators: map[string][]auth.ReadSpan{
			"op":      {{From: day.AddDays(-10)}},
			"op-past": {{From: day.AddDays(-60), Until: graceEnd}},
			// Enrolled from next week, and earlier for a month long gone.
			"op-next": {{From: day.AddDays(-200), Until: day.AddDays(-100)}, {From: day.AddDays(7)}},
		}}
	pool := auth.LearnerScope{Territory: "T05"}
	var (
		admin    = auth.Principal{Subject: "a", Role: auth.RoleAdmin}
		funder   = auth.Principal{Subject: "f", Role: auth.RoleFunder}
		operator = auth.Principal{Subject: "o", Role: auth.RoleOperator, OperatorID: "op", Territories: []string{"T05"}}
		opElse   = auth.Principal{Subject: "o2", Role: auth.RoleOperator, OperatorID: "op2", Territories: []string{"T05"}}
		opPast   = auth.Principal{Subject: "o3", Role: auth.RoleOperator, OperatorID: "op-past", Territories: []string{"T05"}}
		opNoID   = auth.Principal{Subject: "o4", Role: auth.RoleOperator, Territories: []string{"T05"}}
		opNext   = auth.Principal{Subject: "o5", Role: auth.RoleOperator, OperatorID: "op-next"}
		refA     = auth.Principal{Subject: "ra", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T01"}}
		refB     = auth.Principal{Subject: "rb", Role: auth.RoleReferent, ReferentID: "ref-b", Territories: []string{"T05"}}
		coord    = auth.Principal{Subject: "rc", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}
		coordEl  = auth.Principal{Subject: "rd", Role: auth.RoleReferent, ReferentID: "ref-d", Territories: []string{"T01"}, Coordinator: true}
		former   = auth.Principal{Subject: "rf", Role: auth.RoleReferent, ReferentID: "ref-f", Territories: []string{"T05"}}
		noID     = auth.Principal{Subject: "rx", Role: auth.RoleReferent, Territories: []string{"T01"}}
		interim  = auth.Principal{Subject: "ri", Role: auth.RoleReferent, ReferentID: "ref-i", Territories: []string{"T01"}}
	)
	absent := auth.LearnerScope{Territory: "T05", Referent: "ref-a",
		Interims: map[string]auth.ReadSpan{"ref-i": {From: day.AddDays(5), Until: day.AddDays(9)}}}
	tests := []struct {
		name             string
		p                auth.Principal
		scope            auth.LearnerScope
		day              civil.Date
		actsFor, reaches bool
	}{
		{"admin", admin, followed, day, true, true},
		{"funder", funder, followed, day, false, true},
		{"operator the learner is enrolled with", operator, followed, day, false, true},
		{"operator of the territory, no enrolment: its token's territory counts for nothing", opElse, followed, day, false, false},
		{"operator of an ended enrolment, within its days", opPast, followed, graceEnd, false, true},
		{"operator of an ended enrolment, after them", opPast, followed, graceEnd.AddDays(1), false, false},
		{"an operator without id is enrolled with nobody", opNoID, followed, day, false, false},
		{"operator of an enrolment from next week, today", opNext, followed, day, false, false},
		{"operator of an enrolment from next week, on its first day", opNext, followed, day.AddDays(7), false, true},
		{"operator of an enrolment long ended, between its spans", opNext, followed, day.AddDays(-50), false, false},
		{"operator of an enrolment long ended, within its first span", opNext, followed, day.AddDays(-150), false, true},
		{"operator enrolled before its enrolment's first day", operator, followed, day.AddDays(-11), false, false},
		{"pool: an operator of the territory", operator, pool, day, false, false},
		{"the learner's referent, even outside its token's territories", refA, followed, day, true, true},
		{"another referent of the territory", refB, followed, day, false, false},
		{"coordinator of the territory", coord, followed, day, true, true},
		{"coordinator of another territory", coordEl, followed, day, false, false},
		{"former referent during the grace period", former, followed, day, false, true},
		{"former referent on its last day", former, followed, graceEnd, false, true},
		{"former referent after it", former, followed, graceEnd.AddDays(1), false, false},
		{"pool: a referent of the territory", refB, pool, day, true, true},
		{"pool: a referent of another territory", refA, pool, day, false, false},
		{"a referent without id is nobody's referent", noID, auth.LearnerScope{Territory: "T05"}, day, false, false},
		// ref-i stands in for ref-a, absent from day+5 to day+9.
		{"interim, before its days", interim, absent, day.AddDays(4), false, false},
		{"interim, on its first day", interim, absent, day.AddDays(5), true, true},
		{"interim, on its last day", interim, absent, day.AddDays(9), true, true},
		{"interim, the day after", interim, absent, day.AddDays(10), false, false},
		{"the absent referent stays the referent", refA, absent, day.AddDays(7), true, true},
		{"another referent of the territory during the absence", refB, absent, day.AddDays(7), false, false},
		{"interim of days not both known", interim, auth.LearnerScope{Territory: "T05", Referent: "ref-a",
			Interims: map[string]auth.ReadSpan{"ref-i": {Until: day.AddDays(9)}}}, day, false, false},
		{"interim without id", auth.Principal{Subject: "ri", Role: auth.RoleReferent, Territories: []string{"T01"}},
			auth.LearnerScope{Territory: "T05", Referent: "ref-a", Interims: map[string]auth.ReadSpan{"": {From: day, Until: day}}}, day, false, false},
		{"an operator named as interim is no referent", auth.Principal{Subject: "oi", Role: auth.RoleOperator, OperatorID: "ref-i", ReferentID: "ref-i"},
			absent, day.AddDays(7), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.ActsForLearnerOn(tc.scope, tc.day); got != tc.actsFor {
				t.Errorf("ActsForLearnerOn = %v, want %v", got, tc.actsFor)
			}
			// ActsForLearner reads the scope on the day of the call.
			onDay := tc.p
			onDay.Day = tc.day
			if got := onDay.ActsForLearner(tc.scope); got != tc.actsFor {
				t.Errorf("ActsForLearner on the call's day = %v, want %v", got, tc.actsFor)
			}
			if got := tc.p.ReachesLearner(tc.scope, tc.day); got != tc.reaches {
				t.Errorf("ReachesLearner = %v, want %v", got, tc.reaches)
			}
		})
	}
}

// A principal that does not come from a token has no day: an interim never
// acts through it, whatever its days.
func TestInterimNeedsTheCallsDay(t *testing.T) {
	day := civil.Date{Year: 2026, Month: 11, Day: 26}
	p := auth.Principal{Subject: "ri", Role: auth.RoleReferent, ReferentID: "ref-i", Territories: []string{"T01"}}
	s := auth.LearnerScope{Territory: "T05", Referent: "ref-a", Interims: map[string]auth.ReadSpan{"ref-i": {From: day, Until: day}}}
	if p.ActsForLearner(s) {
		t.Fatal("an interim acts without a day")
	}
	p.Day = day
	if !p.ActsForLearner(s) {
		t.Fatal("an interim does not act on its day")
	}
}
