package projection_test

import (
	"context"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// mustGeneration returns the generation of projection p in s.
func mustGeneration(t testing.TB, s projection.Store, p string) string {
	t.Helper()
	g, err := s.Generation(context.Background(), p)
	if err != nil {
		t.Fatalf("Generation %s: %v", p, err)
	}
	return g
}
