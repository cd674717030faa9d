package auth_test

import (
	"context"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

func TestActor(t *testing.T) {
	if got := auth.ActorFrom(context.Background()); got != auth.Anonymous {
		t.Fatalf("got %q", got)
	}
	if got := auth.ActorFrom(auth.WithActor(context.Background(), "referent:42")); got != "referent:42" {
		t.Fatalf("got %q", got)
	}
}
