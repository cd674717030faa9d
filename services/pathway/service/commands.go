package service

import (
	"context"
	"errors"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// EnterPathway implements pathwayv1.PathwayServiceServer.
func (s *Service) EnterPathway(ctx context.Context, req *pathwayv1.EnterPathwayRequest) (*pathwayv1.EnterPathwayResponse, error) {
	cmd := domain.EnterPathway{
		Learner: domain.Learner{ID: req.GetLearnerId()}, EntryDate: civilpb.Date(req.GetEntryDate()),
		Today: s.today(), MaxBackdateDays: s.cfg.MaxEntryBackdateDays,
	}
	if err := checkCommand(req.GetRequestId(), req.GetLearnerId(), cmd); err != nil {
		return nil, err
	}
	learner, err := s.learner(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	inScope := learner.Known
	if inScope {
		scope, err := s.caseload.Scope(ctx, learner.ID, learner.Territory)
		if err != nil {
			return nil, err
		}
		inScope = mayChange(caller, scope)
	}
	if !inScope {
		// Out of scope reads as unknown, so existence does not leak.
		learner = domain.Learner{ID: learner.ID}
	}
	cmd.Learner = learner
	p, version, _, err := s.execute(ctx, req.GetRequestId(), req.GetLearnerId(), cmd, func(domain.Pathway) (bool, error) { return inScope, nil })
	if err != nil {
		return nil, err
	}
	v := view(p, version)
	return &pathwayv1.EnterPathwayResponse{Pathway: v}, nil
}

// ExitPathway implements pathwayv1.PathwayServiceServer.
func (s *Service) ExitPathway(ctx context.Context, req *pathwayv1.ExitPathwayRequest) (*pathwayv1.ExitPathwayResponse, error) {
	cmd := domain.ExitPathway{
		LearnerID: req.GetLearnerId(), ExitDate: civilpb.Date(req.GetExitDate()),
		Reason: platform.FromWire(exitReasons, req.GetReason()), Detail: req.GetDetail(), Today: s.today(),
	}
	if err := checkCommand(req.GetRequestId(), req.GetLearnerId(), cmd); err != nil {
		return nil, err
	}
	p, version, _, err := s.execute(ctx, req.GetRequestId(), req.GetLearnerId(), cmd, s.changeable(ctx))
	if err != nil {
		return nil, err
	}
	v := view(p, version)
	return &pathwayv1.ExitPathwayResponse{Pathway: v}, nil
}

// RecordReferral implements pathwayv1.PathwayServiceServer.
func (s *Service) RecordReferral(ctx context.Context, req *pathwayv1.RecordReferralRequest) (*pathwayv1.RecordReferralResponse, error) {
	cmd := domain.RecordReferral{
		LearnerID: req.GetLearnerId(), Programme: platform.FromWire(programmes, req.GetProgramme()),
		Date: civilpb.Date(req.GetReferralDate()), Organisation: req.GetOrganisation(), Today: s.today(),
	}
	if err := checkCommand(req.GetRequestId(), req.GetLearnerId(), cmd); err != nil {
		return nil, err
	}
	p, version, evs, err := s.execute(ctx, req.GetRequestId(), req.GetLearnerId(), cmd, s.changeable(ctx))
	if err != nil {
		return nil, err
	}
	v := view(p, version)
	resp := &pathwayv1.RecordReferralResponse{Pathway: v}
	for _, ev := range evs {
		if rec, ok := ev.Data.(*pathwayv1.ReferralRecorded); ok {
			resp.Referral = findReferral(resp.Pathway, rec.GetReferralNumber())
		}
	}
	return resp, nil
}

func findReferral(p *pathwayv1.Pathway, number int32) *pathwayv1.Referral {
	for _, e := range p.GetEpisodes() {
		for _, r := range e.GetReferrals() {
			if r.GetNumber() == number {
				return r
			}
		}
	}
	return nil
}

// RecordReferralOutcome implements pathwayv1.PathwayServiceServer.
func (s *Service) RecordReferralOutcome(ctx context.Context, req *pathwayv1.RecordReferralOutcomeRequest) (*pathwayv1.RecordReferralOutcomeResponse, error) {
	cmd := domain.RecordReferralOutcome{
		LearnerID: req.GetLearnerId(), Referral: int(req.GetReferralNumber()), Outcome: platform.FromWire(outcomes, req.GetOutcome()),
		Date: civilpb.Date(req.GetOutcomeDate()), Today: s.today(),
	}
	if err := checkCommand(req.GetRequestId(), req.GetLearnerId(), cmd); err != nil {
		return nil, err
	}
	p, version, _, err := s.execute(ctx, req.GetRequestId(), req.GetLearnerId(), cmd, s.changeable(ctx))
	if err != nil {
		return nil, err
	}
	v := view(p, version)
	return &pathwayv1.RecordReferralOutcomeResponse{Pathway: v}, nil
}

func (s *Service) today() civil.Date { return civil.Of(s.deps.Now()) }

// checkCommand reports every problem of a command's input at once: its
// request id and learner id, and the problems the domain finds in the
// command whatever the pathway (decided on an empty one).
func checkCommand(requestID, learnerID string, cmd domain.Command) error {
	var v apperr.Violations
	if problem := ident.CheckRequestID(requestID); problem != "" {
		v.Add("request_id", problem)
	}
	if problem := ident.CheckID(learnerID); problem != "" {
		v.Add("learner_id", problem)
	}
	if v.Err() == nil {
		// The rest is checked against the pathway.
		return nil
	}
	if _, err := domain.Decide(domain.Pathway{}, cmd); apperr.KindOf(err) == apperr.KindInvalidArgument {
		var ae *apperr.Error
		errors.As(err, &ae)
		for _, f := range ae.Fields {
			v.Add(f.Field, f.Description)
		}
	}
	return v.Err()
}

// changeable says whether the caller may change a pathway: those who act
// for its learner.
func (s *Service) changeable(ctx context.Context) func(domain.Pathway) (bool, error) {
	caller, _ := auth.FromContext(ctx)
	return func(p domain.Pathway) (bool, error) {
		if p.LearnerID == "" {
			return false, nil
		}
		scope, err := s.caseload.Scope(ctx, p.LearnerID, p.Territory)
		if err != nil {
			return false, err
		}
		return mayChange(caller, scope), nil
	}
}

// execute runs cmd on the learner's pathway and returns the pathway right
// after it, its version and the command's events. A pathway the caller may
// not change (inScope false) is decided as if it were empty, so it reads as
// unknown; a replayed request of someone else's for it is refused the same
// way.
func (s *Service) execute(ctx context.Context, requestID, learnerID string, cmd domain.Command, inScope func(domain.Pathway) (bool, error)) (domain.Pathway, uint64, []event.Event, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, pathwayFilter(learnerID), meta, func(h eventstore.History) ([]event.Draft, error) {
		state, err := fold(domain.Pathway{}, h.Events)
		if err != nil {
			return nil, err
		}
		ok, err := inScope(state)
		if err != nil {
			return nil, err
		}
		if !ok {
			state = domain.Pathway{}
		}
		evs, err := domain.Decide(state, cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if errors.Is(err, eventstore.ErrConflict) {
		return domain.Pathway{}, 0, nil, apperr.Aborted("the pathway of learner %s was changed concurrently, retry", learnerID).WithCause(err)
	}
	if err != nil {
		return domain.Pathway{}, 0, nil, err
	}
	after := res.After()
	state, err := fold(domain.Pathway{}, after)
	if err != nil {
		return domain.Pathway{}, 0, nil, err
	}
	if ok, err := inScope(state); err != nil {
		return domain.Pathway{}, 0, nil, err
	} else if !ok {
		return domain.Pathway{}, 0, nil, auth.Denied("pathway of learner", learnerID)
	}
	return state, after[len(after)-1].Sequence, res.Events, nil
}
