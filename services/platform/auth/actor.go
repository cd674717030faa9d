package auth

import "context"

type actorKey struct{}

// Anonymous is the actor recorded when nobody is identified.
const Anonymous = "anonymous"

// WithActor records who is acting in ctx; the events a command appends carry it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns who is acting, Anonymous when unknown.
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return Anonymous
}
