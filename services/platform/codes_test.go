package platform_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/platform"
)

func TestFromWire(t *testing.T) {
	table := map[string]int32{"a": 1, "b": 2}
	if got := platform.FromWire(table, int32(2)); got != "b" {
		t.Fatalf("got %q", got)
	}
	if got := platform.FromWire(table, int32(0)); got != "" {
		t.Fatalf("unknown wire value gave %q", got)
	}
}
