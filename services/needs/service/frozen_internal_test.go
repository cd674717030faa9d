package service

import (
	"context"
	"testing"
	"time"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// A month frozen by another run, long enough ago that its message id is
// forgotten (another request id here), is not frozen again: the append
// expecting an empty subject is refused, and the run goes on.
func TestAMonthFrozenElsewhereIsNotFrozenAgain(t *testing.T) {
	t.Parallel()
	env := servicetest.Start(t, servicetest.Options{}, func(d platform.Deps) (platform.Service, error) { return New(d, Config{}) })
	s := env.Services[0].(*Service)
	march := civil.Month{Year: 2026, Month: time.March}
	first := env.Publish(t, frozenSubject(march), &needsv1.SummaryFrozen{Month: civilpb.FromMonth(march), FrozenOn: civilpb.FromDate(march.Next().Next().First())})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.freeze(ctx, march, s.deps.Today()); err != nil {
		t.Fatalf("freezing a month frozen elsewhere: %v", err)
	}
	evs := env.Events(t, Stream, frozenSubject(march))
	if len(evs) != 1 || evs[0].ID != first.ID {
		t.Fatalf("%d freezes of %s, want the first only", len(evs), march)
	}
}
