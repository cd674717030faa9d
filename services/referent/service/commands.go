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
// are stored, they cannot fail. Directory commands are the administrators';
// absences and manual assignments also the coordinators', within the
// territories they coordinate (access.go), where they read the whole
// answer; a retried request is answered from the stored events, as of its
// first run.

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

// SetAvailability implements referentv1.ReferentServiceServer: the
// absence, and the interim standing in for the referent's learners during
// it, written with the facts of each learner in one atomic batch
// (execAvailability).
func (s *Service) SetAvailability(ctx context.Context, req *referentv1.SetAvailabilityRequest) (*referentv1.SetAvailabilityResponse, error) {
	caller, m, err := s.managerOf(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "referent_id", req.GetReferentId())
	from := civilpb.OptionalDate(&v, "absent_from", req.GetAbsentFrom())
	to := civilpb.OptionalDate(&v, "absent_to", req.GetAbsentTo())
	if req.GetInterimReferentId() != "" {
		ident.ID(&v, "interim_referent_id", req.GetInterimReferentId())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cmd := domain.SetAvailability{ReferentID: req.GetReferentId(), AbsentFrom: from, AbsentTo: to, Interim: req.GetInterimReferentId()}
	cmd.Check(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	check := func(r domain.Referent) error {
		return managesReferent(caller, m, req.GetReferentId(), r, cmd.Interim != "")
	}
	r, err := s.execAvailability(ctx, s.deps.Command(ctx, req.GetRequestId()), req.GetReferentId(), check, cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.SetAvailabilityResponse{Referent: s.referentView(r)}, nil
}

// managerOf returns the caller and what it manages: every territory for an
// administrator; for a coordinator, the territories it coordinates, read
// from its own caseload. Anyone else, and a coordinator that coordinates
// nothing as the directory knows it, is refused (PermissionDenied).
func (s *Service) managerOf(ctx context.Context) (auth.Principal, manager, error) {
	caller, _ := auth.FromContext(ctx)
	switch {
	case caller.Role == auth.RoleAdmin:
		return caller, manager{admin: true}, nil
	case caller.Role != auth.RoleReferent || !caller.Coordinator || ident.CheckID(caller.ReferentID) != "":
		return caller, manager{}, errNotManager(caller)
	}
	self, err := s.caseloads.Load(ctx, caller.ReferentID)
	if err != nil {
		return caller, manager{}, err
	}
	territories := coordinates(caller, self.State)
	if len(territories) == 0 {
		return caller, manager{}, errNotManager(caller)
	}
	return caller, manager{territories: territories}, nil
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
	return s.referentView(out.State), nil
}

// AssignReferent implements referentv1.ReferentServiceServer.
func (s *Service) AssignReferent(ctx context.Context, req *referentv1.AssignReferentRequest) (*referentv1.AssignReferentResponse, error) {
	caller, m, err := s.managerOf(ctx)
	if err != nil {
		return nil, err
	}
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
	a, err := s.manual(ctx, req.GetRequestId(), caller, m, cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.AssignReferentResponse{Assignment: s.assignmentView(a)}, nil
}

// Handover implements referentv1.ReferentServiceServer. The referent
// taking over must serve the learner's territory (the decision checks it on
// its caseload, as for any assignment).
func (s *Service) Handover(ctx context.Context, req *referentv1.HandoverRequest) (*referentv1.HandoverResponse, error) {
	caller, m, err := s.managerOf(ctx)
	if err != nil {
		return nil, err
	}
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
	a, err := s.manual(ctx, req.GetRequestId(), caller, m, cmd)
	if err != nil {
		return nil, err
	}
	return &referentv1.HandoverResponse{Assignment: s.assignmentView(a)}, nil
}

// manual runs a manager's assignment or handover, over the learner's
// assignment, the chosen referent's caseload and the current referent's.
// The manager's scope is checked on the assignment first (a coordinator
// outside it learns nothing, not even an erasure), then again on the
// assignment the decision reads. A learner whose personal data was erased
// is refused.
func (s *Service) manual(ctx context.Context, requestID string, caller auth.Principal, m manager, cmd domain.Assign) (domain.Assignment, error) {
	check := func(a domain.Assignment) error {
		return managesAssignment(caller, m, cmd.LearnerID, a, s.deps.Today(), s.cfg.HandoverGraceDays)
	}
	if !m.admin {
		snap, err := s.assignments.Load(ctx, cmd.LearnerID)
		if err != nil {
			return domain.Assignment{}, err
		}
		if err := check(snap.State); err != nil {
			return domain.Assignment{}, err
		}
	}
	if err := s.refuseErased(ctx, cmd.LearnerID); err != nil {
		return domain.Assignment{}, err
	}
	a, err := s.execAssignment(ctx, s.deps.Command(ctx, requestID), cmd.LearnerID, check,
		func(a domain.Assignment) ([]string, error) { return []string{cmd.ReferentID, a.Current}, nil }, cmd)
	if err != nil {
		return domain.Assignment{}, err
	}
	if !a.Exists() {
		return domain.Assignment{}, auth.Denied("learner", cmd.LearnerID)
	}
	return a, nil
}
