package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
)

// A counter is the smallest aggregate: its events add to it, and a claim
// (outside the aggregate) records each counter's name.
type counter struct {
	Total int
	Adds  int
}

type added struct {
	ID string
	N  int
}

var counters = eventstore.Kind[counter, added]{
	Stream: spec.Name,
	Prefix: "avenir.estest.counter.",
	Decode: func(ev event.Event) (added, bool) {
		v, ok := ev.Data.(*wrapperspb.Int64Value)
		if !ok {
			return added{}, false
		}
		return added{ID: ev.AggregateID, N: int(v.GetValue())}, true
	},
	Evolve: func(c counter, e added) counter { return counter{Total: c.Total + e.N, Adds: c.Adds + 1} },
	Encode: func(evs []added) ([]event.Draft, error) {
		var out []event.Draft
		for _, e := range evs {
			out = append(out, event.Draft{Subject: "avenir.estest.counter." + e.ID + ".added", AggregateID: e.ID, Data: wrapperspb.Int64(int64(e.N))})
			if e.N == 0 {
				// The first add of a counter claims its name.
				out = append(out, event.Draft{Subject: "avenir.estest.counter-name." + e.ID + ".claimed", AggregateID: e.ID, Data: wrapperspb.String(e.ID), Unique: true})
			}
		}
		return out, nil
	},
}

func add(id string, n int) func(counter) ([]added, error) {
	return func(c counter) ([]added, error) {
		if c.Total+n > 100 {
			return nil, apperr.FailedPrecondition("a counter stops at 100")
		}
		return []added{{ID: id, N: n}}, nil
	}
}

func TestAggregatesExecuteAnswersTheDecidedState(t *testing.T) {
	store, _, _ := newStore(t, eventstore.Options{})
	agg := eventstore.NewAggregates(store, counters)
	ctx := context.Background()
	cmd := func(req string) eventstore.Command { return eventstore.Command{RequestID: req, Actor: "tester:a"} }

	first, err := agg.Execute(ctx, "c1", cmd("r1"), add("c1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if first.State.Adds != 1 || first.Replayed || len(first.Events) != 1 || len(first.Stored) != 2 || first.Version != first.Stored[0].Sequence {
		t.Fatalf("first command: %+v", first)
	}
	second, err := agg.Execute(ctx, "c1", cmd("r2"), add("c1", 40))
	if err != nil || second.State != (counter{Total: 40, Adds: 2}) || second.Version <= first.Version {
		t.Fatalf("second command: %+v %v", second, err)
	}
	if _, err := agg.Execute(ctx, "c1", cmd("r3"), add("c1", 50)); err != nil {
		t.Fatal(err)
	}

	// A retry of r2 answers what r2 answered, though the counter moved on.
	again, err := agg.Execute(ctx, "c1", cmd("r2"), func(counter) ([]added, error) {
		t.Fatal("a replayed request must not be decided again")
		return nil, nil
	})
	if err != nil || !again.Replayed || again.State != second.State || again.Version != second.Version || len(again.Events) != 1 || again.Events[0].N != 40 {
		t.Fatalf("replay of r2: %+v %v", again, err)
	}

	// The same request id from another actor is refused, not answered.
	_, err = agg.Execute(ctx, "c1", eventstore.Command{RequestID: "r2", Actor: "tester:b"}, add("c1", 1))
	if !errors.Is(err, eventstore.ErrForeignRequest) || apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("foreign replay: %v", err)
	}

	// A refusal of the domain is returned as is and stores nothing.
	_, err = agg.Execute(ctx, "c1", cmd("r4"), add("c1", 11))
	if apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("refused command: %v", err)
	}
	snap, err := agg.Load(ctx, "c1")
	if err != nil || snap.State != (counter{Total: 90, Adds: 3}) || len(snap.Events) != 3 {
		t.Fatalf("load: %+v %v", snap, err)
	}

	// A decision without events stores nothing and answers the state.
	none, err := agg.Execute(ctx, "c1", cmd("r5"), func(counter) ([]added, error) { return nil, nil })
	if err != nil || none.State != snap.State || none.Version != snap.Version || len(none.Stored) != 0 {
		t.Fatalf("empty decision: %+v %v", none, err)
	}

	// An unknown aggregate loads as the zero state.
	if snap, err := agg.Load(ctx, "nobody"); err != nil || snap.Version != 0 || snap.State != (counter{}) {
		t.Fatalf("unknown aggregate: %+v %v", snap, err)
	}
}

func TestAggregatesOutcomeOfSeveralAggregates(t *testing.T) {
	store, _, _ := newStore(t, eventstore.Options{})
	agg := eventstore.NewAggregates(store, counters)
	ctx := context.Background()
	if _, err := agg.Execute(ctx, "b", eventstore.Command{RequestID: "rb"}, add("b", 5)); err != nil {
		t.Fatal(err)
	}
	res, err := store.ExecuteAll(ctx, spec.Name, []string{counters.Filter("a"), counters.Filter("b")}, eventstore.Command{RequestID: "move"},
		func(hs []eventstore.History) ([]event.Draft, error) {
			return counters.Encode([]added{{ID: "a", N: 2}, {ID: "b", N: -2}})
		})
	if err != nil {
		t.Fatal(err)
	}
	a, b := agg.Outcome("a", res), agg.Outcome("b", res)
	if a.State.Total != 2 || b.State != (counter{Total: 3, Adds: 2}) || len(b.Events) != 1 || b.Events[0].N != -2 {
		t.Fatalf("outcomes a=%+v b=%+v", a, b)
	}
}

func TestAFullStreamIsResourceExhausted(t *testing.T) {
	srv := natstest.Start(t)
	js := connect(t, srv)
	small := natsx.StreamSpec{Name: "ESFULL", Subjects: []string{"avenir.esfull.>"}, MaxBytes: 16 << 10}
	if _, err := natsx.EnsureStream(context.Background(), js, small, natsx.Topology{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(js, eventstore.Options{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	payload := wrapperspb.String(strings.Repeat("x", 1000))
	var full error
	stored := 0
	for i := range 100 {
		id := strconv.Itoa(i)
		_, err := store.Append(context.Background(), small.Name, "avenir.esfull.thing."+id+".>", 0, eventstore.Command{RequestID: id},
			event.Draft{Subject: "avenir.esfull.thing." + id + ".created", AggregateID: id, Data: payload})
		if err != nil {
			full = err
			break
		}
		stored++
	}
	if apperr.KindOf(full) != apperr.KindResourceExhausted {
		t.Fatalf("after %d appends: %v, want ResourceExhausted", stored, full)
	}
	var ae *apperr.Error
	if !errors.As(full, &ae) || ae.Message != "the ESFULL stream is full: raise --stream-max-bytes" {
		t.Fatalf("message %q", ae.Message)
	}
	// Nothing acknowledged was lost: every stored event is still there.
	for i := range stored {
		id := strconv.Itoa(i)
		h, err := store.Load(context.Background(), small.Name, "avenir.esfull.thing."+id+".>")
		if err != nil || len(h.Events) != 1 {
			t.Fatalf("thing %s: %v %v", id, h.Events, err)
		}
	}
	// A batch into the full stream is refused the same way.
	_, err = store.Append(context.Background(), small.Name, "avenir.esfull.thing.b.>", 0, eventstore.Command{RequestID: "batch"},
		event.Draft{Subject: "avenir.esfull.thing.b.created", AggregateID: "b", Data: payload},
		event.Draft{Subject: "avenir.esfull.thing.b.changed", AggregateID: "b", Data: payload})
	if apperr.KindOf(err) != apperr.KindResourceExhausted {
		t.Fatalf("batch into a full stream: %v", err)
	}
}

func TestAnUnreachableServerIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ensureStream(t, js)
	store, err := eventstore.New(js, eventstore.Options{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	agg := eventstore.NewAggregates(store, counters)
	srv.Shutdown()
	for i, op := range []func() error{
		func() error { _, err := agg.Load(context.Background(), "x"); return err },
		func() error {
			_, err := store.Append(context.Background(), spec.Name, counters.Filter("x"), 0, eventstore.Command{RequestID: "r"},
				event.Draft{Subject: "avenir.estest.counter.x.added", AggregateID: "x", Data: wrapperspb.Int64(1)})
			return err
		},
	} {
		if err := op(); apperr.KindOf(err) != apperr.KindUnavailable {
			t.Errorf("operation %d with the server down: %v (%s), want Unavailable", i, err, fmt.Sprint(apperr.KindOf(err)))
		}
	}
}
