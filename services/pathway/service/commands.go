package service

import (
	"context"
	"errors"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Commands answer from the pathway as the command left it, never from a
// read model: once its events are stored, a command cannot fail. Access is
// checked inside the decision, against the read models (the learners intake
// registered, the assignments; an enrolment's contract too), before
// anything is stored: a read model that does not answer makes the command
// Unavailable with nothing stored. The caller acted for the learner, so the
// answer shows the pathway whole (the free text of exits included); a
// retried request, answered from the stored events as of its first run,
// belongs to the same caller.

// EnterPathway implements pathwayv1.PathwayServiceServer. A learner whose
// registration pathway has not seen yet and one outside the caller's scope
// are refused alike, so that existence does not leak.
func (s *Service) EnterPathway(ctx context.Context, req *pathwayv1.EnterPathwayRequest) (*pathwayv1.EnterPathwayResponse, error) {
	cmd := domain.EnterPathway{
		Learner: domain.Learner{ID: req.GetLearnerId()}, EntryDate: civilpb.Date(req.GetEntryDate()),
		Today: s.deps.Today(), MaxBackdateDays: s.cfg.MaxEntryBackdateDays,
	}
	if err := checkCommand(req.GetRequestId(), req.GetLearnerId(), cmd); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	out, err := s.pathways.Execute(ctx, req.GetLearnerId(), s.deps.Command(ctx, req.GetRequestId()), func(p domain.Pathway) ([]domain.Event, error) {
		learner, err := s.learnerFor(ctx, caller, req.GetLearnerId())
		if err != nil {
			return nil, err
		}
		c := cmd
		c.Learner = learner
		if !learner.Known {
			// Decided as if it had no pathway: nothing about it is revealed.
			p = domain.Pathway{}
		}
		return domain.Decide(p, c)
	})
	if err != nil {
		return nil, err
	}
	return &pathwayv1.EnterPathwayResponse{Pathway: answer(out)}, nil
}

// learnerFor is what pathway knows of a learner the caller may change, and
// an unknown learner (Known false) when it knows none or the learner is
// outside the caller's scope.
func (s *Service) learnerFor(ctx context.Context, caller auth.Principal, id string) (domain.Learner, error) {
	learner, err := s.learner(ctx, id)
	if err != nil || !learner.Known {
		return learner, err
	}
	scope, err := s.caseload.Scope(ctx, learner.ID, learner.Territory)
	if err != nil {
		return domain.Learner{}, err
	}
	if !mayChange(caller, scope) {
		return domain.Learner{ID: id}, nil
	}
	return learner, nil
}

// ExitPathway implements pathwayv1.PathwayServiceServer.
func (s *Service) ExitPathway(ctx context.Context, req *pathwayv1.ExitPathwayRequest) (*pathwayv1.ExitPathwayResponse, error) {
	cmd := domain.ExitPathway{
		LearnerID: req.GetLearnerId(), ExitDate: civilpb.Date(req.GetExitDate()),
		Reason: platform.FromWire(exitReasons, req.GetReason()), Detail: req.GetDetail(), Today: s.deps.Today(),
		Pending: platform.FromWire(pendingChoices, req.GetPendingReferrals()),
	}
	out, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), cmd)
	if err != nil {
		return nil, err
	}
	return &pathwayv1.ExitPathwayResponse{Pathway: answer(out)}, nil
}

// RecordReferral implements pathwayv1.PathwayServiceServer.
func (s *Service) RecordReferral(ctx context.Context, req *pathwayv1.RecordReferralRequest) (*pathwayv1.RecordReferralResponse, error) {
	cmd := domain.RecordReferral{
		LearnerID: req.GetLearnerId(), Programme: platform.FromWire(programmes, req.GetProgramme()),
		Date: civilpb.Date(req.GetReferralDate()), Organisation: req.GetOrganisation(), Today: s.deps.Today(),
	}
	out, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), cmd)
	if err != nil {
		return nil, err
	}
	resp := &pathwayv1.RecordReferralResponse{Pathway: answer(out)}
	for _, e := range out.Events {
		if rec, ok := e.(domain.ReferralRecorded); ok {
			resp.Referral = findReferral(resp.Pathway, int32(rec.Referral))
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
		Date: civilpb.Date(req.GetOutcomeDate()), Today: s.deps.Today(),
		RNCP: req.GetRncpCode(), CertifiedOn: civilpb.Date(req.GetCertificationDate()),
	}
	out, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), cmd)
	if err != nil {
		return nil, err
	}
	return &pathwayv1.RecordReferralOutcomeResponse{Pathway: answer(out)}, nil
}

// RecordFollowUp implements pathwayv1.PathwayServiceServer: the six-month
// follow-up of the final exit, recorded on today.
func (s *Service) RecordFollowUp(ctx context.Context, req *pathwayv1.RecordFollowUpRequest) (*pathwayv1.RecordFollowUpResponse, error) {
	cmd := domain.RecordFollowUp{
		LearnerID: req.GetLearnerId(), Situation: platform.FromWire(situations6, req.GetSituation()),
		Employment: platform.FromWire(employmentTypes, req.GetEmploymentType()), Today: s.deps.Today(),
	}
	out, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), cmd)
	if err != nil {
		return nil, err
	}
	return &pathwayv1.RecordFollowUpResponse{Pathway: answer(out)}, nil
}

// change runs a command on the existing pathway of a learner the caller
// acts for. A pathway that does not exist and one outside the caller's
// scope read the same: not found, once the input problems are reported.
func (s *Service) change(ctx context.Context, requestID, learnerID string, cmd domain.Command) (eventstore.Outcome[domain.Pathway, domain.Event], error) {
	return s.changeWith(ctx, requestID, learnerID, cmd, nil)
}

// changeWith is change for a command whose decision needs more than the
// pathway: complete, when given, reads it (from a read model) inside the
// decision, once the caller's access is checked, and returns the command
// to decide. Its failure is the command's, with nothing stored.
func (s *Service) changeWith(ctx context.Context, requestID, learnerID string, cmd domain.Command,
	complete func(context.Context) (domain.Command, error)) (eventstore.Outcome[domain.Pathway, domain.Event], error) {
	if err := checkCommand(requestID, learnerID, cmd); err != nil {
		return eventstore.Outcome[domain.Pathway, domain.Event]{}, err
	}
	caller, _ := auth.FromContext(ctx)
	return s.pathways.Execute(ctx, learnerID, s.deps.Command(ctx, requestID), func(p domain.Pathway) ([]domain.Event, error) {
		if p.LearnerID != "" {
			scope, err := s.caseload.Scope(ctx, learnerID, p.Territory)
			if err != nil {
				return nil, err
			}
			if !mayChange(caller, scope) {
				p = domain.Pathway{}
			}
		}
		if p.LearnerID == "" {
			if err := invalidInput(cmd); err != nil {
				return nil, err
			}
			return nil, auth.Denied("pathway of learner", learnerID)
		}
		c := cmd
		if complete != nil {
			var err error
			if c, err = complete(ctx); err != nil {
				return nil, err
			}
		}
		return domain.Decide(p, c)
	})
}

// answer is the pathway as a command left it, for the caller who acted.
func answer(out eventstore.Outcome[domain.Pathway, domain.Event]) *pathwayv1.Pathway {
	return view(out.State, out.Version)
}

// checkCommand reports every problem of a command's input at once when its
// request id or learner id is unusable (the pathway cannot be loaded then):
// theirs, and the problems the domain finds in the command whatever the
// pathway. Otherwise the decision reports the input problems, those that
// depend on the pathway included.
func checkCommand(requestID, learnerID string, cmd domain.Command) error {
	var v apperr.Violations
	ident.RequestID(&v, requestID)
	ident.ID(&v, "learner_id", learnerID)
	if v.Err() == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(invalidInput(cmd), &ae) {
		for _, f := range ae.Fields {
			v.Add(f.Field, f.Description)
		}
	}
	return v.Err()
}

// invalidInput is the InvalidArgument the domain answers to cmd whatever
// the pathway (decided on an empty one), nil when the input is fine.
func invalidInput(cmd domain.Command) error {
	if _, err := domain.Decide(domain.Pathway{}, cmd); apperr.KindOf(err) == apperr.KindInvalidArgument {
		return err
	}
	return nil
}
