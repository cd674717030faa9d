// Package storetest is the contract suite of projection.Store: every
// implementation must pass Run.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Run runs the contract suite. Each subtest runs in parallel with the others
// and calls newStore for a store of its own, which must be empty; Run closes
// it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) projection.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s projection.Store)
	}{
		{"ApplyThenGet", testApplyThenGet},
		{"ApplyIfNewer", testApplyIfNewer},
		{"SequenceOrder", testSequenceOrder},
		{"CheckpointsPerProjection", testCheckpointsPerProjection},
		{"Delete", testDelete},
		{"OpsInOrder", testOpsInOrder},
		{"Index", testIndex},
		{"RangeLimit", testRangeLimit},
		{"Count", testCount},
		{"GetMany", testGetMany},
		{"InvalidInputWritesNothing", testInvalidInput},
		{"ApplyBatch", testApplyBatch},
		{"Reset", testReset},
		{"Generation", testGeneration},
		{"BinarySafe", testBinarySafe},
		{"ValuesAreCopied", testValuesAreCopied},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentSameSeq", testConcurrentSameSeq},
		{"ConcurrentIncreasingSeqs", testConcurrentIncreasingSeqs},
		{"ConcurrentBatches", testConcurrentBatches},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

func testApplyThenGet(t *testing.T, s projection.Store) {
	ctx := t.Context()
	wantCheckpoint(t, s, "learners", 0)
	wantApply(t, s, "learners", 1, true,
		projection.Put("a", []byte("1")),
		projection.Put("b", []byte("2")),
		projection.IndexAdd("all", "a"))
	wantValue(t, s, "learners", "a", "1")
	wantValue(t, s, "learners", "b", "2")
	wantRange(t, s, "learners", "all", projection.RangeQuery{}, "a")
	wantCheckpoint(t, s, "learners", 1)
	wantNotFound(t, s, "learners", "missing")
	wantNotFound(t, s, "other", "a")

	// An event that does not touch the data still advances the checkpoint.
	wantApply(t, s, "learners", 2, true)
	wantCheckpoint(t, s, "learners", 2)
	wantValue(t, s, "learners", "a", "1")

	if _, err := s.Get(ctx, "learners", "missing"); err == nil || !strings.HasPrefix(err.Error(), "projection: ") {
		t.Errorf("Get missing: error %v, want one starting with %q", err, "projection: ")
	}
}

func testApplyIfNewer(t *testing.T, s projection.Store) {
	wantApply(t, s, "p", 5, true, projection.Put("k", []byte("v5")), projection.IndexAdd("idx", "m5"))
	// Same sequence: a redelivery.
	wantApply(t, s, "p", 5, false, projection.Put("k", []byte("dup")), projection.IndexAdd("idx", "dup"))
	// Older sequence.
	wantApply(t, s, "p", 3, false, projection.Delete("k"), projection.IndexRemove("idx", "m5"), projection.IndexAdd("idx", "old"))
	wantValue(t, s, "p", "k", "v5")
	wantRange(t, s, "p", "idx", projection.RangeQuery{}, "m5")
	wantCheckpoint(t, s, "p", 5)

	wantApply(t, s, "p", 6, true, projection.Put("k", []byte("v6")))
	wantValue(t, s, "p", "k", "v6")
	wantCheckpoint(t, s, "p", 6)
}

// testSequenceOrder checks that sequences compare as numbers over the whole
// uint64 range: across digit counts and beyond float64 precision.
func testSequenceOrder(t *testing.T, s projection.Store) {
	for _, seq := range []uint64{9, 10, 99, 100, 1 << 53, 1<<53 + 1, math.MaxUint64 - 1, math.MaxUint64} {
		wantApply(t, s, "p", seq, true)
		wantCheckpoint(t, s, "p", seq)
	}
	for _, seq := range []uint64{1, 11, 1<<53 + 1, math.MaxUint64 - 1, math.MaxUint64} {
		wantApply(t, s, "p", seq, false)
	}
	wantCheckpoint(t, s, "p", math.MaxUint64)
}

func testCheckpointsPerProjection(t *testing.T, s projection.Store) {
	wantApply(t, s, "alpha", 10, true, projection.Put("k", []byte("alpha")))
	wantApply(t, s, "beta", 3, true, projection.Put("k", []byte("beta")))
	wantCheckpoint(t, s, "alpha", 10)
	wantCheckpoint(t, s, "beta", 3)
	wantCheckpoint(t, s, "gamma", 0)
	wantApply(t, s, "beta", 5, true)
	wantApply(t, s, "alpha", 5, false)
	wantCheckpoint(t, s, "alpha", 10)
	wantCheckpoint(t, s, "beta", 5)
	wantValue(t, s, "alpha", "k", "alpha")
	wantValue(t, s, "beta", "k", "beta")
}

func testDelete(t *testing.T, s projection.Store) {
	wantApply(t, s, "p", 1, true, projection.Put("k1", []byte("1")), projection.Put("k2", []byte("2")))
	wantApply(t, s, "p", 2, true, projection.Delete("k1"), projection.Delete("never-written"))
	wantNotFound(t, s, "p", "k1")
	wantNotFound(t, s, "p", "never-written")
	wantValue(t, s, "p", "k2", "2")
	wantCheckpoint(t, s, "p", 2)
}

func testOpsInOrder(t *testing.T, s projection.Store) {
	wantApply(t, s, "p", 1, true,
		projection.Put("put-then-delete", []byte("x")),
		projection.Delete("put-then-delete"),
		projection.Delete("delete-then-put"),
		projection.Put("delete-then-put", []byte("y")),
		projection.Put("overwritten", []byte("first")),
		projection.Put("overwritten", []byte("second")),
		projection.IndexAdd("idx", "add-then-remove"),
		projection.IndexRemove("idx", "add-then-remove"),
		projection.IndexRemove("idx", "remove-then-add"),
		projection.IndexAdd("idx", "remove-then-add"))
	wantNotFound(t, s, "p", "put-then-delete")
	wantValue(t, s, "p", "delete-then-put", "y")
	wantValue(t, s, "p", "overwritten", "second")
	wantRange(t, s, "p", "idx", projection.RangeQuery{}, "remove-then-add")
}

func testIndex(t *testing.T, s projection.Store) {
	var ops []projection.Op
	var learners, mentors []string
	for i := 1; i <= 25; i++ {
		m := fmt.Sprintf("learner:%03d", i)
		learners = append(learners, m)
		ops = append(ops, projection.IndexAdd("people", m))
	}
	for i := 1; i <= 5; i++ {
		m := fmt.Sprintf("mentor:%02d", i)
		mentors = append(mentors, m)
		ops = append(ops, projection.IndexAdd("people", m))
	}
	// Added in reverse order: ranges must still be sorted.
	slices.Reverse(ops)
	ops = append(ops, projection.IndexAdd("people", "z"), projection.IndexAdd("other", "learner:999"))
	wantApply(t, s, "p", 1, true, ops...)
	all := slices.Concat(learners, mentors, []string{"z"})

	wantRange(t, s, "p", "people", projection.RangeQuery{}, all...)
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "mentor:"}, mentors...)
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "learner:", Limit: 10}, learners[:10]...)
	wantRange(t, s, "p", "people", projection.RangeQuery{Limit: 3}, learners[:3]...)
	// After is exclusive, whether or not it is a member.
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "learner:", After: "learner:010", Limit: 2}, "learner:011", "learner:012")
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "learner:", After: "learner:0105", Limit: 2}, "learner:011", "learner:012")
	wantRange(t, s, "p", "people", projection.RangeQuery{After: "mentor:05"}, "z")
	// After below the prefix range is irrelevant; above it, nothing matches.
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "mentor:", After: "a"}, mentors...)
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "learner:", After: "m"})
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "nobody"})
	wantRange(t, s, "p", "people", projection.RangeQuery{After: "z"})
	wantRange(t, s, "p", "missing-index", projection.RangeQuery{})
	wantRange(t, s, "p", "other", projection.RangeQuery{}, "learner:999")

	// Walk every page.
	for _, pageSize := range []int{1, 7, 25, 26} {
		pages := 0
		var got []string
		q := projection.RangeQuery{Prefix: "learner:", Limit: pageSize}
		for {
			page, err := s.Range(t.Context(), "p", "people", q)
			if err != nil {
				t.Fatalf("Range %s: %v", formatQuery(q), err)
			}
			if len(page) > pageSize {
				t.Fatalf("Range %s: %d members, more than the limit", formatQuery(q), len(page))
			}
			if len(page) == 0 {
				break
			}
			pages++
			got = append(got, page...)
			q.After = page[len(page)-1]
		}
		if !slices.Equal(got, learners) {
			t.Errorf("pages of %d: got %q, want %q", pageSize, got, learners)
		}
		if want := (len(learners) + pageSize - 1) / pageSize; pages != want {
			t.Errorf("pages of %d: %d non-empty pages, want %d", pageSize, pages, want)
		}
	}

	wantApply(t, s, "p", 2, true,
		projection.IndexRemove("people", "z"),
		projection.IndexRemove("people", "mentor:03"),
		projection.IndexRemove("people", "not-a-member"),
		projection.IndexRemove("missing-index", "x"),
		projection.IndexRemove("other", "learner:999"))
	wantRange(t, s, "p", "people", projection.RangeQuery{Prefix: "mentor:"}, "mentor:01", "mentor:02", "mentor:04", "mentor:05")
	wantCount(t, s, "p", "people", 29)
	wantCount(t, s, "p", "other", 0)
	wantRange(t, s, "p", "other", projection.RangeQuery{})
}

func testRangeLimit(t *testing.T, s projection.Store) {
	const n = projection.MaxRangeLimit + 100
	members := make([]string, n)
	ops := make([]projection.Op, n)
	for i := range members {
		members[i] = fmt.Sprintf("m%05d", i)
		ops[i] = projection.IndexAdd("big", members[i])
	}
	wantApply(t, s, "p", 1, true, ops...)
	wantCount(t, s, "p", "big", n)
	for _, tc := range []struct{ limit, want int }{
		{0, projection.DefaultRangeLimit},
		{-1, projection.DefaultRangeLimit},
		{1, 1},
		{projection.MaxRangeLimit, projection.MaxRangeLimit},
		{projection.MaxRangeLimit + 1, projection.MaxRangeLimit},
		{math.MaxInt, projection.MaxRangeLimit},
	} {
		wantRange(t, s, "p", "big", projection.RangeQuery{Limit: tc.limit}, members[:tc.want]...)
	}
}

func testCount(t *testing.T, s projection.Store) {
	wantCount(t, s, "p", "idx", 0)
	wantApply(t, s, "p", 1, true, projection.IndexAdd("idx", "a"), projection.IndexAdd("idx", "b"), projection.IndexAdd("idx", "a"))
	wantCount(t, s, "p", "idx", 2)
	wantApply(t, s, "p", 2, true, projection.IndexAdd("idx", "b"), projection.IndexAdd("idx", "c"))
	wantCount(t, s, "p", "idx", 3)
	wantApply(t, s, "p", 3, true, projection.IndexRemove("idx", "a"), projection.IndexRemove("idx", "a"))
	wantCount(t, s, "p", "idx", 2)
	wantCount(t, s, "other", "idx", 0)
}

func testGetMany(t *testing.T, s projection.Store) {
	ctx := t.Context()
	wantApply(t, s, "p", 1, true,
		projection.Put("a", []byte("va")),
		projection.Put("c", []byte("vc")),
		projection.Put("empty", nil))
	got, err := s.GetMany(ctx, "p", []string{"a", "b", "c", "a", "empty", "zzz"})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	want := [][]byte{[]byte("va"), nil, []byte("vc"), []byte("va"), {}, nil}
	if len(got) != len(want) {
		t.Fatalf("GetMany: %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || !bytes.Equal(got[i], want[i]) {
			t.Errorf("GetMany[%d] = %q (nil: %t), want %q (nil: %t)", i, got[i], got[i] == nil, want[i], want[i] == nil)
		}
	}

	got, err = s.GetMany(ctx, "p", nil)
	if err != nil || len(got) != 0 {
		t.Errorf("GetMany no keys = %q, %v; want empty, nil", got, err)
	}
	got, err = s.GetMany(ctx, "unknown", []string{"a", "b"})
	if err != nil || len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Errorf("GetMany unknown projection = %q, %v; want [nil nil], nil", got, err)
	}
}

func testInvalidInput(t *testing.T, s projection.Store) {
	ctx := t.Context()
	wantApply(t, s, "p", 1, true, projection.Put("k", []byte("v")), projection.IndexAdd("i", "m"))
	valid := []projection.Op{
		projection.Put("k", []byte("changed")),
		projection.Delete("k"),
		projection.IndexAdd("i", "new"),
		projection.IndexRemove("i", "m"),
	}
	for _, bad := range []struct {
		name string
		op   projection.Op
	}{
		{"put empty key", projection.Put("", []byte("x"))},
		{"delete empty key", projection.Delete("")},
		{"add empty index", projection.IndexAdd("", "m")},
		{"add empty member", projection.IndexAdd("i", "")},
		{"remove empty index", projection.IndexRemove("", "m")},
		{"remove empty member", projection.IndexRemove("i", "")},
		{"zero op", projection.Op{}},
	} {
		ops := append(slices.Clone(valid), bad.op)
		applied, err := s.Apply(ctx, "p", mustGeneration(t, s, "p"), 2, ops...)
		wantInvalid(t, "Apply "+bad.name, err)
		if applied {
			t.Errorf("Apply %s: applied", bad.name)
		}
	}
	applied, err := s.Apply(ctx, "p", mustGeneration(t, s, "p"), 0, valid...)
	wantInvalid(t, "Apply seq 0", err)
	if applied {
		t.Error("Apply seq 0: applied")
	}
	n, err := s.ApplyBatch(ctx, "p", mustGeneration(t, s, "p"), []projection.Change{
		{Seq: 2, Ops: valid},
		{Seq: 3, Ops: []projection.Op{projection.Put("", nil)}},
		{Seq: 4, Ops: valid},
	})
	wantInvalid(t, "ApplyBatch with an invalid change", err)
	if n != 0 {
		t.Errorf("ApplyBatch with an invalid change: %d applied, want 0", n)
	}
	n, err = s.ApplyBatch(ctx, "p", mustGeneration(t, s, "p"), []projection.Change{{Seq: 2}, {Seq: 0}})
	wantInvalid(t, "ApplyBatch with seq 0", err)
	if n != 0 {
		t.Errorf("ApplyBatch with seq 0: %d applied, want 0", n)
	}
	wantValue(t, s, "p", "k", "v")
	wantRange(t, s, "p", "i", projection.RangeQuery{}, "m")
	wantCheckpoint(t, s, "p", 1)

	for _, name := range []string{"", "Upper", "under_score", "with space", "colon:", "{tag}", "star*", "é", strings.Repeat("a", 65)} {
		_, err := s.Generation(ctx, name)
		wantInvalid(t, fmt.Sprintf("Generation projection %q", name), err)
		applied, err := s.Apply(ctx, name, "g", 1, valid...)
		wantInvalid(t, fmt.Sprintf("Apply projection %q", name), err)
		if applied {
			t.Errorf("Apply projection %q: applied", name)
		}
		_, err = s.ApplyBatch(ctx, name, "g", []projection.Change{{Seq: 1}})
		wantInvalid(t, fmt.Sprintf("ApplyBatch projection %q", name), err)
		_, err = s.Checkpoint(ctx, name)
		wantInvalid(t, fmt.Sprintf("Checkpoint projection %q", name), err)
		_, err = s.Get(ctx, name, "k")
		wantInvalid(t, fmt.Sprintf("Get projection %q", name), err)
		_, err = s.GetMany(ctx, name, []string{"k"})
		wantInvalid(t, fmt.Sprintf("GetMany projection %q", name), err)
		_, err = s.Range(ctx, name, "i", projection.RangeQuery{})
		wantInvalid(t, fmt.Sprintf("Range projection %q", name), err)
		_, err = s.Count(ctx, name, "i")
		wantInvalid(t, fmt.Sprintf("Count projection %q", name), err)
		wantInvalid(t, fmt.Sprintf("Reset projection %q", name), s.Reset(ctx, name))
	}
	_, err = s.Get(ctx, "p", "")
	wantInvalid(t, "Get empty key", err)
	_, err = s.GetMany(ctx, "p", []string{"k", ""})
	wantInvalid(t, "GetMany empty key", err)
	_, err = s.Range(ctx, "p", "", projection.RangeQuery{})
	wantInvalid(t, "Range empty index", err)
	_, err = s.Count(ctx, "p", "")
	wantInvalid(t, "Count empty index", err)

	// The longest and the most varied valid names.
	wantApply(t, s, strings.Repeat("a", 64), 1, true)
	wantApply(t, s, "a-0-z-9", 1, true)
}

func testApplyBatch(t *testing.T, s projection.Store) {
	ctx := t.Context()
	wantApply(t, s, "p", 2, true, projection.Put("x", []byte("2")), projection.IndexAdd("seen", "2"))
	batch := []projection.Change{
		{Seq: 1, Ops: []projection.Op{projection.Put("x", []byte("1")), projection.IndexAdd("seen", "1")}},
		{Seq: 2, Ops: []projection.Op{projection.Put("x", []byte("2-again"))}},
		{Seq: 3, Ops: []projection.Op{projection.Put("x", []byte("3")), projection.IndexAdd("seen", "3")}},
		{Seq: 4, Ops: []projection.Op{projection.Put("x", []byte("4")), projection.Put("y", []byte("4")), projection.IndexAdd("seen", "4")}},
		{Seq: 4, Ops: []projection.Op{projection.Put("x", []byte("4-again"))}},
		{Seq: 6, Ops: []projection.Op{projection.Delete("y")}},
		{Seq: 5, Ops: []projection.Op{projection.Put("x", []byte("5-late"))}},
	}
	n, err := s.ApplyBatch(ctx, "p", mustGeneration(t, s, "p"), batch)
	if err != nil || n != 3 {
		t.Fatalf("ApplyBatch = %d, %v; want 3, nil", n, err)
	}
	wantValue(t, s, "p", "x", "4")
	wantNotFound(t, s, "p", "y")
	wantRange(t, s, "p", "seen", projection.RangeQuery{}, "2", "3", "4")
	wantCheckpoint(t, s, "p", 6)

	n, err = s.ApplyBatch(ctx, "p", mustGeneration(t, s, "p"), batch)
	if err != nil || n != 0 {
		t.Errorf("ApplyBatch replayed = %d, %v; want 0, nil", n, err)
	}
	for _, empty := range [][]projection.Change{nil, {}} {
		n, err = s.ApplyBatch(ctx, "p", mustGeneration(t, s, "p"), empty)
		if err != nil || n != 0 {
			t.Errorf("ApplyBatch(%v) = %d, %v; want 0, nil", empty, n, err)
		}
	}
	wantCheckpoint(t, s, "p", 6)
}

func testReset(t *testing.T, s projection.Store) {
	ctx := t.Context()
	// Enough keys to need several SCAN/UNLINK rounds in Redis.
	keys := make([]string, 2500)
	ops := make([]projection.Op, 0, len(keys)+1)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
		ops = append(ops, projection.Put(keys[i], []byte("v")))
	}
	ops = append(ops, projection.IndexAdd("idx", "m"))
	wantApply(t, s, "learners", 7, true, ops...)
	// A projection whose name extends the reset one must survive.
	wantApply(t, s, "learners-archive", 9, true, projection.Put("key-0000", []byte("kept")), projection.IndexAdd("idx", "kept"))

	if err := s.Reset(ctx, "learners"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	wantCheckpoint(t, s, "learners", 0)
	wantNotFound(t, s, "learners", "key-0000")
	values, err := s.GetMany(ctx, "learners", keys)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	for i, v := range values {
		if v != nil {
			t.Fatalf("after Reset, %s = %q, want none", keys[i], v)
		}
	}
	wantCount(t, s, "learners", "idx", 0)
	wantRange(t, s, "learners", "idx", projection.RangeQuery{})

	wantCheckpoint(t, s, "learners-archive", 9)
	wantValue(t, s, "learners-archive", "key-0000", "kept")
	wantRange(t, s, "learners-archive", "idx", projection.RangeQuery{}, "kept")

	// Rebuild from the start of the stream.
	wantApply(t, s, "learners", 1, true, projection.Put("key-0000", []byte("rebuilt")))
	wantValue(t, s, "learners", "key-0000", "rebuilt")

	if err := s.Reset(ctx, "never-used"); err != nil {
		t.Errorf("Reset of an empty projection: %v", err)
	}
}

// testGeneration checks that a writer cannot write over a lost projection:
// after a Reset (as after Redis lost its data), a write stating the old
// generation is refused and writes nothing, until the writer takes the new
// generation and rebuilds from the start.
func testGeneration(t *testing.T, s projection.Store) {
	ctx := t.Context()
	old := mustGeneration(t, s, "p")
	if old == "" || mustGeneration(t, s, "p") != old {
		t.Fatalf("a projection's generation must stay put, got %q then another", old)
	}
	if other := mustGeneration(t, s, "q"); other == old {
		t.Fatalf("two projections share generation %q", old)
	}
	wantApply(t, s, "p", 5, true, projection.Put("k", []byte("v5")))

	// Concurrent first calls agree on one generation.
	var wg sync.WaitGroup
	gens := make([]string, 8)
	for i := range gens {
		wg.Go(func() {
			g, err := s.Generation(ctx, "fresh")
			if err != nil {
				t.Errorf("Generation: %v", err)
			}
			gens[i] = g
		})
	}
	wg.Wait()
	if gens[0] == "" || slices.ContainsFunc(gens, func(g string) bool { return g != gens[0] }) {
		t.Fatalf("concurrent first calls gave generations %q", gens)
	}

	if err := s.Reset(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Apply(ctx, "p", old, 6, projection.Put("k", []byte("v6")), projection.IndexAdd("i", "m"))
	if !errors.Is(err, projection.ErrGenerationChanged) || applied {
		t.Fatalf("Apply with the lost generation: %t, %v; want ErrGenerationChanged", applied, err)
	}
	n, err := s.ApplyBatch(ctx, "p", old, []projection.Change{{Seq: 7, Ops: []projection.Op{projection.Put("k", []byte("v7"))}}})
	if !errors.Is(err, projection.ErrGenerationChanged) || n != 0 {
		t.Fatalf("ApplyBatch with the lost generation: %d, %v; want ErrGenerationChanged", n, err)
	}
	wantNotFound(t, s, "p", "k")
	wantCount(t, s, "p", "i", 0)
	wantCheckpoint(t, s, "p", 0)

	renewed := mustGeneration(t, s, "p")
	if renewed == old {
		t.Fatalf("the generation after a reset is the old one, %q", old)
	}
	wantApply(t, s, "p", 1, true, projection.Put("k", []byte("rebuilt")))
	wantValue(t, s, "p", "k", "rebuilt")
	if _, err := s.Apply(ctx, "p", "made-up", 2); !errors.Is(err, projection.ErrGenerationChanged) {
		t.Fatalf("Apply with a made-up generation: %v", err)
	}
}

func testBinarySafe(t *testing.T, s projection.Store) {
	ctx := t.Context()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	odd := []string{"a*b?[c]\\{d}:e", "ключ", "\x00\xff", " "}
	ops := []projection.Op{
		projection.Put("all-bytes", all),
		projection.Put("nil", nil),
		projection.Put("empty", []byte{}),
	}
	for _, k := range odd {
		ops = append(ops, projection.Put(k, []byte(k)))
	}
	members := []string{"\x00", "a", "a\xff", "a\xff\x01", "b", "\xff", "\xff\xff"}
	for _, m := range slices.Backward(members) {
		ops = append(ops, projection.IndexAdd("bin", m))
	}
	wantApply(t, s, "p", 1, true, ops...)

	got, err := s.Get(ctx, "p", "all-bytes")
	if err != nil || !bytes.Equal(got, all) {
		t.Errorf("Get all-bytes = %q, %v; want every byte value", got, err)
	}
	for _, k := range []string{"nil", "empty"} {
		got, err := s.Get(ctx, "p", k)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Get %s = %q (nil: %t), %v; want a non-nil empty value", k, got, got == nil, err)
		}
	}
	for _, k := range odd {
		wantValue(t, s, "p", k, k)
	}

	wantRange(t, s, "p", "bin", projection.RangeQuery{}, members...)
	wantRange(t, s, "p", "bin", projection.RangeQuery{Prefix: "a"}, "a", "a\xff", "a\xff\x01")
	wantRange(t, s, "p", "bin", projection.RangeQuery{Prefix: "a\xff"}, "a\xff", "a\xff\x01")
	wantRange(t, s, "p", "bin", projection.RangeQuery{Prefix: "a", After: "a\xff"}, "a\xff\x01")
	wantRange(t, s, "p", "bin", projection.RangeQuery{Prefix: "\xff"}, "\xff", "\xff\xff")
	wantRange(t, s, "p", "bin", projection.RangeQuery{Prefix: "\x00"}, "\x00")
}

func testValuesAreCopied(t *testing.T, s projection.Store) {
	ctx := t.Context()
	in := []byte("abc")
	wantApply(t, s, "p", 1, true, projection.Put("k", in))
	in[0] = 'X'
	wantValue(t, s, "p", "k", "abc")

	got, err := s.Get(ctx, "p", "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got[0] = 'Y'
	wantValue(t, s, "p", "k", "abc")

	many, err := s.GetMany(ctx, "p", []string{"k"})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	many[0][0] = 'Z'
	wantValue(t, s, "p", "k", "abc")
}

func testCanceledContext(t *testing.T, s projection.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	applied, err := s.Apply(ctx, "p", mustGeneration(t, s, "p"), 1, projection.Put("k", []byte("v")))
	if !errors.Is(err, context.Canceled) || applied {
		t.Errorf("Apply with a canceled context = %t, %v; want false, context.Canceled", applied, err)
	}
	if _, err := s.Get(ctx, "p", "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v, want context.Canceled", err)
	}
	wantCheckpoint(t, s, "p", 0)
}

func testConcurrentSameSeq(t *testing.T, s projection.Store) {
	const n = 50
	var wg sync.WaitGroup
	var winners atomic.Int32
	var winner atomic.Value
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint(i)
			applied, err := s.Apply(t.Context(), "p", mustGeneration(t, s, "p"), 1, projection.Put("winner", []byte(id)), projection.IndexAdd("ids", id))
			if err != nil {
				t.Errorf("Apply %d: %v", i, err)
				return
			}
			if applied {
				winners.Add(1)
				winner.Store(id)
			}
		})
	}
	wg.Wait()
	if got := winners.Load(); got != 1 {
		t.Fatalf("%d Apply calls applied seq 1, want exactly 1", got)
	}
	id := winner.Load().(string)
	wantValue(t, s, "p", "winner", id)
	wantRange(t, s, "p", "ids", projection.RangeQuery{}, id)
	wantCheckpoint(t, s, "p", 1)
}

func testConcurrentIncreasingSeqs(t *testing.T, s projection.Store) {
	const n = 50
	var wg sync.WaitGroup
	var applied atomic.Int64
	for seq := uint64(1); seq <= n; seq++ {
		wg.Go(func() {
			id := fmt.Sprintf("%03d", seq)
			ok, err := s.Apply(t.Context(), "p", mustGeneration(t, s, "p"), seq, projection.Put("last", []byte(id)), projection.IndexAdd("applied", id))
			if err != nil {
				t.Errorf("Apply %d: %v", seq, err)
			}
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	wantCheckpoint(t, s, "p", n)
	// The highest sequence always applies, and applies last.
	wantValue(t, s, "p", "last", fmt.Sprintf("%03d", n))
	wantCount(t, s, "p", "applied", applied.Load())
}

func testConcurrentBatches(t *testing.T, s projection.Store) {
	const workers, changes = 10, 20
	batch := make([]projection.Change, changes)
	for i := range batch {
		seq := uint64(i + 1)
		batch[i] = projection.Change{Seq: seq, Ops: []projection.Op{projection.IndexAdd("applied", fmt.Sprintf("%03d", seq))}}
	}
	var wg sync.WaitGroup
	var total atomic.Int64
	for range workers {
		wg.Go(func() {
			n, err := s.ApplyBatch(t.Context(), "p", mustGeneration(t, s, "p"), batch)
			if err != nil {
				t.Errorf("ApplyBatch: %v", err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if got := total.Load(); got != changes {
		t.Errorf("concurrent identical batches applied %d changes in total, want %d", got, changes)
	}
	wantCheckpoint(t, s, "p", changes)
	wantCount(t, s, "p", "applied", changes)
}

func wantApply(t *testing.T, s projection.Store, p string, seq uint64, want bool, ops ...projection.Op) {
	t.Helper()
	applied, err := s.Apply(t.Context(), p, mustGeneration(t, s, p), seq, ops...)
	if err != nil {
		t.Fatalf("Apply %s seq %d: %v", p, seq, err)
	}
	if applied != want {
		t.Fatalf("Apply %s seq %d = %t, want %t", p, seq, applied, want)
	}
}

func wantCheckpoint(t *testing.T, s projection.Store, p string, want uint64) {
	t.Helper()
	got, err := s.Checkpoint(t.Context(), p)
	if err != nil || got != want {
		t.Errorf("Checkpoint %s = %d, %v; want %d, nil", p, got, err, want)
	}
}

func wantValue(t *testing.T, s projection.Store, p, key, want string) {
	t.Helper()
	got, err := s.Get(t.Context(), p, key)
	if err != nil || string(got) != want {
		t.Errorf("Get %s %q = %q, %v; want %q, nil", p, key, got, err, want)
	}
}

func wantNotFound(t *testing.T, s projection.Store, p, key string) {
	t.Helper()
	got, err := s.Get(t.Context(), p, key)
	if !errors.Is(err, projection.ErrNotFound) {
		t.Errorf("Get %s %q = %q, %v; want ErrNotFound", p, key, got, err)
	}
}

func wantRange(t *testing.T, s projection.Store, p, index string, q projection.RangeQuery, want ...string) {
	t.Helper()
	got, err := s.Range(t.Context(), p, index, q)
	if err != nil {
		t.Errorf("Range %s %q %s: %v", p, index, formatQuery(q), err)
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("Range %s %q %s = %q, want %q", p, index, formatQuery(q), got, want)
	}
}

func wantCount(t *testing.T, s projection.Store, p, index string, want int64) {
	t.Helper()
	got, err := s.Count(t.Context(), p, index)
	if err != nil || got != want {
		t.Errorf("Count %s %q = %d, %v; want %d, nil", p, index, got, err, want)
	}
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, projection.ErrInvalid) {
		t.Errorf("%s: error %v, want ErrInvalid", what, err)
	}
}

// formatQuery formats q with quoted, possibly binary, bounds.
func formatQuery(q projection.RangeQuery) string {
	return fmt.Sprintf("{Prefix:%q After:%q Limit:%d}", q.Prefix, q.After, q.Limit)
}

// mustGeneration returns the generation of projection p in s.
func mustGeneration(t testing.TB, s projection.Store, p string) string {
	t.Helper()
	g, err := s.Generation(context.Background(), p)
	if err != nil {
		t.Fatalf("Generation %s: %v", p, err)
	}
	return g
}
