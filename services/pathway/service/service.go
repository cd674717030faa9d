// Package service is pathway as the avenir binary runs it: the gRPC API of
// PathwayService over the PATHWAY stream, with read models of its own
// pathways and of the learners intake registered.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
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
	// Read models (projection names double as durable consumer names).
	learnersProjection = "pathway-learners"
	pathwaysProjection = "pathway-pathways"
)

// Config is pathway's own configuration (none yet).
type Config struct{}

// Service implements pathwayv1.PathwayServiceServer.
type Service struct {
	pathwayv1.UnimplementedPathwayServiceServer
	deps        platform.Deps
	log         *slog.Logger
	events      *eventstore.Store
	store       projection.Store
	projections *projector.Group
}

var _ platform.Service = (*Service)(nil)

// New builds the pathway service.
func New(deps platform.Deps, _ Config) (*Service, error) {
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name})
	if err != nil {
		return nil, fmt.Errorf("pathway: %w", err)
	}
	return &Service{deps: deps, log: deps.Logger.With("service", Name), events: events, store: deps.Projections}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.pathway.>"},
		Description: "pathway: entries into and exits from #Avenir, episode by episode",
	}}
}

// Policy implements platform.Service.
func (s *Service) Policy() auth.Policy {
	return auth.Policy{
		pathwayv1.PathwayService_EnterPathway_FullMethodName: {auth.RoleAdmin, auth.RoleReferent},
		pathwayv1.PathwayService_GetPathway_FullMethodName:   {auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder},
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) { pathwayv1.RegisterPathwayServiceServer(r, s) }

// Start implements platform.Service: it runs the read models and waits until
// they have caught up with their streams.
func (s *Service) Start(ctx context.Context) error {
	opts := projector.Options{Store: s.store, Logger: s.log, Source: Name, Replicas: s.deps.Topology.Replicas}
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
	}
	g, err := projector.StartAll(ctx, s.deps.JS, specs, opts)
	if err != nil {
		return err
	}
	s.projections = g
	return nil
}

// Stop implements platform.Service.
func (s *Service) Stop(ctx context.Context) error { return s.projections.Stop(ctx) }

func pathwayFilter(learnerID string) string { return "avenir.pathway.pathway." + learnerID + ".>" }

// EnterPathway implements pathwayv1.PathwayServiceServer.
func (s *Service) EnterPathway(ctx context.Context, req *pathwayv1.EnterPathwayRequest) (*pathwayv1.EnterPathwayResponse, error) {
	var v apperr.Violations
	if problem := platform.CheckRequestID(req.GetRequestId()); problem != "" {
		v.Add("request_id", problem)
	}
	if problem := platform.CheckID(req.GetLearnerId()); problem != "" {
		v.Add("learner_id", problem)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	learner, err := s.learner(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	if p, _ := auth.FromContext(ctx); learner.Known && !mayChange(p, learner.Territory) {
		// Out of scope reads as unknown, so existence does not leak.
		learner = domain.Learner{ID: learner.ID}
	}
	cmd := domain.EnterPathway{Learner: learner, EntryDate: civil.FromProto(req.GetEntryDate()), Today: civil.Of(s.deps.Now())}
	cmdMeta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, pathwayFilter(learner.ID), cmdMeta, func(h eventstore.History) ([]event.Draft, error) {
		state, err := fold(domain.Pathway{}, h.Events)
		if err != nil {
			return nil, err
		}
		evs, err := domain.Decide(state, cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if err != nil {
		return nil, err
	}
	all := res.After()
	state, err := fold(domain.Pathway{}, all)
	if err != nil {
		return nil, err
	}
	return &pathwayv1.EnterPathwayResponse{Pathway: view(state, all[len(all)-1].Sequence)}, nil
}

// GetPathway implements pathwayv1.PathwayServiceServer, from the read model.
func (s *Service) GetPathway(ctx context.Context, req *pathwayv1.GetPathwayRequest) (*pathwayv1.GetPathwayResponse, error) {
	if problem := platform.CheckID(req.GetLearnerId()); problem != "" {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "learner_id", Description: problem})
	}
	p, err := s.storedPathway(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	if caller, _ := auth.FromContext(ctx); p == nil || !mayRead(caller, p.GetTerritoryCode()) {
		return nil, auth.Denied("pathway of learner", req.GetLearnerId())
	}
	return &pathwayv1.GetPathwayResponse{Pathway: p}, nil
}

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
		ID: id, Territory: reg.GetTerritoryCode(), BirthDate: civil.FromProto(reg.GetBirthDate()), Known: true,
	}, nil
}

func (s *Service) storedPathway(ctx context.Context, learnerID string) (*pathwayv1.Pathway, error) {
	b, err := s.store.Get(ctx, pathwaysProjection, pathwayKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pathwayv1.Pathway
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("pathway: stored pathway %s: %w", learnerID, err)
	}
	return &p, nil
}

func learnerKey(id string) string { return "learner:" + id }
func pathwayKey(id string) string { return "pathway:" + id }

// projectLearner keeps the learners intake registered.
func (s *Service) projectLearner(_ context.Context, ev event.Event) ([]projection.Op, error) {
	reg, ok := ev.Data.(*intakev1.LearnerRegistered)
	if !ok {
		return nil, nil
	}
	b, err := proto.Marshal(reg)
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(learnerKey(reg.GetLearnerId()), b)}, nil
}

// projectPathway folds a pathway event into the stored view.
func (s *Service) projectPathway(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	stored, err := s.storedPathway(ctx, ev.AggregateID)
	if err != nil {
		return nil, err
	}
	state := fromView(stored)
	state, err = fold(state, []event.Event{ev})
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(view(state, ev.Sequence))
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(pathwayKey(state.LearnerID), b)}, nil
}

func fold(p domain.Pathway, evs []event.Event) (domain.Pathway, error) {
	for _, e := range evs {
		de, err := fromProto(e.Data)
		if err != nil {
			return domain.Pathway{}, err
		}
		p = domain.Evolve(p, de)
	}
	return p, nil
}

// view is the API's view of a pathway at a stream sequence.
func view(p domain.Pathway, version uint64) *pathwayv1.Pathway {
	v := &pathwayv1.Pathway{LearnerId: p.LearnerID, TerritoryCode: p.Territory, Version: version}
	if p.Active() {
		v.Status = pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE
	}
	for _, e := range p.Episodes {
		v.Episodes = append(v.Episodes, &pathwayv1.Episode{Number: int32(e.Number), EntryDate: e.Entry.ToProto()})
	}
	return v
}

// fromView is the inverse of view, to continue folding a stored view.
func fromView(v *pathwayv1.Pathway) domain.Pathway {
	if v == nil {
		return domain.Pathway{}
	}
	p := domain.Pathway{LearnerID: v.GetLearnerId(), Territory: v.GetTerritoryCode()}
	for _, e := range v.GetEpisodes() {
		p.Episodes = append(p.Episodes, domain.Episode{Number: int(e.GetNumber()), Entry: civil.FromProto(e.GetEntryDate())})
	}
	return p
}

func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		switch e := e.(type) {
		case domain.PathwayEntered:
			out = append(out, event.Draft{
				Subject:     "avenir.pathway.pathway." + e.LearnerID + ".entered",
				AggregateID: e.LearnerID,
				Data: &pathwayv1.PathwayEntered{
					LearnerId:     e.LearnerID,
					EpisodeNumber: int32(e.Episode),
					EntryDate:     e.EntryDate.ToProto(),
					TerritoryCode: e.Territory,
				},
			})
		default:
			return nil, fmt.Errorf("pathway: no wire form for event %T", e)
		}
	}
	return out, nil
}

func fromProto(m proto.Message) (domain.Event, error) {
	switch m := m.(type) {
	case *pathwayv1.PathwayEntered:
		return domain.PathwayEntered{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()),
			EntryDate: civil.FromProto(m.GetEntryDate()), Territory: m.GetTerritoryCode(),
		}, nil
	}
	return nil, fmt.Errorf("pathway: unexpected event %T in a pathway's history", m)
}
