package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/eventstore/storetest"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
)

// spec is the stream of the tests, declared as services declare theirs.
var spec = natsx.StreamSpec{Name: "ESTEST", Subjects: []string{"avenir.estest.>"}, MaxBytes: 1 << 30}

// ensureStream creates the test stream on the server.
func ensureStream(tb testing.TB, js jetstream.JetStream) {
	tb.Helper()
	if _, err := natsx.EnsureStream(context.Background(), js, spec, natsx.Topology{Replicas: 1}); err != nil {
		tb.Fatal(err)
	}
}

// connect returns a JetStream context on srv with generous timeouts (the
// defaults are 5s for publishes and 2s for direct gets): the embedded server
// syncs every write to disk, and a disk kept busy by other processes must not
// fail the tests.
func connect(tb testing.TB, srv *natstest.Server) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.Timeout(time.Minute))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Minute))
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// newStore starts a server with the test stream and returns a store on it.
func newStore(tb testing.TB, opts eventstore.Options) (*eventstore.Store, jetstream.JetStream, *natstest.Server) {
	tb.Helper()
	srv := natstest.Start(tb)
	js := connect(tb, srv)
	ensureStream(tb, js)
	if opts.Source == "" {
		opts.Source = "eventstore-test"
	}
	s, err := eventstore.New(js, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s, js, srv
}

// TestStore runs the contract suite on one embedded server whose stream all
// subtests share, each through its own connection.
func TestStore(t *testing.T) {
	srv := natstest.Start(t)
	ensureStream(t, connect(t, srv))
	storetest.Run(t, func(t *testing.T) (*eventstore.Store, jetstream.JetStream, string) {
		js := connect(t, srv)
		s, err := eventstore.New(js, eventstore.Options{Source: "eventstore-test"})
		if err != nil {
			t.Fatal(err)
		}
		return s, js, spec.Name
	})
}

func TestReloadAfterRestart(t *testing.T) {
	s, _, srv := newStore(t, eventstore.Options{})
	const filter = "avenir.estest.thing.1.>"
	draft := func(i int) event.Draft {
		return event.Draft{Subject: "avenir.estest.thing.1.counted", AggregateID: "1", Data: wrapperspb.Int64(int64(i))}
	}
	created, err := s.Append(t.Context(), spec.Name, filter, 0, eventstore.Command{RequestID: "r1"}, draft(0), draft(1), draft(2))
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Load(t.Context(), spec.Name, filter)
	if err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	srv = natstest.StartDir(t, srv.Dir)
	s, err = eventstore.New(connect(t, srv), eventstore.Options{Source: "eventstore-test"})
	if err != nil {
		t.Fatal(err)
	}

	after, err := s.Load(t.Context(), spec.Name, filter)
	if err != nil {
		t.Fatal(err)
	}
	if after.LastSeq != before.LastSeq || after.LastSeq != created[2].Sequence || len(after.Events) != 3 {
		t.Fatalf("after restart: %d events up to %d, before: %d up to %d", len(after.Events), after.LastSeq, len(before.Events), before.LastSeq)
	}
	for i, ev := range after.Events {
		if b := before.Events[i]; ev.ID != b.ID || ev.Sequence != b.Sequence || ev.Data.(*wrapperspb.Int64Value).Value != int64(i) {
			t.Fatalf("event %d: %s@%d %v after restart, %s@%d before", i, ev.ID, ev.Sequence, ev.Data, b.ID, b.Sequence)
		}
	}
	if _, err := s.Append(t.Context(), spec.Name, filter, 0, eventstore.Command{RequestID: "r2"}, draft(3)); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("stale append after restart: want ErrConflict, got %v", err)
	}
	next, err := s.Append(t.Context(), spec.Name, filter, after.LastSeq, eventstore.Command{RequestID: "r2"}, draft(3))
	if err != nil {
		t.Fatal(err)
	}
	if next[0].Sequence != after.LastSeq+1 {
		t.Fatalf("appended at %d after %d", next[0].Sequence, after.LastSeq)
	}
}

func TestAppendSpan(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, _, _ := newStore(t, eventstore.Options{Tracer: tp.Tracer("test")})

	const filter = "avenir.estest.thing.traced.>"
	ctx, parent := tp.Tracer("test").Start(t.Context(), "command")
	drafts := []event.Draft{
		{Subject: "avenir.estest.thing.traced.created", AggregateID: "traced", Data: wrapperspb.String("a")},
		{Subject: "avenir.estest.thing.traced.renamed", AggregateID: "traced", Data: wrapperspb.String("b")},
	}
	if _, err := s.Append(ctx, spec.Name, filter, 0, eventstore.Command{RequestID: "r"}, drafts...); err != nil {
		t.Fatal(err)
	}
	parent.End()

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want the append's and its parent", len(spans))
	}
	span := spans[0]
	if span.Name() != "publish "+spec.Name || span.SpanKind() != trace.SpanKindProducer {
		t.Fatalf("span %q of kind %v", span.Name(), span.SpanKind())
	}
	if span.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("append span is not a child of the command's span")
	}
	attrs := attribute.NewSet(span.Attributes()...)
	for k, want := range map[attribute.Key]attribute.Value{
		"messaging.system":              attribute.StringValue("nats"),
		"messaging.destination.name":    attribute.StringValue(drafts[0].Subject),
		"messaging.batch.message_count": attribute.IntValue(2),
	} {
		if got, ok := attrs.Value(k); !ok || got != want {
			t.Errorf("attribute %s = %v, want %v", k, got.Emit(), want.Emit())
		}
	}

	h, err := s.Load(t.Context(), spec.Name, filter)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range h.Events {
		sc := trace.SpanContextFromContext(event.Context(context.Background(), ev.Header))
		if sc.SpanID() != span.SpanContext().SpanID() || sc.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("event %d carries span %s of trace %s, want the append span %s", i, sc.SpanID(), sc.TraceID(), span.SpanContext().SpanID())
		}
	}

	// A refused append marks its span as failed.
	rec.Reset()
	if _, err := s.Append(t.Context(), spec.Name, filter, 0, eventstore.Command{RequestID: "r2"}, drafts[0]); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Status().Code.String() != "Error" {
		t.Fatalf("conflicting append: spans %v", spans)
	}
}

func TestExecuteRetriesMaxRetriesTimes(t *testing.T) {
	s, _, _ := newStore(t, eventstore.Options{MaxRetries: 2})
	const filter = "avenir.estest.thing.contended.>"
	draft := func(v string) event.Draft {
		return event.Draft{Subject: "avenir.estest.thing.contended.changed", AggregateID: "contended", Data: wrapperspb.String(v)}
	}
	decisions := 0
	_, err := s.Execute(t.Context(), spec.Name, filter, eventstore.Command{RequestID: "loser"}, func(h eventstore.History) ([]event.Draft, error) {
		decisions++
		if _, err := s.Append(t.Context(), spec.Name, filter, h.LastSeq, eventstore.Command{RequestID: fmt.Sprint("winner-", decisions)}, draft("winner")); err != nil {
			t.Fatal(err)
		}
		return []event.Draft{draft("loser")}, nil
	})
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if decisions != 3 {
		t.Fatalf("decide called %d times, want 1 + MaxRetries = 3", decisions)
	}
}

func TestExecuteStopsWithContext(t *testing.T) {
	s, _, _ := newStore(t, eventstore.Options{MaxRetries: 1000})
	const filter = "avenir.estest.thing.canceled.>"
	draft := event.Draft{Subject: "avenir.estest.thing.canceled.changed", AggregateID: "canceled", Data: wrapperspb.String("x")}
	ctx, cancel := context.WithCancel(t.Context())
	decisions := 0
	_, err := s.Execute(ctx, spec.Name, filter, eventstore.Command{RequestID: "loser"}, func(h eventstore.History) ([]event.Draft, error) {
		decisions++
		if _, err := s.Append(t.Context(), spec.Name, filter, h.LastSeq, eventstore.Command{RequestID: fmt.Sprint("winner-", decisions)}, draft); err != nil {
			t.Fatal(err)
		}
		if decisions == 2 {
			cancel()
		}
		return []event.Draft{draft}, nil
	})
	if !errors.Is(err, context.Canceled) || decisions != 2 {
		t.Fatalf("after %d decisions: want context.Canceled, got %v", decisions, err)
	}
}

func TestLoadUnknownStream(t *testing.T) {
	s, _, _ := newStore(t, eventstore.Options{})
	_, err := s.Load(t.Context(), "NOPE", "avenir.estest.thing.1.>")
	if err == nil {
		t.Fatal("load from a missing stream succeeded")
	}
	t.Logf("missing stream: %v", err)
}

func TestNewValidatesOptions(t *testing.T) {
	js := connect(t, natstest.Start(t))
	for name, tc := range map[string]struct {
		js   jetstream.JetStream
		opts eventstore.Options
	}{
		"nil JetStream":       {nil, eventstore.Options{Source: "s"}},
		"no source":           {js, eventstore.Options{}},
		"negative MaxRetries": {js, eventstore.Options{Source: "s", MaxRetries: -1}},
	} {
		if _, err := eventstore.New(tc.js, tc.opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s, _, _ := newStore(b, eventstore.Options{})
	const filter = "avenir.estest.thing.bench.>"
	draft := event.Draft{Subject: "avenir.estest.thing.bench.counted", AggregateID: "bench", Data: wrapperspb.Int64(1)}
	var last uint64
	i := 0
	for b.Loop() {
		evs, err := s.Append(b.Context(), spec.Name, filter, last, eventstore.Command{RequestID: fmt.Sprint(i)}, draft)
		if err != nil {
			b.Fatal(err)
		}
		last = evs[0].Sequence
		i++
	}
}

func BenchmarkAppendBatch10(b *testing.B) {
	s, _, _ := newStore(b, eventstore.Options{})
	const filter = "avenir.estest.thing.bench.>"
	drafts := make([]event.Draft, 10)
	for i := range drafts {
		drafts[i] = event.Draft{Subject: "avenir.estest.thing.bench.counted", AggregateID: "bench", Data: wrapperspb.Int64(int64(i))}
	}
	var last uint64
	i := 0
	for b.Loop() {
		evs, err := s.Append(b.Context(), spec.Name, filter, last, eventstore.Command{RequestID: fmt.Sprint(i)}, drafts...)
		if err != nil {
			b.Fatal(err)
		}
		last = evs[len(evs)-1].Sequence
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(10*i), "ns/event")
}

func BenchmarkLoad(b *testing.B) {
	s, _, _ := newStore(b, eventstore.Options{})
	const filter = "avenir.estest.thing.bench.>"
	drafts := make([]event.Draft, 50)
	for i := range drafts {
		drafts[i] = event.Draft{Subject: "avenir.estest.thing.bench.counted", AggregateID: "bench", Data: wrapperspb.Int64(int64(i))}
	}
	if _, err := s.Append(b.Context(), spec.Name, filter, 0, eventstore.Command{RequestID: "fill"}, drafts...); err != nil {
		b.Fatal(err)
	}
	// An event of another aggregate follows, which the filter must skip.
	other := event.Draft{Subject: "avenir.estest.thing.other.counted", AggregateID: "other", Data: wrapperspb.Int64(0)}
	if _, err := s.Append(b.Context(), spec.Name, "avenir.estest.thing.other.>", 0, eventstore.Command{RequestID: "fill"}, other); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h, err := s.Load(b.Context(), spec.Name, filter)
		if err != nil {
			b.Fatal(err)
		}
		if len(h.Events) != 50 {
			b.Fatalf("loaded %d events", len(h.Events))
		}
	}
}

func TestResultAfter(t *testing.T) {
	ev := func(seq uint64) event.Event { return event.Event{Sequence: seq} }
	seqs := func(evs []event.Event) (out []uint64) {
		for _, e := range evs {
			out = append(out, e.Sequence)
		}
		return out
	}
	appended := eventstore.Result{History: eventstore.History{Events: []event.Event{ev(1), ev(2)}}, Events: []event.Event{ev(3)}}
	if got := seqs(appended.After()); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("appended: %v", got)
	}
	// The request's events are 2 and 3; 4 came later from another command.
	replayed := eventstore.Result{
		History:  eventstore.History{Events: []event.Event{ev(1), ev(2), ev(3), ev(4)}},
		Events:   []event.Event{ev(2), ev(3)},
		Replayed: true,
	}
	if got := seqs(replayed.After()); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("replayed: %v", got)
	}
}

// Uniqueness claims: an aggregate's events and a claim on a key of its own
// are appended together or not at all; of racing registrations of one key,
// exactly one wins; Lookup finds the holder.
func TestUniquenessClaims(t *testing.T) {
	store, _, _ := newStore(t, eventstore.Options{Source: "test"})
	ctx := context.Background()
	register := func(id, key, req string) error {
		_, err := store.Append(ctx, spec.Name, "avenir.estest.person."+id+".>", 0, eventstore.Command{RequestID: req},
			event.Draft{Subject: "avenir.estest.person." + id + ".registered", AggregateID: id, Data: wrapperspb.String(key)},
			event.Draft{Subject: "avenir.estest.identity." + key + ".claimed", AggregateID: key, Data: wrapperspb.String(id), Unique: true})
		return err
	}
	if err := register("p1", "k1", "r1"); err != nil {
		t.Fatal(err)
	}
	// Another person with the same key: nothing appended, not even the person.
	if err := register("p2", "k1", "r2"); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("second claim of k1: %v", err)
	}
	if h, err := store.Load(ctx, spec.Name, "avenir.estest.person.p2.>"); err != nil || len(h.Events) != 0 {
		t.Fatalf("p2 was appended without its claim: %v %v", h.Events, err)
	}
	holder, ok, err := store.Lookup(ctx, spec.Name, "avenir.estest.identity.k1.claimed")
	if err != nil || !ok || holder.Data.(*wrapperspb.StringValue).GetValue() != "p1" {
		t.Fatalf("lookup k1: %v %v %v", holder.Data, ok, err)
	}
	if _, ok, err := store.Lookup(ctx, spec.Name, "avenir.estest.identity.k9.claimed"); ok || err != nil {
		t.Fatalf("lookup of a free key: %v %v", ok, err)
	}

	// 20 racing registrations of one key: one winner.
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			err := register(fmt.Sprintf("race%d", i), "k2", fmt.Sprintf("race-req-%d", i))
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, eventstore.ErrConflict) {
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d registrations claimed k2, want 1", wins.Load())
	}

	// Misplaced claims are refused before anything is sent.
	_, err = store.Append(ctx, spec.Name, "avenir.estest.person.p3.>", 0, eventstore.Command{RequestID: "r3"},
		event.Draft{Subject: "avenir.estest.identity.k3.claimed", AggregateID: "k3", Data: wrapperspb.String("p3"), Unique: true})
	if err == nil || errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("claim as first draft: %v", err)
	}
	_, err = store.Append(ctx, spec.Name, "avenir.estest.person.p3.>", 0, eventstore.Command{RequestID: "r4"},
		event.Draft{Subject: "avenir.estest.person.p3.registered", AggregateID: "p3", Data: wrapperspb.String("x")},
		event.Draft{Subject: "avenir.estest.person.p3.claimed", AggregateID: "p3", Data: wrapperspb.String("x"), Unique: true})
	if err == nil || errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("claim inside the aggregate: %v", err)
	}
}
