package projector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const name = "test-totals"

var streamSpec = natsx.StreamSpec{Name: "COUNTERS", Subjects: []string{"avenir.counter.>"}, MaxBytes: 64 << 20}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// add appends n increments to counter id; event i adds i+1.
func add(t *testing.T, js jetstream.JetStream, id string, n int) {
	t.Helper()
	store, err := eventstore.New(js, eventstore.Options{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.counter.c." + id + ".>"
	for i := range n {
		_, err := store.Execute(ctx(t), streamSpec.Name, filter, eventstore.Command{RequestID: fmt.Sprintf("%s-%d-%d", id, i, time.Now().UnixNano())},
			func(eventstore.History) ([]event.Draft, error) {
				return []event.Draft{{Subject: "avenir.counter.c." + id + ".added", AggregateID: id, Data: wrapperspb.Int64(int64(i + 1))}}, nil
			})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// totals is a read model: the sum of a counter's increments. Its Project
// reads the current value, so it is only right when events are applied once
// and in order.
type totals struct {
	store projection.Store
	mu    sync.Mutex
	fail  map[uint64]int // sequence -> failures still to inject
	calls int
}

func (p *totals) project(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	p.mu.Lock()
	p.calls++
	if p.fail[ev.Sequence] > 0 {
		p.fail[ev.Sequence]--
		p.mu.Unlock()
		return nil, errors.New("injected transient failure")
	}
	p.mu.Unlock()
	v, ok := ev.Data.(*wrapperspb.Int64Value)
	if !ok {
		return nil, nil
	}
	cur, err := p.get(ctx, ev.AggregateID)
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put("total:"+ev.AggregateID, []byte(strconv.FormatInt(cur+v.GetValue(), 10)))}, nil
}

func (p *totals) get(ctx context.Context, id string) (int64, error) {
	b, err := p.store.Get(ctx, name, "total:"+id)
	if errors.Is(err, projection.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

func start(t *testing.T, js jetstream.JetStream, p *totals) *projector.Runner {
	t.Helper()
	r, err := projector.Start(ctx(t), js, projector.Spec{
		Name: name, Stream: streamSpec.Name, FilterSubjects: []string{"avenir.counter.>"}, Project: p.project,
	}, projector.Options{Store: p.store, Logger: slog.New(slog.DiscardHandler), Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return r
}

func stop(t *testing.T, r *projector.Runner) {
	t.Helper()
	if err := r.Stop(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func wantTotal(t *testing.T, p *totals, id string, want int64) {
	t.Helper()
	got, err := p.get(ctx(t), id)
	if err != nil || got != want {
		t.Fatalf("total %s = %d (%v), want %d", id, got, err, want)
	}
}

func TestProjectsInOrderOnceDespiteFailures(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(ctx(t), js, streamSpec, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	add(t, js, "a", 10) // 1+2+...+10 = 55
	p := &totals{store: projection.NewMemory(), fail: map[uint64]int{3: 1, 7: 1}}
	r := start(t, js, p)
	wantTotal(t, p, "a", 55)
	if cp, _ := p.store.Checkpoint(ctx(t), name); cp != 10 {
		t.Fatalf("checkpoint %d, want 10", cp)
	}

	// New events after the catch-up are applied as they come.
	add(t, js, "b", 3)
	if err := r.WaitCaughtUp(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantTotal(t, p, "b", 6)
	stop(t, r)
}

func TestFreshStoreIsRebuiltAndAKeptOneResumes(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(ctx(t), js, streamSpec, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	add(t, js, "a", 4) // 10
	p := &totals{store: projection.NewMemory()}
	stop(t, start(t, js, p))
	wantTotal(t, p, "a", 10)

	// A process restart with an in-memory store: rebuilt from the stream.
	fresh := &totals{store: projection.NewMemory()}
	stop(t, start(t, js, fresh))
	wantTotal(t, fresh, "a", 10)

	// Restarting with the kept store only applies what is new.
	add(t, js, "a", 1) // +1
	fresh.calls = 0
	stop(t, start(t, js, fresh))
	wantTotal(t, fresh, "a", 11)
	if fresh.calls != 1 {
		t.Fatalf("resuming projected %d events, want only the new one", fresh.calls)
	}
}

func TestRedisStoreLostIsRebuilt(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(ctx(t), js, streamSpec, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	store, err := projection.NewRedis(ctx(t), projection.RedisOptions{URL: url, Prefix: redistest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	add(t, js, "a", 5) // 15
	p := &totals{store: store}
	stop(t, start(t, js, p))
	wantTotal(t, p, "a", 15)

	// Redis lost its data: the durable consumer is ahead of the store, so it
	// restarts from the store's checkpoint and the read model comes back.
	if err := store.Reset(ctx(t), name); err != nil {
		t.Fatal(err)
	}
	stop(t, start(t, js, p))
	wantTotal(t, p, "a", 15)
}

// eventually waits for cond, failing the test after 15 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 15s", what)
		}
	}
}

// A running projection whose store lost it (here reset behind its back, as
// a FLUSHALL would) notices within its check interval and rebuilds it from
// the stream, without a restart; events appended meanwhile are not lost.
func TestALostReadModelIsRebuiltWhileRunning(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(ctx(t), js, streamSpec, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	add(t, js, "a", 4) // 10
	p := &totals{store: projection.NewMemory()}
	r, err := projector.Start(ctx(t), js, projector.Spec{
		Name: name, Stream: streamSpec.Name, FilterSubjects: []string{"avenir.counter.>"}, Project: p.project,
	}, projector.Options{Store: p.store, Logger: slog.New(slog.DiscardHandler), Source: "test", CheckEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, r) })
	if err := r.WaitCaughtUp(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantTotal(t, p, "a", 10)

	if err := p.store.Reset(ctx(t), name); err != nil {
		t.Fatal(err)
	}
	add(t, js, "a", 2) // +3
	eventually(t, "rebuilt total", func() bool { got, err := p.get(ctx(t), "a"); return err == nil && got == 13 })
	if r.Rebuilds() < 1 {
		t.Fatal("the total came back without a rebuild")
	}
	if cp, _ := p.store.Checkpoint(ctx(t), name); cp != 6 {
		t.Fatalf("checkpoint %d after the rebuild, want 6", cp)
	}
}

// The same with a real Redis flushed and then killed and restarted empty
// (no persistence) while the projection runs.
func TestAFlushedOrRestartedRedisIsRebuiltWhileRunning(t *testing.T) {
	t.Parallel()
	redis := redistest.StartServer(t)
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(ctx(t), js, streamSpec, natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	store, err := projection.NewRedis(ctx(t), projection.RedisOptions{URL: redis.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	add(t, js, "a", 3) // 6
	p := &totals{store: store}
	r, err := projector.Start(ctx(t), js, projector.Spec{
		Name: name, Stream: streamSpec.Name, FilterSubjects: []string{"avenir.counter.>"}, Project: p.project,
	}, projector.Options{Store: store, Logger: slog.New(slog.DiscardHandler), Source: "test", CheckEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, r) })
	if err := r.WaitCaughtUp(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantTotal(t, p, "a", 6)

	redis.FlushAll()
	eventually(t, "total after FLUSHALL", func() bool { got, err := p.get(ctx(t), "a"); return err == nil && got == 6 })

	redis.Kill()
	add(t, js, "a", 1) // +1, while Redis is down
	redis.Start()
	eventually(t, "total after a restart without persistence", func() bool { got, err := p.get(ctx(t), "a"); return err == nil && got == 7 })
	if r.Rebuilds() < 2 {
		t.Fatalf("%d rebuilds, want one per loss", r.Rebuilds())
	}
}
