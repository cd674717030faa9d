package privacy

import (
	"container/list"
	"sync"
)

// cache keeps the most recently used unwrapped data keys, up to a bound.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cached, most recently used first
	byID  map[string]*list.Element
	// epoch counts the drops: a key loaded while one happened may be the
	// dropped one, read before its erasure, and is not cached.
	epoch uint64
}

type cached struct {
	id string
	e  *entry
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the key id, marking it recently used.
func (c *cache) get(id string) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).e, true
}

// epochNow returns the current drop count, for put.
func (c *cache) epochNow() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put caches the key id loaded since epoch, unless a key was dropped
// meanwhile, evicting the least recently used key beyond the bound.
func (c *cache) put(id string, e *entry, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if el, ok := c.byID[id]; ok {
		el.Value.(*cached).e = e
		c.order.MoveToFront(el)
		return
	}
	c.byID[id] = c.order.PushFront(&cached{id: id, e: e})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*cached).id)
	}
}

// drop forgets the key id.
func (c *cache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if el, ok := c.byID[id]; ok {
		c.order.Remove(el)
		delete(c.byID, id)
	}
}

// len returns the number of cached keys.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
