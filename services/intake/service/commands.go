package service

import (
	"context"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Commands answer from the learner as the command left it, never from a
// read model: once its events are stored, a command cannot fail. Its caller
// acted for the learner (access was checked in the decision, against the
// assignments read model, before anything was stored), so the answer shows
// the learner whole, special-category data included; a retried request,
// answered from the stored events, belongs to the same caller.

// RegisterLearner implements intakev1.IntakeServiceServer.
//
// A person is registered once: the registration claims the person's
// identity and France Travail identifier in the same atomic append as the
// learner's first event. The claims are looked up inside the decision, so
// when a concurrent registration of the same person wins the race, the
// retried decision finds its claims and answers AlreadyExists with its id.
func (s *Service) RegisterLearner(ctx context.Context, req *intakev1.RegisterLearnerRequest) (*intakev1.RegisterLearnerResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
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
		BirthDate:  civilpb.Date(req.GetBirthDate()),
		Territory:  req.GetTerritoryCode(),
		Contact:    contactFromProto(req.GetContact()),
		Situation:  situationFromProto(req.GetSituation(), req.GetRqth()),
		Today:      s.deps.Today(),
	}
	identityKey, ftid := cmd.ClaimKeys()
	out, err := s.learners.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(state domain.Learner) ([]domain.Event, error) {
		var err error
		if cmd.Holders.Identity, err = s.holder(ctx, identityClaims, identityKey); err != nil {
			return nil, err
		}
		if cmd.Holders.FranceTravailID, err = s.holder(ctx, franceTravailClaims, ftid); err != nil {
			return nil, err
		}
		return domain.Decide(state, cmd, s.territories)
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.RegisterLearnerResponse{Learner: answer(out)}, nil
}

// UpdateContact implements intakev1.IntakeServiceServer.
func (s *Service) UpdateContact(ctx context.Context, req *intakev1.UpdateContactRequest) (*intakev1.UpdateContactResponse, error) {
	cmd := domain.UpdateContact{Email: req.Email, Phone: req.Phone, Commune: req.CommuneCode, Today: s.deps.Today()}
	l, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), func(domain.Learner) (domain.Command, error) { return cmd, nil })
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateContactResponse{Learner: l}, nil
}

// UpdateSituation implements intakev1.IntakeServiceServer. A new France
// Travail identifier is claimed like at registration.
func (s *Service) UpdateSituation(ctx context.Context, req *intakev1.UpdateSituationRequest) (*intakev1.UpdateSituationResponse, error) {
	cmd := domain.UpdateSituation{
		EffectiveDate:   civilpb.Date(req.GetEffectiveDate()),
		JobSeeker:       req.JobSeeker,
		FranceTravailID: req.FranceTravailId,
		RSA:             req.RsaRecipient,
		RQTH:            req.Rqth,
		QPV:             req.QpvResident,
		ZRR:             req.ZrrResident,
		Today:           s.deps.Today(),
	}
	if req.EducationLevel != nil {
		e := domain.EducationLevel(req.GetEducationLevel())
		cmd.Education = &e
	}
	if req.ReferralSource != nil {
		r := domain.ReferralSource(req.GetReferralSource())
		cmd.Referral = &r
	}
	l, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), func(state domain.Learner) (domain.Command, error) {
		c := cmd
		if key := c.ClaimKey(); key != "" && key != state.Situation.FranceTravailID {
			holder, err := s.holder(ctx, franceTravailClaims, key)
			if err != nil {
				return nil, err
			}
			c.FranceTravailIDHolder = holder
		}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateSituationResponse{Learner: l}, nil
}

// change runs a command on an existing learner the caller acts for, and
// answers the learner as the command left it. prepare completes the command
// from the learner's current state (claim holders), inside the decision.
func (s *Service) change(ctx context.Context, requestID, learnerID string, prepare func(domain.Learner) (domain.Command, error)) (*intakev1.Learner, error) {
	var v apperr.Violations
	ident.RequestID(&v, requestID)
	ident.ID(&v, "learner_id", learnerID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	out, err := s.learners.Execute(ctx, learnerID, s.deps.Command(ctx, requestID), func(state domain.Learner) ([]domain.Event, error) {
		// Out of scope reads as missing, so existence does not leak.
		if !state.Exists() {
			return nil, auth.Denied("learner", learnerID)
		}
		scope, err := s.caseload.Scope(ctx, learnerID, state.Territory)
		if err != nil {
			return nil, err
		}
		if !mayChange(p, scope) {
			return nil, auth.Denied("learner", learnerID)
		}
		cmd, err := prepare(state)
		if err != nil {
			return nil, err
		}
		return domain.Decide(state, cmd, s.territories)
	})
	if err != nil {
		return nil, err
	}
	return answer(out), nil
}

// answer is the learner as a command left it, for the caller who acted.
func answer(out eventstore.Outcome[domain.Learner, domain.Event]) *intakev1.Learner {
	return toView(out.State, out.History[0].Time)
}
