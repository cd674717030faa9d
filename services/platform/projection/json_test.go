package projection_test

import (
	"context"
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
