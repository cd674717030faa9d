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

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The streams intake, pathway and referent own; the tests publish their
// events themselves, as those services would.
var (
	intakeStream   = natsx.StreamSpec{Name: "INTAKE", Subjects: []string{"avenir.intake.>"}}
	pathwayStream  = natsx.StreamSpec{Name: "PATHWAY", Subjects: []string{"avenir.pathway.>"}}
	referentStream = natsx.StreamSpec{Name: "REFERENT", Subjects: []string{"avenir.referent.>"}}
)

// The services' clock is servicetest's default: 2026-11-26, 10:00 in Paris.
var today = civil.Date{Year: 2026, Month: time.November, Day: 26}

// adult is a birth date of someone 30 years old.
var adult = civil.Date{Year: 1996, Month: time.May, Day: 4}

var (
	referentT05 = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operator5   = auth.Principal{Subject: "u-op5", Role: auth.RoleOperator, OperatorID: "op-5", Territories: []string{"T05"}}
	operator6   = auth.Principal{Subject: "u-op6", Role: auth.RoleOperator, OperatorID: "op-6", Territories: []string{"T05"}}
	funder      = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

type env struct {
	*servicetest.Env
	admin immersionv1.ImmersionServiceClient
}

func start(t *testing.T, opts servicetest.Options) *env {
	t.Helper()
	opts.Streams = append(opts.Streams, intakeStream, pathwayStream, referentStream)
	e := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	return &env{Env: e, admin: immersionv1.NewImmersionServiceClient(e.Conn)}
}

func (e *env) as(t *testing.T, p auth.Principal) immersionv1.ImmersionServiceClient {
	return immersionv1.NewImmersionServiceClient(e.ConnAs(t, p))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// publish appends an event of another context's aggregate.
func publish(t *testing.T, e *env, stream, base, id, name string, data proto.Message) {
	t.Helper()
	store, err := eventstore.New(e.JS, eventstore.Options{Source: "test"})
	if err != nil {
		t.Error(err)
		return
	}
	filter := base + "." + id + ".>"
	for range 20 {
		h, err := store.Load(context.Background(), stream, filter)
		if err != nil {
			t.Error(err)
			return
		}
		_, err = store.Append(context.Background(), stream, filter, h.LastSeq,
			eventstore.Command{RequestID: event.NewID(), Actor: "test", Time: e.Now()},
			event.Draft{Subject: base + "." + id + "." + name, AggregateID: id, Data: data})
		if err == nil {
			return
		}
	}
	t.Errorf("publish %s %s: still conflicting", id, name)
}

// learner publishes intake's registration of a new learner born on born and
// pathway's entry (30 days ago) into territory; it does not wait.
func learner(t *testing.T, e *env, territory string, born civil.Date) string {
	t.Helper()
	id := event.NewID()
	publish(t, e, "INTAKE", "avenir.intake.learner", id, "registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Martin", GivenName: "Léa", BirthDate: civilpb.FromDate(born), TerritoryCode: territory,
	})
	publish(t, e, "PATHWAY", "avenir.pathway.pathway", id, "entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(today.AddDays(-30)), TerritoryCode: territory,
	})
	return id
}

// exit publishes pathway's exit of the learner on day; recorded late, with
// its ExitBackdated in the same batch.
func exit(t *testing.T, e *env, id, territory string, day civil.Date) {
	t.Helper()
	store, err := eventstore.New(e.JS, eventstore.Options{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.pathway.pathway." + id + ".>"
	h, err := store.Load(ctx(t), "PATHWAY", filter)
	if err != nil {
		t.Fatal(err)
	}
	drafts := []event.Draft{{Subject: "avenir.pathway.pathway." + id + ".exited", AggregateID: id, Data: &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(today.AddDays(-30)), ExitDate: civilpb.FromDate(day),
		Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION, TerritoryCode: territory,
	}}}
	if day.Before(today) {
		drafts = append(drafts, event.Draft{Subject: "avenir.pathway.pathway." + id + ".exit_backdated", AggregateID: id, Data: &pathwayv1.ExitBackdated{
			LearnerId: id, EpisodeNumber: 1, ExitDate: civilpb.FromDate(day), RecordedOn: civilpb.FromDate(today), TerritoryCode: territory,
		}})
	}
	if _, err := store.Append(ctx(t), "PATHWAY", filter, h.LastSeq, eventstore.Command{RequestID: event.NewID(), Actor: "test", Time: e.Now()}, drafts...); err != nil {
		t.Fatal(err)
	}
}

// caughtUp waits until the read models have applied every event stored.
func caughtUp(t *testing.T, e *env) {
	t.Helper()
	servicetest.Eventually(t, 20*time.Second, func() error {
		for stream, name := range map[string]string{"INTAKE": "immersion-people", "PATHWAY": "immersion-learners", "IMMERSION": "immersion-catalogue"} {
			c, err := e.JS.Consumer(ctx(t), stream, name)
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
		return nil
	})
}

func offerProfile(operator string, trades ...string) *immersionv1.OfferProfile {
	if len(trades) == 0 {
		trades = []string{"H2913"}
	}
	return &immersionv1.OfferProfile{
		OperatorId: operator,
		Platform:   &immersionv1.TechnicalPlatform{Name: "Plateau soudure", Address: "1 rue de l'Usine, Évreux", CommuneCode: "27229", TerritoryCode: "T05"},
		RomeCodes:  trades, AccreditedFrom: civilpb.FromDate(today.AddDays(-100)), AccreditedTo: civilpb.FromDate(today.AddDays(200)),
		Accessible: true, Description: "Soudage à l'arc",
	}
}

func publishOffer(t *testing.T, e *env, p *immersionv1.OfferProfile) string {
	t.Helper()
	resp, err := e.admin.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: event.NewID(), Profile: p})
	if err != nil {
		t.Fatalf("PublishOffer: %v", err)
	}
	return resp.GetOffer().GetOfferId()
}

// scheduleSession schedules a session of the offer from today+from, lasting
// days, with capacity places and 420 minutes a day.
func scheduleSession(t *testing.T, client immersionv1.ImmersionServiceClient, offer string, from, days, capacity int) *immersionv1.Session {
	t.Helper()
	f := today.AddDays(from)
	resp, err := client.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: event.NewID(), OfferId: offer, FromDate: civilpb.FromDate(f), ToDate: civilpb.FromDate(f.AddDays(days - 1)),
		DailyMinutes: 420, Capacity: int32(capacity), BookingDeadline: civilpb.FromDate(f.AddDays(-1)),
	})
	if err != nil {
		t.Fatalf("ScheduleSession: %v", err)
	}
	return resp.GetSession()
}

func book(t *testing.T, client immersionv1.ImmersionServiceClient, session, learner string) *immersionv1.Booking {
	t.Helper()
	resp, err := client.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: session, LearnerId: learner})
	if err != nil {
		t.Fatalf("BookPlace: %v", err)
	}
	return resp.GetBooking()
}

func getSession(t *testing.T, client immersionv1.ImmersionServiceClient, id string) *immersionv1.Session {
	t.Helper()
	resp, err := client.GetSession(ctx(t), &immersionv1.GetSessionRequest{SessionId: id})
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	return resp.GetSession()
}

// refused checks the code of err, its reason code (FailedPrecondition) or
// the fields named (InvalidArgument).
func refused(t *testing.T, err error, code codes.Code, reasonOrFields ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	switch code {
	case codes.InvalidArgument:
		var got []string
		for _, f := range grpcx.FieldViolations(err) {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, reasonOrFields) {
			t.Fatalf("violations on %v, want %v (%v)", got, reasonOrFields, err)
		}
	case codes.FailedPrecondition:
		if len(reasonOrFields) > 0 && grpcx.Metadata(err)["reason"] != reasonOrFields[0] {
			t.Fatalf("reason %q, want %q (%v)", grpcx.Metadata(err)["reason"], reasonOrFields[0], err)
		}
	}
}

func placesOf(s *immersionv1.Session) []string {
	var out []string
	for _, p := range s.GetPlaces() {
		out = append(out, p.GetLearnerId())
	}
	return out
}

func waitlistOf(s *immersionv1.Session) []string {
	var out []string
	for _, w := range s.GetWaitlist() {
		out = append(out, w.GetLearnerId())
	}
	return out
}
