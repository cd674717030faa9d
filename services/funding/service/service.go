// Package service is funding as the avenir binary runs it: the gRPC API of
// FundingService over the FUNDING stream (contracts, trainee-hour ledgers
// per learner and ISO week across contracts, group-hour ledgers, flat-fee
// ledgers and their facts' uniqueness claims, monthly statements,
// programme years), a read model of what it needs from PATHWAY (episodes,
// enrolments — who was placed with which contract when — territories, and
// the facts that trigger flat fees), a read model of IMMERSION (the days
// of immersions whose outcome is recorded, which count against the caps),
// the books read model (each contract's events, folded into its statements
// by domain.Books; contracts listing by operator, territory and programme;
// which aggregate holds each operator line id; each learner's ledgers;
// programme years; where facts' fees were paid), the caseload's read model
// of REFERENT's assignments (the referents' access), and two consumers that
// act: a back-dated exit, and an enrolment ended early, turn the learner's
// accepted lines after them into anomalies.
package service

import (
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "funding"
	// Stream holds every funding event.
	Stream = "FUNDING"

	pathwayStream   = "PATHWAY"
	immersionStream = "IMMERSION"
	// Read models (projection names double as durable consumer names). The
	// learners and books read models were rebuilt (v2) when they learnt
	// territories and enrolments, programmes and facts paid; the books again
	// (v3) when they learnt each learner's contracts and stopped keeping
	// personal fields; the learners again (v3) when they learnt each
	// contract's learners (ListClaimableFees).
	learnersProjection   = "funding-learners-v3"
	immersionsProjection = "funding-immersions"
	booksProjection      = "funding-books-v3"
	// Durable consumers that act.
	exitConsumer      = "funding-exits"
	enrolmentConsumer = "funding-enrolment-ends"
)

// retiredProjections are read models of earlier versions, deleted from the
// store by a job: funding-books-v2 kept the reasons of corrections, personal
// data that must not outlive a learner's erasure; funding-learners-v2 lacks
// the contracts' learners.
var retiredProjections = []string{"funding-books-v2", "funding-learners-v2"}

// DefaultWorkers is how many ledgers a report decides and appends at once.
const DefaultWorkers = 32

// Config is funding's own configuration.
type Config struct {
	// Workers bounds the ledgers of one report decided and appended in
	// parallel; 0 means DefaultWorkers.
	Workers int
}

// Service implements fundingv1.FundingServiceServer.
type Service struct {
	fundingv1.UnimplementedFundingServiceServer
	deps       platform.Deps
	cfg        Config
	log        *slog.Logger
	contracts  *eventstore.Aggregates[domain.Contract, domain.Event]
	hours      *eventstore.Aggregates[*domain.HoursLedger, domain.Event]
	groups     *eventstore.Aggregates[*domain.GroupLedger, domain.Event]
	fees       *eventstore.Aggregates[*domain.FeesLedger, domain.Event]
	statements *eventstore.Aggregates[domain.StatementState, domain.Event]
	programmes *eventstore.Aggregates[domain.ProgrammeYear, domain.Event]
	store      projection.Store
	books      booksCache
	// caseload is the read model of who follows each learner (REFERENT):
	// the referents acting for a learner read its lines (ListLearnerLines).
	caseload *caseload.Caseload
}

var _ platform.Service = (*Service)(nil)

// New builds the funding service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("funding: negative Workers %d", cfg.Workers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("funding: %w", err)
	}
	return &Service{
		deps: deps, cfg: cfg, log: deps.Logger.With("service", Name), store: deps.Projections,
		contracts:  eventstore.NewAggregates(events, contractKind),
		hours:      eventstore.NewAggregates(events, hoursKind),
		groups:     eventstore.NewAggregates(events, groupKind),
		fees:       eventstore.NewAggregates(events, feesKind),
		statements: eventstore.NewAggregates(events, statementKind),
		programmes: eventstore.NewAggregates(events, programmeKind),
		caseload:   caseload.New(deps.Projections, Name, referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf),
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.funding.>"},
		Description: "funding: contracts, trainee-hour ledgers per learner and ISO week, group-hour and flat-fee ledgers, fact claims, statement reviews and closures, programme years",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service: the roles of each RPC. Object-level
// scope (an operator's own contracts, a referent's learners) is checked in
// the handlers (see access.go). Referents see nothing of billing but the
// lines of the learners they act for, without amounts.
func (s *Service) Policy() auth.Policy {
	admin := []auth.Role{auth.RoleAdmin}
	operator := []auth.Role{auth.RoleOperator}
	funder := []auth.Role{auth.RoleFunder}
	read := []auth.Role{auth.RoleAdmin, auth.RoleFunder, auth.RoleOperator}
	return auth.Policy{
		fundingv1.FundingService_CreateContract_FullMethodName:           admin,
		fundingv1.FundingService_UpdateContract_FullMethodName:           admin,
		fundingv1.FundingService_GetContract_FullMethodName:              read,
		fundingv1.FundingService_ListContracts_FullMethodName:            read,
		fundingv1.FundingService_ReportTraineeHours_FullMethodName:       operator,
		fundingv1.FundingService_ReportTraineeHoursStream_FullMethodName: operator,
		fundingv1.FundingService_ReportGroupHours_FullMethodName:         operator,
		fundingv1.FundingService_ClaimFlatFee_FullMethodName:             operator,
		fundingv1.FundingService_CorrectLine_FullMethodName:              operator,
		fundingv1.FundingService_GetStatement_FullMethodName:             read,
		fundingv1.FundingService_ReviewStatement_FullMethodName:          funder,
		fundingv1.FundingService_CloseStatement_FullMethodName:           funder,
		fundingv1.FundingService_ExportStatement_FullMethodName:          read,
		fundingv1.FundingService_GetBudget_FullMethodName:                read,
		fundingv1.FundingService_ListStatements_FullMethodName:           read,
		fundingv1.FundingService_SetProgrammeYear_FullMethodName:         admin,
		fundingv1.FundingService_GetProgrammeBudget_FullMethodName:       {auth.RoleAdmin, auth.RoleFunder},
		// A subject-access export (administrators), and what a learner's
		// referents see of its billing (without amounts).
		fundingv1.FundingService_ListLearnerLines_FullMethodName:  {auth.RoleAdmin, auth.RoleReferent},
		fundingv1.FundingService_ListClaimableFees_FullMethodName: read,
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { fundingv1.RegisterFundingServiceServer(r, s) }

// Wiring implements platform.Service: the learners, immersions and books
// read models, the caseload's read model of the assignments (who follows
// each learner, for the referents' access), then the consumers flagging
// the lines a back-dated exit or an enrolment ended early leaves after
// them, which read the learners read model (they come after it on
// PATHWAY), and a job deleting the read models of earlier versions.
func (s *Service) Wiring() platform.Wiring {
	flagBackOff := []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second}
	return platform.Wiring{
		Projections: append([]projector.Spec{
			{
				Name: learnersProjection, Stream: pathwayStream,
				FilterSubjects: []string{
					"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.exit_backdated",
					"avenir.pathway.pathway.*.needs_analysis_noted", "avenir.pathway.pathway.*.immersion_noted",
					"avenir.pathway.pathway.*.enrolled", "avenir.pathway.pathway.*.enrolment_ended",
				},
				Project: s.projectLearner,
			},
			{
				Name: immersionsProjection, Stream: immersionStream,
				FilterSubjects: []string{
					"avenir.immersion.session.*.scheduled", "avenir.immersion.session.*.outcome_recorded",
					"avenir.immersion.session.*.booking_cancelled",
				},
				Project: s.projectImmersion,
			},
			{
				Name: booksProjection, Stream: Stream,
				FilterSubjects: []string{"avenir.funding.>"},
				Project:        s.projectBooks,
			},
		}, s.caseload.Specs()...),
		Consumers: []platform.Consumer{
			{
				Spec: consumer.Spec{
					Stream: pathwayStream, Name: exitConsumer, Ordered: true,
					FilterSubjects: []string{"avenir.pathway.pathway.*.exit_backdated"},
					BackOff:        flagBackOff,
				},
				Handle: s.onExitBackdated,
				After:  []string{learnersProjection},
			},
			{
				Spec: consumer.Spec{
					Stream: pathwayStream, Name: enrolmentConsumer, Ordered: true,
					FilterSubjects: []string{"avenir.pathway.pathway.*.enrolment_ended"},
					BackOff:        flagBackOff,
				},
				Handle: s.onEnrolmentEnded,
				After:  []string{learnersProjection},
			},
		},
		Retired: retiredProjections,
	}
}

// booksWait bounds how long a handler waits for the books read model to
// apply the service's own writes (read your writes).
const booksWait = 10 * time.Second
