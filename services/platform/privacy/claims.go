package privacy

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotHolder is wrapped by the error of Reassign when the claim is not
// held by the owner it is taken from (or was changed concurrently).
var ErrNotHolder = errors.New("privacy: the claim is not held by that owner")

// maxOwner bounds the length of a claim's owner id.
const maxOwner = 256

// Uniqueness claims make a value (a person's identity, an external id)
// belong to one owner (a learner id) without storing it: the claim is
// named by the value's keyed hash (Hash) and holds the owner's id. Unlike
// events, a claim may be deleted (Release) when its owner's data is erased.

// Claim makes owner hold the claim of hash (a Hash for purpose) if nobody
// does, and returns the holder: owner, or whoever held it already (owner
// too when the claim is retried).
func (k *Keyring) Claim(ctx context.Context, purpose, hash, owner string) (string, error) {
	subject, err := claimSubject(purpose, hash)
	if err != nil {
		return "", err
	}
	if err := validOwner(owner); err != nil {
		return "", err
	}
	for range 5 {
		msg := nats.NewMsg(subject)
		msg.Data = []byte(owner)
		_, err := k.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(k.stream), jetstream.WithExpectLastSequencePerSubject(0))
		if err == nil {
			return owner, nil
		}
		if !conflict(err) {
			return "", k.fail(ctx, "claim "+subject, err)
		}
		holder, ok, err := k.Holder(ctx, purpose, hash)
		if err != nil {
			return "", err
		}
		if ok {
			return holder, nil
		}
		// Released in between: claim again.
	}
	return "", fmt.Errorf("privacy: claim %s: claimed and released concurrently too often", subject)
}

// Holder returns who holds the claim of hash for purpose, if anyone.
func (k *Keyring) Holder(ctx context.Context, purpose, hash string) (string, bool, error) {
	subject, err := claimSubject(purpose, hash)
	if err != nil {
		return "", false, err
	}
	raw, err := k.holder(ctx, subject)
	if raw == nil || err != nil {
		return "", false, err
	}
	return string(raw.Data), true, nil
}

// holder reads the claim message on subject, nil if there is none.
func (k *Keyring) holder(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	raw, err := k.lastMsg(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, k.fail(ctx, "read the claim "+subject, err)
	}
	return raw, nil
}

// Reassign hands the claim of hash for purpose from owner from, which the
// caller has established no longer exists, to owner to, and deletes the
// old claim. It is a no-op when to holds it already; when someone else
// does (or nobody), the error wraps ErrNotHolder.
func (k *Keyring) Reassign(ctx context.Context, purpose, hash, from, to string) error {
	subject, err := claimSubject(purpose, hash)
	if err != nil {
		return err
	}
	if err := validOwner(to); err != nil {
		return err
	}
	raw, err := k.holder(ctx, subject)
	if err != nil {
		return err
	}
	switch {
	case raw == nil:
		return fmt.Errorf("privacy: reassign %s from %s: nobody holds it: %w", subject, from, ErrNotHolder)
	case string(raw.Data) == to:
		return nil
	case string(raw.Data) != from:
		return fmt.Errorf("privacy: reassign %s from %s: %s holds it: %w", subject, from, raw.Data, ErrNotHolder)
	}
	msg := nats.NewMsg(subject)
	msg.Data = []byte(to)
	_, err = k.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(k.stream), jetstream.WithExpectLastSequencePerSubject(raw.Sequence))
	if conflict(err) {
		return fmt.Errorf("privacy: reassign %s from %s: changed concurrently: %w", subject, from, ErrNotHolder)
	}
	if err != nil {
		return k.fail(ctx, "reassign "+subject, err)
	}
	if err := k.secureDelete(ctx, raw.Sequence); err != nil {
		// The claim is reassigned; only the old holder's id stays behind.
		k.log.WarnContext(ctx, "keyring: deleting a reassigned claim failed", "subject", subject, "seq", raw.Sequence, "error", err)
	}
	return nil
}

// Release deletes the claim of hash for purpose if owner holds it, and
// does nothing otherwise.
func (k *Keyring) Release(ctx context.Context, purpose, hash, owner string) error {
	subject, err := claimSubject(purpose, hash)
	if err != nil {
		return err
	}
	raw, err := k.holder(ctx, subject)
	if err != nil || raw == nil || string(raw.Data) != owner {
		return err
	}
	if err := k.secureDelete(ctx, raw.Sequence); err != nil {
		return k.fail(ctx, "release "+subject, err)
	}
	return nil
}

// validOwner checks a claim's owner id.
func validOwner(owner string) error {
	if owner == "" || len(owner) > maxOwner {
		return fmt.Errorf("privacy: a claim's owner id has 1 to %d bytes, got %d", maxOwner, len(owner))
	}
	return nil
}
