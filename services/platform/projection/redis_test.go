package projection_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
)

func TestRedis(t *testing.T) {
	redistest.URL(t) // Skip once rather than in every subtest.
	storetest.Run(t, func(t *testing.T) projection.Store { return newRedis(t) })
}

// TestRedisKeyLayout pins the documented key layout, which operators and
// tooling rely on.
func TestRedisKeyLayout(t *testing.T) {
	ctx := t.Context()
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	s, err := projection.NewRedis(ctx, projection.RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Apply(ctx, "pathway-learners", mustGeneration(t, s, "pathway-learners"), 42,
		projection.Put("learner:7", []byte("v")),
		projection.IndexAdd("by-name", "ada")); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	client := redistest.Client(t)
	base := prefix + "{pathway-learners}:"
	if got, err := client.Get(ctx, base+"cp").Result(); err != nil || got != "42" {
		t.Errorf("GET %scp = %q, %v; want \"42\"", base, got, err)
	}
	if got, err := client.Get(ctx, base+"k:learner:7").Result(); err != nil || got != "v" {
		t.Errorf("GET %sk:learner:7 = %q, %v; want \"v\"", base, got, err)
	}
	if got, err := client.ZScore(ctx, base+"i:by-name", "ada").Result(); err != nil || got != 0 {
		t.Errorf("ZSCORE %si:by-name ada = %v, %v; want 0", base, got, err)
	}
	var keys []string
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) != 4 {
		t.Errorf("keys under the prefix = %q, %v; want exactly 4", keys, err)
	}
	if got, err := client.Get(ctx, base+"gen").Result(); err != nil || got != mustGeneration(t, s, "pathway-learners") {
		t.Errorf("GET %sgen = %q, %v; want the generation", base, got, err)
	}
}

// TestRedisResetEscapesPrefix checks that Reset matches its prefix literally:
// unescaped, the '*' and '?' of one store's prefix would match the other's.
func TestRedisResetEscapesPrefix(t *testing.T) {
	ctx := t.Context()
	url := redistest.URL(t)
	base := redistest.Prefix(t)
	open := func(prefix string) *projection.Redis {
		s, err := projection.NewRedis(ctx, projection.RedisOptions{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatalf("NewRedis: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	globby, plain := open(base+"*?[a]\\:"), open(base+"x-a:")
	for _, s := range []*projection.Redis{globby, plain} {
		if _, err := s.Apply(ctx, "p", mustGeneration(t, s, "p"), 1, projection.Put("k", []byte("v"))); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	if err := globby.Reset(ctx, "p"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := globby.Get(ctx, "p", "k"); !errors.Is(err, projection.ErrNotFound) {
		t.Errorf("Get after Reset: %v, want ErrNotFound", err)
	}
	if got, err := plain.Get(ctx, "p", "k"); err != nil || string(got) != "v" {
		t.Errorf("other store's Get after Reset = %q, %v; want \"v\"", got, err)
	}
	if cp, err := plain.Checkpoint(ctx, "p"); err != nil || cp != 1 {
		t.Errorf("other store's Checkpoint after Reset = %d, %v; want 1", cp, err)
	}
}

func TestNewRedisErrors(t *testing.T) {
	ctx := t.Context()
	url := redistest.URL(t)
	for _, tc := range []struct {
		name string
		opts projection.RedisOptions
	}{
		{"empty URL", projection.RedisOptions{}},
		{"bad scheme", projection.RedisOptions{URL: "http://127.0.0.1:6379"}},
		{"malformed", projection.RedisOptions{URL: "redis://user:s3cret@127.0.0.1:6379/%zz"}},
		{"prefix with hash tag", projection.RedisOptions{URL: url, Prefix: "app{x}:"}},
		// max_retries=-1 fails fast instead of retrying the refused connection.
		{"unreachable", projection.RedisOptions{URL: "redis://127.0.0.1:1?max_retries=-1"}},
	} {
		s, err := projection.NewRedis(ctx, tc.opts)
		if err == nil {
			_ = s.Close()
			t.Errorf("NewRedis %s: no error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "projection: redis: ") {
			t.Errorf("NewRedis %s: error %q lacks the package prefix", tc.name, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewRedis %s: error %q leaks the password", tc.name, err)
		}
	}
}

func TestRedisClose(t *testing.T) {
	s := newRedis(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Checkpoint(context.Background(), "p"); err == nil {
		t.Error("Checkpoint after Close: no error")
	} else if errors.Is(err, projection.ErrInvalid) {
		t.Errorf("Checkpoint after Close: %v, want a closed-client error", err)
	}
}

// newRedis returns a Redis store writing under a prefix unique to the test,
// whose keys are deleted when the test ends.
func newRedis(tb testing.TB) *projection.Redis {
	tb.Helper()
	url := redistest.URL(tb)
	prefix := redistest.Prefix(tb)
	s, err := projection.NewRedis(context.Background(), projection.RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		tb.Fatalf("NewRedis: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRedisUnreachableIsUnavailable checks that a store whose Redis went
// down answers Unavailable (retry), not an internal error, and answers
// again once it is back.
func TestRedisUnreachableIsUnavailable(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	s, err := projection.NewRedis(ctx, projection.RedisOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	gen := mustGeneration(t, s, "p")
	if _, err := s.Apply(ctx, "p", gen, 1, projection.Put("k", []byte("v"))); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for name, call := range map[string]func() error{
		"Get":        func() error { _, err := s.Get(ctx, "p", "k"); return err },
		"GetMany":    func() error { _, err := s.GetMany(ctx, "p", []string{"k"}); return err },
		"Range":      func() error { _, err := s.Range(ctx, "p", "i", projection.RangeQuery{}); return err },
		"Count":      func() error { _, err := s.Count(ctx, "p", "i"); return err },
		"Checkpoint": func() error { _, err := s.Checkpoint(ctx, "p"); return err },
		"Generation": func() error { _, err := s.Generation(ctx, "p"); return err },
		"Apply":      func() error { _, err := s.Apply(ctx, "p", gen, 2); return err },
		"ApplyBatch": func() error { _, err := s.ApplyBatch(ctx, "p", gen, []projection.Change{{Seq: 3}}); return err },
		"Ping":       func() error { return s.Ping(ctx) },
	} {
		if err := call(); apperr.KindOf(err) != apperr.KindUnavailable {
			t.Errorf("%s with Redis down: %v, want Unavailable", name, err)
		}
	}
	// Restarted without persistence, Redis lost the projection: the old
	// generation no longer writes.
	srv.Start()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	if _, err := s.Apply(ctx, "p", gen, 2); !errors.Is(err, projection.ErrGenerationChanged) {
		t.Fatalf("Apply after Redis lost its data: %v, want ErrGenerationChanged", err)
	}
}
