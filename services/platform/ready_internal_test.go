package platform

import (
	"context"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/telemetry"
)

// A check that hangs fails as not answered in time; the others keep their
// answers, so a dead dependency is still named when another check is slow.
func TestReadinessProbesAnswerWhatTheyKnowAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	started := time.Now()
	checks := runProbes(ctx, []probe{
		{"lag slow", func(ctx context.Context) telemetry.Check {
			time.Sleep(5 * time.Second) // ignores its context
			return telemetry.Check{Name: "lag slow", OK: true}
		}},
		{"read-model store", func(context.Context) telemetry.Check {
			return telemetry.Check{Name: "read-model store", Detail: "connection refused"}
		}},
		{"stream INTAKE", func(context.Context) telemetry.Check {
			return telemetry.Check{Name: "stream INTAKE", OK: true}
		}},
	})
	if took := time.Since(started); took > time.Second {
		t.Fatalf("the checks took %v past their deadline", took)
	}
	want := []telemetry.Check{
		{Name: "lag slow", Detail: "did not answer in time"},
		{Name: "read-model store", Detail: "connection refused"},
		{Name: "stream INTAKE", OK: true},
	}
	if len(checks) != len(want) {
		t.Fatalf("checks %+v", checks)
	}
	for i := range want {
		if checks[i] != want[i] {
			t.Errorf("check %d = %+v, want %+v", i, checks[i], want[i])
		}
	}
}
