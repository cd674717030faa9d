package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// One referent until the end of qualifying training
// (docs/adr/0071-one-referent-until-the-end-of-qualifying-training.md).

func TestFollowingInQualifUntilTheOutcome(t *testing.T) {
	entered := domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-30), Reason: domain.ReasonAutomatic}
	taken := domain.LearnerTaken{ReferentID: "r-a", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05", Episode: 1, From: day.AddDays(-30)}}
	a := fold([]domain.Event{entered})
	refs := map[string]domain.Referent{"r-a": domain.EvolveReferent(ref("r-a", 10, 0), taken)}

	// An exit to qualifying training keeps the referent, following in Qualif.
	evs, err := domain.Decide(a, refs, domain.Exit{LearnerID: "l-1", Episode: 1, Day: day, Qualif: true})
	want := []domain.Event{
		domain.FollowingInQualif{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day},
		domain.LearnerFollowedInQualif{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", From: day},
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("Qualif exit: %#v %v", evs, err)
	}
	a = fold([]domain.Event{entered, evs[0]})
	r := domain.EvolveReferent(refs["r-a"], evs[1])
	if a.Current != "r-a" || a.Active || !a.InQualif || a.InQualifSince != day {
		t.Fatalf("assignment in Qualif: %+v", a)
	}
	if r.Load() != 0 || r.QualifLoad() != 1 {
		t.Fatalf("caseload: %d active, %d in Qualif", r.Load(), r.QualifLoad())
	}

	// The exit seen again, and the end of another episode's follow-up,
	// decide nothing.
	for _, cmd := range []any{
		domain.Exit{LearnerID: "l-1", Episode: 1, Day: day, Qualif: true},
		domain.EndQualif{LearnerID: "l-1", Episode: 2, Day: day},
	} {
		if evs, err := domain.Decide(a, map[string]domain.Referent{"r-a": r}, cmd); err != nil || len(evs) != 0 {
			t.Fatalf("%T: %v %v", cmd, evs, err)
		}
	}

	// The Qualif outcome ends the assignment and frees the Qualif place.
	later := day.AddDays(60)
	evs, err = domain.Decide(a, map[string]domain.Referent{"r-a": r}, domain.EndQualif{LearnerID: "l-1", Episode: 1, Day: later})
	want = []domain.Event{
		domain.AssignmentEnded{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, To: later},
		domain.LearnerReleased{ReferentID: "r-a", LearnerID: "l-1", Territory: "T05", To: later, InQualif: true},
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("end of the follow-up: %#v %v", evs, err)
	}
	if r = domain.EvolveReferent(r, evs[1]); r.QualifLoad() != 0 || r.Load() != 0 {
		t.Fatalf("after release: %d active, %d in Qualif", r.Load(), r.QualifLoad())
	}
	if a = domain.EvolveAssignment(a, evs[0]); a.InQualif || a.Current != "" {
		t.Fatalf("after the end: %+v", a)
	}
}

func TestAnExitToQualifWithoutAReferentEndsTheWait(t *testing.T) {
	queued := domain.AssignmentPending{LearnerID: "l-1", Territory: "T05", Episode: 1, Since: day.AddDays(-5)}
	evs, err := domain.Decide(fold([]domain.Event{queued}), nil, domain.Exit{LearnerID: "l-1", Episode: 1, Day: day, Qualif: true})
	if err != nil || !reflect.DeepEqual(evs, []domain.Event{domain.AssignmentEnded{LearnerID: "l-1", Territory: "T05", Episode: 1, To: day}}) {
		t.Fatalf("got %#v %v", evs, err)
	}
}

func TestReEntryEndsTheFollowUpInQualifFirst(t *testing.T) {
	given := []domain.Event{
		domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-30), Reason: domain.ReasonAutomatic},
		domain.FollowingInQualif{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-10)},
	}
	ra := with(ref("r-a", 10, 3), func(r *domain.Referent) {
		r.Qualif, r.QualifWeight = map[string]domain.Slot{"l-1": {LearnerID: "l-1", Territory: "T05"}}, 50
	})
	evs, err := domain.Decide(fold(given), map[string]domain.Referent{"r-a": ra}, domain.Enter{Learner: domain.Learner{ID: "l-1"}, Territory: "T05", Episode: 2, Day: day})
	if err != nil || len(evs) != 4 {
		t.Fatalf("re-entry: %#v %v", evs, err)
	}
	if rel, ok := evs[1].(domain.LearnerReleased); !ok || !rel.InQualif {
		t.Fatalf("the Qualif place is not released first: %#v", evs[1])
	}
	if as, ok := evs[2].(domain.ReferentAssigned); !ok || as.ReferentID != "r-a" || as.Episode != 2 {
		t.Fatalf("re-entry not assigned to the referent who followed in Qualif: %#v", evs[2])
	}
}

// With a weight of 50 %, two learners followed in Qualif take one place;
// one alone takes half a place, which leaves no room for a whole learner
// in the last place.
func TestQualifLearnersWeighInTheCapacity(t *testing.T) {
	qualif := func(n int) map[string]domain.Slot {
		m := map[string]domain.Slot{}
		for i := range n {
			m[string(rune('a'+i))] = domain.Slot{}
		}
		return m
	}
	need := domain.Need{Territory: "T05", Day: day}
	for _, tc := range []struct {
		capacity, active, inQualif, weight int
		eligible                           bool
		places                             int
	}{
		{capacity: 2, active: 1, inQualif: 0, weight: 50, eligible: true, places: 1},
		{capacity: 2, active: 1, inQualif: 1, weight: 50, eligible: false, places: 2},
		{capacity: 3, active: 1, inQualif: 2, weight: 50, eligible: true, places: 2},
		{capacity: 3, active: 1, inQualif: 2, weight: 100, eligible: false, places: 3},
		{capacity: 3, active: 1, inQualif: 4, weight: 25, eligible: true, places: 2},
		{capacity: 1, active: 0, inQualif: 3, weight: 0, eligible: true, places: 0},
	} {
		r := with(ref("r-a", tc.capacity, tc.active), func(r *domain.Referent) { r.Qualif, r.QualifWeight = qualif(tc.inQualif), tc.weight })
		ok, why := domain.Eligible(r, need)
		if ok != tc.eligible || domain.PlacesUsed(r.UsedHundredths()) != tc.places {
			t.Errorf("%+v: eligible %v (%s), places %d", tc, ok, why, domain.PlacesUsed(r.UsedHundredths()))
		}
		if !ok && tc.inQualif > 0 && !strings.Contains(why, "followed in Qualif") {
			t.Errorf("%+v: the refusal does not say why: %s", tc, why)
		}
	}
	// The policy ranks by the weighted load: a referent with 2 learners in
	// Qualif (one place) ranks after one with none.
	a := with(ref("r-a", 10, 2), func(r *domain.Referent) { r.Qualif, r.QualifWeight = qualif(2), 50 })
	b := with(ref("r-b", 10, 2), func(r *domain.Referent) { r.QualifWeight = 50 })
	if got := domain.Choose(need, []domain.Referent{a, b}); got.ReferentID != "r-b" {
		t.Fatalf("chose %s, want r-b", got.ReferentID)
	}
}

func TestHandoverOfALearnerFollowedInQualif(t *testing.T) {
	given := []domain.Event{
		domain.ReferentAssigned{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-30), Reason: domain.ReasonAutomatic},
		domain.FollowingInQualif{LearnerID: "l-1", ReferentID: "r-a", Territory: "T05", Episode: 1, From: day.AddDays(-10)},
	}
	refs := map[string]domain.Referent{"r-a": ref("r-a", 10, 0), "r-b": ref("r-b", 10, 0)}
	evs, err := domain.Decide(fold(given), refs, domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-a", Reason: "mutation", Day: day, Today: day})
	if err != nil {
		t.Fatal(err)
	}
	a := fold(append(given, evs...))
	if a.Current != "r-b" || !a.InQualif || a.InQualifSince != day.AddDays(-10) {
		t.Fatalf("after the handover: %+v (%#v)", a, evs)
	}
	if rel := evs[1].(domain.LearnerReleased); !rel.InQualif {
		t.Fatalf("release %#v", rel)
	}
}
