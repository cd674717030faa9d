package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, a command whose decision needs a read
// model (every RPC: access is checked against the assignments, and an
// entry against the learners intake registered) answers Unavailable and
// stores nothing; a command whose decision does not (noting a completed
// needs analysis) is stored and applied from the pathway's own events.
// Once the store is back, the same request ids answer as a first run
// would. Nothing answers Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, client := start(t, servicetest.Options{Store: store})
	id, fresh := registered(t, env, "T16"), registered(t, env, "T16")
	enter(t, client, id, nov2)
	refer(t, client, id, pathwayv1.Programme_PROGRAMME_QUALIF, nov2)
	env.CaughtUp(t)
	store.SetDown(true)

	enterReq := &pathwayv1.EnterPathwayRequest{RequestId: "enter-fresh", LearnerId: fresh, EntryDate: today}
	referReq := &pathwayv1.RecordReferralRequest{
		RequestId: "refer-2", LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: today, Organisation: "CLPS",
	}
	outcomeReq := &pathwayv1.RecordReferralOutcomeRequest{
		RequestId: "outcome-1", LearnerId: id, ReferralNumber: 1, Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, OutcomeDate: today,
	}
	exitReq := &pathwayv1.ExitPathwayRequest{
		RequestId: "exit-1", LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_OTHER, Detail: "moved abroad",
		PendingReferrals: pathwayv1.PendingReferrals_PENDING_REFERRALS_CARRY_OVER, // the Savoirs referral
	}
	_, err := client.EnterPathway(ctx(t), enterReq)
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.RecordReferral(ctx(t), referReq)
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.RecordReferralOutcome(ctx(t), outcomeReq)
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.ExitPathway(ctx(t), exitReq)
	servicetest.Refused(t, err, codes.Unavailable)
	nothingAppended(t, env, fresh, 0)
	nothingAppended(t, env, id, 2)

	// Noting a completed analysis reads no read model: it is stored while
	// the store is down (the consumer does not wait for it).
	analysis := event.NewID()
	env.Publish(t, "avenir.needs.analysis."+analysis+".completed", &needsv1.AnalysisCompleted{
		AnalysisId: analysis, LearnerId: id, TerritoryCode: "T16", EpisodeNumber: 1, Version: 1, CompletedOn: today,
	})
	// The read models cannot catch up while the store is down: wait for
	// the noting consumer alone.
	env.ConsumerCaughtUp(t, "pathway-notes-needs")
	nothingAppended(t, env, id, 3)

	store.SetDown(false)
	entered, err := client.EnterPathway(ctx(t), enterReq)
	if err != nil || entered.GetPathway().GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE || len(entered.GetPathway().GetEpisodes()) != 1 {
		t.Fatalf("entry retried with the store back: %v %v", entered, err)
	}
	referred, err := client.RecordReferral(ctx(t), referReq)
	if err != nil || referred.GetReferral().GetNumber() != 2 {
		t.Fatalf("referral retried with the store back: %v %v", referred, err)
	}
	accepted, err := client.RecordReferralOutcome(ctx(t), outcomeReq)
	if err != nil || accepted.GetPathway().GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_IN_QUALIFYING_TRAINING {
		t.Fatalf("outcome retried with the store back: %v %v", accepted, err)
	}
	exited, err := client.ExitPathway(ctx(t), exitReq)
	ep := exited.GetPathway().GetEpisodes()[0]
	if err != nil || exited.GetPathway().GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_EXITED ||
		ep.GetExitDetail() != "moved abroad" || !ep.GetNeedsAnalysed() || len(ep.GetReferrals()) != 2 {
		t.Fatalf("exit retried with the store back: %v %v", exited, err)
	}
	nothingAppended(t, env, fresh, 1)
	nothingAppended(t, env, id, 6)
	// Replayed once more, each answers what its first run answered.
	again, err := client.RecordReferral(ctx(t), referReq)
	if err != nil || !proto.Equal(again, referred) {
		t.Fatalf("referral replayed: %v %v, want %v", again, err, referred)
	}
	readModel(t, env, client, exited.GetPathway())
	readModel(t, env, client, entered.GetPathway())
}

// With the read-model store down, the reads answer Unavailable, which a
// client retries, never Internal.
func TestReadsAreUnavailableWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, client := start(t, servicetest.Options{Store: store})
	id := registered(t, env, "T16")
	enter(t, client, id, nov2)
	env.CaughtUp(t)
	store.SetDown(true)

	_, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: "T16", Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetFlowStatistics(ctx(t), &pathwayv1.GetFlowStatisticsRequest{
		FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11},
	})
	servicetest.Refused(t, err, codes.Unavailable)
	operator := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, operatorT16))
	_, err = operator.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetProgrammeTargets(ctx(t), &pathwayv1.GetProgrammeTargetsRequest{Year: 2026})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetOutcomes(ctx(t), &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 11), ToMonth: month(2026, 11)})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 11), ToMonth: month(2026, 11)})
	servicetest.Refused(t, err, codes.Unavailable)

	store.SetDown(false)
	got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	if err != nil || len(got.GetPathway().GetEpisodes()) != 1 {
		t.Fatalf("read with the store back: %v %v", got, err)
	}
}
