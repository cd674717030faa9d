package service_test

import (
	"testing"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// An exit to qualifying training keeps the referent, following in Qualif,
// counted apart with the Qualif weight (50 % by default: the place it
// frees half-way lets the queue in only once two learners are in Qualif);
// pathway's QualifFollowUpEnded ends the assignment.
func TestReferentFollowsInQualifUntilTheOutcome(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	ref := register(t, client, profile("Anne", 2, []string{"T05"}))
	first, second, third := registered(t, env, false, false), registered(t, env, false, false), registered(t, env, false, false)
	for _, id := range []string{first, second} {
		enter(t, env, id, "T05", 1)
		waitAssignment(t, client, id, "assigned", assignedTo(ref))
	}
	enter(t, env, third, "T05", 1)
	waitAssignment(t, client, third, "queued", pending)

	qualifExit := func(id string) {
		env.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
			LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(today.AddDays(-1)), ExitDate: civilpb.FromDate(today),
			Reason: pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, TerritoryCode: "T05", FollowedReferralNumbers: []int32{1},
		})
	}
	qualifExit(first)
	a := waitAssignment(t, client, first, "following in Qualif", func(a *referentv1.Assignment) bool {
		return a.GetFollowingInQualif() && a.GetReferentId() == ref && !a.GetActive()
	})
	if a.GetFollowingInQualifSince().GetDay() != int32(today.Day) {
		t.Fatalf("in Qualif since %v", a.GetFollowingInQualifSince())
	}
	if n := events(t, env, "avenir.referent.assignment."+first+".ended"); n != 0 {
		t.Fatalf("%d AssignmentEnded at a Qualif exit", n)
	}
	env.CaughtUp(t)
	// 1 active + 1 in Qualif at 50 % = 1.5 places of 2: no room for a
	// whole learner, the third stays queued.
	waitAssignment(t, client, third, "still queued", pending)
	list, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T05"})
	if err != nil {
		t.Fatal(err)
	}
	if r := list.GetReferents()[0]; r.GetActiveLearners() != 1 || r.GetQualifLearners() != 1 || r.GetPlacesUsed() != 2 {
		t.Fatalf("referent's load: %v", r)
	}
	cl, err := client.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: ref})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, e := range cl.GetLearners() {
		statuses[e.GetLearnerId()] = e.GetPathwayStatus()
	}
	if statuses[first] != "following_in_qualif" || statuses[second] != "active" {
		t.Fatalf("caseload statuses %v", statuses)
	}

	// A second learner in Qualif: 2 × 50 % = one place, the third gets the
	// other.
	qualifExit(second)
	waitAssignment(t, client, third, "assigned", assignedTo(ref))

	// The outcome of the first one's Qualif ends its follow-up.
	env.Publish(t, "avenir.pathway.pathway."+first+".qualif_follow_up_ended", &pathwayv1.QualifFollowUpEnded{
		LearnerId: first, EpisodeNumber: 1, ReferralNumber: 1, Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_CERTIFIED,
		EndDate: civilpb.FromDate(today), TerritoryCode: "T05",
	})
	waitAssignment(t, client, first, "ended", func(a *referentv1.Assignment) bool {
		return !a.GetFollowingInQualif() && a.GetReferentId() == "" && !a.GetActive()
	})
	env.CaughtUp(t)
	load, err := client.GetTerritoryLoad(ctx(t), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := load.GetTerritories()[0]; l.GetLearners().GetValue() != 1 || l.GetQualifLearners().GetValue() != 1 {
		t.Fatalf("territory load %v", l)
	}

	// An exit for another reason ends the assignment as before.
	exit(t, env, third, "T05", 1)
	waitAssignment(t, client, third, "ended", func(a *referentv1.Assignment) bool { return !a.GetActive() && a.GetReferentId() == "" })
}
