package service

import (
	"context"
	"errors"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// RegisterReferent implements referentv1.ReferentServiceServer. The new
// referent's id derives from the request id and the caller, so a retried
// registration addresses the same referent.
func (s *Service) RegisterReferent(ctx context.Context, req *referentv1.RegisterReferentRequest) (*referentv1.RegisterReferentResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
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
	return &referentv1.RegisterReferentResponse{Referent: referentView(r, r.Load(), s.today())}, nil
}

// UpdateReferent implements referentv1.ReferentServiceServer.
func (s *Service) UpdateReferent(ctx context.Context, req *referentv1.UpdateReferentRequest) (*referentv1.UpdateReferentResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "referent_id", req.GetReferentId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), domain.UpdateReferent{ReferentID: req.GetReferentId(), Profile: profile})
	if err != nil {
		return nil, err
	}
	return &referentv1.UpdateReferentResponse{Referent: referentView(r, r.Load(), s.today())}, nil
}

// SetAvailability implements referentv1.ReferentServiceServer.
func (s *Service) SetAvailability(ctx context.Context, req *referentv1.SetAvailabilityRequest) (*referentv1.SetAvailabilityResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "referent_id", req.GetReferentId())
	from := checkDate(&v, "absent_from", req.GetAbsentFrom())
	to := checkDate(&v, "absent_to", req.GetAbsentTo())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), domain.SetAvailability{ReferentID: req.GetReferentId(), AbsentFrom: from, AbsentTo: to})
	if err != nil {
		return nil, err
	}
	return &referentv1.SetAvailabilityResponse{Referent: referentView(r, r.Load(), s.today())}, nil
}

// DeactivateReferent implements referentv1.ReferentServiceServer. The
// caseload is handed over right after, learner by learner, by the queue
// consumer (each to the policy's choice, or to the territory's queue).
func (s *Service) DeactivateReferent(ctx context.Context, req *referentv1.DeactivateReferentRequest) (*referentv1.DeactivateReferentResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "referent_id", req.GetReferentId())
	on := checkDate(&v, "effective_date", req.GetEffectiveDate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if on.IsZero() {
		on = s.today()
	}
	r, err := s.execReferent(ctx, req.GetRequestId(), req.GetReferentId(), domain.DeactivateReferent{ReferentID: req.GetReferentId(), On: on, Today: s.today()})
	if err != nil {
		return nil, err
	}
	return &referentv1.DeactivateReferentResponse{Referent: referentView(r, r.Load(), s.today())}, nil
}

// execReferent runs a directory command on a caseload and returns the
// referent right after it.
func (s *Service) execReferent(ctx context.Context, requestID, id string, cmd any) (domain.Referent, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, caseloadFilter(id), meta, func(h eventstore.History) ([]event.Draft, error) {
		r := foldReferent(h.Events)
		r.ID = id
		evs, err := domain.DecideReferent(r, cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs, s.cfg.HandoverGraceDays)
	})
	if errors.Is(err, eventstore.ErrConflict) {
		return domain.Referent{}, apperr.Aborted("referent %s was changed concurrently, retry", id).WithCause(err)
	}
	if err != nil {
		return domain.Referent{}, err
	}
	r := foldReferent(res.After())
	r.ID = id
	return r, nil
}

// AssignReferent implements referentv1.ReferentServiceServer.
func (s *Service) AssignReferent(ctx context.Context, req *referentv1.AssignReferentRequest) (*referentv1.AssignReferentResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "learner_id", req.GetLearnerId())
	if problem := ident.CheckID(req.GetReferentId()); problem != "" {
		v.Add("referent_id", problem)
	}
	day := checkDate(&v, "effective_date", req.GetEffectiveDate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = s.today()
	}
	cmd := domain.Assign{LearnerID: req.GetLearnerId(), ReferentID: req.GetReferentId(), Reason: req.GetReason(), Day: day, Today: s.today()}
	a, err := s.manual(ctx, req.GetRequestId(), cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.AssignReferentResponse{Assignment: s.assignmentView(a)}, nil
}

// Handover implements referentv1.ReferentServiceServer.
func (s *Service) Handover(ctx context.Context, req *referentv1.HandoverRequest) (*referentv1.HandoverResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "learner_id", req.GetLearnerId())
	if problem := ident.CheckID(req.GetFromReferentId()); problem != "" {
		v.Add("from_referent_id", problem)
	}
	if problem := ident.CheckID(req.GetToReferentId()); problem != "" {
		v.Add("to_referent_id", problem)
	}
	day := checkDate(&v, "effective_date", req.GetEffectiveDate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = s.today()
	}
	cmd := domain.Assign{
		LearnerID: req.GetLearnerId(), ReferentID: req.GetToReferentId(), Handover: true, From: req.GetFromReferentId(),
		Reason: req.GetReason(), Day: day, Today: s.today(),
	}
	a, err := s.manual(ctx, req.GetRequestId(), cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.HandoverResponse{Assignment: s.assignmentView(a)}, nil
}

// manual runs an administrator's assignment or handover.
func (s *Service) manual(ctx context.Context, requestID string, cmd domain.Assign) (domain.Assignment, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	a, err := s.execAssignment(ctx, meta, cmd.LearnerID,
		func(a domain.Assignment) ([]string, error) { return []string{cmd.ReferentID, a.Current}, nil },
		func(domain.Assignment) any { return cmd })
	if err != nil {
		return domain.Assignment{}, err
	}
	if !a.Exists() {
		return domain.Assignment{}, auth.Denied("learner", cmd.LearnerID)
	}
	return a, nil
}

// checkRequest records the problem of a command's request id.
func checkRequest(v *apperr.Violations, requestID string) {
	if problem := ident.CheckRequestID(requestID); problem != "" {
		v.Add("request_id", problem)
	}
}

// checkIDs records the problems of a command's request id and of the id it
// addresses.
func checkIDs(v *apperr.Violations, requestID, field, id string) {
	checkRequest(v, requestID)
	if problem := ident.CheckID(id); problem != "" {
		v.Add(field, problem)
	}
}

// checkDate reads an optional date; an invalid one is a violation.
func checkDate(v *apperr.Violations, field string, p *commonv1.Date) civil.Date {
	d := civilpb.Date(p)
	if !d.IsZero() && !d.Valid() {
		v.Add(field, "is not a valid date")
	}
	return d
}
