package service_test

import (
	"context"
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
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// intakeStream and needsStream stand for the streams intake and needs own;
// the tests publish their events themselves, as intake and needs would.
var (
	intakeStream = natsx.StreamSpec{Name: "INTAKE", Subjects: []string{"avenir.intake.>"}}
	needsStream  = natsx.StreamSpec{Name: "NEEDS", Subjects: []string{"avenir.needs.>"}}
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
	opts.Streams = append(opts.Streams, intakeStream, needsStream)
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
	publishIntake(t, env, id, "registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Martin", GivenName: "Léa", TerritoryCode: territory,
		BirthDate: date(2001, 5, 14), RegisteredOn: on, Rqth: true,
	})
	servicetest.Eventually(t, 5*time.Second, func() error {
		_, err := env.Deps.Projections.Get(ctx(t), "pathway-learners", "learner:"+id)
		return err
	})
	return id
}

// publishIntake appends an event about a learner to INTAKE, as intake would.
func publishIntake(t *testing.T, env *servicetest.Env, learnerID, name string, data proto.Message) {
	t.Helper()
	store, err := eventstore.New(env.JS, eventstore.Options{Source: "intake"})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.intake.learner." + learnerID + ".>"
	h, err := store.Load(ctx(t), "INTAKE", filter)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Append(ctx(t), "INTAKE", filter, h.LastSeq,
		eventstore.Command{RequestID: event.NewID(), Actor: "referent:ref-intake", Time: env.Now()},
		event.Draft{Subject: "avenir.intake.learner." + learnerID + "." + name, AggregateID: learnerID, Data: data})
	if err != nil {
		t.Fatal(err)
	}
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

// readModel waits until GetPathway shows want.
func readModel(t *testing.T, client pathwayv1.PathwayServiceClient, want *pathwayv1.Pathway) {
	t.Helper()
	servicetest.Eventually(t, 5*time.Second, func() error {
		got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: want.GetLearnerId()})
		if err != nil {
			return err
		}
		if !proto.Equal(got.GetPathway(), want) {
			return fmt.Errorf("read model %v, want %v", got.GetPathway(), want)
		}
		return nil
	})
}

// caughtUp waits until every projection of the service has applied every
// event stored so far.
func caughtUp(t *testing.T, env *servicetest.Env) {
	t.Helper()
	servicetest.Eventually(t, 5*time.Second, func() error {
		// NEEDS first: its notes append to PATHWAY.
		for _, c := range []struct {
			stream string
			names  []string
		}{
			{"NEEDS", []string{"pathway-notes-needs", "pathway-timeline-needs"}},
			{"INTAKE", []string{"pathway-learners", "pathway-timeline-intake"}},
			{"PATHWAY", []string{"pathway-pathways-v2", "pathway-flows", "pathway-timeline-pathway"}},
		} {
			stream := c.stream
			for _, name := range c.names {
				c, err := env.JS.Consumer(ctx(t), stream, name)
				if err != nil {
					return err
				}
				info, err := c.Info(ctx(t))
				if err != nil {
					return err
				}
				if info.NumPending > 0 || info.NumAckPending > 0 {
					return fmt.Errorf("%s: %d pending", name, info.NumPending+uint64(info.NumAckPending))
				}
			}
		}
		return nil
	})
}

// refused checks the code of err and, for InvalidArgument, the fields
// named, in order.
func refused(t *testing.T, err error, code codes.Code, fields ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	var got []string
	for _, f := range grpcx.FieldViolations(err) {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Fatalf("violations on %v, want %v (%v)", got, fields, err)
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
