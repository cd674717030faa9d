package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// GetJSON reads the JSON value stored at key in the read model name; found
// is false when there is none.
func GetJSON[T any](ctx context.Context, store Store, name, key string) (value T, found bool, err error) {
	b, err := store.Get(ctx, name, key)
	if errors.Is(err, ErrNotFound) {
		return value, false, nil
	}
	if err != nil {
		return value, false, err
	}
	if err := json.Unmarshal(b, &value); err != nil {
		return value, false, fmt.Errorf("projection: %s %s: %w", name, key, err)
	}
	return value, true, nil
}

// GetManyJSON reads the JSON values stored at keys in the read model name,
// in the same order, a round trip per MaxRangeLimit keys; nil for a key
// without a value.
func GetManyJSON[T any](ctx context.Context, store Store, name string, keys []string) ([]*T, error) {
	out := make([]*T, 0, len(keys))
	for chunk := range slices.Chunk(keys, MaxRangeLimit) {
		raw, err := store.GetMany(ctx, name, chunk)
		if err != nil {
			return nil, err
		}
		for i, b := range raw {
			if b == nil {
				out = append(out, nil)
				continue
			}
			v := new(T)
			if err := json.Unmarshal(b, v); err != nil {
				return nil, fmt.Errorf("projection: %s %s: %w", name, chunk[i], err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// GetManyJSONOf is GetManyJSON for the values of ids at key(id).
func GetManyJSONOf[T any](ctx context.Context, store Store, name string, ids []string, key func(string) string) ([]*T, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	return GetManyJSON[T](ctx, store, name, keys)
}

// PutJSON is the operation storing v as JSON at key.
func PutJSON(key string, v any) (Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Op{}, err
	}
	return Put(key, b), nil
}

// WaitApplied waits until the read model name has applied the stream
// sequence seq (its checkpoint), polling every few milliseconds, for at
// most timeout: a handler that reads its own writes, or needs every event
// before seq, waits with it.
func WaitApplied(ctx context.Context, store Store, name string, seq uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cp, err := store.Checkpoint(ctx, name)
		if err != nil {
			return err
		}
		if cp >= seq {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projection: read model %s at %d, behind %d after %v", name, cp, seq, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Scan walks the members of an index page by page, from q.After, keeping
// those starting with q.Prefix, handing each page (of q.Limit members,
// DefaultRangeLimit when 0) to visit until there are no more or visit
// returns false.
func Scan(ctx context.Context, store Store, name, index string, q RangeQuery, visit func(members []string) (bool, error)) error {
	for {
		members, err := store.Range(ctx, name, index, q)
		if err != nil || len(members) == 0 {
			return err
		}
		more, err := visit(members)
		if err != nil || !more {
			return err
		}
		q.After = members[len(members)-1]
	}
}
