// Package service is intake as the avenir binary runs it: the gRPC API of
// IntakeService over the INTAKE stream, and the read model that serves
// SearchLearners.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	pathwaycontract "github.com/avenir-normandie/avenir/proto/contract/pathway"
	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "intake"
	// Stream holds every intake event.
	Stream = "INTAKE"
)

// Config is intake's own configuration.
type Config struct {
	// Territories is the reference set. When nil, TerritoriesFile is read,
	// and when that is empty too, domain.DefaultTerritories() applies.
	Territories *domain.Territories
	// TerritoriesFile is the path of a territories file (the format of
	// domain/reference/territories.json) replacing the embedded set.
	TerritoriesFile string
	// RetentionMonths is how long after a learner's last exit (or its
	// registration, when it never entered the pathway) the retention policy
	// erases its personal data: 1 to MaxRetentionMonths; 0 means
	// DefaultRetentionMonths.
	RetentionMonths int
}

// Retention bounds.
const (
	DefaultRetentionMonths = 24
	MaxRetentionMonths     = 1200
)

// retentionMonths resolves the retention period of the configuration.
func (c Config) retentionMonths() (int, error) {
	switch {
	case c.RetentionMonths == 0:
		return DefaultRetentionMonths, nil
	case c.RetentionMonths < 0 || c.RetentionMonths > MaxRetentionMonths:
		return 0, fmt.Errorf("retention months: %d is not between 1 and %d", c.RetentionMonths, MaxRetentionMonths)
	}
	return c.RetentionMonths, nil
}

// territories resolves the reference set of the configuration.
func (c Config) territories() (*domain.Territories, error) {
	switch {
	case c.Territories != nil && c.TerritoriesFile != "":
		return nil, errors.New("territories: give a set or a file, not both")
	case c.Territories != nil:
		return c.Territories, nil
	case c.TerritoriesFile != "":
		data, err := os.ReadFile(c.TerritoriesFile)
		if err != nil {
			return nil, fmt.Errorf("territories file: %w", err)
		}
		t, err := domain.ParseTerritories(data)
		if err != nil {
			return nil, fmt.Errorf("territories file %s: %w", c.TerritoriesFile, err)
		}
		return t, nil
	}
	return domain.DefaultTerritories(), nil
}

// Service implements intakev1.IntakeServiceServer.
type Service struct {
	intakev1.UnimplementedIntakeServiceServer
	deps        platform.Deps
	log         *slog.Logger
	territories *domain.Territories
	learners    *eventstore.Aggregates[domain.Learner, domain.Event]
	store       projection.Store
	caseload    *caseload.Caseload
	// keys is the key store: the learners' data keys and the uniqueness
	// claims.
	keys *privacy.Keyring
	// retentionMonths is Config.RetentionMonths resolved.
	retentionMonths int
	// enrolledPage is how many of an operator's learners one read of the
	// caseload returns (searchEnrolled).
	enrolledPage int
	// mu guards retentionChecked.
	mu sync.Mutex
	// retentionChecked is the last day the retention job applied the
	// policy or found nothing to do: it acts once a day.
	retentionChecked civil.Date
	// claimGrace is how long a claim whose holder is not registered (or no
	// longer holds the identifier) is left to a command in flight before it
	// is taken over (see claim).
	claimGrace time.Duration
}

var _ platform.Service = (*Service)(nil)

// New builds the intake service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	territories, err := cfg.territories()
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	months, err := cfg.retentionMonths()
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	if deps.Keys == nil {
		return nil, errors.New("intake: the key store (Deps.Keys) is required: claims and erasure need it")
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	return &Service{
		caseload: caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf,
			caseload.WithEnrolments(pathwaycontract.Stream, pathwaycontract.EnrolmentSubjects, pathwaycontract.EnrolmentOf)),
		deps:            deps,
		log:             deps.Logger.With("service", Name),
		territories:     territories,
		learners:        eventstore.NewAggregates(events, learnerKind),
		store:           deps.Projections,
		keys:            deps.Keys,
		retentionMonths: months,
		enrolledPage:    projection.MaxRangeLimit,
		claimGrace:      defaultClaimGrace,
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.intake.>"},
		Description: "intake: people welcomed into #Avenir, their contact and situation, and uniqueness claims",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service.
func (s *Service) Policy() auth.Policy {
	readers := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder}
	writers := []auth.Role{auth.RoleAdmin, auth.RoleReferent}
	admins := []auth.Role{auth.RoleAdmin}
	return auth.Policy{
		intakev1.IntakeService_RegisterLearner_FullMethodName: writers,
		// The notification service reads a learner's e-mail address and
		// nothing else (contactView).
		intakev1.IntakeService_GetLearner_FullMethodName:        append(readers, auth.RoleService),
		intakev1.IntakeService_UpdateContact_FullMethodName:     writers,
		intakev1.IntakeService_UpdateSituation_FullMethodName:   writers,
		intakev1.IntakeService_SearchLearners_FullMethodName:    readers,
		intakev1.IntakeService_BatchGetLearners_FullMethodName:  readers,
		intakev1.IntakeService_GetLearnerHistory_FullMethodName: readers,
		intakev1.IntakeService_EraseLearner_FullMethodName:      admins,
		intakev1.IntakeService_PlanRetention_FullMethodName:     admins,
		intakev1.IntakeService_ApplyRetention_FullMethodName:    admins,
		intakev1.IntakeService_ListTerritories_FullMethodName:   auth.Roles,
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, s) }

// Wiring implements platform.Service: the learners read model (search,
// retention), the caseload's read models of the assignments and enrolments
// (access scope), and the read models of the facts of other contexts that
// hold an erasure back (episodes, analyses, billed lines); the consumer
// finishing erasures; the daily retention job and the one deleting read
// models of earlier versions.
func (s *Service) Wiring() platform.Wiring {
	specs := []projector.Spec{{
		Name: learnersProjection, Stream: Stream,
		FilterSubjects: []string{"avenir.intake.learner.>"},
		Project:        s.project,
	}}
	specs = append(specs, s.caseload.Specs()...)
	specs = append(specs, s.factSpecs()...)
	return platform.Wiring{
		Projections: specs,
		Consumers: []platform.Consumer{{
			Spec: consumer.Spec{
				Stream: Stream, Name: erasureConsumer, FilterSubjects: intakecontract.ErasedSubjects,
				BackOff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute},
			},
			Handle: s.onErased,
		}},
		Jobs: []platform.Job{
			{Name: retentionJob, Every: time.Minute, Run: s.runRetention},
		},
		Retired: retiredProjections,
	}
}

// GetLearner implements intakev1.IntakeServiceServer. It reads the learner's
// own events, so a learner is visible as soon as its registration returned.
// An erased learner reads as erased: its id, territory, registration and
// erasure day, no personal field.
func (s *Service) GetLearner(ctx context.Context, req *intakev1.GetLearnerRequest) (*intakev1.GetLearnerResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	l, p, scope, err := s.readable(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetLearnerResponse{Learner: redact(toView(l.State, l.Events[0].Time), p, scope)}, nil
}

// readable loads a learner the caller may read, with the caller and the
// learner's scope; one the caller may not read is not found.
func (s *Service) readable(ctx context.Context, id string) (eventstore.Snapshot[domain.Learner], auth.Principal, auth.LearnerScope, error) {
	p, _ := auth.FromContext(ctx)
	l, err := s.learners.Load(ctx, id)
	if err != nil {
		return l, p, auth.LearnerScope{}, err
	}
	if !l.State.Exists() {
		return l, p, auth.LearnerScope{}, auth.Denied("learner", id)
	}
	scope, err := s.caseload.Scope(ctx, id, l.State.Territory)
	if err != nil {
		return l, p, scope, err
	}
	if !mayRead(p, scope, s.deps.Today()) {
		return l, p, scope, auth.Denied("learner", id)
	}
	return l, p, scope, nil
}
