package eventstore

import (
	"context"
	"slices"
	"sync"
)

// keyedLocks serialises the commands of one process on the same aggregate.
//
// Optimistic concurrency keeps aggregates consistent across processes, but
// within a process many callers racing on one aggregate (200 bookings of the
// last places of a session) would mostly lose, reload and retry until their
// retries run out. Queuing them instead turns each conflict into a wait:
// only writers in other processes still conflict.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // holds a token while the lock is held
	refs int           // holders and waiters
}

// lock takes the locks of keys, in sorted order so that two commands over
// overlapping sets of aggregates cannot wait for each other. It returns the
// function releasing them, or the context's error if it ends first.
func (l *keyedLocks) lock(ctx context.Context, keys ...string) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	held := make([]string, 0, len(keys))
	release := func() {
		for _, k := range held {
			l.unlock(k)
		}
	}
	for _, k := range keys {
		lk := l.ref(k)
		select {
		case lk.ch <- struct{}{}:
			held = append(held, k)
		case <-ctx.Done():
			l.deref(k)
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

func (l *keyedLocks) ref(key string) *keyedLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = make(map[string]*keyedLock)
	}
	lk, ok := l.locks[key]
	if !ok {
		lk = &keyedLock{ch: make(chan struct{}, 1)}
		l.locks[key] = lk
	}
	lk.refs++
	return lk
}

func (l *keyedLocks) deref(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lk := l.locks[key]
	if lk.refs--; lk.refs == 0 {
		delete(l.locks, key)
	}
}

func (l *keyedLocks) unlock(key string) {
	l.mu.Lock()
	lk := l.locks[key]
	l.mu.Unlock()
	<-lk.ch
	l.deref(key)
}
