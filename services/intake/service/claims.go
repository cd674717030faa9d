package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

// Uniqueness claims live on subjects of their own, named after the SHA-256
// of the claimed key so that no personal data appears in a subject:
//
//	avenir.intake.identity.<hex>.claimed  (domain.IdentityKey)
//	avenir.intake.ftid.<hex>.claimed      (normalised France Travail identifier)
//
// A claim is appended in the same atomic batch as the learner event that
// needs it, on the condition that its subject holds no message yet; its
// payload names the learner holding it. Claims are never released.
const (
	identityClaims      = "avenir.intake.identity."
	franceTravailClaims = "avenir.intake.ftid."
)

// claimSubject is the subject of the claim of key under prefix.
func claimSubject(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:]) + ".claimed"
}

// holder returns the learner holding the claim of key, "" when the key is
// free or empty.
func (s *Service) holder(ctx context.Context, prefix, key string) (string, error) {
	if key == "" {
		return "", nil
	}
	subject := claimSubject(prefix, key)
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
