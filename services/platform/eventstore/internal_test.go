package eventstore

import (
	"testing"
	"time"
)

func TestMatches(t *testing.T) {
	cases := []struct {
		filter, subject string
		want            bool
	}{
		{"avenir.ctx.thing.1.>", "avenir.ctx.thing.1.created", true},
		{"avenir.ctx.thing.1.>", "avenir.ctx.thing.1.a.b", true},
		{"avenir.ctx.thing.1.>", "avenir.ctx.thing.1", false},
		{"avenir.ctx.thing.1.>", "avenir.ctx.thing.12.created", false},
		{"avenir.ctx.thing.1.>", "avenir.ctx.other.1.created", false},
		{"avenir.*.thing.1.>", "avenir.ctx.thing.1.created", true},
		{"avenir.*.thing.1.>", "avenir.thing.1.created", false},
		{"avenir.ctx.thing.1.*", "avenir.ctx.thing.1.created", true},
		{"avenir.ctx.thing.1.*", "avenir.ctx.thing.1.a.b", false},
		{"avenir.ctx.thing.1.created", "avenir.ctx.thing.1.created", true},
		{"avenir.ctx.thing.1.created", "avenir.ctx.thing.1.created.x", false},
		{"avenir.ctx.thing.1.created.x", "avenir.ctx.thing.1.created", false},
		{">", "a", true},
	}
	for _, tc := range cases {
		if got := matches(tc.filter, tc.subject); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.filter, tc.subject, got, tc.want)
		}
	}
}

func TestValidFilter(t *testing.T) {
	for _, f := range []string{"avenir.ctx.thing.1.>", "avenir.*.thing.1.>", "a", "a.*", ">"} {
		if err := validFilter(f); err != nil {
			t.Errorf("validFilter(%q): %v", f, err)
		}
	}
	for _, f := range []string{"", "a..b", ".a", "a.", "a.>.b", "a b.>", "a*.>", "a.b>", "a.\t"} {
		if validFilter(f) == nil {
			t.Errorf("validFilter(%q) accepted", f)
		}
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	for attempt := range 100 {
		seen := map[time.Duration]bool{}
		for range 20 {
			b := backoff(attempt)
			if b < minBackoff/2 || b > maxBackoff || (attempt == 0 && b > minBackoff) {
				t.Fatalf("backoff(%d) = %v out of bounds", attempt, b)
			}
			seen[b] = true
		}
		if len(seen) < 2 {
			t.Fatalf("backoff(%d) is not jittered: %v", attempt, seen)
		}
	}
}
