package platform_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// periodic is a service with one job that fails on its first run.
type periodic struct{ runs atomic.Int32 }

func (p *periodic) Name() string                   { return "periodic" }
func (p *periodic) Streams() []natsx.StreamSpec    { return nil }
func (p *periodic) Register(grpc.ServiceRegistrar) {}
func (p *periodic) Policy() auth.Policy            { return auth.Policy{} }
func (p *periodic) Wiring() platform.Wiring {
	return platform.Wiring{Jobs: []platform.Job{{
		Name: "periodic-tick", Every: time.Second,
		Run: func(ctx context.Context) error {
			if p.runs.Add(1) == 1 {
				return errors.New("first run fails")
			}
			return nil
		},
	}}}
}

func TestJobsRunPeriodicallyAfterAFailureAndStopWithTheServices(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deps := platform.Deps{
		Logger: slog.New(slog.DiscardHandler), NC: srv.Conn(t), JS: srv.JetStream(t), Projections: projection.NewMemory(),
		Topology: natsx.Topology{Replicas: 1}, Now: time.Now,
	}
	svc := &periodic{}
	running, err := platform.Start(ctx, deps, []platform.Service{svc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for svc.runs.Load() < 3 {
		if ctx.Err() != nil {
			t.Fatalf("the job ran %d times", svc.runs.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := running.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := svc.runs.Load()
	time.Sleep(1500 * time.Millisecond)
	if got := svc.runs.Load(); got != stopped {
		t.Errorf("the job ran %d times after Stop", got-stopped)
	}
}
