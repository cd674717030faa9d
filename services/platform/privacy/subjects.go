// Package privacy keeps personal data unreadable without per-learner data
// keys, and destroys a learner's key to erase them (crypto-shredding):
// docs/adr/0064-personal-data-sealed-with-per-learner-keys.md.
//
// The Keyring stores data keys, wrapped by a master key, in a JetStream
// stream of their own (AVENIR_KEYS), whose messages may be deleted while the
// event streams' may not; it seals and opens data with them (AES-256-GCM),
// erases them, computes keyed hashes for duplicate detection without clear
// data, and keeps the uniqueness claims made of those hashes.
//
// Subjects of the stream:
//
//	avenir.keys.data.<key id>              a data key, wrapped (header avenir-master-key)
//	avenir.keys.erased.<key id>            the tombstone of an erased data key
//	avenir.keys.claim.<purpose>.<hash>     a uniqueness claim: the holder's id
//
// Key ids are learner.<learner id> (LearnerKey) and scheme.hmac (HMACKey).
package privacy

import (
	"fmt"
	"regexp"

	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// Stream is the default name of the key store's stream.
const Stream = "AVENIR_KEYS"

// Subject prefixes.
const (
	subjectPrefix = "avenir.keys."
	dataPrefix    = subjectPrefix + "data."
	erasedPrefix  = subjectPrefix + "erased."
	claimPrefix   = subjectPrefix + "claim."
)

// HeaderMasterKey names, on a data key message, the master key (its ID)
// that wrapped it.
const HeaderMasterKey = "avenir-master-key"

// HMACKey is the id of the data key of keyed hashes (Hash).
const HMACKey = "scheme.hmac"

// StreamSpec declares the key store's stream: the project's defaults, but
// messages may be deleted (erasure destroys keys, releasing a claim deletes
// it); purging stays denied.
func StreamSpec() natsx.StreamSpec {
	return natsx.StreamSpec{
		Name:           Stream,
		Subjects:       []string{subjectPrefix + ">"},
		Description:    "avenir key store: data keys wrapped by the master key, erasure tombstones, uniqueness claims",
		AllowMsgDelete: true,
	}
}

// LearnerKey is the id of the data key of a learner's personal data.
func LearnerKey(learnerID string) string { return event.LearnerKeyID(learnerID) }

var (
	keyIDPattern   = regexp.MustCompile(`^(learner\.[a-z0-9][a-z0-9_-]{0,127}|scheme\.hmac)$`)
	purposePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	hashPattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// validKeyID checks a key id: learner.<id> (lower-case letters, digits, '-'
// and '_') or scheme.hmac, so it can never inject a subject token.
func validKeyID(id string) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("privacy: key id %q is neither learner.<id> (lower-case letters, digits, '-', '_') nor %s", id, HMACKey)
	}
	return nil
}

// validPurpose checks the purpose of a hash or claim: lower-case letters,
// digits, '-' and '_'.
func validPurpose(p string) error {
	if !purposePattern.MatchString(p) {
		return fmt.Errorf("privacy: purpose %q must be lower-case letters, digits, '-' and '_'", p)
	}
	return nil
}

func dataSubject(keyID string) string   { return dataPrefix + keyID }
func erasedSubject(keyID string) string { return erasedPrefix + keyID }

// claimSubject is the subject of the claim of hash (a Hash) for purpose.
func claimSubject(purpose, hash string) (string, error) {
	if err := validPurpose(purpose); err != nil {
		return "", err
	}
	if !hashPattern.MatchString(hash) {
		return "", fmt.Errorf("privacy: claim hash %q is not 64 lower-case hex characters (see Hash)", hash)
	}
	return claimPrefix + purpose + "." + hash, nil
}
