package projection_test

import (
	"fmt"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// benchValue is a typical serialized read-model document.
var benchValue = make([]byte, 256)

func BenchmarkApply(b *testing.B) {
	for _, bs := range benchStores() {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			ctx := b.Context()
			seq := uint64(0)
			for b.Loop() {
				seq++
				key := fmt.Sprintf("learner:%d", seq%1000)
				if _, err := s.Apply(ctx, "bench", mustGeneration(b, s, "bench"), seq,
					projection.Put(key, benchValue),
					projection.IndexAdd("learners", key)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyBatch applies batches of 100 changes; ns/op is per batch.
func BenchmarkApplyBatch(b *testing.B) {
	const batchSize = 100
	for _, bs := range benchStores() {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			ctx := b.Context()
			batch := make([]projection.Change, batchSize)
			seq := uint64(0)
			for b.Loop() {
				for i := range batch {
					seq++
					key := fmt.Sprintf("learner:%d", seq%1000)
					batch[i] = projection.Change{Seq: seq, Ops: []projection.Op{
						projection.Put(key, benchValue),
						projection.IndexAdd("learners", key),
					}}
				}
				n, err := s.ApplyBatch(ctx, "bench", mustGeneration(b, s, "bench"), batch)
				if err != nil {
					b.Fatal(err)
				}
				if n != batchSize {
					b.Fatalf("applied %d changes, want %d", n, batchSize)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/change")
		})
	}
}

// benchStore opens one Store implementation for a benchmark.
type benchStore struct {
	name string
	open func(b *testing.B) projection.Store
}

func benchStores() []benchStore {
	return []benchStore{
		{"Memory", func(*testing.B) projection.Store { return projection.NewMemory() }},
		{"Redis", func(b *testing.B) projection.Store { return newRedis(b) }},
	}
}
