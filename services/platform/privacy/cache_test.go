package privacy

import "testing"

func TestCacheEvictsTheLeastRecentlyUsedAndSkipsStaleLoads(t *testing.T) {
	c := newCache(2)
	a, b, d := &entry{}, &entry{}, &entry{}
	c.put("a", a, c.epochNow())
	c.put("b", b, c.epochNow())
	if _, ok := c.get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put("d", d, c.epochNow())
	if _, ok := c.get("b"); ok {
		t.Fatal("b, the least recently used, was kept")
	}
	if got, ok := c.get("a"); !ok || got != a {
		t.Fatal("a evicted")
	}
	if c.len() != 2 {
		t.Fatalf("%d keys cached, bound 2", c.len())
	}
	// A key loaded while another was dropped is not cached.
	epoch := c.epochNow()
	c.drop("a")
	c.put("b", b, epoch)
	if _, ok := c.get("b"); ok {
		t.Fatal("a key loaded across a drop was cached")
	}
	if _, ok := c.get("a"); ok {
		t.Fatal("a dropped key is still cached")
	}
}
