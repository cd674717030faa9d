// Package redistest gives tests a Redis server to talk to, or skips them.
//
// Tests read the server URL from AVENIR_TEST_REDIS_URL (default
// redis://127.0.0.1:6379). When the server is unreachable they are skipped,
// unless AVENIR_REQUIRE_REDIS=1, in which case they fail: set it in CI to
// prove the Redis tests really ran.
//
// Tests share the server with each other and with developers: they must
// write only under a Prefix and never flush databases.
package redistest

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables read by this package.
const (
	// EnvURL holds the URL of the test server.
	EnvURL = "AVENIR_TEST_REDIS_URL"
	// EnvRequire makes an unreachable server fail tests instead of skipping
	// them when set to "1".
	EnvRequire = "AVENIR_REQUIRE_REDIS"
)

// DefaultURL is the test server URL used when EnvURL is unset.
const DefaultURL = "redis://127.0.0.1:6379"

// pingTimeout bounds the reachability check.
const pingTimeout = 2 * time.Second

// URL returns the URL of a reachable test server. It skips the test when the
// server is unreachable, or fails it if EnvRequire is "1".
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		url = DefaultURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: %s: %v", EnvURL, err)
	}
	// Probe once: an absent server should not cost the retries' backoff.
	opts.MaxRetries, opts.DialerRetries = -1, 1
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("redistest: Redis at %s unreachable and %s=1: %v", opts.Addr, EnvRequire, err)
		}
		t.Skipf("redistest: skipping, Redis at %s unreachable (set %s to point to a server, %s=1 to fail instead): %v",
			opts.Addr, EnvURL, EnvRequire, err)
	}
	return url
}

// Client returns a client of the test server, closed when the test ends. It
// skips or fails the test like URL.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// Prefix returns a key prefix unique to the test, "avenirtest:<random>:",
// and deletes every key under it when the test ends. It skips or fails the
// test like URL.
func Prefix(t testing.TB) string {
	t.Helper()
	client := Client(t)
	prefix := "avenirtest:" + rand.Text() + ":"
	t.Cleanup(func() {
		// The test context is already canceled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// rand.Text is base32: no glob metacharacter to escape.
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("redistest: cleanup of %s*: scan: %v", prefix, err)
			return
		}
		if len(keys) == 0 {
			return
		}
		if err := client.Unlink(ctx, keys...).Err(); err != nil {
			t.Errorf("redistest: cleanup of %s*: unlink: %v", prefix, err)
		}
	})
	return prefix
}
