package domain_test

import (
	"reflect"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

func fold(evs []domain.Event) domain.Assignment {
	var a domain.Assignment
	for _, ev := range evs {
		a = domain.EvolveAssignment(a, ev)
	}
	return a
}

func TestDecideAssignment(t *testing.T) {
	lea := domain.Learner{ID: "l-1"}
	entered := domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-5), Reason: domain.ReasonAutomatic, Explanation: "x"}
	queued := domain.AssignmentPending{LearnerID: "l-1", Territory: "T05", Episode: 1, Since: day.AddDays(-5), Explanation: "x"}
	exited := domain.AssignmentEnded{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, To: day.AddDays(-2)}
	refs := func(rs ...domain.Referent) map[string]domain.Referent {
		m := map[string]domain.Referent{}
		for _, r := range rs {
			m[r.ID] = r
		}
		return m
	}
	tests := []struct {
		name  string
		given []domain.Event
		refs  map[string]domain.Referent
		when  any
		then  []domain.Event
		err   apperr.Kind
	}{
		{
			name: "entry assigns the policy's choice", refs: refs(ref("r-a", 10, 1), ref("r-b", 10, 0)),
			when: domain.Enter{Learner: lea, Territory: "T05", Episode: 1, Day: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day, Reason: domain.ReasonAutomatic, Explanation: "2 eligible of 2 in T05 on 2026-11-26; load 0/10; lowest load", ReferentName: "r-b"},
				domain.LearnerTaken{ReferentID: "r-b", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day}},
			},
		},
		{
			name: "entry without candidate queues", refs: refs(ref("r-a", 1, 1)),
			when: domain.Enter{Learner: lea, Territory: "T05", Episode: 1, Day: day},
			then: []domain.Event{domain.AssignmentPending{LearnerID: "l-1", Territory: "T05", Episode: 1, Since: day, Explanation: "no pedagogical referent of T05 active, available on 2026-11-26 and below capacity, among 1"}},
		},
		{
			name: "entry seen twice decides nothing", given: []domain.Event{entered}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Enter{Learner: lea, Territory: "T05", Episode: 1, Day: day},
		},
		{
			name: "entry of an exited episode seen again decides nothing", given: []domain.Event{entered, exited}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Enter{Learner: lea, Territory: "T05", Episode: 1, Day: day},
		},
		{
			name: "re-entry prefers the previous referent", given: []domain.Event{entered, exited}, refs: refs(ref("r-a", 10, 5), ref("r-b", 10, 0)),
			when: domain.Enter{Learner: lea, Territory: "T05", Episode: 2, Day: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 2, From: day, Reason: domain.ReasonAutomatic, Explanation: "2 eligible of 2 in T05 on 2026-11-26; continuity with the previous referent; load 5/10", ReferentName: "r-a"},
				domain.LearnerTaken{ReferentID: "r-a", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 2, From: day}},
			},
		},
		{
			name: "exit releases the slot", given: []domain.Event{entered},
			when: domain.Exit{LearnerID: "l-1", Episode: 1, Day: day},
			then: []domain.Event{
				domain.AssignmentEnded{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, To: day},
				domain.LearnerReleased{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", To: day},
			},
		},
		{
			name: "exit of a queued learner leaves the queue", given: []domain.Event{queued},
			when: domain.Exit{LearnerID: "l-1", Episode: 1, Day: day},
			then: []domain.Event{domain.AssignmentEnded{LearnerID: "l-1", Territory: "T05", Episode: 1, To: day}},
		},
		{
			name: "retry assigns a queued learner when a slot is free", given: []domain.Event{queued}, refs: refs(ref("r-a", 2, 1)),
			when: domain.Retry{Learner: lea, Day: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day, Reason: domain.ReasonAutomatic, Explanation: "1 eligible of 1 in T05 on 2026-11-26; load 1/2", ReferentName: "r-a"},
				domain.LearnerTaken{ReferentID: "r-a", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day}},
			},
		},
		{
			name: "retry without slot decides nothing", given: []domain.Event{queued}, refs: refs(ref("r-a", 1, 1)),
			when: domain.Retry{Learner: lea, Day: day},
		},
		{
			name: "handover", given: []domain.Event{entered}, refs: refs(ref("r-a", 10, 1), ref("r-b", 10, 0)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-a", Reason: "moves to Vernon", Day: day, Today: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day, Reason: domain.ReasonHandover, Explanation: "moves to Vernon", Previous: "r-a", ReferentName: "r-b"},
				domain.LearnerReleased{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", To: day},
				domain.LearnerTaken{ReferentID: "r-b", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day}},
			},
		},
		{
			name: "handover from someone else", given: []domain.Event{entered}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-c", Reason: "x", Day: day, Today: day},
			err:  apperr.KindFailedPrecondition,
		},
		{
			name: "handover to a full referent", given: []domain.Event{entered}, refs: refs(ref("r-b", 1, 1)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-a", Reason: "x", Day: day, Today: day},
			err:  apperr.KindFailedPrecondition,
		},
		{
			name: "handover dated before the current period", given: []domain.Event{entered}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-a", Reason: "x", Day: day.AddDays(-6), Today: day},
			err:  apperr.KindInvalidArgument,
		},
		{
			name: "manual assignment of a queued learner", given: []domain.Event{queued}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Day: day, Today: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day, Reason: domain.ReasonManual, Explanation: "assigned by an administrator", ReferentName: "r-b"},
				domain.LearnerTaken{ReferentID: "r-b", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day}},
			},
		},
		{
			name: "manual assignment out of the pathway", given: []domain.Event{entered, exited}, refs: refs(ref("r-b", 10, 0)),
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Day: day, Today: day},
			err:  apperr.KindFailedPrecondition,
		},
		{
			name: "manual assignment to an unknown referent", given: []domain.Event{queued},
			when: domain.Assign{LearnerID: "l-1", ReferentID: "r-z", Day: day, Today: day},
			err:  apperr.KindNotFound,
		},
		{
			name: "deactivation hands over to the policy's choice", given: []domain.Event{entered}, refs: refs(ref("r-a", 10, 1), ref("r-b", 10, 3)),
			when: domain.Reassign{Learner: lea, From: "r-a", Day: day},
			then: []domain.Event{
				domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day, Reason: domain.ReasonDeactivation, Explanation: "1 eligible of 2 in T05 on 2026-11-26; load 3/10", Previous: "r-a", ReferentName: "r-b"},
				domain.LearnerReleased{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", To: day},
				domain.LearnerTaken{ReferentID: "r-b", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day}},
			},
		},
		{
			name: "deactivation without candidate queues", given: []domain.Event{entered}, refs: refs(ref("r-a", 10, 1)),
			when: domain.Reassign{Learner: lea, From: "r-a", Day: day},
			then: []domain.Event{
				domain.AssignmentPending{LearnerID: "l-1", Territory: "T05", Episode: 1, Since: day, Explanation: "no pedagogical referent of T05 active, available on 2026-11-26 and below capacity, among 1", Previous: "r-a"},
				domain.LearnerReleased{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", To: day},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.Decide(fold(tc.given), tc.refs, tc.when)
			if tc.err != 0 || err != nil {
				if apperr.KindOf(err) != tc.err || err == nil {
					t.Fatalf("error %v (kind %v), want kind %v", err, apperr.KindOf(err), tc.err)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.then) {
				t.Fatalf("events\n got %#v\nwant %#v", got, tc.then)
			}
		})
	}
}

func TestReadableBy(t *testing.T) {
	a := fold([]domain.Event{
		domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-40)},
		domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day.AddDays(-30), Previous: "r-a"},
	})
	for _, tc := range []struct {
		referent string
		on       int // days after day
		want     bool
	}{{"r-b", 0, true}, {"r-a", 0, true}, {"r-a", 1, false}, {"r-c", 0, false}, {"", 0, false}} {
		if got := a.ReadableBy(tc.referent, day.AddDays(tc.on), 30); got != tc.want {
			t.Errorf("ReadableBy(%s, +%d) = %v, want %v", tc.referent, tc.on, got, tc.want)
		}
	}
	exited := domain.EvolveAssignment(a, domain.AssignmentEnded{LearnerID: "l-1", ReferentID: "r-b", Territory: "T05", Episode: 1, To: day})
	if exited.ReadableBy("r-b", day, 30) {
		t.Error("a referent keeps no access after the learner's exit")
	}
}

func TestDecideReferent(t *testing.T) {
	p := ref("r-a", 10, 0).Profile
	registered := domain.EvolveReferent(domain.Referent{}, domain.ReferentRegistered{ReferentID: "r-a", Profile: p})
	full := domain.EvolveReferent(registered, domain.LearnerTaken{ReferentID: "r-a", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05"}})
	economic := p
	economic.Kind = domain.KindEconomic
	for _, tc := range []struct {
		name  string
		state domain.Referent
		cmd   any
		n     int
		err   apperr.Kind
	}{
		{"register", domain.Referent{}, domain.RegisterReferent{ReferentID: "r-a", Profile: p}, 1, 0},
		{"register twice", registered, domain.RegisterReferent{ReferentID: "r-a", Profile: p}, 0, apperr.KindAlreadyExists},
		{"economic with capacity", domain.Referent{}, domain.RegisterReferent{ReferentID: "r-a", Profile: economic}, 0, apperr.KindInvalidArgument},
		{"update unchanged", registered, domain.UpdateReferent{ReferentID: "r-a", Profile: p}, 0, 0},
		{"capacity below load", full, domain.UpdateReferent{ReferentID: "r-a", Profile: func() domain.Profile { q := p; q.Capacity = 0; return q }()}, 0, apperr.KindInvalidArgument},
		{"absence", registered, domain.SetAvailability{ReferentID: "r-a", AbsentFrom: day, AbsentTo: day.AddDays(3)}, 1, 0},
		{"absence reversed", registered, domain.SetAvailability{ReferentID: "r-a", AbsentFrom: day, AbsentTo: day.AddDays(-3)}, 0, apperr.KindInvalidArgument},
		{"deactivate", full, domain.DeactivateReferent{ReferentID: "r-a", On: day, Today: day}, 1, 0},
		{"deactivate unknown", domain.Referent{}, domain.DeactivateReferent{ReferentID: "r-a", On: day, Today: day}, 0, apperr.KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.DecideReferent(tc.state, tc.cmd)
			if apperr.KindOf(err) != tc.err || (tc.err != 0) != (err != nil) || len(evs) != tc.n {
				t.Fatalf("got %d events, error %v; want %d, kind %v", len(evs), err, tc.n, tc.err)
			}
		})
	}
}
