// Package service is needs as the avenir binary runs it: the gRPC API of
// NeedsService over the NEEDS stream, with a read model of the analyses
// (views, indexes, the monthly summaries and the months frozen) and one of
// the learners in the pathway, fed by pathway's events; a consumer of
// intake's erasures, which records each in NEEDS for the analyses read model
// to purge; and the job that freezes each month's summary.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	pathwaycontract "github.com/avenir-normandie/avenir/proto/contract/pathway"
	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"

	"google.golang.org/grpc"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
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
	Name = "needs"
	// Stream holds every needs event.
	Stream = "NEEDS"

	pathwayStream = pathwaycontract.Stream
	// Read models (projection names double as durable consumer names).
	learnersProjection = "needs-learners"
	// analysesProjection is v2 since it reads every NEEDS event (months
	// frozen, erasures) and keeps the first month completed: rebuilt from
	// the start of NEEDS (docs/adr/0040-ship-readers-before-writers.md).
	analysesProjection = "needs-analyses-v2"
	// erasuresConsumer records intake's erasures in NEEDS (erasure.go).
	erasuresConsumer = "needs-erasures"
	// freezeJob freezes the summaries of past months (frozen.go).
	freezeJob = "needs-freeze-summary"
)

// retiredProjections are read models of earlier versions, deleted from the
// store by the platform (Wiring.Retired): needs-analyses kept the contents of
// the analyses, personal data that must not outlive a learner's erasure.
var retiredProjections = []string{"needs-analyses"}

// DefaultFreezeEvery is how often the job freezing the months' summaries
// runs by default.
const DefaultFreezeEvery = 30 * time.Second

// Config is needs' own configuration.
type Config struct {
	// FreezeEvery is how often the job freezing the months' summaries runs;
	// zero means DefaultFreezeEvery.
	FreezeEvery time.Duration
}

// Service implements needsv1.NeedsServiceServer.
type Service struct {
	needsv1.UnimplementedNeedsServiceServer
	deps     platform.Deps
	log      *slog.Logger
	analyses *eventstore.Aggregates[domain.Analysis, domain.Event]
	store    projection.Store
	caseload *caseload.Caseload
	// enrolledPage is how many of an operator's learners one read of the
	// caseload returns (listEnrolled).
	enrolledPage int
	freezeEvery  time.Duration
}

var _ platform.Service = (*Service)(nil)

// New builds the needs service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("needs: %w", err)
	}
	if cfg.FreezeEvery < 0 {
		return nil, fmt.Errorf("needs: negative FreezeEvery %s", cfg.FreezeEvery)
	}
	if cfg.FreezeEvery == 0 {
		cfg.FreezeEvery = DefaultFreezeEvery
	}
	return &Service{
		deps:     deps,
		log:      deps.Logger.With("service", Name),
		analyses: eventstore.NewAggregates(events, analysisKind),
		store:    deps.Projections,
		caseload: caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf,
			caseload.WithEnrolments(pathwaycontract.Stream, pathwaycontract.EnrolmentSubjects, pathwaycontract.EnrolmentOf)),
		enrolledPage: projection.MaxRangeLimit,
		freezeEvery:  cfg.FreezeEvery,
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.needs.>"},
		Description: "needs: in-depth analyses of learners' prior learning, barriers and professional project, version by version",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service. Object-level scope is checked in the
// handlers (see access.go).
func (s *Service) Policy() auth.Policy {
	change := []auth.Role{auth.RoleAdmin, auth.RoleReferent}
	read := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator}
	return auth.Policy{
		needsv1.NeedsService_StartAnalysis_FullMethodName:    change,
		needsv1.NeedsService_DraftAnalysis_FullMethodName:    change,
		needsv1.NeedsService_CompleteAnalysis_FullMethodName: change,
		needsv1.NeedsService_ReviseAnalysis_FullMethodName:   change,
		needsv1.NeedsService_GetAnalysis_FullMethodName:      read,
		needsv1.NeedsService_ListAnalyses_FullMethodName:     read,
		// Funders see counts, never content.
		needsv1.NeedsService_GetAnalysisSummary_FullMethodName: {auth.RoleAdmin, auth.RoleReferent, auth.RoleFunder},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { needsv1.RegisterNeedsServiceServer(r, s) }

// Wiring implements platform.Service: the learners and analyses read
// models, and the caseload's of the assignments and enrolments; the
// consumer of intake's erasures; the job freezing the months' summaries.
func (s *Service) Wiring() platform.Wiring {
	return platform.Wiring{
		Projections: append([]projector.Spec{
			{
				Name: learnersProjection, Stream: pathwayStream,
				FilterSubjects: []string{"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited"},
				Project:        s.projectLearner,
			},
			{
				// Every NEEDS event, in stream order: the analyses, the
				// months frozen and the erasures recorded (see
				// projectNeeds); the freeze job waits for it to reach the
				// end of the stream.
				Name: analysesProjection, Stream: Stream,
				FilterSubjects: []string{"avenir.needs.>"},
				Project:        s.projectNeeds,
			},
		}, s.caseload.Specs()...),
		Consumers: []platform.Consumer{{
			Spec: consumer.Spec{
				Stream: intakecontract.Stream, Name: erasuresConsumer, FilterSubjects: intakecontract.ErasedSubjects,
			},
			Handle: s.onErasure,
		}},
		Jobs: []platform.Job{
			{Name: freezeJob, Every: s.freezeEvery, Run: s.FreezeSummaries},
		},
		Retired: retiredProjections,
	}
}

// The learners read model (learnersProjection), from pathway's entries and
// exits:
//
//	learner:<id>   storedLearner, JSON: the territory and the last episode
func learnerKey(id string) string { return "learner:" + id }

type storedLearner struct {
	Territory string `json:"territory"`
	Episode   int    `json:"episode"`
	Open      bool   `json:"open"`
}

// learner reads what needs knows of a learner from pathway's events; a
// learner pathway never let in has no episode. Erased comes from the
// analyses read model (erasures recorded in NEEDS).
func (s *Service) learner(ctx context.Context, id string) (domain.Learner, error) {
	l, _, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
	if err != nil {
		return domain.Learner{}, err
	}
	_, erased, err := s.erasure(ctx, id)
	if err != nil {
		return domain.Learner{}, err
	}
	return domain.Learner{ID: id, Territory: l.Territory, Episode: l.Episode, Open: l.Open, Erased: erased}, nil
}

// projectLearner keeps each learner's territory and last episode, open or
// closed. Only what needs' rules use: no dates, reasons or free text.
func (s *Service) projectLearner(_ context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id string
		l  storedLearner
	)
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		id, l = m.GetLearnerId(), storedLearner{Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), Open: true}
	case *pathwayv1.PathwayExited:
		id, l = m.GetLearnerId(), storedLearner{Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber())}
	default:
		return nil, nil
	}
	op, err := projection.PutJSON(learnerKey(id), l)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}
