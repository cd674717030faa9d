package servicetest

import (
	"context"
	"sync/atomic"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// FaultyStore is a read-model store that can be taken down, as a Redis that
// stops answering: while down, every call fails with an apperr.Unavailable
// error, as the Redis store's do. Tests use it to check that a command
// answers from the state it decided, not from a read model, and that
// nothing is stored when it cannot decide.
type FaultyStore struct {
	projection.Store
	down atomic.Bool
}

// NewFaultyStore wraps an in-memory store.
func NewFaultyStore() *FaultyStore { return &FaultyStore{Store: projection.NewMemory()} }

// SetDown takes the store down (true) or brings it back.
func (f *FaultyStore) SetDown(down bool) { f.down.Store(down) }

func (f *FaultyStore) fail() error {
	if f.down.Load() {
		return apperr.Unavailable("the read-model store is unreachable (test)")
	}
	return nil
}

// ProcessLocal reports that the wrapped store is in memory.
func (f *FaultyStore) ProcessLocal() bool { return true }

func (f *FaultyStore) Generation(ctx context.Context, p string) (string, error) {
	if err := f.fail(); err != nil {
		return "", err
	}
	return f.Store.Generation(ctx, p)
}

func (f *FaultyStore) Checkpoint(ctx context.Context, p string) (uint64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.Checkpoint(ctx, p)
}

func (f *FaultyStore) Apply(ctx context.Context, p, gen string, seq uint64, ops ...projection.Op) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.Apply(ctx, p, gen, seq, ops...)
}

func (f *FaultyStore) ApplyBatch(ctx context.Context, p, gen string, changes []projection.Change) (int, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.ApplyBatch(ctx, p, gen, changes)
}

func (f *FaultyStore) Get(ctx context.Context, p, key string) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, p, key)
}

func (f *FaultyStore) GetMany(ctx context.Context, p string, keys []string) ([][]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.GetMany(ctx, p, keys)
}

func (f *FaultyStore) Range(ctx context.Context, p, index string, q projection.RangeQuery) ([]string, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Store.Range(ctx, p, index, q)
}

func (f *FaultyStore) Count(ctx context.Context, p, index string) (int64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.Count(ctx, p, index)
}

func (f *FaultyStore) Reset(ctx context.Context, p string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Reset(ctx, p)
}

func (f *FaultyStore) Ping(ctx context.Context) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}
