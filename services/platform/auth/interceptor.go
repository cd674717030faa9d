package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Policy says which roles may call each RPC, by full method name
// ("/avenir.intake.v1.IntakeService/RegisterLearner"). A method missing
// from the policy is denied to everyone.
type Policy map[string][]Role

// Merge returns the union of policies (the server runs several services).
func Merge(policies ...Policy) Policy {
	out := Policy{}
	for _, p := range policies {
		for m, roles := range p {
			out[m] = append(out[m], roles...)
		}
	}
	return out
}

// Uncovered lists the methods of the services registered on srv that have
// no entry in the policy and are not open (health, reflection).
func (p Policy) Uncovered(srv interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}) []string {
	var missing []string
	for name, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + name + "/" + m.Name
			if _, ok := p[full]; !ok && !IsOpen(full) {
				missing = append(missing, full)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// openServices need no token: health checks and reflection.
var openServices = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// IsOpen reports whether method is served without a token.
func IsOpen(method string) bool {
	for _, prefix := range openServices {
		if strings.HasPrefix(method, prefix) {
			return true
		}
	}
	return false
}

// Options configure the interceptors.
type Options struct {
	Verifier Verifier
	Policy   Policy
	Logger   *slog.Logger
	// Insecure serves every call as an admin, without tokens. For local
	// experiments only: the server refuses it on a non-loopback address.
	Insecure bool
}

// InsecurePrincipal is the caller of every RPC when authentication is off.
var InsecurePrincipal = Principal{Subject: "insecure-no-auth", Role: RoleAdmin}

// Authorizer authenticates and authorizes calls.
type Authorizer struct {
	opts Options
	log  *slog.Logger
}

// NewAuthorizer checks the options.
func NewAuthorizer(opts Options) (*Authorizer, error) {
	if opts.Verifier == nil && !opts.Insecure {
		return nil, errors.New("auth: no token verifier")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Authorizer{opts: opts, log: log.With("component", "access")}, nil
}

// Unary is the unary server interceptor.
func (a *Authorizer) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is the stream server interceptor.
func (a *Authorizer) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// authorize returns ctx with the caller's principal, or why the call is
// refused. Every decision is logged with the principal's role and subject,
// the method and the reason — never the token or personal data.
func (a *Authorizer) authorize(ctx context.Context, method string) (context.Context, error) {
	if IsOpen(method) {
		return ctx, nil
	}
	var p Principal
	if a.opts.Insecure {
		p = InsecurePrincipal
	} else {
		token, err := bearer(ctx)
		if err != nil {
			a.log.InfoContext(ctx, "access denied", "method", method, "reason", err.Error())
			return nil, apperr.Unauthenticated("%s", err)
		}
		p, err = a.opts.Verifier.Verify(ctx, token)
		if errors.Is(err, ErrUnauthenticated) {
			a.log.InfoContext(ctx, "access denied", "method", method, "reason", err.Error())
			return nil, apperr.Unauthenticated("%s", err)
		}
		if err != nil {
			a.log.ErrorContext(ctx, "token verification unavailable", "method", method, "error", err)
			return nil, apperr.Unavailable("cannot verify tokens right now, retry later")
		}
	}
	roles, ok := a.opts.Policy[method]
	if !ok {
		a.log.ErrorContext(ctx, "access denied", "principal", p.String(), "method", method, "reason", "method missing from the access policy")
		return nil, apperr.PermissionDenied("%s is not open to anyone", method)
	}
	if !slices.Contains(roles, p.Role) {
		reason := fmt.Sprintf("role %s may not call %s", p.Role, method)
		a.log.InfoContext(ctx, "access denied", "principal", p.String(), "method", method, "reason", reason)
		return nil, apperr.PermissionDenied("%s", reason)
	}
	a.log.InfoContext(ctx, "access allowed", "principal", p.String(), "method", method)
	return NewContext(ctx, p), nil
}

// bearer extracts the token of the "authorization: Bearer <token>" metadata.
func bearer(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return "", errors.New("missing bearer token in the authorization metadata")
	}
	if len(values) > 1 {
		return "", errors.New("several authorization metadata values")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", errors.New(`authorization metadata must be "Bearer <token>"`)
	}
	return strings.TrimSpace(token), nil
}

// Denied is the answer to a caller outside an object's scope when saying
// so would reveal that the object exists: NotFound, as for a missing one.
func Denied(kind, id string) error { return apperr.NotFound("%s %s not found", kind, id) }
