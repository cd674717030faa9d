package projection

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
)

// TestRedisEvalFallback runs Apply and ApplyBatch with a script the server
// has never seen, so that EVALSHA fails with NOSCRIPT and the EVAL fallback
// runs, without flushing the shared server's script cache.
func TestRedisEvalFallback(t *testing.T) {
	ctx := t.Context()
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	r, err := NewRedis(ctx, RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	uncached := func() *redis.Script {
		return redis.NewScript(applyScriptSource + "-- " + rand.Text() + "\n")
	}
	client := redistest.Client(t)
	wantUncached := func(s *redis.Script) {
		t.Helper()
		exists, err := s.Exists(ctx, client).Result()
		if err != nil || len(exists) != 1 || exists[0] {
			t.Fatalf("SCRIPT EXISTS = %v, %v; want [false]", exists, err)
		}
	}

	r.script = uncached()
	wantUncached(r.script)
	if applied, err := r.Apply(ctx, "p", mustGeneration(t, r, "p"), 1, Put("a", []byte("1"))); err != nil || !applied {
		t.Fatalf("Apply with an uncached script = %t, %v; want true, nil", applied, err)
	}

	r.script = uncached()
	wantUncached(r.script)
	n, err := r.ApplyBatch(ctx, "p", mustGeneration(t, r, "p"), []Change{
		{Seq: 1, Ops: []Op{Put("a", []byte("stale"))}},
		{Seq: 2, Ops: []Op{Put("b", []byte("2"))}},
		{Seq: 3, Ops: []Op{Put("c", []byte("3"))}},
	})
	if err != nil || n != 2 {
		t.Fatalf("ApplyBatch with an uncached script = %d, %v; want 2, nil", n, err)
	}
	got, err := r.GetMany(ctx, "p", []string{"a", "b", "c"})
	if err != nil || string(got[0]) != "1" || string(got[1]) != "2" || string(got[2]) != "3" {
		t.Fatalf("GetMany = %q, %v; want [1 2 3]", got, err)
	}
	if cp, err := r.Checkpoint(ctx, "p"); err != nil || cp != 3 {
		t.Errorf("Checkpoint = %d, %v; want 3", cp, err)
	}

	// The fallback cached the script: the next batch takes the fast path.
	exists, err := r.script.Exists(ctx, client).Result()
	if err != nil || len(exists) != 1 || !exists[0] {
		t.Errorf("SCRIPT EXISTS after the fallback = %v, %v; want [true]", exists, err)
	}
}

func TestRedisCorruptCheckpoint(t *testing.T) {
	ctx := t.Context()
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	r, err := NewRedis(ctx, RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := redistest.Client(t).Set(ctx, r.checkpointKey("p"), "not-a-number", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if _, err := r.Checkpoint(ctx, "p"); err == nil {
		t.Error("Checkpoint of a corrupt value: no error")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
		ok           bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"learner:", "learner;", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff", "", false},
		{"\xff\xff", "", false},
		{"\x00", "\x01", true},
		{"ab\xfe", "ab\xff", true},
	} {
		got, ok := prefixEnd(tc.prefix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixEnd(%q) = %q, %t; want %q, %t", tc.prefix, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLexBounds(t *testing.T) {
	for _, tc := range []struct {
		prefix, after, start, stop string
	}{
		{"", "", "-", "+"},
		{"", "m", "(m", "+"},
		{"p:", "", "[p:", "(p;"},
		{"p:", "p:7", "(p:7", "(p;"},
		{"p:", "a", "[p:", "(p;"},
		{"p:", "q", "(q", "(p;"},
		{"\xff", "", "[\xff", "+"},
	} {
		start, stop := lexBounds(tc.prefix, tc.after)
		if start != tc.start || stop != tc.stop {
			t.Errorf("lexBounds(%q, %q) = %q, %q; want %q, %q", tc.prefix, tc.after, start, stop, tc.start, tc.stop)
		}
	}
}

func TestGlobEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"avenir:":     "avenir:",
		`a*b?c[d]e\f`: `a\*b\?c\[d\]e\\f`,
		"{tag}-^!:":   "{tag}-^!:",
	} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for name, valid := range map[string]bool{
		"pathway-learners": true,
		"a":                true,
		"0-9":              true,
		"-":                true,
		"":                 false,
		"A":                false,
		"a_b":              false,
		"a.b":              false,
		"ü":                false,
	} {
		if err := validateName(name); (err == nil) != valid {
			t.Errorf("validateName(%q) = %v, want valid %t", name, err, valid)
		}
	}
}

// mustGeneration returns the generation of projection p in s.
func mustGeneration(t testing.TB, s Store, p string) string {
	t.Helper()
	g, err := s.Generation(context.Background(), p)
	if err != nil {
		t.Fatalf("Generation %s: %v", p, err)
	}
	return g
}
