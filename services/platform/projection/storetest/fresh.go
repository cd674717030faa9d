package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
)

// Fresh returns a function making empty stores of kind "memory" or "redis":
// each Redis store has a key prefix of its own, deleted when the test ends,
// and the test is skipped (or failed, in CI) like redistest.URL when Redis
// does not answer. The tests that rebuild read models from the streams use
// one store, then a fresh one.
func Fresh(t testing.TB, kind string) func() projection.Store {
	t.Helper()
	switch kind {
	case "memory":
		return func() projection.Store { return projection.NewMemory() }
	case "redis":
		url := redistest.URL(t)
		return func() projection.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := projection.NewRedis(ctx, projection.RedisOptions{URL: url, Prefix: redistest.Prefix(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	}
	t.Fatalf("storetest: unknown store kind %q (memory or redis)", kind)
	return nil
}
