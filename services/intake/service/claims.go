package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// A person is registered once: its identity (domain.IdentityKey) and its
// France Travail identifier each belong to one learner, through uniqueness
// claims in the key store (privacy.Keyring.Claim), named by a keyed hash of
// the value (privacy.Keyring.Hash), so no personal data, not even hashed
// with a public function, lies in a subject:
//
//	avenir.keys.claim.identity.<hmac hex>  (domain.IdentityKey)
//	avenir.keys.claim.ftid.<hmac hex>      (normalised France Travail identifier)
//
// A command claims before it appends the learner's events (the claims are
// not events: they are deleted when given up). A claim refuses others only
// while its holder is live: registered, not erased, and, for a France
// Travail identifier, still holding it. A claim whose holder is not live is
// left for claimGrace to a command in flight (registered, or changing its
// identifier, between its claim and its append), then taken over
// (Reassign): the remains of a command that failed after claiming. A
// retried command finds its own claim. A learner gives up the identifier a
// situation change replaces, and every claim when erased.
//
// The claims appended to INTAKE before (SHA-256 subjects, in the same batch
// as the registration, never released) are still read, so the learners
// registered then stay unique; they are never appended again:
//
//	avenir.intake.identity.<sha256 hex>.claimed
//	avenir.intake.ftid.<sha256 hex>.claimed
type claimKind struct {
	// purpose is the claim's purpose in the key store.
	purpose string
	// legacy is the subject prefix of the SHA-256 claims on INTAKE.
	legacy string
}

var (
	identityClaim = claimKind{purpose: "identity", legacy: "avenir.intake.identity."}
	ftidClaim     = claimKind{purpose: "ftid", legacy: "avenir.intake.ftid."}
)

// defaultClaimGrace is Service.claimGrace: far longer than a command takes
// between its claim and its append.
const defaultClaimGrace = 3 * time.Second

// claimPoll is how often a claim left to a command in flight is looked at
// again.
const claimPoll = 20 * time.Millisecond

// legacySubject is the subject of the SHA-256 claim of value.
func (k claimKind) legacySubject(value string) string {
	sum := sha256.Sum256([]byte(value))
	return k.legacy + hex.EncodeToString(sum[:]) + ".claimed"
}

// holds reports whether l holds the claim of value: registered, not erased
// and, for a France Travail identifier, holding it now.
func (k claimKind) holds(l domain.Learner, value string) bool {
	if !l.Exists() || l.Erased {
		return false
	}
	return k != ftidClaim || l.Situation.FranceTravailID == value
}

// claim makes owner hold the claim of value and returns who holds it:
// owner, or the live learner holding it already (legacy claims included).
// An empty value is claimed by nobody.
func (s *Service) claim(ctx context.Context, k claimKind, value, owner string) (string, error) {
	if value == "" {
		return "", nil
	}
	legacy, err := s.legacyHolder(ctx, k, value)
	if err != nil {
		return "", err
	}
	if legacy != "" && legacy != owner {
		live, err := s.live(ctx, k, value, legacy, false)
		if err != nil || live {
			return legacy, err
		}
	}
	hash, err := s.keys.Hash(ctx, k.purpose, value)
	if err != nil {
		return "", err
	}
	for range 5 {
		holder, err := s.keys.Claim(ctx, k.purpose, hash, owner)
		if err != nil || holder == owner {
			return holder, err
		}
		live, err := s.live(ctx, k, value, holder, true)
		if err != nil || live {
			return holder, err
		}
		err = s.keys.Reassign(ctx, k.purpose, hash, holder, owner)
		if err == nil {
			s.log.InfoContext(ctx, "claim taken over from a learner that does not hold it", "purpose", k.purpose, "from", holder, "to", owner)
			return owner, nil
		}
		if !errors.Is(err, privacy.ErrNotHolder) {
			return "", err
		}
		// Released or taken over meanwhile: claim again.
	}
	return "", apperr.Aborted("the %s claim changed hands concurrently too often: try again", k.purpose)
}

// holder returns who holds the claim of value now in the key store, "" when
// nobody does.
func (s *Service) holder(ctx context.Context, k claimKind, value string) (string, error) {
	hash, err := s.keys.Hash(ctx, k.purpose, value)
	if err != nil {
		return "", err
	}
	holder, _, err := s.keys.Holder(ctx, k.purpose, hash)
	return holder, err
}

// release gives up owner's claim of value, if owner holds it.
func (s *Service) release(ctx context.Context, k claimKind, value, owner string) error {
	if value == "" {
		return nil
	}
	hash, err := s.keys.Hash(ctx, k.purpose, value)
	if err != nil {
		return err
	}
	return s.keys.Release(ctx, k.purpose, hash, owner)
}

// live reports whether learner id holds the claim of value. With wait, a
// learner that does not (yet) is looked at again until claimGrace has
// passed, so a command in flight between its claim and its append is not
// taken over; an erased learner never holds anything again.
func (s *Service) live(ctx context.Context, k claimKind, value, id string, wait bool) (bool, error) {
	if event.ValidToken(id) != nil {
		return false, nil // not a learner id: nobody live
	}
	deadline := time.Now().Add(s.claimGrace)
	for {
		l, err := s.learners.Load(ctx, id)
		if err != nil {
			return false, err
		}
		if k.holds(l.State, value) {
			return true, nil
		}
		if !wait || l.State.Erased || time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// legacyHolder returns the learner named by the SHA-256 claim of value on
// INTAKE, "" when there is none.
func (s *Service) legacyHolder(ctx context.Context, k claimKind, value string) (string, error) {
	subject := k.legacySubject(value)
	ev, ok, err := s.learners.Store().Lookup(ctx, Stream, subject)
	if err != nil || !ok {
		return "", err
	}
	switch m := ev.Data.(type) {
	case *intakev1.IdentityClaimed:
		return m.GetLearnerId(), nil
	case *intakev1.FranceTravailIdClaimed:
		return m.GetLearnerId(), nil
	}
	return "", fmt.Errorf("intake: unexpected %s on claim subject %s", ev.Type, subject)
}

// claimed are the values a learner claimed, read from its events while
// its personal data can still be read.
type claimed struct {
	identity string
	// ftids are every France Travail identifier the learner recorded.
	ftids []string
	// complete is false when some event could not be opened (the data key
	// is erased): the values are then unknown.
	complete bool
}

// claimsOf reads the values a learner claimed from its events.
func claimsOf(evs []event.Event) claimed {
	c := claimed{complete: true}
	addFTID := func(id string) {
		if id != "" && !slices.Contains(c.ftids, id) {
			c.ftids = append(c.ftids, id)
		}
	}
	for _, ev := range evs {
		if ev.Erased {
			c.complete = false
		}
		de, _ := fromProto(ev.Data)
		switch e := de.(type) {
		case domain.LearnerRegistered:
			c.identity = domain.IdentityKey(e.FamilyName, e.GivenName, e.BirthDate)
			addFTID(e.Situation.FranceTravailID)
		case domain.SituationUpdated:
			addFTID(e.Situation.FranceTravailID)
		}
	}
	return c
}

// releaseAll gives up every claim of c that learner id holds.
func (s *Service) releaseAll(ctx context.Context, id string, c claimed) error {
	if err := s.release(ctx, identityClaim, c.identity, id); err != nil {
		return err
	}
	for _, ftid := range c.ftids {
		if err := s.release(ctx, ftidClaim, ftid, id); err != nil {
			return err
		}
	}
	return nil
}
