// Package service is pathway as the avenir binary runs it: the gRPC API of
// PathwayService over the PATHWAY stream, with read models of its own
// pathways, episodes and enrolments, of the learners intake registered, of
// the contracts and programme years funding set, of the immersion places
// and outcomes, of every learner's timeline across contexts and of the
// monthly flows; and consumers noting needs analyses completed and
// immersions done into the pathways.
package service

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	pathwaycontract "github.com/avenir-normandie/avenir/proto/contract/pathway"
	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"

	"google.golang.org/grpc"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
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
	// it from the start of its stream (and the platform, Wiring.Retired,
	// deletes the earlier one): the pathways' v2 added the territory and
	// phase indexes, their v3 dropped the exit details; the learners' v2 the
	// public intake recorded; the contracts' v2 the operator's name, the
	// reference and an index by territory (ListEnrolmentOptions).
	learnersProjection  = "pathway-learners-v2"
	pathwaysProjection  = "pathway-pathways-v3"
	flowsProjection     = "pathway-flows"
	contractsProjection = "pathway-contracts-v2"
	// Not "pathway-enrolments": that is the caseload's, which follows the
	// enrolments for the operators' access.
	enrolmentsProjection = "pathway-enrolment-listings"
	// The scheme's figures (see scheme.go).
	episodesProjection       = "pathway-episodes"
	immersionsProjection     = "pathway-immersions"
	programmeYearsProjection = "pathway-programme-years"
)

// retiredProjections are read models of earlier versions, deleted from the
// store by the platform (Wiring.Retired): the pathways' v2 and the timelines' v1
// and v2 kept copies of personal data (exit details, the recommended steps
// of needs analyses) that must not outlive a learner's erasure; the
// timelines' v3 had no attributes, the contracts' first version neither
// the operator's name nor the index by territory.
var retiredProjections = func() []string {
	names := []string{"pathway-pathways", "pathway-pathways-v2", "pathway-contracts"}
	for _, src := range timelineSources {
		stream := timelineStreamName(src.Stream)
		names = append(names, "pathway-timeline-"+stream, "pathway-timeline-v2-"+stream, "pathway-timeline-v3-"+stream)
	}
	return names
}()

// Config is pathway's own configuration.
type Config struct {
	// MaxEntryBackdateDays is how many days before today an entry may be
	// dated. Zero means domain.DefaultMaxEntryBackdateDays (30).
	MaxEntryBackdateDays int
	// FreezeEvery is how often the job freezing the breakdowns of past
	// months runs (statistics.go). Zero means DefaultFreezeEvery (30 s).
	FreezeEvery time.Duration
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

	// streamMu guards pathwayStream, the handle of Stream the reads of
	// exit details use (see reveal).
	streamMu      sync.Mutex
	pathwayStream jetstream.Stream
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
	if cfg.FreezeEvery < 0 {
		return nil, fmt.Errorf("pathway: FreezeEvery must not be negative, got %s", cfg.FreezeEvery)
	}
	if cfg.FreezeEvery == 0 {
		cfg.FreezeEvery = DefaultFreezeEvery
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("pathway: %w", err)
	}
	return &Service{
		deps:     deps,
		cfg:      cfg,
		log:      deps.Logger.With("service", Name),
		pathways: eventstore.NewAggregates(events, pathwayKind),
		store:    deps.Projections,
		// Who follows each learner (REFERENT), and which operators it is
		// enrolled with (this context's own enrolment events, read as any
		// context reads them): operators reach learners by enrolment only.
		caseload: caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf,
			caseload.WithEnrolments(pathwaycontract.Stream, pathwaycontract.EnrolmentSubjects, pathwaycontract.EnrolmentOf)),
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
// handlers (see access.go); the scheme's figures are for the referents who
// coordinate territories, not the others (see schemeViewOf).
func (s *Service) Policy() auth.Policy {
	change := []auth.Role{auth.RoleAdmin, auth.RoleReferent}
	read := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder}
	return auth.Policy{
		pathwayv1.PathwayService_EnterPathway_FullMethodName:          change,
		pathwayv1.PathwayService_ExitPathway_FullMethodName:           change,
		pathwayv1.PathwayService_RecordReferral_FullMethodName:        change,
		pathwayv1.PathwayService_RecordReferralOutcome_FullMethodName: change,
		pathwayv1.PathwayService_RecordFollowUp_FullMethodName:        change,
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
		// Those who may enrol the learner (see ListEnrolmentOptions).
		pathwayv1.PathwayService_ListEnrolmentOptions_FullMethodName: change,
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { pathwayv1.RegisterPathwayServiceServer(r, s) }

// Wiring implements platform.Service: the read models, then the consumers
// noting other contexts' facts into the pathways, and the jobs freezing the
// breakdowns of past months and deleting retired read models.
func (s *Service) Wiring() platform.Wiring {
	specs := []projector.Spec{
		{Name: learnersProjection, Stream: intakeStream, FilterSubjects: learnerSubjects, Project: s.projectLearner},
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
		{Name: episodesProjection, Stream: Stream, FilterSubjects: episodeSubjects, Project: s.projectEpisode},
		{Name: immersionsProjection, Stream: immersionStream, FilterSubjects: immersionSubjects, Project: s.projectImmersion},
		{Name: programmeYearsProjection, Stream: fundingStream, FilterSubjects: programmeYearSubjects, Project: s.projectProgrammeYear},
		{Name: frozenProjection, Stream: Stream, FilterSubjects: frozenSubjects, Project: s.projectFrozen},
	}
	for _, src := range timelineSources {
		specs = append(specs, projector.Spec{
			Name: src.projection(), Stream: src.Stream, FilterSubjects: src.FilterSubjects,
			Project: s.projectTimeline(src),
		})
	}
	specs = append(specs, s.caseload.Specs()...)
	return platform.Wiring{
		Projections: specs, Consumers: s.notes(),
		Jobs: []platform.Job{
			{Name: freezeJob, Every: s.cfg.FreezeEvery, Run: s.FreezeBreakdowns},
		},
		Retired: retiredProjections,
	}
}
