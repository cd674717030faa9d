package service_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The access rules follow the caseload: the learner's referent reads and
// writes, another referent of the territory does not see it, a coordinator
// of the territory does, a former referent reads (only) during the grace
// period, and a learner without a referent is the territory's shared pool.
func TestAccessFollowsTheCaseload(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	refA := auth.Principal{Subject: "u-a", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T16"}}
	refB := auth.Principal{Subject: "u-b", Role: auth.RoleReferent, ReferentID: "ref-b", Territories: []string{"T16"}}
	coord := auth.Principal{Subject: "u-c", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T16"}, Coordinator: true}
	clientA := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, refA))
	clientB := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, refB))
	clientC := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, coord))

	followed := registered(t, env, "T16")
	enter(t, admin, followed, nov2)
	env.Publish(t, "avenir.referent.assignment."+followed+".assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-a", TerritoryCode: "T16", EpisodeNumber: 1, FromDate: nov2,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	// A learner of the territory without a referent: any referent of it
	// enters them into the pathway and follows them until assignment.
	pool := registered(t, env, "T16")
	enter(t, clientB, pool, nov2)
	env.CaughtUp(t)

	get := func(c pathwayv1.PathwayServiceClient, id string) codes.Code {
		_, err := c.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		return status.Code(err)
	}
	refer := func(c pathwayv1.PathwayServiceClient, id string) codes.Code {
		_, err := c.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
			RequestId: event.NewID(), LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: today, Organisation: "CLPS",
		})
		return status.Code(err)
	}
	listed := func(c pathwayv1.PathwayServiceClient) []string {
		resp, err := c.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: "T16", PageSize: 200})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range resp.GetPathways() {
			ids = append(ids, p.GetLearnerId())
		}
		return ids
	}
	expect := func(what string, got, want codes.Code) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	expectListed := func(who string, ids []string, id string, want bool) {
		t.Helper()
		if slices.Contains(ids, id) != want {
			t.Errorf("%s lists %v; contains %s: want %v", who, ids, id, want)
		}
	}

	expect("assigned referent reads", get(clientA, followed), codes.OK)
	expect("assigned referent writes", refer(clientA, followed), codes.OK)
	expect("other referent reads", get(clientB, followed), codes.NotFound)
	// Out of scope reads as unknown: not found, as for a reader.
	expect("other referent writes", refer(clientB, followed), codes.NotFound)
	expect("coordinator reads", get(clientC, followed), codes.OK)
	expect("coordinator writes", refer(clientC, followed), codes.OK)
	expect("pool: other referent reads", get(clientB, pool), codes.OK)
	expect("pool: referent writes", refer(clientA, pool), codes.OK)
	expectListed("ref-a", listed(clientA), followed, true)
	expectListed("ref-b", listed(clientB), followed, false)
	expectListed("ref-b", listed(clientB), pool, true)
	expectListed("coordinator", listed(clientC), followed, true)

	// Handed over to ref-b on 26 November: ref-a reads until 26 December.
	env.Publish(t, "avenir.referent.assignment."+followed+".assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-b", TerritoryCode: "T16", EpisodeNumber: 1, FromDate: today,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER, PreviousReferentId: "ref-a",
		PreviousReferentReadsUntil: date(2026, 12, 26), ReferentName: "Bruno Petit",
	})
	env.CaughtUp(t)
	expect("new referent reads", get(clientB, followed), codes.OK)
	expect("new referent writes", refer(clientB, followed), codes.OK)
	expect("former referent reads in the grace period", get(clientA, followed), codes.OK)
	expect("former referent writes", refer(clientA, followed), codes.NotFound)
	expectListed("former ref-a", listed(clientA), followed, true)
	resp, err := clientA.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: followed})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetPathway().GetEpisodes()) == 0 {
		t.Fatal("no episode")
	}

	// Tokens are minted on the services' clock: connect again after moving it.
	env.SetNow(time.Date(2026, 12, 26, 22, 0, 0, 0, time.UTC)) // 23:00 in Paris: still the 26th
	clientA = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, refA))
	expect("former referent reads on the last day", get(clientA, followed), codes.OK)
	env.SetNow(time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC))
	clientA = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, refA))
	clientB = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, refB))
	expect("former referent reads after the grace period", get(clientA, followed), codes.NotFound)
	expectListed("former ref-a after", listed(clientA), followed, false)
	expect("new referent still reads", get(clientB, followed), codes.OK)
	expect("pool learner stays visible", get(clientA, pool), codes.OK)

	// The learner's timeline tells who followed them, from when.
	timeline, err := clientB.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: followed})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range timeline.GetEntries() {
		if e.GetSource() == "referent" {
			got = append(got, e.GetSummary())
		}
	}
	want := []string{
		"Referent ref-a assigned on 2026-11-02 (automatic)",
		"Referent Bruno Petit (ref-b) takes over from ref-a on 2026-11-26 (handover)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("referent entries %q, want %q", got, want)
	}
}
