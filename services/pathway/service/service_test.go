package service_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// intakeStream stands for the stream intake owns; the test publishes
// intake's events itself, as intake would.
var intakeStream = natsx.StreamSpec{Name: "INTAKE", Subjects: []string{"avenir.intake.>"}}

func build(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }

func start(t *testing.T, opts servicetest.Options) (*servicetest.Env, pathwayv1.PathwayServiceClient) {
	t.Helper()
	opts.Streams = append(opts.Streams, intakeStream)
	env := servicetest.Start(t, opts, build)
	return env, pathwayv1.NewPathwayServiceClient(env.Conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// registered publishes intake's LearnerRegistered for a new learner.
func registered(t *testing.T, env *servicetest.Env, territory string) string {
	t.Helper()
	id := event.NewID()
	store, err := eventstore.New(env.JS, eventstore.Options{Source: "intake"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Append(ctx(t), "INTAKE", "avenir.intake.learner."+id+".>", 0, eventstore.Command{RequestID: id},
		event.Draft{Subject: "avenir.intake.learner." + id + ".registered", AggregateID: id, Data: &intakev1.LearnerRegistered{
			LearnerId: id, FamilyName: "Martin", GivenName: "Léa", TerritoryCode: territory,
			BirthDate: &commonv1.Date{Year: 2001, Month: 5, Day: 14}, RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 2},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// enter retries while intake's event has not reached pathway's read model yet.
func enter(t *testing.T, client pathwayv1.PathwayServiceClient, req *pathwayv1.EnterPathwayRequest) *pathwayv1.Pathway {
	t.Helper()
	var p *pathwayv1.Pathway
	servicetest.Eventually(t, 5*time.Second, func() error {
		resp, err := client.EnterPathway(ctx(t), req)
		if status.Code(err) == codes.FailedPrecondition {
			return err
		}
		if err != nil {
			t.Fatalf("enter: %v", err)
		}
		p = resp.GetPathway()
		return nil
	})
	return p
}

func TestEnterPathwayRecordsTheEntryAndGetPathwayReadsIt(t *testing.T) {
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	entry := &commonv1.Date{Year: 2026, Month: 11, Day: 20}
	p := enter(t, client, &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})

	if p.GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE || p.GetTerritoryCode() != "T16" ||
		len(p.GetEpisodes()) != 1 || !proto.Equal(p.GetEpisodes()[0].GetEntryDate(), entry) || p.GetVersion() == 0 {
		t.Fatalf("pathway %v", p)
	}
	evs := env.Events(t, service.Stream, "avenir.pathway.>")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	want := &pathwayv1.PathwayEntered{LearnerId: id, EpisodeNumber: 1, EntryDate: entry, TerritoryCode: "T16"}
	if !proto.Equal(evs[0].Data, want) || evs[0].Subject != "avenir.pathway.pathway."+id+".entered" || evs[0].Source != "pathway" {
		t.Fatalf("event %s %v", evs[0].Subject, evs[0].Data)
	}

	servicetest.Eventually(t, 5*time.Second, func() error {
		got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if !proto.Equal(got.GetPathway(), p) {
			return fmt.Errorf("read model %v, want %v", got.GetPathway(), p)
		}
		return nil
	})

	// A retry of the same command returns the same pathway and appends nothing.
	again, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})
	if err != nil || !proto.Equal(again.GetPathway(), p) {
		t.Fatalf("retry: %v %v", again.GetPathway(), err)
	}
	// A new command while the episode is open is refused.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-2", LearnerId: id, EntryDate: entry})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second entry: %v", err)
	}
	if n := len(env.Events(t, service.Stream, "avenir.pathway.>")); n != 1 {
		t.Fatalf("%d events after retry and refusal, want 1", n)
	}
}

func TestEnterPathwayRefusesUnknownLearnersAndBadInput(t *testing.T) {
	env, client := start(t, servicetest.Options{})
	_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
		RequestId: "r", LearnerId: event.NewID(), EntryDate: &commonv1.Date{Year: 2026, Month: 11, Day: 20},
	})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("unknown learner: %v", err)
	}
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{LearnerId: "nope"})
	if status.Code(err) != codes.InvalidArgument || len(grpcx.FieldViolations(err)) != 2 {
		t.Fatalf("malformed request: %v %v", err, grpcx.FieldViolations(err))
	}
	id := registered(t, env, "T01")
	servicetest.Eventually(t, 5*time.Second, func() error {
		_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
			RequestId: "r2", LearnerId: id, EntryDate: &commonv1.Date{Year: 2026, Month: 12, Day: 1},
		})
		if status.Code(err) != codes.InvalidArgument {
			return fmt.Errorf("future entry date: %v", err)
		}
		return nil
	})
	_, err = client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("no pathway yet: %v", err)
	}
	if n := len(env.Events(t, service.Stream, "avenir.pathway.>")); n != 0 {
		t.Fatalf("refused commands appended %d events", n)
	}
}

func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T09")
	p := enter(t, client, &pathwayv1.EnterPathwayRequest{RequestId: "e", LearnerId: id, EntryDate: &commonv1.Date{Year: 2026, Month: 11, Day: 3}})

	// Restart with an empty store (an in-memory read model after a process
	// restart): the same durable consumers replay the streams into it.
	if err := env.Services[0].Stop(ctx(t)); err != nil {
		t.Fatal(err)
	}
	fresh := projection.NewMemory()
	svc, err := service.New(platform.Deps{
		Logger: env.Deps.Logger, NC: env.Deps.NC, JS: env.JS, Projections: fresh, Topology: env.Deps.Topology, Now: env.Now,
	}, service.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	got, err := fresh.Get(ctx(t), "pathway-pathways", "pathway:"+id)
	if err != nil {
		t.Fatalf("rebuilt read model: %v", err)
	}
	var stored pathwayv1.Pathway
	if err := proto.Unmarshal(got, &stored); err != nil || !proto.Equal(&stored, p) {
		t.Fatalf("rebuilt %v, want %v (%v)", &stored, p, err)
	}
	if _, err := fresh.Get(ctx(t), "pathway-learners", "learner:"+id); errors.Is(err, projection.ErrNotFound) {
		t.Fatal("learner read model not rebuilt")
	}
}

var (
	referentT16 = auth.Principal{Subject: "u-ref16", Role: auth.RoleReferent, ReferentID: "ref-16", Territories: []string{"T16"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operatorT16 = auth.Principal{Subject: "u-op16", Role: auth.RoleOperator, OperatorID: "op-16", Territories: []string{"T16"}}
	operatorT01 = auth.Principal{Subject: "u-op1", Role: auth.RoleOperator, OperatorID: "op-1", Territories: []string{"T01"}}
	funder      = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

// Every role against every RPC: allowed, denied by role, or hidden because
// the learner is outside the caller's scope.
func TestAccess(t *testing.T) {
	env, admin := start(t, servicetest.Options{})
	entered := registered(t, env, "T16") // has a pathway, for GetPathway
	enter(t, admin, &pathwayv1.EnterPathwayRequest{RequestId: "setup", LearnerId: entered, EntryDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2}})
	servicetest.Eventually(t, 5*time.Second, func() error {
		_, err := admin.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: entered})
		return err
	})
	tests := []struct {
		name       string
		as         *auth.Principal
		enter, get codes.Code
	}{
		{"admin", &servicetest.Admin, codes.OK, codes.OK},
		{"referent of the territory", &referentT16, codes.OK, codes.OK},
		// Out of scope reads as not registered (entering) or not found (reading).
		{"referent of another territory", &referentT01, codes.FailedPrecondition, codes.NotFound},
		{"operator of the territory", &operatorT16, codes.PermissionDenied, codes.OK},
		{"operator of another territory", &operatorT01, codes.PermissionDenied, codes.NotFound},
		{"funder", &funder, codes.PermissionDenied, codes.OK},
		{"anonymous", nil, codes.Unauthenticated, codes.Unauthenticated},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
			}
			client := pathwayv1.NewPathwayServiceClient(conn)
			fresh := registered(t, env, "T16") // a learner without a pathway, for EnterPathway
			var err error
			servicetest.Eventually(t, 5*time.Second, func() error {
				_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
					RequestId: fmt.Sprintf("enter-%d", i), LearnerId: fresh, EntryDate: &commonv1.Date{Year: 2026, Month: 11, Day: 20},
				})
				if status.Code(err) == codes.FailedPrecondition && tc.enter != codes.FailedPrecondition {
					return err // the registration has not reached pathway yet
				}
				return nil
			})
			if status.Code(err) != tc.enter {
				t.Fatalf("EnterPathway: %v, want %v", err, tc.enter)
			}
			_, err = client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: entered})
			if status.Code(err) != tc.get {
				t.Fatalf("GetPathway: %v, want %v", err, tc.get)
			}
		})
	}
	// Entries record who made them.
	evs := env.Events(t, service.Stream, "avenir.pathway.>")
	actors := map[string]bool{}
	for _, ev := range evs {
		actors[ev.Actor] = true
	}
	if !actors["admin:test-admin"] || !actors["referent:ref-16"] || len(actors) != 2 {
		t.Fatalf("actors recorded: %v", actors)
	}
}
