// Package service is pathway as the avenir binary runs it: the gRPC API of
// PathwayService over the PATHWAY stream, with read models of its own
// pathways and enrolments, of the learners intake registered, of the
// contracts funding made, of every learner's timeline across contexts and
// of the monthly flows; and consumers noting needs analyses completed and
// immersions done into the pathways.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "pathway"
	// Stream holds every pathway event.
	Stream = "PATHWAY"

	intakeStream = "INTAKE"
	needsStream  = "NEEDS"
	// referentStream is REFERENT, created by referent.
	referentStream  = "REFERENT"
	immersionStream = "IMMERSION"
	// fundingStream is FUNDING, created by funding (or from the catalog).
	fundingStream = "FUNDING"
	// Read models (projection names double as durable consumer names; the
	// timeline has one per source stream, see timelineSources). A read model
	// whose content changes gets a new name, so that existing stores build
	// it from the start of its stream: v2 added the territory and phase
	// indexes.
	learnersProjection  = "pathway-learners"
	pathwaysProjection  = "pathway-pathways-v2"
	flowsProjection     = "pathway-flows"
	contractsProjection = "pathway-contracts"
	// Not "pathway-enrolments": that is the caseload's, when it follows
	// the enrolments for the operators' access.
	enrolmentsProjection = "pathway-enrolment-listings"
)

// Config is pathway's own configuration.
type Config struct {
	// MaxEntryBackdateDays is how many days before today an entry may be
	// dated. Zero means domain.DefaultMaxEntryBackdateDays (30).
	MaxEntryBackdateDays int
}

// Service implements pathwayv1.PathwayServiceServer.
type Service struct {
	pathwayv1.UnimplementedPathwayServiceServer
	deps     platform.Deps
	cfg      Config
	log      *slog.Logger
	pathways *eventstore.Aggregates[domain.Pathway, domain.Event]
	store    projection.Store
	caseload *caseload.Caseload
}

var _ platform.Service = (*Service)(nil)

// New builds the pathway service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	if cfg.MaxEntryBackdateDays < 0 {
		return nil, fmt.Errorf("pathway: MaxEntryBackdateDays must not be negative, got %d", cfg.MaxEntryBackdateDays)
	}
	if cfg.MaxEntryBackdateDays == 0 {
		cfg.MaxEntryBackdateDays = domain.DefaultMaxEntryBackdateDays
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name})
	if err != nil {
		return nil, fmt.Errorf("pathway: %w", err)
	}
	return &Service{
		deps:     deps,
		cfg:      cfg,
		log:      deps.Logger.With("service", Name),
		pathways: eventstore.NewAggregates(events, pathwayKind),
		store:    deps.Projections,
		caseload: caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf),
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.pathway.>"},
		Description: "pathway: entries into and exits from #Avenir, episode by episode, and referrals",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service. Object-level scope is checked in the
// handlers (see access.go).
func (s *Service) Policy() auth.Policy {
	change := []auth.Role{auth.RoleAdmin, auth.RoleReferent}
	read := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder}
	return auth.Policy{
		pathwayv1.PathwayService_EnterPathway_FullMethodName:          change,
		pathwayv1.PathwayService_ExitPathway_FullMethodName:           change,
		pathwayv1.PathwayService_RecordReferral_FullMethodName:        change,
		pathwayv1.PathwayService_RecordReferralOutcome_FullMethodName: change,
		pathwayv1.PathwayService_GetPathway_FullMethodName:            read,
		pathwayv1.PathwayService_ListPathways_FullMethodName:          read,
		pathwayv1.PathwayService_GetTimeline_FullMethodName:           read,
		pathwayv1.PathwayService_GetFlowStatistics_FullMethodName:     {auth.RoleAdmin, auth.RoleFunder, auth.RoleReferent},
		pathwayv1.PathwayService_Enrol_FullMethodName:                 change,
		pathwayv1.PathwayService_EndEnrolment_FullMethodName:          change,
		pathwayv1.PathwayService_ListEnrolments_FullMethodName:        read,
		pathwayv1.PathwayService_GetProgrammeTargets_FullMethodName:   {auth.RoleAdmin, auth.RoleFunder, auth.RoleReferent},
		pathwayv1.PathwayService_GetOutcomes_FullMethodName:           {auth.RoleAdmin, auth.RoleFunder, auth.RoleReferent},
		pathwayv1.PathwayService_GetBreakdowns_FullMethodName:         {auth.RoleAdmin, auth.RoleFunder, auth.RoleReferent},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { pathwayv1.RegisterPathwayServiceServer(r, s) }

// Wiring implements platform.Service: the read models, then the consumers
// noting other contexts' facts into the pathways.
func (s *Service) Wiring() platform.Wiring {
	specs := []projector.Spec{
		{
			Name: learnersProjection, Stream: intakeStream,
			FilterSubjects: []string{"avenir.intake.learner.*.registered"},
			Project:        s.projectLearner,
		},
		{
			Name: pathwaysProjection, Stream: Stream,
			FilterSubjects: []string{"avenir.pathway.pathway.>"},
			Project:        s.projectPathway,
		},
		{
			Name: flowsProjection, Stream: Stream,
			FilterSubjects: []string{"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited"},
			Project:        s.projectFlows,
		},
		{Name: enrolmentsProjection, Stream: Stream, FilterSubjects: enrolmentSubjects, Project: s.projectEnrolment},
		{Name: contractsProjection, Stream: fundingStream, FilterSubjects: contractSubjects, Project: s.projectContract},
	}
	for _, src := range timelineSources {
		specs = append(specs, projector.Spec{
			Name: src.projection(), Stream: src.Stream, FilterSubjects: src.FilterSubjects,
			Project: s.projectTimeline(src),
		})
	}
	specs = append(specs, s.caseload.Spec())
	return platform.Wiring{Projections: specs, Consumers: s.notes()}
}

func learnerKey(id string) string { return "learner:" + id }

// learner reads what pathway knows of a learner from intake's events.
func (s *Service) learner(ctx context.Context, id string) (domain.Learner, error) {
	b, err := s.store.Get(ctx, learnersProjection, learnerKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return domain.Learner{ID: id}, nil
	}
	if err != nil {
		return domain.Learner{}, err
	}
	var reg intakev1.LearnerRegistered
	if err := proto.Unmarshal(b, &reg); err != nil {
		return domain.Learner{}, fmt.Errorf("pathway: stored learner %s: %w", id, err)
	}
	return domain.Learner{
		ID: id, Territory: reg.GetTerritoryCode(), BirthDate: civilpb.Date(reg.GetBirthDate()),
		RegisteredOn: civilpb.Date(reg.GetRegisteredOn()), Known: true,
	}, nil
}

// projectLearner keeps the learners intake registered: territory, birth
// date and registration date.
func (s *Service) projectLearner(_ context.Context, ev event.Event) ([]projection.Op, error) {
	reg, ok := ev.Data.(*intakev1.LearnerRegistered)
	if !ok {
		return nil, nil
	}
	// Only what pathway's rules need: no names, contact or special-category data.
	b, err := proto.Marshal(&intakev1.LearnerRegistered{
		LearnerId: reg.GetLearnerId(), TerritoryCode: reg.GetTerritoryCode(),
		BirthDate: reg.GetBirthDate(), RegisteredOn: reg.GetRegisteredOn(),
	})
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(learnerKey(reg.GetLearnerId()), b)}, nil
}
