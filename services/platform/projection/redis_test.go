package projection_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	if _, err := s.Apply(ctx, "pathway-learners", 42,
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
	if err := iter.Err(); err != nil || len(keys) != 3 {
		t.Errorf("keys under the prefix = %q, %v; want exactly 3", keys, err)
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
		if _, err := s.Apply(ctx, "p", 1, projection.Put("k", []byte("v"))); err != nil {
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
