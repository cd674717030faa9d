package service_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The services' clock is servicetest's default: 2026-11-26, 10:00 in Paris.
var (
	nov2  = date(2026, 11, 2)
	today = date(2026, 11, 26)
)

func date(y, m, d int32) *commonv1.Date { return &commonv1.Date{Year: y, Month: m, Day: d} }

func start(t *testing.T, opts servicetest.Options) (*servicetest.Env, pathwayv1.PathwayServiceClient) {
	t.Helper()
	return startWith(t, opts, service.Config{})
}

func startWith(t *testing.T, opts servicetest.Options, cfg service.Config) (*servicetest.Env, pathwayv1.PathwayServiceClient) {
	t.Helper()
	env := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, cfg) })
	return env, pathwayv1.NewPathwayServiceClient(env.Conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// registered publishes intake's LearnerRegistered for a new learner of
// territory, registered on 2 November 2026, and waits until pathway knows it.
func registered(t *testing.T, env *servicetest.Env, territory string) string {
	t.Helper()
	return registeredOn(t, env, territory, nov2)
}

// registeredOn is registered with another registration date.
func registeredOn(t *testing.T, env *servicetest.Env, territory string, on *commonv1.Date) string {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Martin", GivenName: "Léa", TerritoryCode: territory,
		BirthDate: date(2001, 5, 14), RegisteredOn: on, Rqth: true,
	})
	env.CaughtUp(t)
	return id
}

// pathwayEvents are the facts of one learner's pathway: its events but the
// PhaseChanged derived from them (see phaseChanges).
func pathwayEvents(t *testing.T, env *servicetest.Env, learnerID string) []event.Event {
	t.Helper()
	var facts []event.Event
	for _, ev := range env.Events(t, service.Stream, "avenir.pathway.pathway."+learnerID+".>") {
		if _, derived := ev.Data.(*pathwayv1.PhaseChanged); !derived {
			facts = append(facts, ev)
		}
	}
	return facts
}

// phaseChanges are the phases the learner's PhaseChanged events announce,
// in order.
func phaseChanges(t *testing.T, env *servicetest.Env, learnerID string) []pathwayv1.PathwayPhase {
	t.Helper()
	var phases []pathwayv1.PathwayPhase
	for _, ev := range env.Events(t, service.Stream, "avenir.pathway.pathway."+learnerID+".phase_changed") {
		phases = append(phases, ev.Data.(*pathwayv1.PhaseChanged).GetPhase())
	}
	return phases
}

// enter opens an episode and fails the test if it is refused.
func enter(t *testing.T, client pathwayv1.PathwayServiceClient, learnerID string, on *commonv1.Date) *pathwayv1.Pathway {
	t.Helper()
	resp, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: event.NewID(), LearnerId: learnerID, EntryDate: on})
	if err != nil {
		t.Fatalf("enter %s on %v: %v", learnerID, on, err)
	}
	return resp.GetPathway()
}

func exit(t *testing.T, client pathwayv1.PathwayServiceClient, learnerID string, on *commonv1.Date, reason pathwayv1.ExitReason, detail string) *pathwayv1.Pathway {
	t.Helper()
	resp, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
		RequestId: event.NewID(), LearnerId: learnerID, ExitDate: on, Reason: reason, Detail: detail,
	})
	if err != nil {
		t.Fatalf("exit %s on %v: %v", learnerID, on, err)
	}
	return resp.GetPathway()
}

func refer(t *testing.T, client pathwayv1.PathwayServiceClient, learnerID string, programme pathwayv1.Programme, on *commonv1.Date) *pathwayv1.Referral {
	t.Helper()
	resp, err := client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: event.NewID(), LearnerId: learnerID, Programme: programme, ReferralDate: on, Organisation: "AFPA Caen",
	})
	if err != nil {
		t.Fatalf("refer %s: %v", learnerID, err)
	}
	return resp.GetReferral()
}

func outcome(t *testing.T, client pathwayv1.PathwayServiceClient, learnerID string, n int32, o pathwayv1.ReferralOutcome, on *commonv1.Date) *pathwayv1.Pathway {
	t.Helper()
	resp, err := client.RecordReferralOutcome(ctx(t), &pathwayv1.RecordReferralOutcomeRequest{
		RequestId: event.NewID(), LearnerId: learnerID, ReferralNumber: n, Outcome: o, OutcomeDate: on,
	})
	if err != nil {
		t.Fatalf("outcome of referral %d of %s: %v", n, learnerID, err)
	}
	return resp.GetPathway()
}

// readModel checks that, once caught up, GetPathway shows want: the read
// model agrees with what the commands answered.
func readModel(t *testing.T, env *servicetest.Env, client pathwayv1.PathwayServiceClient, want *pathwayv1.Pathway) {
	t.Helper()
	env.CaughtUp(t)
	got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: want.GetLearnerId()})
	if err != nil {
		t.Fatalf("read model of %s: %v", want.GetLearnerId(), err)
	}
	if !proto.Equal(got.GetPathway(), want) {
		t.Fatalf("read model %v, want %v", got.GetPathway(), want)
	}
}

// nothingAppended checks that the learner's pathway still holds n events.
func nothingAppended(t *testing.T, env *servicetest.Env, learnerID string, n int) {
	t.Helper()
	if got := len(pathwayEvents(t, env, learnerID)); got != n {
		t.Fatalf("%d events in the pathway, want %d: a refused command appended", got, n)
	}
}

func civilDate(y, m, d int) civil.Date { return civil.Date{Year: y, Month: time.Month(m), Day: d} }

func civilFrom(d *commonv1.Date) civil.Date { return civilpb.Date(d) }
