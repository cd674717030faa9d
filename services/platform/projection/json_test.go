package projection_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/projection"
)

func TestJSONValuesAndWaitingForACheckpoint(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	type view struct{ Name string }
	if _, found, err := projection.GetJSON[view](ctx, store, "rm", "k"); found || err != nil {
		t.Fatalf("missing value: found %v, %v", found, err)
	}
	op, err := projection.PutJSON("k", view{"Léa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(ctx, "rm", mustGeneration(t, store, "rm"), 3, op); err != nil {
		t.Fatal(err)
	}
	if v, found, err := projection.GetJSON[view](ctx, store, "rm", "k"); !found || err != nil || v.Name != "Léa" {
		t.Fatalf("read %v %v %v", v, found, err)
	}
	if err := projection.WaitApplied(ctx, store, "rm", 3, time.Second); err != nil {
		t.Fatalf("checkpoint 3 reached: %v", err)
	}
	if err := projection.WaitApplied(ctx, store, "rm", 4, 30*time.Millisecond); err == nil {
		t.Fatal("waited for sequence 4 successfully, but only 3 was applied")
	}
}

func TestScanVisitsEveryPageInOrder(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	gen := mustGeneration(t, store, "rm")
	var ops []projection.Op
	for i := range 25 {
		ops = append(ops, projection.IndexAdd("i", fmt.Sprintf("a/%02d", i)), projection.IndexAdd("i", fmt.Sprintf("b/%02d", i)))
	}
	if _, err := store.Apply(ctx, "rm", gen, 1, ops...); err != nil {
		t.Fatal(err)
	}
	var got []string
	pages := 0
	err := projection.Scan(ctx, store, "rm", "i", projection.RangeQuery{Prefix: "b/", Limit: 10}, func(members []string) (bool, error) {
		pages++
		got = append(got, members...)
		return true, nil
	})
	if err != nil || pages != 3 || len(got) != 25 || got[0] != "b/00" || got[24] != "b/24" {
		t.Fatalf("scan: %d pages, %v, %v", pages, got, err)
	}
	pages = 0
	_ = projection.Scan(ctx, store, "rm", "i", projection.RangeQuery{Limit: 10}, func([]string) (bool, error) { pages++; return false, nil })
	if pages != 1 {
		t.Fatalf("a visit returning false read %d pages", pages)
	}
}

// countingStore counts the GetMany round trips.
type countingStore struct {
	projection.Store
	calls, most int
}

func (c *countingStore) GetMany(ctx context.Context, name string, keys []string) ([][]byte, error) {
	c.calls++
	c.most = max(c.most, len(keys))
	return c.Store.GetMany(ctx, name, keys)
}

func TestGetManyJSONReadsAnyNumberOfKeysInOrder(t *testing.T) {
	ctx := context.Background()
	mem := projection.NewMemory()
	type view struct{ N int }
	var ops []projection.Op
	ids := make([]string, 2500)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
		if i%2 == 0 {
			op, err := projection.PutJSON("v:"+ids[i], view{i})
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, op)
		}
	}
	if _, err := mem.Apply(ctx, "rm", mustGeneration(t, mem, "rm"), 1, ops...); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	got, err := projection.GetManyJSONOf[view](ctx, store, "rm", ids, func(id string) string { return "v:" + id })
	if err != nil || len(got) != len(ids) {
		t.Fatalf("read %d values: %v", len(got), err)
	}
	for i, v := range got {
		if (i%2 == 0) != (v != nil) || (v != nil && v.N != i) {
			t.Fatalf("value %d: %v", i, v)
		}
	}
	if store.calls != 3 || store.most != projection.MaxRangeLimit {
		t.Errorf("%d round trips of at most %d keys, want 3 of at most %d", store.calls, store.most, projection.MaxRangeLimit)
	}
}
