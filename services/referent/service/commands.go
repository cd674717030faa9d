package service

import (
	"context"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// Commands answer from the aggregate as the command left it (the caseload,
// or the learner's assignment), never from a read model: once their events
// are stored, they cannot fail. Directory commands and manual assignments
// are the administrators', who see everything, so the answer is whole; a
// retried request is answered from the stored events, as of its first run.

// RegisterReferent implements referentv1.ReferentServiceServer. The new
// referent's id derives from the request id and the caller, so a retried
// registration addresses the same referent.
func (s *Service) RegisterReferent(ctx context.Context, req *referentv1.RegisterReferentRequest) (*referentv1.RegisterReferentResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := event.DeriveID("referent/referent/"+caller.Subject, req.GetRequestId())
	r, err := s.execReferent(ctx, req.GetRequestId(), id, domain.RegisterReferent{ReferentID: id, Profile: profile})
	if err != nil {
		return nil, err
	}
	return &referentv1.RegisterReferentResponse{Referent: r}, nil
}

// UpdateReferent implements referentv1.ReferentServiceServer. With an
// update mask, only the fields it names change, merged on the caseload as
// the decision finds it; without one, the whole profile is replaced.
func (s *Service) UpdateReferent(ctx context.Context, req *referentv1.UpdateReferentRequest) (*referentv1.UpdateReferentResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "referent_id", req.GetReferentId())
	fields := profileFields(&v, req.GetUpdateMask())
	profile := profileFromProto(req.GetProfile())
	if req.GetUpdateMask() == nil {
		// A masked profile is checked once merged, in the decision.
		domain.CheckProfile(&v, "profile", profile)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cmd := domain.UpdateReferent{ReferentID: req.GetReferentId(), Profile: profile, Fields: fields}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.UpdateReferentResponse{Referent: r}, nil
}

// SetAvailability implements referentv1.ReferentServiceServer.
func (s *Service) SetAvailability(ctx context.Context, req *referentv1.SetAvailabilityRequest) (*referentv1.SetAvailabilityResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "referent_id", req.GetReferentId())
	from := civilpb.OptionalDate(&v, "absent_from", req.GetAbsentFrom())
	to := civilpb.OptionalDate(&v, "absent_to", req.GetAbsentTo())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), domain.SetAvailability{ReferentID: req.GetReferentId(), AbsentFrom: from, AbsentTo: to})
	if err != nil {
		return nil, err
	}
	return &referentv1.SetAvailabilityResponse{Referent: r}, nil
}

// DeactivateReferent implements referentv1.ReferentServiceServer. The
// caseload is handed over right after, learner by learner, by the queue
// consumer (each to the policy's choice, or to the territory's queue).
func (s *Service) DeactivateReferent(ctx context.Context, req *referentv1.DeactivateReferentRequest) (*referentv1.DeactivateReferentResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "referent_id", req.GetReferentId())
	on := civilpb.OptionalDate(&v, "effective_date", req.GetEffectiveDate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if on.IsZero() {
		on = s.deps.Today()
	}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), domain.DeactivateReferent{ReferentID: req.GetReferentId(), On: on, Today: s.deps.Today()})
	if err != nil {
		return nil, err
	}
	return &referentv1.DeactivateReferentResponse{Referent: r}, nil
}

// execReferent runs a directory command on a caseload and answers the
// referent as the command left it.
func (s *Service) execReferent(ctx context.Context, requestID, id string, cmd any) (*referentv1.Referent, error) {
	out, err := s.caseloads.Execute(ctx, id, s.deps.Command(ctx, requestID), func(r domain.Referent) ([]domain.Event, error) {
		return domain.DecideReferent(r, cmd)
	})
	if err != nil {
		return nil, err
	}
	return referentView(out.State, out.State.Load(), s.deps.Today()), nil
}

// AssignReferent implements referentv1.ReferentServiceServer.
func (s *Service) AssignReferent(ctx context.Context, req *referentv1.AssignReferentRequest) (*referentv1.AssignReferentResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	ident.ID(&v, "referent_id", req.GetReferentId())
	day := civilpb.OptionalDate(&v, "effective_date", req.GetEffectiveDate())
	if day.IsZero() || !day.Valid() { // an invalid date is reported already
		day = s.deps.Today()
	}
	cmd := domain.Assign{LearnerID: req.GetLearnerId(), ReferentID: req.GetReferentId(), Reason: req.GetReason(), Day: day, Today: s.deps.Today()}
	cmd.Check(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := s.manual(ctx, req.GetRequestId(), cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.AssignReferentResponse{Assignment: s.assignmentView(a)}, nil
}

// Handover implements referentv1.ReferentServiceServer.
func (s *Service) Handover(ctx context.Context, req *referentv1.HandoverRequest) (*referentv1.HandoverResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	ident.ID(&v, "from_referent_id", req.GetFromReferentId())
	ident.ID(&v, "to_referent_id", req.GetToReferentId())
	day := civilpb.OptionalDate(&v, "effective_date", req.GetEffectiveDate())
	if day.IsZero() || !day.Valid() { // an invalid date is reported already
		day = s.deps.Today()
	}
	cmd := domain.Assign{
		LearnerID: req.GetLearnerId(), ReferentID: req.GetToReferentId(), Handover: true, From: req.GetFromReferentId(),
		Reason: req.GetReason(), Day: day, Today: s.deps.Today(),
	}
	cmd.Check(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := s.manual(ctx, req.GetRequestId(), cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.HandoverResponse{Assignment: s.assignmentView(a)}, nil
}

// manual runs an administrator's assignment or handover, over the
// learner's assignment, the chosen referent's caseload and the current
// referent's. A learner whose personal data was erased is refused.
func (s *Service) manual(ctx context.Context, requestID string, cmd domain.Assign) (domain.Assignment, error) {
	if err := s.refuseErased(ctx, cmd.LearnerID); err != nil {
		return domain.Assignment{}, err
	}
	a, err := s.execAssignment(ctx, s.deps.Command(ctx, requestID), cmd.LearnerID,
		func(a domain.Assignment) ([]string, error) { return []string{cmd.ReferentID, a.Current}, nil }, cmd)
	if err != nil {
		return domain.Assignment{}, err
	}
	if !a.Exists() {
		return domain.Assignment{}, auth.Denied("learner", cmd.LearnerID)
	}
	return a, nil
}
