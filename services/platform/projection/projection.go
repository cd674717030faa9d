// Package projection stores read models: derived state that services build by
// consuming events from JetStream streams and that can always be rebuilt by
// replaying those streams.
//
// Every projection records the stream sequence of the last event it applied,
// its checkpoint, in the same atomic write as the data the event produced.
// Apply only writes when the event's sequence is greater than the checkpoint
// ("apply-if-newer"), so a redelivered or replayed event is a no-op and a
// consumer can safely acknowledge late or retry freely.
//
// A projection holds two kinds of data, both scoped by the projection's name:
// values (arbitrary bytes under a string key) and indexes (lexicographically
// ordered sets of string members, read page by page with Range).
//
// Two implementations share the Store contract: Memory, for tests and
// single-process tools, and Redis, for services.
package projection

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrNotFound is returned by Get when the key holds no value.
var ErrNotFound = errors.New("projection: not found")

// ErrGenerationChanged is wrapped by the errors of Apply and ApplyBatch
// when the projection is no longer in the generation the writer started
// from: the store lost the projection (Redis flushed, or restarted without
// persistence) or it was reset. Nothing is written: the writer must rebuild
// the projection from its stream under the new generation.
var ErrGenerationChanged = errors.New("projection: generation changed: the read model was lost or reset")

// ErrInvalid is wrapped by every error caused by invalid input: a malformed
// projection name, a zero sequence, an empty key, index or member, or a zero
// Op. Such calls write nothing.
var ErrInvalid = errors.New("projection: invalid input")

// Range limits.
const (
	// DefaultRangeLimit is the page size used when RangeQuery.Limit is <= 0.
	DefaultRangeLimit = 100
	// MaxRangeLimit caps RangeQuery.Limit.
	MaxRangeLimit = 1000
)

// maxNameLen is the maximum length of a projection name.
const maxNameLen = 64

// opKind identifies what an Op does. The zero value is invalid so that a
// zero Op is rejected instead of silently doing something.
type opKind uint8

const (
	opInvalid opKind = iota
	opPut
	opDelete
	opIndexAdd
	opIndexRemove
)

// Op is one write inside an atomic Apply. Build it with Put, Delete,
// IndexAdd or IndexRemove; the zero Op is invalid.
type Op struct {
	kind opKind
	// target is the value key for Put and Delete, the index name for
	// IndexAdd and IndexRemove.
	target string
	member string
	value  []byte
}

// Put stores value under key, replacing any previous value. A nil value
// stores an empty value. The store copies value during Apply; the caller must
// not modify it until Apply returns.
func Put(key string, value []byte) Op {
	return Op{kind: opPut, target: key, value: value}
}

// Delete removes the value stored under key, if any.
func Delete(key string) Op {
	return Op{kind: opDelete, target: key}
}

// IndexAdd adds member to index. Indexes are sets ordered by the byte-wise
// comparison of their members; adding a present member is a no-op.
func IndexAdd(index, member string) Op {
	return Op{kind: opIndexAdd, target: index, member: member}
}

// IndexRemove removes member from index, if present. An index left empty no
// longer exists and counts zero members.
func IndexRemove(index, member string) Op {
	return Op{kind: opIndexRemove, target: index, member: member}
}

// Change is the set of writes one event produces, tagged with the event's
// stream sequence.
type Change struct {
	Seq uint64
	Ops []Op
}

// RangeQuery selects one page of an index's members, in ascending byte-wise
// order.
type RangeQuery struct {
	// Prefix keeps only members starting with Prefix ("" keeps all).
	Prefix string
	// After is an exclusive lower bound for pagination: only members greater
	// than After are returned ("" starts from the beginning). Pass the last
	// member of the previous page to get the next one.
	After string
	// Limit is the maximum number of members returned. Values <= 0 mean
	// DefaultRangeLimit; values above MaxRangeLimit are capped.
	Limit int
}

// Store is a read-model store. Memory and Redis implement it. Everything is
// scoped by a projection name: a short identifier made of 1 to 64 lowercase
// ASCII letters, digits and hyphens, such as "pathway-learners".
//
// Each projection carries a generation: a marker created with its first
// write, which disappears with its data (a Redis flushed or restarted
// without persistence, a Reset). Writers state the generation they build
// on, so a writer that has not noticed a loss cannot write a partial read
// model over it: it gets ErrGenerationChanged, rebuilds from its stream,
// and the store stays either complete or visibly rebuilding.
//
// Errors reaching the store itself (Redis down) are apperr.Unavailable.
//
// All methods are safe for concurrent use.
type Store interface {
	// Generation returns the projection's generation marker, creating one
	// when there is none: a new, lost or reset projection, whose checkpoint
	// is then 0.
	Generation(ctx context.Context, projection string) (string, error)
	// Checkpoint returns the last stream sequence applied to the projection,
	// 0 if none.
	Checkpoint(ctx context.Context, projection string) (uint64, error)
	// Apply performs ops in order and sets the checkpoint to seq, atomically
	// and only if the projection is in generation gen and seq is greater
	// than the checkpoint. It reports whether it applied. Another
	// generation is an error wrapping ErrGenerationChanged. Invalid input
	// (empty key, index or member, zero Op, seq 0, bad projection name) is an
	// error wrapping ErrInvalid. Neither writes anything. An Apply with no
	// ops only advances the checkpoint.
	Apply(ctx context.Context, projection, gen string, seq uint64, ops ...Op) (bool, error)
	// ApplyBatch applies changes in order, each with the semantics of
	// Apply, in one round trip, and returns how many applied. If any change
	// is invalid, or the generation is not gen, nothing is written. If an
	// error occurs while writing, the count covers the changes known to
	// have applied; retrying the whole batch is safe.
	ApplyBatch(ctx context.Context, projection, gen string, changes []Change) (int, error)
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound when there is none.
	Get(ctx context.Context, projection, key string) ([]byte, error)
	// GetMany returns the values stored under keys, in the same order, with
	// a nil entry for each missing key. Present empty values are non-nil.
	GetMany(ctx context.Context, projection string, keys []string) ([][]byte, error)
	// Range returns one page of index members selected by q.
	Range(ctx context.Context, projection, index string, q RangeQuery) ([]string, error)
	// Count returns the number of members of index.
	Count(ctx context.Context, projection, index string) (int64, error)
	// Reset deletes all values, indexes, the checkpoint and the generation
	// of one projection, so that it can be rebuilt from the start of its
	// streams. It is not atomic, but a writer of the old generation can no
	// longer write once it has begun.
	Reset(ctx context.Context, projection string) error
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// newGeneration returns a fresh, unique generation marker.
func newGeneration() string { return rand.Text() }

// validateName checks a projection name: 1 to 64 characters in [a-z0-9-].
func validateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("projection name %q: must have 1 to %d characters: %w", name, maxNameLen, ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("projection name %q: only a-z, 0-9 and '-' are allowed: %w", name, ErrInvalid)
		}
	}
	return nil
}

// validateKey checks a value key.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key: %w", ErrInvalid)
	}
	return nil
}

// validateIndex checks an index name.
func validateIndex(index string) error {
	if index == "" {
		return fmt.Errorf("empty index: %w", ErrInvalid)
	}
	return nil
}

// validateChange checks the sequence and every op of one change.
func validateChange(seq uint64, ops []Op) error {
	if seq == 0 {
		return fmt.Errorf("seq 0: sequences start at 1: %w", ErrInvalid)
	}
	for i, op := range ops {
		if err := op.validate(); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}

// validate checks one op.
func (op Op) validate() error {
	switch op.kind {
	case opPut, opDelete:
		return validateKey(op.target)
	case opIndexAdd, opIndexRemove:
		if err := validateIndex(op.target); err != nil {
			return err
		}
		if op.member == "" {
			return fmt.Errorf("index %q: empty member: %w", op.target, ErrInvalid)
		}
		return nil
	default:
		return fmt.Errorf("zero Op: build ops with Put, Delete, IndexAdd or IndexRemove: %w", ErrInvalid)
	}
}

// validateBatch checks the projection name and every change of a batch.
func validateBatch(projection string, changes []Change) error {
	if err := validateName(projection); err != nil {
		return err
	}
	for i, c := range changes {
		if err := validateChange(c.Seq, c.Ops); err != nil {
			return fmt.Errorf("change %d (seq %d): %w", i, c.Seq, err)
		}
	}
	return nil
}

// rangeLimit normalizes RangeQuery.Limit.
func rangeLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultRangeLimit
	case limit > MaxRangeLimit:
		return MaxRangeLimit
	default:
		return limit
	}
}

// prefixEnd returns the smallest string greater than every string that starts
// with prefix, and false when there is none (prefix is empty or only made of
// 0xff bytes). It is exact for arbitrary bytes, unlike prefix+"\xff", which
// misses members continuing with a 0xff byte.
func prefixEnd(prefix string) (string, bool) {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			return prefix[:i] + string([]byte{prefix[i] + 1}), true
		}
	}
	return "", false
}
