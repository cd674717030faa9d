package service

import (
	"context"
	"slices"

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
// identity and France Travail identifier (see claim) once its input is
// valid, before it appends the learner's event. A registration that finds
// a claim held by a live learner answers AlreadyExists naming it, and gives
// up the claims it made; so does one whose claim was taken over before its
// append (the decision looks at its claims again). A retried request
// answers from its stored events.
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
	own, err := s.learners.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !own.State.Exists() {
		// Bad input is refused before anything is claimed.
		if _, err := domain.Decide(domain.Learner{}, cmd, s.territories); err != nil {
			return nil, err
		}
		if cmd.Holders, err = s.claimRegistration(ctx, id, identityKey, ftid); err != nil {
			return nil, err
		}
		if cmd.Holders.Identity != id || (ftid != "" && cmd.Holders.FranceTravailID != id) {
			s.giveUp(ctx, id, claimed{identity: identityKey, ftids: []string{ftid}})
			if _, err := domain.Decide(domain.Learner{}, cmd, s.territories); err != nil {
				return nil, err
			}
			return nil, apperr.Aborted("the registration's claims changed hands meanwhile: try again")
		}
	}
	out, err := s.learners.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(state domain.Learner) ([]domain.Event, error) {
		c := cmd
		if !state.Exists() {
			// Still ours? A claim is taken over only from a learner that
			// does not hold it long after its claim.
			var err error
			if c.Holders.Identity, err = s.holder(ctx, identityClaim, identityKey); err != nil {
				return nil, err
			}
			if ftid != "" {
				if c.Holders.FranceTravailID, err = s.holder(ctx, ftidClaim, ftid); err != nil {
					return nil, err
				}
			}
			if c.Holders.Identity == "" || (ftid != "" && c.Holders.FranceTravailID == "") {
				return nil, apperr.Aborted("the registration's claims were released meanwhile: try again")
			}
		}
		return domain.Decide(state, c, s.territories)
	})
	if err != nil {
		if refusal(err) {
			// Refused after claiming (a claim taken over meanwhile): give
			// up the others, unless the learner was recorded after all.
			if l, lerr := s.learners.Load(context.WithoutCancel(ctx), id); lerr == nil && !l.State.Exists() {
				s.giveUp(ctx, id, claimed{identity: identityKey, ftids: []string{ftid}})
			}
		}
		return nil, err
	}
	return &intakev1.RegisterLearnerResponse{Learner: answer(out)}, nil
}

// refusal reports whether err refuses a command (as opposed to a failure:
// then the command may have been recorded).
func refusal(err error) bool {
	switch apperr.KindOf(err) {
	case apperr.KindInvalidArgument, apperr.KindNotFound, apperr.KindAlreadyExists, apperr.KindFailedPrecondition,
		apperr.KindAborted, apperr.KindPermissionDenied:
		return true
	}
	return false
}

// claimRegistration claims the identity and France Travail identifier of a
// registration for learner id and returns their holders.
func (s *Service) claimRegistration(ctx context.Context, id, identityKey, ftid string) (domain.Holders, error) {
	var h domain.Holders
	var err error
	if h.Identity, err = s.claim(ctx, identityClaim, identityKey, id); err != nil {
		return h, err
	}
	if h.Identity != id {
		// Refused whatever the France Travail identifier: claim nothing more.
		h.FranceTravailID, err = s.liveHolder(ctx, ftidClaim, ftid)
		return h, err
	}
	h.FranceTravailID, err = s.claim(ctx, ftidClaim, ftid, id)
	return h, err
}

// liveHolder returns the live learner holding the claim of value, "" when
// there is none, without claiming it.
func (s *Service) liveHolder(ctx context.Context, k claimKind, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	for _, lookup := range []func(context.Context, claimKind, string) (string, error){s.legacyHolder, s.holder} {
		holder, err := lookup(ctx, k, value)
		if err != nil {
			return "", err
		}
		if holder == "" {
			continue
		}
		if live, err := s.live(ctx, k, value, holder, false); err != nil || live {
			return holder, err
		}
	}
	return "", nil
}

// giveUp releases the claims of c that learner id, refused, made; a failure
// is only logged: a claim left behind is taken over later.
func (s *Service) giveUp(ctx context.Context, id string, c claimed) {
	if err := s.releaseAll(context.WithoutCancel(ctx), id, c); err != nil {
		s.log.WarnContext(ctx, "releasing the claims of a refused command failed; they will be taken over", "learner_id", id, "error", err)
	}
}

// UpdateContact implements intakev1.IntakeServiceServer.
func (s *Service) UpdateContact(ctx context.Context, req *intakev1.UpdateContactRequest) (*intakev1.UpdateContactResponse, error) {
	cmd := domain.UpdateContact{Email: req.Email, Phone: req.Phone, Commune: req.CommuneCode, Today: s.deps.Today()}
	l, _, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), func(domain.Learner) (domain.Command, error) { return cmd, nil })
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateContactResponse{Learner: l}, nil
}

// UpdateSituation implements intakev1.IntakeServiceServer. A new France
// Travail identifier is claimed like at registration, before the change is
// appended; the identifier it replaces is given up once it is.
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

		EducationJustification: req.EducationLevelJustification,
	}
	if req.EducationLevel != nil {
		e := domain.EducationLevel(req.GetEducationLevel())
		cmd.Education = &e
	}
	if req.ReferralSource != nil {
		r := domain.ReferralSource(req.GetReferralSource())
		cmd.Referral = &r
	}
	id, key := req.GetLearnerId(), cmd.ClaimKey()
	claimedNow := false
	if key != "" && ident.CheckID(id) == "" && ident.CheckRequestID(req.GetRequestId()) == "" {
		// Claim before the change, for a learner the caller acts for whose
		// identifier it changes (the decision checks all this again).
		l, err := s.learners.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		if l.State.Exists() && !l.State.Erased && key != l.State.Situation.FranceTravailID {
			if err := s.mayChangeLearner(ctx, l.State); err != nil {
				return nil, err
			}
			holder, err := s.claim(ctx, ftidClaim, key, id)
			if err != nil {
				return nil, err
			}
			claimedNow = holder == id
		}
	}
	l, out, err := s.change(ctx, req.GetRequestId(), id, func(state domain.Learner) (domain.Command, error) {
		c := cmd
		if key != "" && key != state.Situation.FranceTravailID && state.Exists() && !state.Erased {
			holder, err := s.holder(ctx, ftidClaim, key)
			if err != nil {
				return nil, err
			}
			if holder != id {
				if holder, err = s.liveHolder(ctx, ftidClaim, key); err != nil {
					return nil, err
				}
				if holder == "" {
					return nil, apperr.Aborted("the learner's France Travail identifier changed meanwhile: try again")
				}
			}
			c.FranceTravailIDHolder = holder
		}
		return c, nil
	})
	if err != nil {
		if claimedNow && refusal(err) {
			s.giveUpUnless(ctx, id, key)
		}
		return nil, err
	}
	if req.FranceTravailId != nil {
		// Give up the identifiers the learner no longer holds.
		held := claimsOf(out.History)
		held.identity = ""
		held.ftids = slices.DeleteFunc(held.ftids, func(f string) bool { return f == out.State.Situation.FranceTravailID })
		s.giveUp(ctx, id, held)
	}
	return &intakev1.UpdateSituationResponse{Learner: l}, nil
}

// giveUpUnless releases learner id's claim of France Travail identifier
// ftid, made by a command that failed, unless the learner holds it after
// all (a concurrent retry of the command recorded it).
func (s *Service) giveUpUnless(ctx context.Context, id, ftid string) {
	l, err := s.learners.Load(context.WithoutCancel(ctx), id)
	if err != nil || ftidClaim.holds(l.State, ftid) {
		return
	}
	s.giveUp(ctx, id, claimed{ftids: []string{ftid}})
}

// mayChangeLearner refuses a caller that does not act for the learner, as
// if it did not exist.
func (s *Service) mayChangeLearner(ctx context.Context, l domain.Learner) error {
	p, _ := auth.FromContext(ctx)
	scope, err := s.caseload.Scope(ctx, l.ID, l.Territory)
	if err != nil {
		return err
	}
	if !mayChange(p, scope) {
		return auth.Denied("learner", l.ID)
	}
	return nil
}

// change runs a command on an existing learner the caller acts for, and
// answers the learner as the command left it. prepare completes the command
// from the learner's current state (claim holders), inside the decision.
func (s *Service) change(ctx context.Context, requestID, learnerID string, prepare func(domain.Learner) (domain.Command, error)) (*intakev1.Learner, eventstore.Outcome[domain.Learner, domain.Event], error) {
	var v apperr.Violations
	ident.RequestID(&v, requestID)
	ident.ID(&v, "learner_id", learnerID)
	if err := v.Err(); err != nil {
		return nil, eventstore.Outcome[domain.Learner, domain.Event]{}, err
	}
	out, err := s.learners.Execute(ctx, learnerID, s.deps.Command(ctx, requestID), func(state domain.Learner) ([]domain.Event, error) {
		// Out of scope reads as missing, so existence does not leak.
		if !state.Exists() {
			return nil, auth.Denied("learner", learnerID)
		}
		if err := s.mayChangeLearner(ctx, state); err != nil {
			return nil, err
		}
		cmd, err := prepare(state)
		if err != nil {
			return nil, err
		}
		return domain.Decide(state, cmd, s.territories)
	})
	if err != nil {
		return nil, out, err
	}
	return answer(out), out, nil
}

// answer is the learner as a command left it, for the caller who acted.
func answer(out eventstore.Outcome[domain.Learner, domain.Event]) *intakev1.Learner {
	return toView(out.State, out.History[0].Time)
}
