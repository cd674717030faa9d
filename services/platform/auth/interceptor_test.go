package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

const method = "/avenir.test.v1.TestService/Do"

type harness struct {
	authz *auth.Authorizer
	key   ed25519.PrivateKey
	logs  *bytes.Buffer
}

func newHarness(t *testing.T, insecure bool) *harness {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	v, err := auth.NewStaticVerifier(auth.DevIssuer, auth.DefaultAudience, nil, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	a, err := auth.NewAuthorizer(auth.Options{
		Verifier: v, Insecure: insecure,
		Policy: auth.Policy{method: {auth.RoleAdmin, auth.RoleReferent}},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{authz: a, key: key, logs: logs}
}

func (h *harness) token(t *testing.T, p auth.Principal) string {
	t.Helper()
	tok, err := auth.Mint(h.key, auth.DevClaims(p, time.Hour, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call runs the unary interceptor for method with the given authorization
// metadata ("" for none) and returns the principal the handler saw.
func (h *harness) call(method, authorization string) (auth.Principal, error) {
	ctx := context.Background()
	if authorization != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", authorization))
	}
	var seen auth.Principal
	_, err := h.authz.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
		seen, _ = auth.FromContext(ctx)
		if auth.ActorFrom(ctx) != seen.Actor() {
			return nil, apperr.New(apperr.KindInternal, "actor not set from the principal")
		}
		return nil, nil
	})
	return seen, err
}

var referent = auth.Principal{Subject: "u1", Name: "Camille Lenoir", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T05"}}

func TestAuthorizer(t *testing.T) {
	h := newHarness(t, false)
	tok := h.token(t, referent)
	tests := []struct {
		name, method, authorization string
		want                        apperr.Kind
	}{
		{"allowed role", method, "Bearer " + tok, 0},
		{"scheme is case-insensitive", method, "bearer " + tok, 0},
		{"role not in the policy", method, "Bearer " + h.token(t, auth.Principal{Subject: "f", Role: auth.RoleFunder}), apperr.KindPermissionDenied},
		{"method missing from the policy", "/avenir.test.v1.TestService/Other", "Bearer " + tok, apperr.KindPermissionDenied},
		{"no token", method, "", apperr.KindUnauthenticated},
		{"not a bearer token", method, "Basic dXNlcjpwYXNz", apperr.KindUnauthenticated},
		{"garbage token", method, "Bearer not.a.jwt", apperr.KindUnauthenticated},
		{"health is open", "/grpc.health.v1.Health/Check", "", 0},
		{"reflection is open", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := h.call(tc.method, tc.authorization)
			if apperr.KindOf(err) != tc.want && !(tc.want == 0 && err == nil) {
				t.Fatalf("got %v, want kind %v", err, tc.want)
			}
			if tc.want == 0 && !auth.IsOpen(tc.method) && p.ReferentID != "ref-1" {
				t.Fatalf("handler saw principal %+v", p)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Fatal("the error echoes the token")
			}
		})
	}
	logs := h.logs.String()
	for _, want := range []string{"access allowed", "access denied", "referent:u1", method} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{tok, "Camille", "Lenoir"} {
		if strings.Contains(logs, secret) {
			t.Errorf("access log contains %q", secret)
		}
	}
}

func TestInsecureActsAsAdmin(t *testing.T) {
	h := newHarness(t, true)
	p, err := h.call(method, "")
	if err != nil || p.Subject != auth.InsecurePrincipal.Subject || p.Role != auth.RoleAdmin {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestUncovered(t *testing.T) {
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if missing := (auth.Policy{}).Uncovered(srv); len(missing) != 0 {
		t.Fatalf("health needs no policy, got %v", missing)
	}
	desc := grpc.ServiceDesc{ServiceName: "avenir.test.v1.TestService", HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Do"}, {MethodName: "Other"}}}
	srv.RegisterService(&desc, struct{}{})
	missing := (auth.Policy{method: {auth.RoleAdmin}}).Uncovered(srv)
	if len(missing) != 1 || missing[0] != "/avenir.test.v1.TestService/Other" {
		t.Fatalf("missing %v", missing)
	}
	merged := auth.Merge(auth.Policy{method: {auth.RoleAdmin}}, auth.Policy{"/avenir.test.v1.TestService/Other": {auth.RoleFunder}})
	if len(merged.Uncovered(srv)) != 0 {
		t.Fatal("merged policy should cover both methods")
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestStreamInterceptor(t *testing.T) {
	h := newHarness(t, false)
	info := &grpc.StreamServerInfo{FullMethod: method}
	var seen auth.Principal
	handler := func(_ any, ss grpc.ServerStream) error {
		seen, _ = auth.FromContext(ss.Context())
		return nil
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+h.token(t, referent)))
	if err := h.authz.Stream()(nil, fakeStream{ctx: ctx}, info, handler); err != nil || seen.ReferentID != "ref-1" {
		t.Fatalf("stream with a token: %v, principal %+v", err, seen)
	}
	err := h.authz.Stream()(nil, fakeStream{ctx: context.Background()}, info, handler)
	if apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("stream without a token: %v", err)
	}
}
