// Package servicetest runs services in-process for component tests: an
// embedded JetStream server, an in-memory (or given) projection store, and
// the services' gRPC API over bufconn through the production server stack.
package servicetest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Builder builds one service from the shared dependencies.
type Builder func(platform.Deps) (platform.Service, error)

// Env is a running set of services.
type Env struct {
	NATS *natstest.Server
	JS   jetstream.JetStream
	Deps platform.Deps
	// Conn reaches every registered service as an admin; ConnAs as anyone.
	Conn *grpc.ClientConn
	// Services are the running services, in start order.
	Services []platform.Service
	// Running is what platform.Start started for them.
	Running *platform.Running
	// Keys is the services' key store (Deps.Keys), under a random master
	// key: it seals the personal fields of their events.
	Keys *privacy.Keyring

	mu  sync.Mutex
	now time.Time
	key ed25519.PrivateKey
	lis *bufconn.Listener
}

// Admin is the principal of Env.Conn.
var Admin = auth.Principal{Subject: "test-admin", Role: auth.RoleAdmin}

// Options tune Start.
type Options struct {
	// Now fixes the clock; default 2026-11-26 10:00 Europe/Paris.
	Now time.Time
	// Store overrides the in-memory projection store.
	Store projection.Store
	// Streams are created before the services start: the streams of other
	// contexts whose events the test publishes itself.
	Streams []natsx.StreamSpec
	// Sealer replaces the key store as the event codecs' Sealer
	// (platform.Deps.Sealing): benchmarks measuring what sealing costs.
	Sealer event.Sealer
}

// Start builds, starts and serves the services; everything stops with the
// test. The services start as the avenir binary starts them
// (platform.Start): streams they consume are created if missing, from
// opts.Streams or, failing that, by the project's convention (stream X
// holds subjects avenir.x.>).
func Start(t testing.TB, opts Options, builders ...Builder) *Env {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	}
	if opts.Store == nil {
		opts.Store = projection.NewMemory()
	}
	srv := natstest.Start(t)
	env := &Env{NATS: srv, JS: srv.JetStream(t), now: opts.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env.Keys = keyring(t, ctx, env.JS)
	env.Deps = platform.Deps{
		Logger:      slog.New(slog.DiscardHandler),
		NC:          srv.Conn(t),
		JS:          env.JS,
		Projections: opts.Store,
		Topology:    natsx.Topology{Replicas: 1},
		Now:         env.Now,
		Keys:        env.Keys,
		Sealing:     opts.Sealer,
	}

	var services []platform.Service
	for _, b := range builders {
		svc, err := b(env.Deps)
		if err != nil {
			t.Fatalf("build service: %v", err)
		}
		services = append(services, svc)
	}
	_, env.key, _ = ed25519.GenerateKey(nil)
	verifier, err := auth.NewStaticVerifier(auth.DevIssuer, auth.DefaultAudience, env.Now, env.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var policies []auth.Policy
	for _, svc := range services {
		policies = append(policies, svc.Policy())
	}
	authz, err := auth.NewAuthorizer(auth.Options{Verifier: verifier, Policy: auth.Merge(policies...), Logger: env.Deps.Logger})
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcx.NewServer(grpcx.ServerOptions{
		Logger:             env.Deps.Logger,
		UnaryInterceptors:  []grpc.UnaryServerInterceptor{authz.Unary()},
		StreamInterceptors: []grpc.StreamServerInterceptor{authz.Stream()},
	})
	for _, svc := range services {
		svc.Register(gs)
		if missing := svc.Policy().Uncovered(gs); len(missing) > 0 {
			t.Fatalf("methods without an access policy entry: %v", missing)
		}
	}
	env.Running = start(t, ctx, env.Deps, services, catalog(services, opts.Streams))
	env.Services = services
	lis := bufconn.Listen(1 << 20)
	env.lis = lis
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		gs.Shutdown(stopCtx)
	})
	env.Conn = env.ConnAs(t, Admin)
	return env
}

// keyring creates the key store's stream and returns a Keyring on it under
// a random master key, closed with the test.
func keyring(t testing.TB, ctx context.Context, js jetstream.JetStream) *privacy.Keyring {
	t.Helper()
	if _, err := natsx.EnsureStream(ctx, js, privacy.StreamSpec(), natsx.Topology{Replicas: 1}); err != nil {
		t.Fatalf("key store: %v", err)
	}
	master, err := privacy.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.New(js, privacy.Options{Master: master, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	t.Cleanup(keys.Close)
	return keys
}

// catalog is the streams the test knows: those given, and, for every other
// stream a service consumes, one named by the project's convention.
func catalog(services []platform.Service, given []natsx.StreamSpec) []natsx.StreamSpec {
	out := slices.Clone(given)
	for _, svc := range services {
		w := svc.Wiring()
		var names []string
		for _, p := range w.Projections {
			names = append(names, p.Stream)
		}
		for _, c := range w.Consumers {
			names = append(names, c.Spec.Stream)
		}
		for _, name := range names {
			if !slices.ContainsFunc(out, func(s natsx.StreamSpec) bool { return s.Name == name }) {
				out = append(out, natsx.StreamSpec{Name: name, Subjects: []string{"avenir." + strings.ToLower(name) + ".>"}})
			}
		}
	}
	return out
}

// CaughtUp waits until every read model and consumer of the services has
// handled every event stored so far, and what the consumers appended
// meanwhile: after a test published events as another service would, or
// before it reads a read model.
func (e *Env) CaughtUp(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Running.WaitCaughtUp(ctx); err != nil {
		t.Fatalf("caught up: %v", err)
	}
}

// ConsumerCaughtUp waits until the consumer (or read model) of that name has
// handled every event of its stream stored so far: for a test that needs
// one consumer done while others cannot be (their store is down, say).
func (e *Env) ConsumerCaughtUp(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.Running.Components()
	for _, r := range c.Consumers {
		if r.Name() == name {
			if err := r.WaitCaughtUp(ctx); err != nil {
				t.Fatalf("consumer %s: %v", name, err)
			}
			return
		}
	}
	for _, r := range c.Projections {
		if r.Name() == name {
			if err := r.WaitCaughtUp(ctx); err != nil {
				t.Fatalf("read model %s: %v", name, err)
			}
			return
		}
	}
	t.Fatalf("no consumer or read model %s", name)
}

// Publish appends an event as the context owning its subject would
// (avenir.<ctx>.<aggregate>.<id>.<event>, on stream <CTX>), after the
// aggregate's last event, and returns it as stored. Concurrent publishers on
// the aggregate make it try again.
func (e *Env) Publish(t testing.TB, subject string, data proto.Message) event.Event {
	t.Helper()
	toks := strings.Split(subject, ".")
	if len(toks) != 5 || toks[0] != "avenir" {
		t.Fatalf("publish: %q is not avenir.<ctx>.<aggregate>.<id>.<event>", subject)
	}
	stream, filter := strings.ToUpper(toks[1]), strings.Join(toks[:4], ".")+".>"
	store, err := eventstore.New(e.JS, eventstore.Options{Source: toks[1], Sealer: e.Deps.Sealer()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 20 {
		h, err := store.Load(ctx, stream, filter)
		if err != nil {
			t.Fatalf("publish %s: %v", subject, err)
		}
		evs, err := store.Append(ctx, stream, filter, h.LastSeq,
			eventstore.Command{RequestID: event.NewID(), Actor: "service:" + toks[1], Time: e.Now()},
			event.Draft{Subject: subject, AggregateID: toks[3], Data: data})
		if err == nil {
			return evs[0]
		}
		if !errors.Is(err, eventstore.ErrConflict) {
			t.Fatalf("publish %s: %v", subject, err)
		}
	}
	t.Fatalf("publish %s: still conflicting", subject)
	return event.Event{}
}

// Refused checks that a call was refused with code, and, for
// InvalidArgument, on exactly the fields given, in order; for
// FailedPrecondition, with the reason given (the "reason" of its error
// metadata), if one is.
func Refused(t testing.TB, err error, code codes.Code, reasonOrFields ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	switch code {
	case codes.InvalidArgument:
		var got []string
		for _, f := range grpcx.FieldViolations(err) {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, reasonOrFields) {
			t.Fatalf("violations on %v, want %v (%v)", got, reasonOrFields, err)
		}
	case codes.FailedPrecondition:
		if len(reasonOrFields) > 0 && grpcx.Metadata(err)["reason"] != reasonOrFields[0] {
			t.Fatalf("reason %q, want %q (%v)", grpcx.Metadata(err)["reason"], reasonOrFields[0], err)
		}
	}
}

// ConnAs connects as principal p, with a token valid for an hour of the
// services' clock.
func (e *Env) ConnAs(t testing.TB, p auth.Principal) *grpc.ClientConn {
	t.Helper()
	return e.connWith(t, grpc.WithPerRPCCredentials(auth.BearerToken(e.Token(t, p))))
}

// ConnAnonymous connects without a token.
func (e *Env) ConnAnonymous(t testing.TB) *grpc.ClientConn {
	t.Helper()
	return e.connWith(t)
}

// Token mints a token for p, valid for an hour of the services' clock.
func (e *Env) Token(t testing.TB, p auth.Principal) string {
	t.Helper()
	tok, err := auth.Mint(e.key, auth.DevClaims(p, time.Hour, e.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *Env) connWith(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append(opts,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return e.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpcx.Dial("passthrough:///bufconn", opts...)
	if err != nil {
		t.Fatalf("dial bufconn: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Now is the services' clock.
func (e *Env) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// SetNow moves the services' clock.
func (e *Env) SetNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// Events reads every stored event of stream matching filter, in order.
func (e *Env) Events(t testing.TB, stream, filter string) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := eventstore.New(e.JS, eventstore.Options{Source: "servicetest", Sealer: e.Deps.Sealer()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.Load(ctx, stream, filter)
	if err != nil {
		t.Fatalf("read %s %s: %v", stream, filter, err)
	}
	return h.Events
}

// Eventually retries check until it returns nil or the timeout passes; read
// models are eventually consistent.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Rebuild stops the running services, then builds the service b builds on
// store (a fresh one, to test a rebuild) and starts it as Start does: its
// read models replay the streams into store before Rebuild returns. The
// service is not served over gRPC: tests call its methods directly. It
// stops with the test.
func (e *Env) Rebuild(t testing.TB, store projection.Store, b Builder) platform.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Running.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	deps := e.Deps
	deps.Projections = store
	svc, err := b(deps)
	if err != nil {
		t.Fatalf("build service: %v", err)
	}
	start(t, ctx, deps, []platform.Service{svc}, catalog([]platform.Service{svc}, nil))
	return svc
}

// start runs services with platform.Start and stops them when the test ends.
func start(t testing.TB, ctx context.Context, deps platform.Deps, services []platform.Service, catalog []natsx.StreamSpec) *platform.Running {
	t.Helper()
	running, err := platform.Start(ctx, deps, services, catalog)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := running.Stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return running
}
