package monthly_test

import (
	"context"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

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
		if _, err := store.Apply(ctx, proj, gen, seq, monthly.Put(monthly.Member(territory, m), []byte(v))...); err != nil {
			t.Fatal(err)
		}
	}
	put("T05", civil.Month{Year: 2026, Month: 1}, "a")
	put("T05", civil.Month{Year: 2026, Month: 3}, "b")
	put("T05", civil.Month{Year: 2027, Month: 1}, "c")
	put("T16", civil.Month{Year: 2026, Month: 2}, "d")
	if b, err := monthly.Get(ctx, store, proj, monthly.Member("T05", civil.Month{Year: 2026, Month: 3})); err != nil || string(b) != "b" {
		t.Fatalf("Get: %q %v", b, err)
	}
	if b, err := monthly.Get(ctx, store, proj, monthly.Member("T05", civil.Month{Year: 2026, Month: 2})); err != nil || b != nil {
		t.Fatalf("Get of an empty bucket: %q %v", b, err)
	}
	got, err := monthly.Load(ctx, store, proj, []string{"T05/"}, civil.Month{Year: 2026, Month: 2}, civil.Month{Year: 2026, Month: 12})
	if err != nil || len(got) != 1 || len(got["T05"]) != 1 || string(got["T05"][civil.Month{Year: 2026, Month: 3}]) != "b" {
		t.Fatalf("Load T05 2026-02..12: %v %v", got, err)
	}
	all, err := monthly.Load(ctx, store, proj, []string{""}, civil.Month{}, civil.Month{Year: 2026, Month: 12})
	if err != nil || len(all["T05"]) != 2 || len(all["T16"]) != 1 {
		t.Fatalf("Load all up to 2026-12: %v %v", all, err)
	}
	if _, _, ok := monthly.Parse("T05-2026-01"); ok {
		t.Error("malformed member parsed")
	}
}
