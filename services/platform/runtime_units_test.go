package platform_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// A service started with its own NATS identity creates no stream: it waits
// for the admin identity to create them, then runs its wiring.
func TestStartUnitsWaitsForTheAdminsStreams(t *testing.T) {
	store := projection.NewMemory()
	svc := &counting{store: store}
	w := natsx.ServiceWiring{Name: svc.Name()}
	for _, p := range svc.Wiring().Projections {
		w.Consumers = append(w.Consumers, natsx.ConsumerRef{Stream: p.Stream, Name: p.Name})
	}
	for _, c := range svc.Wiring().Consumers {
		w.Consumers = append(w.Consumers, natsx.ConsumerRef{Stream: c.Spec.Stream, Name: c.Spec.Name})
	}
	srv := natstest.StartSecured(t, natsx.Identities([]natsx.ServiceWiring{w}))
	nc := srv.ConnAs(t, svc.Name())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deps := platform.Deps{
		Logger: slog.New(slog.DiscardHandler), NC: nc, JS: js, Projections: store,
		Topology: natsx.Topology{Replicas: 1}, Now: time.Now,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	var waited [][]string
	type started struct {
		r   *platform.Running
		err error
	}
	done := make(chan started, 1)
	go func() {
		r, err := platform.StartUnits(ctx, []platform.Unit{{Service: svc, Deps: deps}}, platform.StartOptions{Waiting: func(missing []string) {
			mu.Lock()
			waited = append(waited, missing)
			mu.Unlock()
		}})
		done <- started{r, err}
	}()
	select {
	case s := <-done:
		t.Fatalf("started without its streams: %v", s.err)
	case <-time.After(500 * time.Millisecond):
	}
	mu.Lock()
	if len(waited) == 0 || !slices.Equal(waited[0], []string{consumer.DLQStream, "COUNTING", "ELSEWHERE"}) {
		t.Errorf("waited for %v", waited)
	}
	mu.Unlock()
	for _, name := range []string{"COUNTING", "ELSEWHERE", consumer.DLQStream} {
		if _, err := js.Stream(ctx, name); err == nil {
			t.Fatalf("the service created %s", name)
		}
	}

	admin := srv.JetStreamAs(t, natsx.IdentityAdmin)
	var changes []string
	err = platform.EnsureStreams(ctx, admin, deps.Topology, append(svc.Streams(), elsewhere, consumer.DLQSpec()), func(spec natsx.StreamSpec, c natsx.StreamChange) {
		changes = append(changes, spec.Name+" "+c.String())
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"COUNTING created", "ELSEWHERE created", "AVENIR_DLQ created"}; !slices.Equal(changes, want) {
		t.Errorf("admin: %v, want %v", changes, want)
	}
	s := <-done
	if s.err != nil {
		t.Fatal(s.err)
	}
	t.Cleanup(func() { _ = s.r.Stop(context.Background()) })
	mu.Lock()
	if last := waited[len(waited)-1]; last != nil {
		t.Errorf("the last wait reported %v, want nothing missing once started", last)
	}
	mu.Unlock()

	// Events of ELSEWHERE (appended by ops here) reach the read model and
	// the consumer, which run under the service's identity.
	ops, err := eventstore.New(srv.JetStreamAs(t, natsx.IdentityOps), eventstore.Options{Source: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("u%d", i)
		if _, err := ops.Append(ctx, "ELSEWHERE", "avenir.elsewhere.value."+id+".>", 0, eventstore.Command{RequestID: id},
			event.Draft{Subject: "avenir.elsewhere.value." + id + ".set", AggregateID: id, Data: wrapperspb.Int64(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.r.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	n := len(svc.seen)
	svc.mu.Unlock()
	if n != 3 {
		t.Fatalf("the consumer handled %d events, want 3", n)
	}
	for _, c := range s.r.Ready(ctx, platform.ReadyOptions{}) {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
}
