// Package service is referent as the avenir binary runs it: the gRPC API of
// ReferentService over the REFERENT stream, the automatic assignment of
// learners entering the pathway (a consumer of PATHWAY's entries and exits),
// the territory queues drained when slots free, and read models of the
// directory, the queues and the learners' RQTH and age from intake (dropped
// when intake erases a learner's personal data).
package service

import (
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "referent"
	// Stream holds every referent event.
	Stream = "REFERENT"

	intakeStream  = "INTAKE"
	pathwayStream = "PATHWAY"
	// Read models (projection names double as durable consumer names).
	learnersProjection  = "referent-learners"
	referentsProjection = "referent-referents"
	phasesProjection    = "referent-phases"
	// Durable consumers that act.
	pathwayConsumer = "referent-pathway"
	queueConsumer   = "referent-queue"
)

// DefaultHandoverGraceDays is how long a referent still reads a learner
// handed over to another, by default.
const DefaultHandoverGraceDays = 30

// DefaultQualifWeightPercent is what a learner followed in Qualif weighs in
// a referent's capacity, by default: half an active learner.
const DefaultQualifWeightPercent = 50

// Config is referent's own configuration.
type Config struct {
	// HandoverGraceDays is how many days the previous referent keeps read
	// access to a learner after a handover. Zero means
	// DefaultHandoverGraceDays; negative is refused.
	HandoverGraceDays int
	// QualifWeightPercent is what a learner followed in Qualif (exited to
	// qualifying training, until the outcome) weighs in a referent's
	// capacity, in percent of an active learner, 1 to 100: with 50, two
	// Qualif learners take one place (integer arithmetic, in hundredths of
	// a place). Zero means DefaultQualifWeightPercent; outside 0..100 is
	// refused.
	QualifWeightPercent int
}

// Service implements referentv1.ReferentServiceServer.
type Service struct {
	referentv1.UnimplementedReferentServiceServer
	deps platform.Deps
	cfg  Config
	log  *slog.Logger
	// events runs the assignment commands, which change a learner's
	// assignment and caseloads in one atomic batch (Store.ExecuteAll).
	events      *eventstore.Store
	caseloads   *eventstore.Aggregates[domain.Referent, domain.Event]
	assignments *eventstore.Aggregates[domain.Assignment, domain.Event]
	store       projection.Store
}

var _ platform.Service = (*Service)(nil)

// New builds the referent service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	if cfg.HandoverGraceDays < 0 {
		return nil, fmt.Errorf("referent: negative handover grace period %d", cfg.HandoverGraceDays)
	}
	if cfg.HandoverGraceDays == 0 {
		cfg.HandoverGraceDays = DefaultHandoverGraceDays
	}
	if cfg.QualifWeightPercent < 0 || cfg.QualifWeightPercent > 100 {
		return nil, fmt.Errorf("referent: Qualif weight %d%% is not between 1 and 100", cfg.QualifWeightPercent)
	}
	if cfg.QualifWeightPercent == 0 {
		cfg.QualifWeightPercent = DefaultQualifWeightPercent
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("referent: %w", err)
	}
	return &Service{
		deps: deps, cfg: cfg, log: deps.Logger.With("service", Name), events: events, store: deps.Projections,
		caseloads:   eventstore.NewAggregates(events, caseloadKind(cfg.HandoverGraceDays)),
		assignments: eventstore.NewAggregates(events, assignmentKind(cfg.HandoverGraceDays)),
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.referent.>"},
		Description: "referent: the directory of referents with their caseloads, and each learner's dated assignments",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service. Object-level scope is checked in the
// handlers (see access.go); among referents, only coordinators pass the
// managing RPCs' (SetAvailability, AssignReferent, Handover,
// ListPendingAssignments), for the territories they coordinate.
func (s *Service) Policy() auth.Policy {
	admin := []auth.Role{auth.RoleAdmin}
	staff := []auth.Role{auth.RoleAdmin, auth.RoleReferent}
	return auth.Policy{
		referentv1.ReferentService_RegisterReferent_FullMethodName:       admin,
		referentv1.ReferentService_UpdateReferent_FullMethodName:         admin,
		referentv1.ReferentService_SetAvailability_FullMethodName:        staff,
		referentv1.ReferentService_DeactivateReferent_FullMethodName:     admin,
		referentv1.ReferentService_AssignReferent_FullMethodName:         staff,
		referentv1.ReferentService_Handover_FullMethodName:               staff,
		referentv1.ReferentService_ListPendingAssignments_FullMethodName: staff,
		referentv1.ReferentService_GetAssignment_FullMethodName:          staff,
		referentv1.ReferentService_ListCaseload_FullMethodName:           staff,
		referentv1.ReferentService_ListReferents_FullMethodName:          staff,
		// Funders see counts, never learners.
		referentv1.ReferentService_GetTerritoryLoad_FullMethodName: {auth.RoleAdmin, auth.RoleReferent, auth.RoleFunder},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { referentv1.RegisterReferentServiceServer(r, s) }

// Wiring implements platform.Service: the read models, then the consumers
// that assign learners as they enter and leave the pathway and drain the
// territories' queues as slots free.
func (s *Service) Wiring() platform.Wiring {
	backoff := []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second}
	return platform.Wiring{
		Projections: []projector.Spec{
			{
				Name: learnersProjection, Stream: intakeStream,
				FilterSubjects: append([]string{"avenir.intake.learner.*.registered", "avenir.intake.learner.*.situation_updated"}, intakecontract.ErasedSubjects...),
				Project:        s.projectLearner,
			},
			{
				// The whole stream, so that its checkpoint tells the queue
				// consumer (which comes after it) that every event up to the
				// one it handles is in.
				Name: referentsProjection, Stream: Stream,
				FilterSubjects: []string{"avenir.referent.>"},
				Project:        s.projectReferents,
			},
			{
				Name: phasesProjection, Stream: pathwayStream,
				FilterSubjects: []string{"avenir.pathway.pathway.*.phase_changed"},
				Project:        s.projectPhase,
			},
		},
		Consumers: []platform.Consumer{
			{Spec: consumer.Spec{
				Stream: pathwayStream, Name: pathwayConsumer, Ordered: true,
				FilterSubjects: []string{"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.qualif_follow_up_ended"},
				BackOff:        backoff,
			}, Handle: s.onPathway},
			{Spec: consumer.Spec{
				Stream: Stream, Name: queueConsumer, Ordered: true,
				FilterSubjects: []string{
					"avenir.referent.caseload.*.registered", "avenir.referent.caseload.*.updated",
					"avenir.referent.caseload.*.availability_set", "avenir.referent.caseload.*.deactivated",
					"avenir.referent.caseload.*.learner_released", "avenir.referent.caseload.*.learner_in_qualif",
					"avenir.referent.assignment.*.pending",
				},
				BackOff: backoff,
			}, Handle: s.onReferentEvent, After: []string{referentsProjection}}, // reads the queues and the directory
		},
	}
}

// serviceCommand is the metadata of a command the service runs itself, in
// reaction to an event.
func (s *Service) serviceCommand(requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: "service:" + Name, Time: s.deps.Now()}
}
