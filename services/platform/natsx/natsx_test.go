package natsx_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
)

func TestEmbeddedRefusesNonLoopback(t *testing.T) {
	_, err := natsx.StartEmbedded(natsx.EmbeddedOptions{DataDir: t.TempDir(), Listen: "0.0.0.0:0"})
	if err == nil {
		t.Fatal("expected refusal to listen on 0.0.0.0 without AllowNonLoopback")
	}
}

func TestEmbeddedSyncAlwaysByDefault(t *testing.T) {
	srv := natstest.Start(t)
	opts := srv.Server().JetStreamConfig()
	if opts == nil || !opts.SyncAlways {
		t.Fatalf("embedded JetStream must sync on every write, got %+v", opts)
	}
	if opts.StoreDir == "" {
		t.Fatal("no store dir")
	}
}

func TestEnsureStreamAppliesDefaultsAndIsIdempotent(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	spec := natsx.StreamSpec{Name: "TEST_EVENTS", Subjects: []string{"avenir.test.>"}, MaxBytes: 1 << 20}
	for range 2 {
		if _, err := natsx.EnsureStream(ctx, js, spec, natsx.Topology{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, "TEST_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Storage != jetstream.FileStorage || !cfg.DenyDelete || !cfg.DenyPurge || cfg.Discard != jetstream.DiscardNew ||
		cfg.Duplicates != natsx.DuplicateWindow || !cfg.AllowAtomicPublish || !cfg.AllowDirect || cfg.MaxBytes != 1<<20 || cfg.Replicas != 1 {
		t.Fatalf("stream config does not carry the project defaults: %+v", cfg)
	}
	if err := st.Purge(ctx); err == nil {
		t.Fatal("purge must be denied")
	}
}

// A consumer of another context's stream creates it when missing, with the
// owner's spec, and leaves it alone when the owner made it.
func TestCreateStreamIfAbsentLeavesTheOwnersStream(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	owner := natsx.StreamSpec{Name: "OWNED", Subjects: []string{"avenir.owned.>"}, MaxBytes: 2 << 20}
	if _, err := natsx.EnsureStream(ctx, js, owner, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	consumerView := natsx.StreamSpec{Name: "OWNED", Subjects: []string{"avenir.owned.>"}, MaxBytes: 1 << 20}
	if err := natsx.CreateStreamIfAbsent(ctx, js, consumerView, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "OWNED")
	if err != nil || st.CachedInfo().Config.MaxBytes != 2<<20 {
		t.Fatalf("the owner's stream was changed: %v %v", st.CachedInfo().Config.MaxBytes, err)
	}
	missing := natsx.StreamSpec{Name: "ELSEWHERE", Subjects: []string{"avenir.elsewhere.>"}}
	for range 2 {
		if err := natsx.CreateStreamIfAbsent(ctx, js, missing, natsx.Topology{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Stream(ctx, "ELSEWHERE"); err != nil {
		t.Fatalf("missing stream not created: %v", err)
	}
}

func TestStreamSpecRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "intake", "A.B", "A B"} {
		if _, err := (natsx.StreamSpec{Name: name, Subjects: []string{"x.>"}}).Config(natsx.Topology{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := (natsx.StreamSpec{Name: "OK"}).Config(natsx.Topology{}); err == nil {
		t.Error("stream without subjects accepted")
	}
}

func TestConnectExternal(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := natsx.Connect(natsx.ConnectOptions{URL: srv.ClientURL(), Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !nc.IsConnected() {
		t.Fatal("not connected")
	}
	if _, err := natsx.Connect(natsx.ConnectOptions{URL: srv.ClientURL(), TLSCertFile: "x"}); err == nil {
		t.Fatal("cert without key accepted")
	}
}
