package service_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
	"github.com/avenir-normandie/avenir/services/referent/service"
)

// learnersProjection is the read model of intake's facts (service.go).
const learnersProjection = "referent-learners"

// erase records intake's erasure of the learner and destroys its data key,
// as intake does.
func erase(t *testing.T, env *servicetest.Env, id string) {
	t.Helper()
	env.Publish(t, "avenir.intake.learner."+id+".erased", &intakev1.LearnerErased{
		LearnerId: id, TerritoryCode: "T05", ErasedOn: civilpb.FromDate(today), Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "case 17",
	})
	if err := env.Keys.Erase(ctx(t), privacy.LearnerKey(id)); err != nil {
		t.Fatal(err)
	}
}

// stored reports whether the read model holds key, and its value.
func stored(t *testing.T, store projection.Store, key string) (string, bool) {
	t.Helper()
	b, err := store.Get(ctx(t), learnersProjection, key)
	if errors.Is(err, projection.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// An erasure drops the learner's RQTH and age band from the read model and
// the explanations (which tell the specialties the learner called for)
// from its assignment, which keeps its referents and dates; commands on the
// learner are refused. A read model rebuilt from the streams afterwards,
// where the registration reads without its sealed fields, holds and
// answers exactly the same.
func TestErasurePurgesTheLearnersPersonalData(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, kind)
			env, client := start(t, servicetest.Options{Store: fresh()})
			specialist := register(t, client, profile("Bruno", 10, []string{"T05"}, referentv1.Specialty_SPECIALTY_DISABILITY))
			other := register(t, client, profile("Anne", 10, []string{"T05"}))
			lea := registered(t, env, true, true)
			theo := registered(t, env, true, false)
			enter(t, env, lea, "T05", 1)
			enter(t, env, theo, "T05", 1)
			a := waitAssignment(t, client, lea, "with the specialist", assignedTo(specialist))
			if !strings.Contains(a.GetHistory()[0].GetExplanation(), "specialty disability") {
				t.Fatalf("explanation %q", a.GetHistory()[0].GetExplanation())
			}
			waitAssignment(t, client, theo, "with the specialist", assignedTo(specialist))
			exit(t, env, lea, "T05", 1)
			waitAssignment(t, client, lea, "ended", func(a *referentv1.Assignment) bool { return !a.GetActive() })
			env.CaughtUp(t)
			if v, ok := stored(t, env.Deps.Projections, "learner:"+lea); !ok || !strings.Contains(v, `"rqth":true`) {
				t.Fatalf("before the erasure the read model holds %q, %v", v, ok)
			}

			erase(t, env, lea)
			env.CaughtUp(t)
			check := func(t *testing.T, store projection.Store, q interface {
				GetAssignment(*referentv1.GetAssignmentRequest) (*referentv1.GetAssignmentResponse, error)
			}) *referentv1.Assignment {
				t.Helper()
				if v, ok := stored(t, store, "learner:"+lea); ok {
					t.Fatalf("the erased learner's RQTH and age are kept: %q", v)
				}
				if v, ok := stored(t, store, "erased:"+lea); !ok || v != today.String() {
					t.Fatalf("erasure recorded as %q, %v", v, ok)
				}
				if _, ok := stored(t, store, "learner:"+theo); !ok {
					t.Fatal("another learner's facts were dropped")
				}
				resp, err := q.GetAssignment(&referentv1.GetAssignmentRequest{LearnerId: lea})
				if err != nil {
					t.Fatal(err)
				}
				got := resp.GetAssignment()
				if got.GetLearnerId() != lea || len(got.GetHistory()) != 1 || got.GetHistory()[0].GetReferentId() != specialist ||
					got.GetHistory()[0].GetToDate() == nil || got.GetHistory()[0].GetExplanation() != "" {
					t.Fatalf("erased learner's assignment: %v", got)
				}
				other, err := q.GetAssignment(&referentv1.GetAssignmentRequest{LearnerId: theo})
				if err != nil || other.GetAssignment().GetHistory()[0].GetExplanation() == "" {
					t.Fatalf("another learner's assignment lost its explanation: %v, %v", other, err)
				}
				return got
			}
			live := check(t, env.Deps.Projections, grpcQueries{client, t})

			_, err := client.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: lea, ReferentId: other, Reason: "closer"})
			servicetest.Refused(t, err, codes.FailedPrecondition, event.ReasonErased)
			_, err = client.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: specialist, ToReferentId: other, Reason: "closer"})
			servicetest.Refused(t, err, codes.FailedPrecondition, event.ReasonErased)
			if regs := env.Events(t, "INTAKE", "avenir.intake.learner."+lea+".registered"); len(regs) != 1 || !regs[0].Erased ||
				regs[0].Data.(*intakev1.LearnerRegistered).GetRqth() {
				t.Fatalf("the registration still opens: %v", regs)
			}

			store := fresh()
			svc := env.Rebuild(t, store, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			rebuilt := check(t, store, directQueries{svc, t})
			if !proto.Equal(live, rebuilt) {
				t.Fatalf("rebuilt:\n%v\nlive:\n%v", rebuilt, live)
			}
		})
	}
}

// grpcQueries and directQueries read assignments over gRPC or from a
// service that serves none, as an admin.
type grpcQueries struct {
	client referentv1.ReferentServiceClient
	t      *testing.T
}

func (q grpcQueries) GetAssignment(r *referentv1.GetAssignmentRequest) (*referentv1.GetAssignmentResponse, error) {
	return q.client.GetAssignment(ctx(q.t), r)
}

type directQueries struct {
	svc *service.Service
	t   *testing.T
}

func (q directQueries) GetAssignment(r *referentv1.GetAssignmentRequest) (*referentv1.GetAssignmentResponse, error) {
	return q.svc.GetAssignment(auth.NewContext(ctx(q.t), servicetest.Admin), r)
}
