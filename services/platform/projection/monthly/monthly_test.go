package monthly_test

import (
	"context"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// bucket is a stored value, as JSON.
type bucket struct{ V string }

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	const proj = "test-months"
	seq := uint64(0)
	gen, err := store.Generation(ctx, proj)
	if err != nil {
		t.Fatal(err)
	}
	put := func(territory string, m civil.Month, v string) {
		seq++
		ops, err := monthly.Put(monthly.Member(territory, m), bucket{V: v})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(ctx, proj, gen, seq, ops...); err != nil {
			t.Fatal(err)
		}
	}
	put("T05", civil.Month{Year: 2026, Month: 1}, "a")
	put("T05", civil.Month{Year: 2026, Month: 3}, "b")
	put("T05", civil.Month{Year: 2027, Month: 1}, "c")
	put("T16", civil.Month{Year: 2026, Month: 2}, "d")
	if b, err := monthly.Get[bucket](ctx, store, proj, monthly.Member("T05", civil.Month{Year: 2026, Month: 3})); err != nil || b.V != "b" {
		t.Fatalf("Get: %q %v", b, err)
	}
	if b, err := monthly.Get[bucket](ctx, store, proj, monthly.Member("T05", civil.Month{Year: 2026, Month: 2})); err != nil || b != (bucket{}) {
		t.Fatalf("Get of an empty bucket: %q %v", b, err)
	}
	got, err := monthly.Load[bucket](ctx, store, proj, []string{"T05/"}, civil.Month{Year: 2026, Month: 2}, civil.Month{Year: 2026, Month: 12})
	if err != nil || len(got) != 1 || len(got["T05"]) != 1 || got["T05"][civil.Month{Year: 2026, Month: 3}].V != "b" {
		t.Fatalf("Load T05 2026-02..12: %v %v", got, err)
	}
	all, err := monthly.Load[bucket](ctx, store, proj, []string{""}, civil.Month{}, civil.Month{Year: 2026, Month: 12})
	if err != nil || len(all["T05"]) != 2 || len(all["T16"]) != 1 {
		t.Fatalf("Load all up to 2026-12: %v %v", all, err)
	}
	if _, _, ok := monthly.Parse("T05-2026-01"); ok {
		t.Error("malformed member parsed")
	}
}
