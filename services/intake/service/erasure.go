package service

import (
	"context"
	"time"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// Erasure (docs/adr/0065-erasure-retention-and-access.md). The decision is
// LearnerErased, appended when nothing holds the erasure back (the facts of
// other contexts intake follows, see facts.go); it is the answer. Then,
// synchronously, the learner's claims are released and its data key is
// erased, in that order: once the key is gone its identity can no longer be
// read, so its claims could no longer be named. A failure there is logged,
// not returned (the erasure is decided and recorded): the erasure consumer
// does the same again, idempotently, for every LearnerErased.

// erasureConsumer finishes the erasures.
const erasureConsumer = "intake-erasure"

// finishTimeout bounds the release of the claims and the erasure of the key
// after the decision, whatever the caller's deadline.
const finishTimeout = 30 * time.Second

// EraseLearner implements intakev1.IntakeServiceServer (admins, see
// Policy).
func (s *Service) EraseLearner(ctx context.Context, req *intakev1.EraseLearnerRequest) (*intakev1.EraseLearnerResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	l, _, err := s.erase(ctx, s.deps.Command(ctx, req.GetRequestId()), req.GetLearnerId(),
		domain.ErasureGround(req.GetGround()), req.GetReference())
	if err != nil {
		return nil, err
	}
	return &intakev1.EraseLearnerResponse{Learner: l}, nil
}

// erase erases learner id's personal data and answers the learner as
// erased; erased reports that this call recorded the erasure (not an
// earlier one).
func (s *Service) erase(ctx context.Context, cmd eventstore.Command, id string, ground domain.ErasureGround, reference string) (*intakev1.Learner, bool, error) {
	today := civilOf(cmd)
	out, err := s.learners.Execute(ctx, id, cmd, func(state domain.Learner) ([]domain.Event, error) {
		c := domain.EraseLearner{Ground: ground, Reference: reference, Today: today}
		if state.Exists() && !state.Erased {
			facts, err := s.erasureFacts(ctx, id)
			if err != nil {
				return nil, err
			}
			c.Blocker = domain.ErasureBlocker(id, facts, today)
		}
		return domain.Decide(state, c, s.territories)
	})
	if err != nil {
		return nil, false, err
	}
	recorded := !out.Replayed && len(out.Events) > 0
	if out.State.Erased {
		// The claims are named from the events as they were read before
		// the key is erased (the whole history, every identifier the
		// learner recorded).
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		if err := s.finishErasure(fctx, id, claimsOf(out.History)); err != nil {
			s.log.WarnContext(ctx, "erasure recorded, but releasing the claims or erasing the data key failed: the erasure consumer will finish it",
				"learner_id", id, "error", err)
		}
	}
	if recorded {
		s.log.InfoContext(ctx, "learner erased", "learner_id", id, "ground", int(ground))
	}
	return answer(out), recorded, nil
}

// finishErasure releases the claims of an erased learner, then erases its
// data key. Both are idempotent. Claims that cannot be named (the key is
// already erased) are left: a claim of an erased learner refuses nobody
// and is taken over by the next registration that needs it.
func (s *Service) finishErasure(ctx context.Context, id string, c claimed) error {
	keyID := privacy.LearnerKey(id)
	if done, err := s.keys.Erased(ctx, keyID); err != nil || done {
		return err
	}
	if c.complete {
		if err := s.releaseAll(ctx, id, c); err != nil {
			return err
		}
	}
	return s.keys.Erase(ctx, keyID)
}

// onErased finishes an erasure: it releases the learner's claims, named
// from its events while its key is still there, then erases the key.
func (s *Service) onErased(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*intakev1.LearnerErased)
	if !ok || ident.CheckID(m.GetLearnerId()) != "" {
		return nil
	}
	id := m.GetLearnerId()
	if done, err := s.keys.Erased(ctx, privacy.LearnerKey(id)); err != nil || done {
		return err
	}
	h, err := s.learners.Load(ctx, id)
	if err != nil {
		return err
	}
	return s.finishErasure(ctx, id, claimsOf(h.Events))
}

// civilOf is the business day of a command.
func civilOf(cmd eventstore.Command) civil.Date { return civil.Of(cmd.Time) }
