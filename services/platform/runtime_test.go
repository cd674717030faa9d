package platform_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
	"github.com/avenir-normandie/avenir/services/platform/telemetry"
)

// counting is a service owning COUNTING, with a read model of the values
// the events of ELSEWHERE (another context's stream) carry, and a consumer
// of the same stream that comes after that read model.
type counting struct {
	store projection.Store
	mu    sync.Mutex
	// seen records, for each event the consumer handled, whether the read
	// model had applied it already.
	seen []bool
}

func (c *counting) Name() string { return "counting" }
func (c *counting) Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{Name: "COUNTING", Subjects: []string{"avenir.counting.>"}, MaxBytes: 1 << 20}}
}
func (c *counting) Register(grpc.ServiceRegistrar) {}
func (c *counting) Policy() auth.Policy            { return auth.Policy{} }
func (c *counting) Wiring() platform.Wiring {
	return platform.Wiring{
		Projections: []projector.Spec{{
			Name: "counting-values", Stream: "ELSEWHERE", FilterSubjects: []string{"avenir.elsewhere.>"},
			Project: func(ctx context.Context, ev event.Event) ([]projection.Op, error) {
				time.Sleep(5 * time.Millisecond) // slower than the consumer
				return []projection.Op{projection.Put(ev.AggregateID, []byte("in"))}, nil
			},
		}},
		Consumers: []platform.Consumer{{
			Spec: consumer.Spec{Stream: "ELSEWHERE", Name: "counting-react", Ordered: true, FilterSubjects: []string{"avenir.elsewhere.>"}},
			Handle: func(ctx context.Context, ev event.Event) error {
				_, err := c.store.Get(ctx, "counting-values", ev.AggregateID)
				c.mu.Lock()
				c.seen = append(c.seen, err == nil)
				c.mu.Unlock()
				return nil
			},
			After: []string{"counting-values"},
		}},
	}
}

var elsewhere = natsx.StreamSpec{Name: "ELSEWHERE", Subjects: []string{"avenir.elsewhere.>"}}

func TestStartRunsTheWiringInOrderAndReportsReadiness(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := projection.NewMemory()
	deps := platform.Deps{
		Logger: slog.New(slog.DiscardHandler), NC: srv.Conn(t), JS: srv.JetStream(t), Projections: store,
		Topology: natsx.Topology{Replicas: 1}, Now: time.Now,
	}
	svc := &counting{store: store}

	// A stream consumed but declared by no known context is a wiring error.
	if _, err := platform.Start(ctx, deps, []platform.Service{svc}, nil); err == nil || !strings.Contains(err.Error(), "ELSEWHERE") {
		t.Fatalf("start without ELSEWHERE in the catalog: %v", err)
	}
	// With it, ELSEWHERE is created (its owner has not started), COUNTING too.
	running, err := platform.Start(ctx, deps, []platform.Service{svc}, []natsx.StreamSpec{elsewhere})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = running.Stop(context.Background()) })
	for _, name := range []string{"ELSEWHERE", "COUNTING"} {
		if _, err := deps.JS.Stream(ctx, name); err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
	}

	store2, err := eventstore.New(deps.JS, eventstore.Options{Source: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := fmt.Sprintf("v%d", i)
		if _, err := store2.Append(ctx, "ELSEWHERE", "avenir.elsewhere.value."+id+".>", 0, eventstore.Command{RequestID: id},
			event.Draft{Subject: "avenir.elsewhere.value." + id + ".set", AggregateID: id, Data: wrapperspb.Int64(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := running.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	seen := svc.seen
	svc.mu.Unlock()
	if len(seen) != 20 {
		t.Fatalf("the consumer handled %d events, want 20", len(seen))
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("event %d reached the consumer before the read model it comes after", i)
		}
	}

	checks := running.Ready(ctx, platform.ReadyOptions{})
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	for _, want := range []string{"nats", "stream COUNTING", "read-model store", "lag counting-values", "lag counting-react"} {
		if !hasCheck(checks, want) {
			t.Errorf("no check %q in %v", want, checks)
		}
	}

	// A full stream is not ready, and says so.
	filler, err := eventstore.New(deps.JS, eventstore.Options{Source: "counting"})
	if err != nil {
		t.Fatal(err)
	}
	big := wrapperspb.String(strings.Repeat("x", 16<<10))
	for i := 0; ; i++ {
		id := fmt.Sprintf("f%d", i)
		_, err := filler.Append(ctx, "COUNTING", "avenir.counting.fill."+id+".>", 0, eventstore.Command{RequestID: id},
			event.Draft{Subject: "avenir.counting.fill." + id + ".added", AggregateID: id, Data: big})
		if err != nil {
			break
		}
		if i > 200 {
			t.Fatal("a 1 MiB stream took 200 writes of 16 KiB")
		}
	}
	checks = running.Ready(ctx, platform.ReadyOptions{})
	if c := find(checks, "stream COUNTING"); c.OK || !strings.Contains(c.Detail, "--stream-max-bytes") {
		t.Fatalf("full stream check %+v", c)
	}

	// Stopping twice is harmless.
	if err := errors.Join(running.Stop(ctx), running.Stop(ctx)); err != nil {
		t.Fatal(err)
	}
}

func hasCheck(checks []telemetry.Check, name string) bool { return find(checks, name).Name != "" }

func find(checks []telemetry.Check, name string) telemetry.Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return telemetry.Check{}
}
