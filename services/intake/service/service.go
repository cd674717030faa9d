// Package service is intake as the avenir binary runs it: the gRPC API of
// IntakeService over the INTAKE stream.
package service

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "intake"
	// Stream holds every intake event.
	Stream = "INTAKE"
)

// Config is intake's own configuration.
type Config struct {
	// Territories is the reference set; nil means domain.DefaultTerritories().
	Territories *domain.Territories
}

// Service implements intakev1.IntakeServiceServer.
type Service struct {
	intakev1.UnimplementedIntakeServiceServer
	deps        platform.Deps
	log         *slog.Logger
	territories *domain.Territories
	events      *eventstore.Store
}

var _ platform.Service = (*Service)(nil)

// New builds the intake service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	if cfg.Territories == nil {
		cfg.Territories = domain.DefaultTerritories()
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name})
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	return &Service{
		deps:        deps,
		log:         deps.Logger.With("service", Name),
		territories: cfg.Territories,
		events:      events,
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.intake.>"},
		Description: "intake: people welcomed into #Avenir and their registration facts",
	}}
}

// Policy implements platform.Service.
func (s *Service) Policy() auth.Policy {
	return auth.Policy{
		intakev1.IntakeService_RegisterLearner_FullMethodName: {auth.RoleAdmin, auth.RoleReferent},
		intakev1.IntakeService_GetLearner_FullMethodName:      {auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, s) }

// Start implements platform.Service; intake consumes no stream yet.
func (s *Service) Start(context.Context) error { return nil }

// Stop implements platform.Service.
func (s *Service) Stop(context.Context) error { return nil }

func learnerFilter(id string) string { return "avenir.intake.learner." + id + ".>" }

// RegisterLearner implements intakev1.IntakeServiceServer.
func (s *Service) RegisterLearner(ctx context.Context, req *intakev1.RegisterLearnerRequest) (*intakev1.RegisterLearnerResponse, error) {
	if problem := platform.CheckRequestID(req.GetRequestId()); problem != "" {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "request_id", Description: problem})
	}
	p, _ := auth.FromContext(ctx)
	// An unknown territory is bad input, reported by the domain with the
	// other fields; a known one outside the caller's scope is refused.
	if _, known := s.territories.Lookup(req.GetTerritoryCode()); known && !mayRegister(p, req.GetTerritoryCode()) {
		return nil, apperr.PermissionDenied("you do not serve territory %s", req.GetTerritoryCode())
	}
	// Request ids are the caller's: scoped by subject, two callers never
	// address the same learner with the same id.
	id := event.DeriveID("intake/learner/"+p.Subject, req.GetRequestId())
	cmd := domain.RegisterLearner{
		LearnerID:  id,
		FamilyName: req.GetFamilyName(),
		GivenName:  req.GetGivenName(),
		BirthDate:  civil.FromProto(req.GetBirthDate()),
		Territory:  req.GetTerritoryCode(),
		RQTH:       req.GetRqth(),
		Today:      civil.Of(s.deps.Now()),
	}
	res, err := s.events.Execute(ctx, Stream, learnerFilter(id), s.command(ctx, req.GetRequestId()), func(h eventstore.History) ([]event.Draft, error) {
		state, err := fold(h.Events)
		if err != nil {
			return nil, err
		}
		evs, err := domain.Decide(state, cmd, s.territories)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if err != nil {
		return nil, err
	}
	learner, err := learnerView(res.After(), p)
	if err != nil {
		return nil, err
	}
	if !mayRead(p, learner.GetTerritoryCode()) {
		// A replayed request of someone else's, for a learner out of scope.
		return nil, auth.Denied("learner", learner.GetLearnerId())
	}
	return &intakev1.RegisterLearnerResponse{Learner: learner}, nil
}

// GetLearner implements intakev1.IntakeServiceServer. It reads the learner's
// own events, so a learner is visible as soon as its registration returned.
func (s *Service) GetLearner(ctx context.Context, req *intakev1.GetLearnerRequest) (*intakev1.GetLearnerResponse, error) {
	if problem := platform.CheckID(req.GetLearnerId()); problem != "" {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "learner_id", Description: problem})
	}
	h, err := s.events.Load(ctx, Stream, learnerFilter(req.GetLearnerId()))
	if err != nil {
		return nil, err
	}
	state, err := fold(h.Events)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	if !state.Exists() || !mayRead(p, state.Territory) {
		return nil, auth.Denied("learner", req.GetLearnerId())
	}
	learner, err := learnerView(h.Events, p)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetLearnerResponse{Learner: learner}, nil
}

func (s *Service) command(ctx context.Context, requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
}

// fold rebuilds a learner's state from its stored events.
func fold(evs []event.Event) (domain.Learner, error) {
	var l domain.Learner
	for _, e := range evs {
		de, err := fromProto(e.Data)
		if err != nil {
			return domain.Learner{}, err
		}
		l = domain.Evolve(l, de)
	}
	return l, nil
}

// learnerView is the API's view of a learner, from its stored events, as p
// may see it.
func learnerView(evs []event.Event, p auth.Principal) (*intakev1.Learner, error) {
	l, err := fold(evs)
	if err != nil {
		return nil, err
	}
	v := &intakev1.Learner{
		LearnerId:     l.ID,
		FamilyName:    l.FamilyName,
		GivenName:     l.GivenName,
		BirthDate:     l.BirthDate.ToProto(),
		TerritoryCode: l.Territory,
	}
	if len(evs) > 0 {
		v.RegisteredAt = timestamppb.New(evs[0].Time)
	}
	if seesSpecialCategory(p, l.Territory) {
		v.Rqth = proto.Bool(l.RQTH)
	}
	return v, nil
}

func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		switch e := e.(type) {
		case domain.LearnerRegistered:
			out = append(out, event.Draft{
				Subject:     "avenir.intake.learner." + e.LearnerID + ".registered",
				AggregateID: e.LearnerID,
				Data: &intakev1.LearnerRegistered{
					LearnerId:     e.LearnerID,
					FamilyName:    e.FamilyName,
					GivenName:     e.GivenName,
					BirthDate:     e.BirthDate.ToProto(),
					TerritoryCode: e.Territory,
					RegisteredOn:  e.RegisteredOn.ToProto(),
					Rqth:          e.RQTH,
				},
			})
		default:
			return nil, fmt.Errorf("intake: no wire form for event %T", e)
		}
	}
	return out, nil
}

func fromProto(m proto.Message) (domain.Event, error) {
	switch m := m.(type) {
	case *intakev1.LearnerRegistered:
		return domain.LearnerRegistered{
			LearnerID:    m.GetLearnerId(),
			FamilyName:   m.GetFamilyName(),
			GivenName:    m.GetGivenName(),
			BirthDate:    civil.FromProto(m.GetBirthDate()),
			Territory:    m.GetTerritoryCode(),
			RegisteredOn: civil.FromProto(m.GetRegisteredOn()),
			RQTH:         m.GetRqth(),
		}, nil
	}
	return nil, fmt.Errorf("intake: unexpected event %T in a learner's history", m)
}
