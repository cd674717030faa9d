// Package servertest runs the avenir server in-process for tests, and mints
// tokens with the dev key it creates in its data dir.
package servertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Dev is a dev-mode configuration on free loopback ports, storing its
// streams and dev key under dataDir, with every service unless cfg says.
func Dev(dataDir string) server.Config { return server.DevConfig(dataDir) }

// Run runs server.Run in the background and returns its addresses once it
// serves, and a function that stops it gracefully (also called when the test
// ends; a failed stop fails the test).
func Run(t testing.TB, cfg server.Config) (server.Addrs, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, func(a server.Addrs) { addrs <- a }) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server %v: %v", cfg.Services, err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addrs:
		return a, stop
	case err := <-done:
		t.Fatalf("server %v: %v", cfg.Services, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("server %v not ready after 60s", cfg.Services)
	}
	return server.Addrs{}, stop
}

// Token mints a token for p, valid for an hour from now, with the dev key
// the server created in dataDir.
func Token(t testing.TB, dataDir string, p auth.Principal, now time.Time) string {
	t.Helper()
	key, err := auth.LoadDevKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.DevClaims(p, time.Hour, now))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
