// Package servertest runs the avenir server in-process for tests, and mints
// tokens with the dev key it creates in its data dir.
package servertest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
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

// NATS connects to the NATS server of a dev server started on dataDir as
// the ops identity (everything in the account), as people do with the nats
// CLI; the connection closes with the test.
func NATS(t testing.TB, dataDir string, addrs server.Addrs) *nats.Conn {
	t.Helper()
	nk, err := natsx.NKeyOption(natsx.NKeyFile(filepath.Join(dataDir, natsx.IdentitiesDir), natsx.IdentityOps))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(addrs.NATS, nk)
	if err != nil {
		t.Fatalf("connect to the dev server's NATS as ops: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// EnsureStreams creates every stream of the catalog on the NATS server at
// url, as `avenir streams ensure` does, connecting with the credentials in
// the URL if any: what precedes the services of microservices mode, which
// wait for their streams.
func EnsureStreams(t testing.TB, url string, replicas int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := server.EnsureStreams(ctx, server.StreamsConfig{NATSURL: url, Replicas: replicas}, nil); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
}

// Keys is the key store of personal data of a dev server started on
// dataDir, with the master key it created there, on js (an ops connection,
// see NATS): tests that append events with personal fields seal them as
// the services do. It closes with the test.
func Keys(t testing.TB, dataDir string, js jetstream.JetStream) *privacy.Keyring {
	t.Helper()
	master, err := privacy.LoadOrCreateDevMasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.New(js, privacy.Options{Master: master})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	return keys
}
