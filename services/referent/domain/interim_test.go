package domain_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// interimWorld is r-a of T05 and T06, absent or not, following l-1 (T05)
// and l-2 (T06), and the referents that might stand in for it.
type interimWorld struct {
	absent    domain.Referent
	referents map[string]domain.Referent
	learners  map[string]domain.Assignment
}

func newInterimWorld() interimWorld {
	pedagogical := func(id string, territories ...string) domain.Referent {
		return domain.EvolveReferent(domain.Referent{}, domain.ReferentRegistered{ReferentID: id, Profile: domain.Profile{
			Name: id, Organisation: "AFPA", Territories: territories, Capacity: 10, Kind: domain.KindPedagogical,
		}})
	}
	w := interimWorld{absent: pedagogical("r-a", "T05", "T06"), referents: map[string]domain.Referent{}, learners: map[string]domain.Assignment{}}
	for _, r := range []domain.Referent{
		pedagogical("r-i", "T05", "T06"), pedagogical("r-k", "T06", "T05", "T07"), pedagogical("r-j", "T05"),
		domain.EvolveReferent(pedagogical("r-d", "T05", "T06"), domain.ReferentDeactivated{ReferentID: "r-d", On: day}),
		domain.EvolveReferent(domain.Referent{}, domain.ReferentRegistered{ReferentID: "r-e", Profile: domain.Profile{
			Name: "r-e", Organisation: "AFPA", Territories: []string{"T05", "T06"}, Kind: domain.KindEconomic,
		}}),
	} {
		w.referents[r.ID] = r
	}
	w.take("l-1", "T05")
	w.take("l-2", "T06")
	return w
}

// take makes r-a follow learner, as an assignment does.
func (w *interimWorld) take(learner, territory string) {
	slot := domain.Slot{LearnerID: learner, Territory: territory, Episode: 1, From: day.AddDays(-20)}
	w.absent = domain.EvolveReferent(w.absent, domain.LearnerTaken{ReferentID: "r-a", Slot: slot})
	w.learners[learner] = domain.EvolveAssignment(domain.Assignment{}, domain.ReferentAssigned{
		LearnerID: learner, ReferentID: "r-a", Territory: territory, Episode: 1, From: slot.From, Reason: domain.ReasonAutomatic,
	})
}

// decide decides cmd and applies its events to the world.
func (w *interimWorld) decide(t *testing.T, cmd any) ([]domain.Event, error) {
	t.Helper()
	evs, err := domain.DecideAvailability(w.absent, w.referents, w.learners, cmd)
	if err != nil {
		return nil, err
	}
	if len(evs) > 0 {
		if _, ok := evs[0].(domain.AvailabilitySet); !ok {
			t.Fatalf("the first event is %T, not the absent referent's AvailabilitySet", evs[0])
		}
	}
	for _, ev := range evs {
		switch e := ev.(type) {
		case domain.AvailabilitySet:
			w.absent = domain.EvolveReferent(w.absent, e)
		case domain.InterimTaken:
			w.referents[e.ReferentID] = domain.EvolveReferent(w.referents[e.ReferentID], e)
		case domain.InterimReleased:
			w.referents[e.ReferentID] = domain.EvolveReferent(w.referents[e.ReferentID], e)
		}
		for id, a := range w.learners {
			if assigned, ok := ev.(domain.InterimAssigned); ok && assigned.LearnerID != id {
				continue
			}
			if cleared, ok := ev.(domain.InterimCleared); ok && cleared.LearnerID != id {
				continue
			}
			w.learners[id] = domain.EvolveAssignment(a, ev)
		}
	}
	return evs, nil
}

func TestDecideAvailabilityWithInterim(t *testing.T) {
	from, to := day.AddDays(25), day.AddDays(38)
	span := domain.Span{From: from, To: to}
	absence := func(interim string) domain.SetAvailability {
		return domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: interim}
	}
	both := []string{"T05", "T06"}
	assigned := func(learner, territory, interim string, s domain.Span) domain.InterimAssigned {
		return domain.InterimAssigned{LearnerID: learner, ReferentID: "r-a", Interim: interim, Territory: territory, Episode: 1, Span: s}
	}
	set := func(f, t_ domain.Span, interim string, territories []string) domain.AvailabilitySet {
		return domain.AvailabilitySet{ReferentID: "r-a", AbsentFrom: f.From, AbsentTo: t_.To, Territories: both, Interim: interim, InterimTerritories: territories}
	}

	w := newInterimWorld()
	// Named: the absence, the interim's caseload, every learner.
	evs, err := w.decide(t, absence("r-i"))
	want := []domain.Event{
		set(span, span, "r-i", both),
		domain.InterimTaken{ReferentID: "r-i", For: "r-a", Span: span},
		assigned("l-1", "T05", "r-i", span), assigned("l-2", "T06", "r-i", span),
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("named:\n got %#v %v\nwant %#v", evs, err, want)
	}
	if !w.learners["l-1"].StandsIn("r-i", from) || !w.learners["l-2"].StandsIn("r-i", to) || w.learners["l-1"].StandsIn("r-i", to.AddDays(1)) ||
		w.learners["l-1"].StandsIn("r-i", from.AddDays(-1)) || w.learners["l-1"].Current != "r-a" || w.referents["r-i"].Covers["r-a"] != span {
		t.Fatalf("after: %+v %+v", w.learners["l-1"], w.referents["r-i"])
	}
	if got := w.absent.Covered(); len(got) != 2 || w.absent.Load() != 2 || w.referents["r-i"].Load() != 0 {
		t.Fatalf("covered %v; loads %d and %d", got, w.absent.Load(), w.referents["r-i"].Load())
	}
	// The same again: nothing.
	if evs, err := w.decide(t, absence("r-i")); err != nil || len(evs) != 0 {
		t.Fatalf("again: %v %v", evs, err)
	}
	// A learner taken since, without its interim: recorded again, for it.
	w.take("l-3", "T05")
	evs, err = w.decide(t, absence("r-i"))
	if want := []domain.Event{set(span, span, "r-i", both), assigned("l-3", "T05", "r-i", span)}; err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("a learner without its interim:\n got %#v %v\nwant %#v", evs, err, want)
	}
	// Other days: the interim and every learner again.
	later := domain.Span{From: from.AddDays(1), To: to.AddDays(2)}
	evs, err = w.decide(t, domain.SetAvailability{ReferentID: "r-a", AbsentFrom: later.From, AbsentTo: later.To, Interim: "r-i"})
	want = []domain.Event{
		set(later, later, "r-i", both), domain.InterimTaken{ReferentID: "r-i", For: "r-a", Span: later},
		assigned("l-1", "T05", "r-i", later), assigned("l-2", "T06", "r-i", later), assigned("l-3", "T05", "r-i", later),
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("other days:\n got %#v %v\nwant %#v", evs, err, want)
	}
	// Another interim: the first is released.
	evs, err = w.decide(t, domain.SetAvailability{ReferentID: "r-a", AbsentFrom: later.From, AbsentTo: later.To, Interim: "r-k"})
	want = []domain.Event{
		set(later, later, "r-k", []string{"T06", "T05", "T07"}),
		domain.InterimReleased{ReferentID: "r-i", For: "r-a"}, domain.InterimTaken{ReferentID: "r-k", For: "r-a", Span: later},
		assigned("l-1", "T05", "r-k", later), assigned("l-2", "T06", "r-k", later), assigned("l-3", "T05", "r-k", later),
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("another interim:\n got %#v %v\nwant %#v", evs, err, want)
	}
	if _, ok := w.referents["r-i"].Covers["r-a"]; ok {
		t.Fatal("r-i still covers r-a")
	}
	// The interim deactivated: ended, the absence stays; ending it again,
	// or another referent's, decides nothing.
	if evs, err := w.decide(t, domain.EndInterim{ReferentID: "r-a", Interim: "r-i"}); err != nil || len(evs) != 0 {
		t.Fatalf("ending a former interim: %v %v", evs, err)
	}
	evs, err = w.decide(t, domain.EndInterim{ReferentID: "r-a", Interim: "r-k"})
	want = []domain.Event{
		set(later, later, "", nil), domain.InterimReleased{ReferentID: "r-k", For: "r-a"},
		domain.InterimCleared{LearnerID: "l-1", ReferentID: "r-a", Interim: "r-k"}, domain.InterimCleared{LearnerID: "l-2", ReferentID: "r-a", Interim: "r-k"},
		domain.InterimCleared{LearnerID: "l-3", ReferentID: "r-a", Interim: "r-k"},
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("interim ended:\n got %#v %v\nwant %#v", evs, err, want)
	}
	if w.absent.AbsentFrom != later.From || w.learners["l-1"].Interim != "" {
		t.Fatalf("after the end: %+v %+v", w.absent, w.learners["l-1"])
	}
	// Named again, then the absence cleared: every learner cleared.
	if _, err := w.decide(t, absence("r-i")); err != nil {
		t.Fatal(err)
	}
	evs, err = w.decide(t, domain.SetAvailability{ReferentID: "r-a"})
	want = []domain.Event{
		domain.AvailabilitySet{ReferentID: "r-a", Territories: both}, domain.InterimReleased{ReferentID: "r-i", For: "r-a"},
		domain.InterimCleared{LearnerID: "l-1", ReferentID: "r-a", Interim: "r-i"}, domain.InterimCleared{LearnerID: "l-2", ReferentID: "r-a", Interim: "r-i"},
		domain.InterimCleared{LearnerID: "l-3", ReferentID: "r-a", Interim: "r-i"},
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("cleared:\n got %#v %v\nwant %#v", evs, err, want)
	}
}

func TestInterimRefused(t *testing.T) {
	from, to := day.AddDays(25), day.AddDays(38)
	for _, tc := range []struct {
		name string
		cmd  domain.SetAvailability
		kind apperr.Kind
		want []string
	}{
		{"serves T05 only, r-a follows a learner of T06", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-j"},
			apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"unknown", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-x"}, apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"deactivated", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-d"}, apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"economic", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-e"}, apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"itself", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-a"}, apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"without an absence", domain.SetAvailability{ReferentID: "r-a", Interim: "r-i"}, apperr.KindInvalidArgument, []string{"interim_referent_id"}},
		{"reversed dates", domain.SetAvailability{ReferentID: "r-a", AbsentFrom: to, AbsentTo: from, Interim: "r-i"}, apperr.KindInvalidArgument, []string{"absent_to"}},
		{"for a referent unknown", domain.SetAvailability{ReferentID: "r-z", AbsentFrom: from, AbsentTo: to, Interim: "r-i"}, apperr.KindNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newInterimWorld()
			if tc.cmd.ReferentID != "r-a" {
				w.absent = domain.Referent{}
			}
			evs, err := domain.DecideAvailability(w.absent, w.referents, w.learners, tc.cmd)
			if apperr.KindOf(err) != tc.kind || len(evs) != 0 || !slices.Equal(fields(err), tc.want) {
				t.Fatalf("%v %v; want kind %v on %v", evs, err, tc.kind, tc.want)
			}
		})
	}
}

// A learner the absent referent takes before its absence ends, in a
// territory its interim served when named, gets the interim with the
// assignment; and any change of referent ends the interim.
func TestAssignmentsGetTheInterim(t *testing.T) {
	w := newInterimWorld()
	from, to := day.AddDays(5), day.AddDays(9)
	if _, err := w.decide(t, domain.SetAvailability{ReferentID: "r-a", AbsentFrom: from, AbsentTo: to, Interim: "r-i"}); err != nil {
		t.Fatal(err)
	}
	withT07 := w.absent
	withT07.Profile.Territories = []string{"T05", "T06", "T07"}
	over := withT07
	over.AbsentFrom, over.AbsentTo = day.AddDays(-9), day.AddDays(-1)
	enter := func(territory string) domain.Enter {
		return domain.Enter{Learner: domain.Learner{ID: "l-9"}, Territory: territory, Episode: 1, Day: day}
	}
	queued := domain.EvolveAssignment(domain.Assignment{}, domain.AssignmentPending{LearnerID: "l-9", Territory: "T05", Episode: 1, Since: day})
	for _, tc := range []struct {
		name    string
		r       domain.Referent
		a       domain.Assignment
		cmd     any
		interim *domain.Span
	}{
		{"entry before the absence, in a territory the interim serves", withT07, domain.Assignment{}, enter("T05"), &domain.Span{From: from, To: to}},
		{"entry in a territory the interim did not serve", withT07, domain.Assignment{}, enter("T07"), nil},
		{"entry after an absence with an interim", over, domain.Assignment{}, enter("T05"), nil},
		{"assignment dated before the absence, decided during it", withT07, queued,
			domain.Assign{LearnerID: "l-9", ReferentID: "r-a", Reason: "back", Day: day.AddDays(4), Today: day.AddDays(7)}, &domain.Span{From: from, To: to}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.Decide(tc.a, map[string]domain.Referent{"r-a": tc.r}, tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			a := tc.a
			var got []domain.InterimAssigned
			for _, ev := range evs {
				a = domain.EvolveAssignment(a, ev)
				if i, ok := ev.(domain.InterimAssigned); ok {
					got = append(got, i)
				}
			}
			if a.Current != "r-a" {
				t.Fatalf("not assigned to r-a: %#v", evs)
			}
			if tc.interim == nil {
				if len(got) != 0 || a.Interim != "" {
					t.Fatalf("an interim: %#v", evs)
				}
				return
			}
			if want := (domain.InterimAssigned{LearnerID: "l-9", ReferentID: "r-a", Interim: "r-i", Territory: "T05", Episode: 1, Span: *tc.interim}); len(got) != 1 || got[0] != want {
				t.Fatalf("%#v, want %#v", got, want)
			}
			if _, last := evs[len(evs)-1].(domain.InterimAssigned); !last {
				t.Fatalf("the interim is not last: %#v", evs)
			}
			if !a.StandsIn("r-i", from) || a.StandsIn("r-i", to.AddDays(1)) || a.StandsIn("r-x", from) {
				t.Fatalf("assignment %+v", a)
			}
			handed := domain.EvolveAssignment(a, domain.ReferentAssigned{LearnerID: "l-9", ReferentID: "r-b", Territory: "T05", Episode: 1, From: day.AddDays(6), Previous: "r-a"})
			if handed.Interim != "" || handed.StandsIn("r-i", from.AddDays(2)) {
				t.Fatalf("the interim outlived a handover: %+v", handed)
			}
		})
	}
}
