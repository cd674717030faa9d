package service_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
	"github.com/avenir-normandie/avenir/services/referent/service"
)

func TestAutomaticAssignmentExitAndReentry(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	general := register(t, client, profile("Anne", 10, []string{"T05"}))
	specialist := register(t, client, profile("Bruno", 10, []string{"T05", "T06"}, referentv1.Specialty_SPECIALTY_DISABILITY))

	lea := registered(t, env, true, false)
	enter(t, env, lea, "T05", 1)
	a := waitAssignment(t, client, lea, "with the specialist", assignedTo(specialist))
	if len(a.GetHistory()) != 1 || a.GetHistory()[0].GetReason() != referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC ||
		!strings.Contains(a.GetHistory()[0].GetExplanation(), "specialty disability") {
		t.Fatalf("history %v", a.GetHistory())
	}
	if n := events(t, env, "avenir.referent.caseload."+specialist+".>"); n != 2 {
		t.Fatalf("the specialist's caseload holds %d events, want registered and learner_taken", n)
	}

	theo := registered(t, env, false, false)
	enter(t, env, theo, "T05", 1)
	waitAssignment(t, client, theo, "with the lowest load", assignedTo(general))

	exit(t, env, lea, "T05", 1)
	a = waitAssignment(t, client, lea, "ended", func(a *referentv1.Assignment) bool { return !a.GetActive() })
	if a.GetHistory()[0].GetToDate() == nil || a.GetHistory()[0].GetReadAccessUntil() != nil {
		t.Fatalf("an exit closes the period without grace: %v", a.GetHistory()[0])
	}
	caseload, err := client.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: specialist})
	if err != nil || len(caseload.GetLearners()) != 0 || caseload.GetReferent().GetActiveLearners() != 0 {
		t.Fatalf("the slot is released: %v, %v", caseload, err)
	}

	// Re-entry: continuity, though the other referent is as loaded.
	enter(t, env, lea, "T05", 2)
	a = waitAssignment(t, client, lea, "back with the specialist", assignedTo(specialist))
	if len(a.GetHistory()) != 2 || a.GetEpisodeNumber() != 2 {
		t.Fatalf("history %v", a.GetHistory())
	}

	// A learner intake never registered is assigned all the same, without
	// specialty preference, rather than holding up later entries.
	unknown := event.NewID()
	enter(t, env, unknown, "T05", 1)
	waitAssignment(t, client, unknown, "assigned", func(a *referentv1.Assignment) bool { return a.GetActive() && a.GetReferentId() != "" })
}

func TestQueueDrainsWhenSlotsFree(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	ref := register(t, client, profile("Anne", 1, []string{"T05"}))
	first, second, third := registered(t, env, false, false), registered(t, env, false, false), registered(t, env, false, false)
	enter(t, env, first, "T05", 1)
	waitAssignment(t, client, first, "assigned", assignedTo(ref))
	enter(t, env, second, "T05", 1)
	enter(t, env, third, "T05", 1)
	waitAssignment(t, client, second, "queued", pending)
	waitAssignment(t, client, third, "queued", pending)

	// The read models hold both in the queue once they caught up.
	env.CaughtUp(t)
	q, err := client.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T05"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.GetPending()) != 2 || q.GetPending()[0].GetLearnerId() == q.GetPending()[1].GetLearnerId() {
		t.Fatalf("queue %v", q.GetPending())
	}
	load, err := client.GetTerritoryLoad(ctx(t), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05"}})
	if err != nil {
		t.Fatal(err)
	}
	if row := load.GetTerritories()[0]; row.GetWaiting().GetValue() != 2 || row.GetCapacity() != 1 || row.GetLearners().GetValue() != 1 || row.GetReferents() != 1 {
		t.Fatalf("load %v", row)
	}

	// An exit frees the slot: the oldest queued learner gets it.
	exit(t, env, first, "T05", 1)
	waitAssignment(t, client, second, "assigned from the queue", assignedTo(ref))
	// A capacity increase frees another.
	if _, err := client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{RequestId: event.NewID(), ReferentId: ref, Profile: profile("Anne", 2, []string{"T05"})}); err != nil {
		t.Fatal(err)
	}
	waitAssignment(t, client, third, "assigned after the capacity increase", assignedTo(ref))
}

func TestAvailabilityAndNewReferentDrainTheQueue(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	ref := register(t, client, profile("Anne", 5, []string{"T05"}))
	if _, err := client.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: ref, AbsentFrom: civilpb.FromDate(today.AddDays(-3)), AbsentTo: civilpb.FromDate(today.AddDays(3)),
	}); err != nil {
		t.Fatal(err)
	}
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1) // entry dated yesterday: Anne is absent
	waitAssignment(t, client, lea, "queued", pending)
	if _, err := client.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: ref}); err != nil {
		t.Fatal(err)
	}
	waitAssignment(t, client, lea, "assigned on Anne's return", assignedTo(ref))

	theo := registered(t, env, false, false)
	enter(t, env, theo, "T07", 1)
	waitAssignment(t, client, theo, "queued", pending)
	other := register(t, client, profile("Claire", 5, []string{"T07"}))
	waitAssignment(t, client, theo, "assigned to the new referent", assignedTo(other))
}

func TestHandoverDeactivationAndGrace(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	anne := register(t, client, profile("Anne", 5, []string{"T05"}))
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1)
	waitAssignment(t, client, lea, "with Anne", assignedTo(anne))
	bruno := register(t, client, profile("Bruno", 5, []string{"T05"}))

	resp, err := client.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: anne, ToReferentId: bruno, Reason: "Anne moves to Vernon"})
	if err != nil {
		t.Fatal(err)
	}
	h := resp.GetAssignment().GetHistory()
	if resp.GetAssignment().GetReferentId() != bruno || len(h) != 2 || h[0].GetReadAccessUntil() == nil || h[1].GetReason() != referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER {
		t.Fatalf("after the handover: %v", resp.GetAssignment())
	}
	// The event dates Anne's read access for the other services: the
	// handover day plus the grace period.
	evs := env.Events(t, "REFERENT", "avenir.referent.assignment."+lea+".>")
	handed, ok := evs[len(evs)-1].Data.(*referentv1.ReferentAssigned)
	if !ok || handed.GetPreviousReferentId() != anne ||
		civilpb.Date(handed.GetPreviousReferentReadsUntil()) != civilpb.Date(handed.GetFromDate()).AddDays(service.DefaultHandoverGraceDays) ||
		!proto.Equal(handed.GetPreviousReferentReadsUntil(), h[0].GetReadAccessUntil()) {
		t.Fatalf("handover event %v, want the previous referent's read access dated as %v", evs[len(evs)-1].Data, h[0].GetReadAccessUntil())
	}
	// Stale: Anne no longer follows the learner.
	_, err = client.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: anne, ToReferentId: bruno, Reason: "again"})
	servicetest.Refused(t, err, codes.FailedPrecondition)

	// Anne, of another territory now, still reads the learner for the grace period.
	annePrincipal := referentOf(anne, "T09")
	asAnne := referentv1.NewReferentServiceClient(env.ConnAs(t, annePrincipal))
	if _, err := asAnne.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: lea}); err != nil {
		t.Fatalf("within the grace period: %v", err)
	}
	env.SetNow(env.Now().AddDate(0, 0, 31))
	// Tokens of the new day.
	asAnne = referentv1.NewReferentServiceClient(env.ConnAs(t, annePrincipal))
	client = referentv1.NewReferentServiceClient(env.ConnAs(t, servicetest.Admin))
	_, err = asAnne.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: lea})
	servicetest.Refused(t, err, codes.NotFound)

	// Deactivating Bruno hands the learner over to Anne, the only one left.
	if _, err := client.DeactivateReferent(ctx(t), &referentv1.DeactivateReferentRequest{RequestId: event.NewID(), ReferentId: bruno}); err != nil {
		t.Fatal(err)
	}
	a := waitAssignment(t, client, lea, "back with Anne", assignedTo(anne))
	if last := a.GetHistory()[len(a.GetHistory())-1]; last.GetReason() != referentv1.AssignmentReason_ASSIGNMENT_REASON_DEACTIVATION {
		t.Fatalf("last period %v", last)
	}
	// Deactivating Anne leaves nobody: the learner is queued, never silently unassigned.
	if _, err := client.DeactivateReferent(ctx(t), &referentv1.DeactivateReferentRequest{RequestId: event.NewID(), ReferentId: anne}); err != nil {
		t.Fatal(err)
	}
	waitAssignment(t, client, lea, "queued", pending)
	evs = env.Events(t, "REFERENT", "avenir.referent.assignment."+lea+".>")
	if queued, ok := evs[len(evs)-1].Data.(*referentv1.AssignmentPending); !ok || queued.GetPreviousReferentId() != anne || queued.GetPreviousReferentReadsUntil() == nil {
		t.Fatalf("queued on deactivation: %v, want the previous referent's read access dated", evs[len(evs)-1].Data)
	}
}

// The caseload shows where each learner stands, as pathway's PhaseChanged
// events say, and since when.
func TestCaseloadShowsEachLearnersPhase(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	anne := register(t, client, profile("Anne", 10, []string{"T05"}))
	lea, theo := registered(t, env, false, false), registered(t, env, false, false)
	for _, id := range []string{lea, theo} {
		enter(t, env, id, "T05", 1)
		waitAssignment(t, client, id, "assigned", assignedTo(anne))
	}
	changed := func(id string, ph pathwayv1.PathwayPhase, on civil.Date) {
		env.Publish(t, "avenir.pathway.pathway."+id+".phase_changed", &pathwayv1.PhaseChanged{
			LearnerId: id, EpisodeNumber: 1, Phase: ph, ChangedOn: civilpb.FromDate(on), TerritoryCode: "T05",
		})
	}
	changed(lea, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, today.AddDays(-1))
	changed(theo, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, today.AddDays(-1))
	changed(lea, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED, today)
	env.CaughtUp(t)

	want := map[string]pathwayv1.PathwayPhase{
		lea: pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED, theo: pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED,
	}
	since := map[string]civil.Date{lea: today, theo: today.AddDays(-1)}
	resp, err := client.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: anne})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetLearners()) != 2 {
		t.Fatalf("caseload %v", resp.GetLearners())
	}
	for _, e := range resp.GetLearners() {
		if e.GetPhase() != want[e.GetLearnerId()] || civilpb.Date(e.GetPhaseSince()) != since[e.GetLearnerId()] {
			t.Errorf("%s: %v since %v, want %v since %v", e.GetLearnerId(), e.GetPhase(), civilpb.Date(e.GetPhaseSince()), want[e.GetLearnerId()], since[e.GetLearnerId()])
		}
	}
}
