// Package service is immersion as the avenir binary runs it: the gRPC API of
// ImmersionService over the IMMERSION stream (offers, sessions, bookings,
// waitlists and outcomes of #Action), read models of what it needs from
// other contexts (learners' birth dates and erasures from INTAKE, pathway
// episodes from PATHWAY, assignments from REFERENT), a catalogue read model
// for searches, listings and statistics, which points at the personal texts
// (sealed in the events) rather than copying them, an offers read model
// for listing offers by accreditation end, and two consumers that
// act: a learner's exit from the pathway cancels their later bookings, and
// a withdrawn offer cancels its future sessions.
package service

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"

	"google.golang.org/grpc"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "immersion"
	// Stream holds every immersion event.
	Stream = "IMMERSION"

	intakeStream  = "INTAKE"
	pathwayStream = "PATHWAY"
	// Read models (projection names double as durable consumer names).
	peopleProjection   = "immersion-people"
	learnersProjection = "immersion-learners"
	// The catalogue was rebuilt (v2) when it stopped copying personal
	// texts.
	catalogueProjection = "immersion-catalogue-v2"
	// The offers, for ListOffers (offers.go).
	offersProjection = "immersion-offers"
	// Durable consumers that act.
	exitConsumer       = "immersion-exits"
	withdrawalConsumer = "immersion-withdrawals"
)

// retiredProjections are read models of earlier versions, deleted from the
// store by a job: immersion-catalogue kept cancellation reasons and outcome
// comments, personal data that must not outlive a learner's erasure.
var retiredProjections = []string{"immersion-catalogue"}

// Config is immersion's own configuration; it has no setting yet.
type Config struct{}

// Service implements immersionv1.ImmersionServiceServer.
type Service struct {
	immersionv1.UnimplementedImmersionServiceServer
	deps     platform.Deps
	log      *slog.Logger
	events   *eventstore.Store
	offers   *eventstore.Aggregates[domain.Offer, domain.Event]
	sessions *eventstore.Aggregates[domain.Session, domain.Event]
	// reservations are the dates each learner reserved.
	reservations *eventstore.Aggregates[domain.LearnerSchedule, domain.Event]
	store        projection.Store
	caseload     *caseload.Caseload
	// codec opens the personal texts the catalogue points at, read from
	// the stream's handle immersion.
	codec     event.Codec
	immersion atomic.Pointer[jetstream.Stream]
}

var _ platform.Service = (*Service)(nil)

// New builds the immersion service.
func New(deps platform.Deps, _ Config) (*Service, error) {
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("immersion: %w", err)
	}
	return &Service{
		deps: deps, log: deps.Logger.With("service", Name), events: events, store: deps.Projections, codec: event.Codec{Sealer: deps.Sealer()},
		offers:       eventstore.NewAggregates(events, offerKind),
		sessions:     eventstore.NewAggregates(events, sessionKind),
		reservations: eventstore.NewAggregates(events, reservationsKind),
		caseload:     caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf),
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.immersion.>"},
		Description: "immersion: #Action offers, sessions with their places, waitlists and outcomes, and the dates each learner reserved",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service: the roles of each RPC. Object-level
// scope (which learner, which operator's sessions) is checked in the
// handlers (see access.go).
func (s *Service) Policy() auth.Policy {
	admin := []auth.Role{auth.RoleAdmin}
	read := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator}
	return auth.Policy{
		immersionv1.ImmersionService_PublishOffer_FullMethodName:          admin,
		immersionv1.ImmersionService_UpdateOffer_FullMethodName:           admin,
		immersionv1.ImmersionService_WithdrawOffer_FullMethodName:         admin,
		immersionv1.ImmersionService_GetOffer_FullMethodName:              read,
		immersionv1.ImmersionService_ListOffers_FullMethodName:            read,
		immersionv1.ImmersionService_ScheduleSession_FullMethodName:       {auth.RoleAdmin, auth.RoleOperator},
		immersionv1.ImmersionService_ChangeSessionCapacity_FullMethodName: {auth.RoleAdmin, auth.RoleOperator},
		immersionv1.ImmersionService_BookPlace_FullMethodName:             {auth.RoleAdmin, auth.RoleReferent},
		immersionv1.ImmersionService_CancelBooking_FullMethodName:         read,
		immersionv1.ImmersionService_RecordOutcome_FullMethodName:         {auth.RoleAdmin, auth.RoleOperator, auth.RoleReferent},
		immersionv1.ImmersionService_SearchSessions_FullMethodName:        read,
		immersionv1.ImmersionService_GetSession_FullMethodName:            read,
		immersionv1.ImmersionService_ListBookings_FullMethodName:          read,
		// Funders see figures, never learners.
		immersionv1.ImmersionService_GetImmersionStatistics_FullMethodName: {auth.RoleAdmin, auth.RoleFunder},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { immersionv1.RegisterImmersionServiceServer(r, s) }

// Wiring implements platform.Service: the read models, then the consumers
// that cancel the bookings of a withdrawn offer and of a learner who left,
// and a job deleting the read models of earlier versions.
func (s *Service) Wiring() platform.Wiring {
	backoff := []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second}
	return platform.Wiring{
		Projections: append([]projector.Spec{
			{
				Name: peopleProjection, Stream: intakeStream,
				FilterSubjects: append([]string{"avenir.intake.learner.*.registered"}, intakecontract.ErasedSubjects...),
				Project:        s.projectPerson,
			},
			{
				// exit_backdated too, though it adds nothing, so that the
				// checkpoint passes it and the exit consumer, which comes
				// after this read model, sees it.
				Name: learnersProjection, Stream: pathwayStream,
				FilterSubjects: []string{"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.exit_backdated"},
				Project:        s.projectLearner,
			},
			{
				Name: catalogueProjection, Stream: Stream,
				FilterSubjects: []string{"avenir.immersion.>"},
				Project:        s.projectCatalogue,
			},
			{
				Name: offersProjection, Stream: Stream,
				FilterSubjects: []string{"avenir.immersion.offer.>"},
				Project:        s.projectOffer,
			},
		}, s.caseload.Specs()...),
		Consumers: []platform.Consumer{
			{Spec: consumer.Spec{
				Stream: Stream, Name: withdrawalConsumer, Ordered: true,
				FilterSubjects: []string{"avenir.immersion.offer.*.withdrawn"}, BackOff: backoff,
			}, Handle: s.onWithdrawal},
			{
				Spec: consumer.Spec{
					Stream: pathwayStream, Name: exitConsumer, Ordered: true,
					FilterSubjects: []string{"avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.exit_backdated"}, BackOff: backoff,
				},
				Handle: s.onExit,
				// Its decisions read the learner's episodes, the exit
				// included.
				After: []string{learnersProjection},
			},
		},
		Retired: retiredProjections,
	}
}

// own is what the service's own commands (its consumers') add to their
// events; request ids derive from the event consumed.
func (s *Service) own(requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: "service:" + Name, Time: s.deps.Now()}
}

// readModelWait bounds how long the exit consumer waits for the catalogue
// to apply the service's own events stored before it looks for a learner's
// bookings.
const readModelWait = 10 * time.Second
