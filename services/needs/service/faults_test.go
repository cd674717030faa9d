package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, a command that needs a read model to
// decide (the learner's episode, the caller's access to the learner)
// answers Unavailable and stores nothing, and a request already applied
// answers from its stored events, as its first run did; reads answer
// Unavailable. Once the store is back, the refused requests, retried with
// the same request ids, answer as first runs would. Nothing answers
// Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, client := start(t, servicetest.Options{Store: store})
	learner, other := inPathway(t, env, "T05"), inPathway(t, env, "T05")
	startReq := &needsv1.StartAnalysisRequest{RequestId: "start-1", LearnerId: learner}
	started, err := client.StartAnalysis(ctx(t), startReq)
	if err != nil {
		t.Fatal(err)
	}
	id := started.GetAnalysis().GetAnalysisId()
	draftReq := &needsv1.DraftAnalysisRequest{RequestId: "draft-1", AnalysisId: id, Content: content()}
	drafted, err := client.DraftAnalysis(ctx(t), draftReq)
	if err != nil {
		t.Fatal(err)
	}
	done := analysed(t, env, client, "T05")

	store.SetDown(true)
	n := allEvents(t, env)
	again, err := client.DraftAnalysis(ctx(t), draftReq)
	if err != nil || !proto.Equal(again.GetAnalysis(), drafted.GetAnalysis()) || !hasHealth(again.GetAnalysis()) {
		t.Fatalf("retried draft with the read models down: %v %v, want %v", again, err, drafted)
	}
	// Starting needs the learner's episode, from the learners read model.
	_, err = client.StartAnalysis(ctx(t), startReq)
	servicetest.Refused(t, err, codes.Unavailable)
	startOther := &needsv1.StartAnalysisRequest{RequestId: "start-2", LearnerId: other}
	_, err = client.StartAnalysis(ctx(t), startOther)
	servicetest.Refused(t, err, codes.Unavailable)
	// Changing needs the caller's access, from the assignments read model.
	completeReq := &needsv1.CompleteAnalysisRequest{RequestId: "complete-1", AnalysisId: id}
	_, err = client.CompleteAnalysis(ctx(t), completeReq)
	servicetest.Refused(t, err, codes.Unavailable)
	changed := content()
	changed.Barriers = changed.Barriers[1:]
	redraftReq := &needsv1.DraftAnalysisRequest{RequestId: "draft-2", AnalysisId: id, Content: changed}
	_, err = client.DraftAnalysis(ctx(t), redraftReq)
	servicetest.Refused(t, err, codes.Unavailable)
	reviseReq := &needsv1.ReviseAnalysisRequest{RequestId: "revise-1", AnalysisId: done.GetAnalysisId()}
	_, err = client.ReviseAnalysis(ctx(t), reviseReq)
	servicetest.Refused(t, err, codes.Unavailable)
	nothingAppended(t, env, n)

	_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: done.GetAnalysisId()})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: learner})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{
		FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11},
	})
	servicetest.Refused(t, err, codes.Unavailable)

	store.SetDown(false)
	redrafted, err := client.DraftAnalysis(ctx(t), redraftReq)
	if err != nil || hasHealth(redrafted.GetAnalysis()) || len(redrafted.GetAnalysis().GetContent().GetBarriers()) != 1 {
		t.Fatalf("draft retried with the store back: %v %v", redrafted, err)
	}
	completed, err := client.CompleteAnalysis(ctx(t), completeReq)
	if err != nil || completed.GetAnalysis().GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED || !completed.GetAnalysis().GetCurrent() {
		t.Fatalf("completion retried with the store back: %v %v", completed, err)
	}
	otherStarted, err := client.StartAnalysis(ctx(t), startOther)
	if err != nil || otherStarted.GetAnalysis().GetLearnerId() != other || otherStarted.GetAnalysis().GetVersion() != 1 {
		t.Fatalf("start retried with the store back: %v %v", otherStarted, err)
	}
	revised, err := client.ReviseAnalysis(ctx(t), reviseReq)
	if err != nil || revised.GetAnalysis().GetPreviousAnalysisId() != done.GetAnalysisId() || revised.GetAnalysis().GetVersion() != 2 {
		t.Fatalf("revision retried with the store back: %v %v", revised, err)
	}
	nothingAppended(t, env, n+4)

	// The read models caught up with what was stored while they were down.
	env.CaughtUp(t)
	current, err := client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{LearnerId: learner})
	if err != nil || !proto.Equal(current.GetAnalysis(), completed.GetAnalysis()) {
		t.Fatalf("current analysis %v %v, want %v", current, err, completed)
	}
}
