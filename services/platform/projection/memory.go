package projection

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is an in-process Store, for tests and single-process tools. It
// copies byte slices on the way in and out, so callers never share memory
// with it. The zero value is not usable; call NewMemory.
type Memory struct {
	mu          sync.RWMutex
	projections map[string]*memProjection
}

// memProjection is the state of one projection.
type memProjection struct {
	generation string
	checkpoint uint64
	values     map[string][]byte
	// indexes maps an index name to its members, sorted and unique. Empty
	// indexes are removed.
	indexes map[string][]string
}

var _ Store = (*Memory)(nil)

// ProcessLocal reports that the store lives and dies with this process:
// projections kept in it are rebuilt from their streams at every start.
func (m *Memory) ProcessLocal() bool { return true }

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{projections: make(map[string]*memProjection)}
}

// Checkpoint implements Store.
func (m *Memory) Checkpoint(ctx context.Context, projection string) (uint64, error) {
	if err := checkCall(ctx, projection); err != nil {
		return 0, fmt.Errorf("projection: checkpoint: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.projections[projection]; p != nil {
		return p.checkpoint, nil
	}
	return 0, nil
}

// Generation implements Store.
func (m *Memory) Generation(ctx context.Context, projection string) (string, error) {
	if err := checkCall(ctx, projection); err != nil {
		return "", fmt.Errorf("projection: generation: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.projection(projection)
	if p.generation == "" {
		p.generation = newGeneration()
	}
	return p.generation, nil
}

// Apply implements Store.
func (m *Memory) Apply(ctx context.Context, projection, gen string, seq uint64, ops ...Op) (bool, error) {
	if err := checkCall(ctx, projection); err != nil {
		return false, fmt.Errorf("projection: apply: %w", err)
	}
	if err := validateChange(seq, ops); err != nil {
		return false, fmt.Errorf("projection: apply %s seq %d: %w", projection, seq, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.projections[projection]
	if p == nil || p.generation != gen {
		return false, fmt.Errorf("projection: apply %s seq %d: %w", projection, seq, ErrGenerationChanged)
	}
	return p.apply(seq, ops), nil
}

// ApplyBatch implements Store. The whole batch is applied under one lock, so
// readers see either none or all of it.
func (m *Memory) ApplyBatch(ctx context.Context, projection, gen string, changes []Change) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("projection: apply batch: %w", err)
	}
	if err := validateBatch(projection, changes); err != nil {
		return 0, fmt.Errorf("projection: apply batch: %w", err)
	}
	if len(changes) == 0 {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.projections[projection]
	if p == nil || p.generation != gen {
		return 0, fmt.Errorf("projection: apply batch %s: %w", projection, ErrGenerationChanged)
	}
	applied := 0
	for _, c := range changes {
		if p.apply(c.Seq, c.Ops) {
			applied++
		}
	}
	return applied, nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, projection, key string) ([]byte, error) {
	if err := checkCall(ctx, projection); err != nil {
		return nil, fmt.Errorf("projection: get: %w", err)
	}
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("projection: get %s: %w", projection, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.projections[projection]; p != nil {
		if v, ok := p.values[key]; ok {
			return cloneBytes(v), nil
		}
	}
	return nil, fmt.Errorf("projection: get %s %q: %w", projection, key, ErrNotFound)
}

// GetMany implements Store.
func (m *Memory) GetMany(ctx context.Context, projection string, keys []string) ([][]byte, error) {
	if err := checkCall(ctx, projection); err != nil {
		return nil, fmt.Errorf("projection: get many: %w", err)
	}
	for i, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, fmt.Errorf("projection: get many %s: key %d: %w", projection, i, err)
		}
	}
	out := make([][]byte, len(keys))
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := m.projections[projection]
	if p == nil {
		return out, nil
	}
	for i, k := range keys {
		if v, ok := p.values[k]; ok {
			out[i] = cloneBytes(v)
		}
	}
	return out, nil
}

// Range implements Store. Finding the first member is a binary search.
func (m *Memory) Range(ctx context.Context, projection, index string, q RangeQuery) ([]string, error) {
	if err := checkCall(ctx, projection); err != nil {
		return nil, fmt.Errorf("projection: range: %w", err)
	}
	if err := validateIndex(index); err != nil {
		return nil, fmt.Errorf("projection: range %s: %w", projection, err)
	}
	limit := rangeLimit(q.Limit)
	m.mu.RLock()
	defer m.mu.RUnlock()
	var members []string
	if p := m.projections[projection]; p != nil {
		members = p.indexes[index]
	}
	start, _ := slices.BinarySearch(members, q.Prefix)
	if q.After != "" {
		i, found := slices.BinarySearch(members, q.After)
		if found {
			i++
		}
		start = max(start, i)
	}
	out := make([]string, 0, min(limit, len(members)-start))
	for _, member := range members[start:] {
		if len(out) == limit || !strings.HasPrefix(member, q.Prefix) {
			break
		}
		out = append(out, member)
	}
	return out, nil
}

// Count implements Store.
func (m *Memory) Count(ctx context.Context, projection, index string) (int64, error) {
	if err := checkCall(ctx, projection); err != nil {
		return 0, fmt.Errorf("projection: count: %w", err)
	}
	if err := validateIndex(index); err != nil {
		return 0, fmt.Errorf("projection: count %s: %w", projection, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.projections[projection]; p != nil {
		return int64(len(p.indexes[index])), nil
	}
	return 0, nil
}

// Reset implements Store. For Memory it is atomic.
func (m *Memory) Reset(ctx context.Context, projection string) error {
	if err := checkCall(ctx, projection); err != nil {
		return fmt.Errorf("projection: reset: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.projections, projection)
	return nil
}

// Ping implements Store: a Memory store always answers.
func (m *Memory) Ping(ctx context.Context) error { return ctx.Err() }

// Close implements Store. Memory holds no external resources: Close does
// nothing and the store stays usable.
func (m *Memory) Close() error {
	return nil
}

// projection returns the state of a projection, creating it if needed. The
// caller must hold m.mu for writing.
func (m *Memory) projection(name string) *memProjection {
	p := m.projections[name]
	if p == nil {
		p = &memProjection{
			values:  make(map[string][]byte),
			indexes: make(map[string][]string),
		}
		m.projections[name] = p
	}
	return p
}

// apply performs validated ops if seq is newer than the checkpoint and
// reports whether it did.
func (p *memProjection) apply(seq uint64, ops []Op) bool {
	if seq <= p.checkpoint {
		return false
	}
	for _, op := range ops {
		switch op.kind {
		case opPut:
			p.values[op.target] = cloneBytes(op.value)
		case opDelete:
			delete(p.values, op.target)
		case opIndexAdd:
			members := p.indexes[op.target]
			if i, found := slices.BinarySearch(members, op.member); !found {
				p.indexes[op.target] = slices.Insert(members, i, op.member)
			}
		case opIndexRemove:
			members := p.indexes[op.target]
			if i, found := slices.BinarySearch(members, op.member); found {
				if len(members) == 1 {
					delete(p.indexes, op.target)
				} else {
					p.indexes[op.target] = slices.Delete(members, i, i+1)
				}
			}
		}
	}
	p.checkpoint = seq
	return true
}

// checkCall checks the context and the projection name of a call.
func checkCall(ctx context.Context, projection string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return validateName(projection)
}

// cloneBytes returns a copy of b that is never nil, so that a stored empty
// value stays distinguishable from a missing one.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
