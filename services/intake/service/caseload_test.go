package service_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// publishAssignment appends an event to a learner's assignment in REFERENT,
// as the referent service would, and waits until intake applied it.
func publishAssignment(t *testing.T, env *servicetest.Env, learnerID, name string, data proto.Message) {
	t.Helper()
	env.Publish(t, "avenir.referent.assignment."+learnerID+"."+name, data)
	env.CaughtUp(t)
}

// enrol publishes, as pathway would, that a learner of territory was
// enrolled (enrolment number n) with operator from 2 November, and waits
// until intake applied it.
func enrol(t *testing.T, env *servicetest.Env, learnerID, operator string, n int32, territory string) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".enrolled", &pathwayv1.LearnerEnrolled{
		LearnerId: learnerID, EpisodeNumber: 1, EnrolmentNumber: n, ContractId: "contract-" + operator, OperatorId: operator,
		Kind: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, FromDate: nov2, TerritoryCode: territory,
		Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
	})
	env.CaughtUp(t)
}

// endEnrolment publishes, as pathway would, that enrolment n of a learner
// with operator ended on last (its last day), and waits until intake
// applied it.
func endEnrolment(t *testing.T, env *servicetest.Env, learnerID, operator string, n int32, territory string, last *commonv1.Date) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".enrolment_ended", &pathwayv1.EnrolmentEnded{
		LearnerId: learnerID, EpisodeNumber: 1, EnrolmentNumber: n, ContractId: "contract-" + operator, OperatorId: operator,
		ToDate: last, Reason: pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED, TerritoryCode: territory,
	})
	env.CaughtUp(t)
}

// The access rules follow the caseload: the learner's referent reads and
// writes (and sees RQTH), another referent of the territory does not see
// it, a coordinator of the territory does, a former referent reads (only,
// without RQTH) during the grace period, and a learner without a referent
// is the territory's shared pool.
func TestAccessFollowsTheCaseload(t *testing.T) {
	t.Parallel()
	env, _ := startWith(t, servicetest.Options{}, service.Config{})
	refA := auth.Principal{Subject: "u-a", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T05"}}
	refB := auth.Principal{Subject: "u-b", Role: auth.RoleReferent, ReferentID: "ref-b", Territories: []string{"T05"}}
	coord := auth.Principal{Subject: "u-c", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}
	conns := func() (a, b, c intakev1.IntakeServiceClient) {
		return intakev1.NewIntakeServiceClient(env.ConnAs(t, refA)), intakev1.NewIntakeServiceClient(env.ConnAs(t, refB)),
			intakev1.NewIntakeServiceClient(env.ConnAs(t, coord))
	}
	clientA, clientB, clientC := conns()

	// Any referent of the territory registers a person: the shared pool.
	req := person("followed", "Durand", "Théo", "T05", "27229")
	req.Rqth = true
	resp, err := clientB.RegisterLearner(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	followed := resp.GetLearner().GetLearnerId()
	resp, err = clientA.RegisterLearner(ctx(t), person("pool", "Dupont", "Inès", "T05", "27229"))
	if err != nil {
		t.Fatal(err)
	}
	pool := resp.GetLearner().GetLearnerId()
	publishAssignment(t, env, followed, "assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-a", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov2,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})

	get := func(c intakev1.IntakeServiceClient, id string) (*intakev1.Learner, codes.Code) {
		resp, err := c.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
		return resp.GetLearner(), status.Code(err)
	}
	read := func(c intakev1.IntakeServiceClient, id string) codes.Code { _, code := get(c, id); return code }
	write := func(c intakev1.IntakeServiceClient, id string) codes.Code {
		_, err := c.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: event.NewID(), LearnerId: id, Email: proto.String(event.NewID() + "@example.fr")})
		return status.Code(err)
	}
	found := func(c intakev1.IntakeServiceClient) []string {
		t.Helper()
		resp, err := c.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{TerritoryCode: "T05", PageSize: 200})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range resp.GetLearners() {
			ids = append(ids, l.GetLearnerId())
		}
		return ids
	}
	expect := func(what string, got, want codes.Code) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	expectFound := func(who string, ids []string, id string, want bool) {
		t.Helper()
		if slices.Contains(ids, id) != want {
			t.Errorf("%s finds %v; contains %s: want %v", who, ids, id, want)
		}
	}
	// The search read model follows intake's own stream.
	admin := intakev1.NewIntakeServiceClient(env.Conn)
	servicetest.Eventually(t, 5*time.Second, func() error {
		if ids := found(admin); !slices.Contains(ids, followed) || !slices.Contains(ids, pool) {
			return fmt.Errorf("search finds %v", ids)
		}
		return nil
	})

	expect("assigned referent reads", read(clientA, followed), codes.OK)
	if l, _ := get(clientA, followed); l.Rqth == nil {
		t.Error("the assigned referent does not see RQTH")
	}
	expect("assigned referent writes", write(clientA, followed), codes.OK)
	expect("other referent reads", read(clientB, followed), codes.NotFound)
	expect("other referent writes", write(clientB, followed), codes.NotFound)
	expect("coordinator reads", read(clientC, followed), codes.OK)
	expect("coordinator writes", write(clientC, followed), codes.OK)
	expect("pool: other referent reads", read(clientB, pool), codes.OK)
	expect("pool: referent writes", write(clientB, pool), codes.OK)
	expectFound("ref-a", found(clientA), followed, true)
	expectFound("ref-b", found(clientB), followed, false)
	expectFound("ref-b", found(clientB), pool, true)
	expectFound("coordinator", found(clientC), followed, true)

	// Handed over to ref-b on 26 November: ref-a reads until 26 December.
	publishAssignment(t, env, followed, "assigned", &referentv1.ReferentAssigned{
		LearnerId: followed, ReferentId: "ref-b", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov26,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER, PreviousReferentId: "ref-a",
		PreviousReferentReadsUntil: &commonv1.Date{Year: 2026, Month: 12, Day: 26},
	})
	expect("new referent reads", read(clientB, followed), codes.OK)
	expect("new referent writes", write(clientB, followed), codes.OK)
	expect("former referent reads in the grace period", read(clientA, followed), codes.OK)
	if l, _ := get(clientA, followed); l.Rqth != nil {
		t.Error("the former referent sees RQTH")
	}
	expect("former referent writes", write(clientA, followed), codes.NotFound)
	expectFound("former ref-a", found(clientA), followed, true)

	// Tokens are minted on the services' clock: connect again after moving it.
	env.SetNow(time.Date(2026, 12, 26, 22, 0, 0, 0, time.UTC)) // 23:00 in Paris: still the 26th
	clientA, clientB, _ = conns()
	expect("former referent reads on the last day", read(clientA, followed), codes.OK)
	env.SetNow(time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC))
	clientA, clientB, _ = conns()
	expect("former referent reads after the grace period", read(clientA, followed), codes.NotFound)
	expectFound("former ref-a after", found(clientA), followed, false)
	expect("new referent still reads", read(clientB, followed), codes.OK)
	expect("pool learner stays visible", read(clientA, pool), codes.OK)
}
