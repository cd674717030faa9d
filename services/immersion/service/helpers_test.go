package service_test

import (
	"context"
	"testing"
	"time"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
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

// start runs immersion; the streams of intake, pathway and referent, whose
// events the tests publish as those services would, are created by
// servicetest's convention.
func start(t *testing.T, opts servicetest.Options) *env {
	t.Helper()
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

// learner publishes intake's registration of a new learner born on born and
// pathway's entry (30 days ago) into territory; it does not wait for
// immersion to apply them (env.CaughtUp does).
func learner(t *testing.T, e *env, territory string, born civil.Date) string {
	t.Helper()
	id := event.NewID()
	e.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Martin", GivenName: "Léa", BirthDate: civilpb.FromDate(born), TerritoryCode: territory,
	})
	e.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(today.AddDays(-30)), TerritoryCode: territory,
	})
	return id
}

// exit publishes pathway's exit of the learner on day; recorded late, it is
// followed by its ExitBackdated, as pathway records it. It does not wait
// for immersion to act on it (env.CaughtUp does).
func exit(t *testing.T, e *env, id, territory string, day civil.Date) {
	t.Helper()
	e.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(today.AddDays(-30)), ExitDate: civilpb.FromDate(day),
		Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION, TerritoryCode: territory,
	})
	if day.Before(today) {
		e.Publish(t, "avenir.pathway.pathway."+id+".exit_backdated", &pathwayv1.ExitBackdated{
			LearnerId: id, EpisodeNumber: 1, ExitDate: civilpb.FromDate(day), RecordedOn: civilpb.FromDate(today), TerritoryCode: territory,
		})
	}
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
