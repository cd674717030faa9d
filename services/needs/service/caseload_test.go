package service_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// publishAssignment appends an event to a learner's assignment in REFERENT,
// as the referent service would, and waits until needs applied it.
func publishAssignment(t *testing.T, env *servicetest.Env, learnerID, name string, data proto.Message) {
	t.Helper()
	env.Publish(t, "avenir.referent.assignment."+learnerID+"."+name, data)
	env.CaughtUp(t)
}

// enrol publishes, as pathway would, that a learner of territory was
// enrolled (enrolment number n) with operator from 2 November, and waits
// until needs applied it.
func enrol(t *testing.T, env *servicetest.Env, learnerID, operator string, n int32, territory string) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".enrolled", &pathwayv1.LearnerEnrolled{
		LearnerId: learnerID, EpisodeNumber: 1, EnrolmentNumber: n, ContractId: "contract-" + operator, OperatorId: operator,
		Kind: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2},
		TerritoryCode: territory, Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
	})
	env.CaughtUp(t)
}

// endEnrolment publishes, as pathway would, that enrolment n of a learner
// with operator ended on last (its last day), and waits until needs applied
// it.
func endEnrolment(t *testing.T, env *servicetest.Env, learnerID, operator string, n int32, territory string, last *commonv1.Date) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".enrolment_ended", &pathwayv1.EnrolmentEnded{
		LearnerId: learnerID, EpisodeNumber: 1, EnrolmentNumber: n, ContractId: "contract-" + operator, OperatorId: operator,
		ToDate: last, Reason: pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED, TerritoryCode: territory,
	})
	env.CaughtUp(t)
}

// The access rules follow the caseload: the learner's referent reads and
// writes analyses, another referent of the territory does not see them, a
// coordinator of the territory does, a former referent reads them (only,
// without the health barrier) during the grace period, and a learner
// without a referent is the territory's shared pool.
func TestAccessFollowsTheCaseload(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	refA := auth.Principal{Subject: "u-a", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T05"}}
	refB := auth.Principal{Subject: "u-b", Role: auth.RoleReferent, ReferentID: "ref-b", Territories: []string{"T05"}}
	coord := auth.Principal{Subject: "u-c", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}
	conns := func() (a, b, c needsv1.NeedsServiceClient) {
		return needsv1.NewNeedsServiceClient(env.ConnAs(t, refA)), needsv1.NewNeedsServiceClient(env.ConnAs(t, refB)),
			needsv1.NewNeedsServiceClient(env.ConnAs(t, coord))
	}
	clientA, clientB, clientC := conns()

	first := analysed(t, env, admin, "T05")
	followed := first.GetLearnerId()
	publishAssignment(t, env, followed, "assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-a", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2},
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	second := revise(t, clientA, first.GetAnalysisId()).GetAnalysisId()
	// A learner of the territory without a referent: any referent of it
	// analyses their needs until assignment.
	pool := inPathway(t, env, "T05")
	pooled := startAnalysis(t, clientB, pool).GetAnalysisId()
	env.CaughtUp(t)

	get := func(c needsv1.NeedsServiceClient, id string) (*needsv1.Analysis, codes.Code) {
		resp, err := c.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: id})
		return resp.GetAnalysis(), status.Code(err)
	}
	read := func(c needsv1.NeedsServiceClient, id string) codes.Code { _, code := get(c, id); return code }
	write := func(c needsv1.NeedsServiceClient, id string) codes.Code {
		_, err := c.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: event.NewID(), AnalysisId: id, Content: content()})
		return status.Code(err)
	}
	listed := func(c needsv1.NeedsServiceClient, learner string) int {
		t.Helper()
		resp, err := c.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: learner})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.GetAnalyses())
	}
	expect := func(what string, got, want codes.Code) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	expectListed := func(who string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s lists %d analyses, want %d", who, got, want)
		}
	}

	expect("assigned referent reads", read(clientA, first.GetAnalysisId()), codes.OK)
	expect("assigned referent writes", write(clientA, second), codes.OK)
	// The referent who ran a command acts for the learner: its answer is
	// the analysis whole, special-category data included.
	if resp, err := clientA.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: event.NewID(), AnalysisId: second, Content: content()}); err != nil || !hasHealth(resp.GetAnalysis()) {
		t.Errorf("the assigned referent's draft answered %v %v: want the health barrier", resp.GetAnalysis(), err)
	}
	if a, _ := get(clientA, second); !hasHealth(a) {
		t.Error("the assigned referent does not see the health barrier")
	}
	expect("other referent reads", read(clientB, second), codes.NotFound)
	expect("other referent writes", write(clientB, second), codes.NotFound)
	expect("coordinator reads", read(clientC, second), codes.OK)
	expect("coordinator writes", write(clientC, second), codes.OK)
	expect("pool: other referent reads", read(clientA, pooled), codes.OK)
	expect("pool: referent writes", write(clientA, pooled), codes.OK)
	expectListed("ref-a", listed(clientA, followed), 2)
	expectListed("ref-b", listed(clientB, followed), 0)
	expectListed("coordinator", listed(clientC, followed), 2)
	expectListed("ref-b, pool", listed(clientB, pool), 1)

	// Handed over to ref-b on 26 November: ref-a reads until 26 December.
	publishAssignment(t, env, followed, "assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-b", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 26},
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER, PreviousReferentId: "ref-a",
		PreviousReferentReadsUntil: &commonv1.Date{Year: 2026, Month: 12, Day: 26},
	})
	expect("new referent reads", read(clientB, second), codes.OK)
	expect("new referent writes", write(clientB, second), codes.OK)
	expect("former referent reads in the grace period", read(clientA, second), codes.OK)
	if a, _ := get(clientA, second); hasHealth(a) || len(a.GetContent().GetSkills()) == 0 {
		t.Errorf("the former referent reads %v: want the content without the health barrier", a.GetContent())
	}
	expect("former referent writes", write(clientA, second), codes.NotFound)
	expectListed("former ref-a", listed(clientA, followed), 2)

	// Tokens are minted on the services' clock: connect again after moving it.
	env.SetNow(time.Date(2026, 12, 26, 22, 0, 0, 0, time.UTC)) // 23:00 in Paris: still the 26th
	clientA, clientB, _ = conns()
	expect("former referent reads on the last day", read(clientA, second), codes.OK)
	env.SetNow(time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC))
	clientA, clientB, _ = conns()
	expect("former referent reads after the grace period", read(clientA, second), codes.NotFound)
	expectListed("former ref-a after", listed(clientA, followed), 0)
	expect("new referent still reads", read(clientB, second), codes.OK)
	expect("pool learner stays visible", read(clientA, pooled), codes.OK)
}
