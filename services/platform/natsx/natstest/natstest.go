// Package natstest starts embedded JetStream servers for tests: temp data dir,
// random loopback port, shut down with the test.
package natstest

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// Server is an embedded JetStream server bound to a test.
type Server struct {
	*natsx.Embedded
	Dir string
}

// Start runs a fresh server in t.TempDir().
func Start(t testing.TB) *Server {
	t.Helper()
	return StartDir(t, t.TempDir())
}

// StartDir runs a server on dir, which may hold the data of an earlier server
// (to test restarts). The server is shut down when the test ends unless it was
// shut down before.
func StartDir(t testing.TB, dir string) *Server {
	t.Helper()
	e, err := natsx.StartEmbedded(natsx.EmbeddedOptions{
		DataDir:    dir,
		Listen:     "127.0.0.1:0",
		ServerName: "avenir-test",
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return &Server{Embedded: e, Dir: dir}
}

// Conn connects to the server over TCP; the connection closes with the test.
func (s *Server) Conn(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream connects and returns a JetStream context.
func (s *Server) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(s.Conn(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// Secured is an embedded JetStream server that accepts only the identities
// it was started with, each authenticated by an NKey whose seed is in
// KeysDir (as `avenir server --dev` runs it).
type Secured struct {
	*Server
	KeysDir string
}

// StartSecured runs a fresh server accepting only ids, with NKeys
// generated in a temporary directory.
func StartSecured(t testing.TB, ids []natsx.Identity) *Secured {
	t.Helper()
	keysDir := filepath.Join(t.TempDir(), natsx.IdentitiesDir)
	keys, err := natsx.LoadOrCreateNKeys(keysDir, natsx.IdentityNames(ids))
	if err != nil {
		t.Fatal(err)
	}
	users := make([]natsx.User, len(ids))
	for i, id := range ids {
		users[i] = natsx.User{Identity: id, NKey: keys[id.Name]}
	}
	dir := t.TempDir()
	e, err := natsx.StartEmbedded(natsx.EmbeddedOptions{
		DataDir:    dir,
		Listen:     "127.0.0.1:0",
		ServerName: "avenir-test",
		Logger:     slog.New(slog.DiscardHandler),
		Users:      users,
	})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return &Secured{Server: &Server{Embedded: e, Dir: dir}, KeysDir: keysDir}
}

// ConnAs connects over TCP as identity; the connection closes with the
// test. Extra options come after the identity's.
func (s *Secured) ConnAs(t testing.TB, identity string, extra ...nats.Option) *nats.Conn {
	t.Helper()
	nk, err := natsx.NKeyOption(natsx.NKeyFile(s.KeysDir, identity))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), append([]nats.Option{nk, nats.Name(identity)}, extra...)...)
	if err != nil {
		t.Fatalf("connect nats as %s: %v", identity, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStreamAs connects as identity and returns a JetStream context.
func (s *Secured) JetStreamAs(t testing.TB, identity string, extra ...nats.Option) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(s.ConnAs(t, identity, extra...))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}
