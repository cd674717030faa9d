// Package storetest is the contract suite of eventstore.Store: run it against
// every JetStream deployment the store is used with.
package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// racers is the number of goroutines of the concurrency tests.
const racers = 50

// pagedEvents is the size of the aggregate that the paging test loads: more
// than one direct batch get returns.
const pagedEvents = 2500

// Run runs the contract suite. Each subtest runs in parallel with the others
// and calls newStore for a store, the JetStream context it uses and the name
// of the stream it writes to. The stream's first subject must be a
// "<prefix>.>" wildcard, such as avenir.orders.>, and the stream must have
// the settings of natsx.EnsureStream (a duplicate window, atomic batch
// publish and direct get allowed). The suite only uses aggregates with fresh
// ids, so subtests may share a stream.
//
// To check that a batch holding a message the stream cannot store is stored
// as a whole or not at all, the suite also publishes to a sibling of the
// prefix ("<prefix>-elsewhere" instead of "<prefix>"), which no stream may
// capture.
func Run(t *testing.T, newStore func(t *testing.T) (*eventstore.Store, jetstream.JetStream, string)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"LoadEmpty", testLoadEmpty},
		{"CreateOnce", testCreateOnce},
		{"AppendRaceHasOneWinner", testAppendRace},
		{"ExecuteRace", testExecuteRace},
		{"ExecuteIsIdempotent", testExecuteIdempotent},
		{"AppendRetryIsIdempotent", testAppendRetry},
		{"ExecuteGivesUpOnConflicts", testExecuteGivesUp},
		{"ExecuteDecisions", testExecuteDecisions},
		{"BatchConflictStoresNothing", testBatchConflict},
		{"BatchWithUnstorableMessageStoresNothing", testBatchUnstorable},
		{"LoadOrderWithInterleaving", testLoadOrder},
		{"LoadPages", testLoadPages},
		{"Envelope", testEnvelope},
		{"InvalidInputAppendsNothing", testInvalidInput},
		{"TwoAggregatesAtomically", testTwoAggregates},
		{"ExecuteAllRace", testExecuteAllRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, js, stream := newStore(t)
			tc.fn(t, newFixture(t, s, js, stream))
		})
	}
}

// fixture is what a subtest works with.
type fixture struct {
	store  *eventstore.Store
	js     jetstream.JetStream
	stream string
	prefix string // the stream's subjects without the trailing ".>"
}

func newFixture(t *testing.T, s *eventstore.Store, js jetstream.JetStream, stream string) *fixture {
	t.Helper()
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	subjects := st.CachedInfo().Config.Subjects
	if len(subjects) == 0 || !strings.HasSuffix(subjects[0], ".>") {
		t.Fatalf("stream %s: first subject of %v is not a <prefix>.> wildcard", stream, subjects)
	}
	return &fixture{store: s, js: js, stream: stream, prefix: strings.TrimSuffix(subjects[0], ".>")}
}

// aggregate is an aggregate with a fresh id.
type aggregate struct {
	id     string
	base   string // subjects are base.<event>
	filter string
}

func (f *fixture) aggregate() aggregate {
	id := event.NewID()
	base := f.prefix + ".thing." + id
	return aggregate{id: id, base: base, filter: base + ".>"}
}

// draft returns a draft of the named event carrying data.
func (a aggregate) draft(name string, data proto.Message) event.Draft {
	return event.Draft{Subject: a.base + "." + name, AggregateID: a.id, Data: data}
}

// counted returns n drafts whose payloads count from start.
func (a aggregate) counted(start, n int) []event.Draft {
	ds := make([]event.Draft, n)
	for i := range ds {
		ds[i] = a.draft("counted", wrapperspb.Int64(int64(start+i)))
	}
	return ds
}

func cmd(requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: "storetest"}
}

func (f *fixture) mustAppend(t *testing.T, a aggregate, expected uint64, requestID string, drafts ...event.Draft) []event.Event {
	t.Helper()
	evs, err := f.store.Append(t.Context(), f.stream, a.filter, expected, cmd(requestID), drafts...)
	if err != nil {
		t.Fatalf("Append(%s, expected %d, %s): %v", a.filter, expected, requestID, err)
	}
	if len(evs) != len(drafts) {
		t.Fatalf("Append returned %d events for %d drafts", len(evs), len(drafts))
	}
	return evs
}

func (f *fixture) mustLoad(t *testing.T, filter string) eventstore.History {
	t.Helper()
	h, err := f.store.Load(t.Context(), f.stream, filter)
	if err != nil {
		t.Fatalf("Load(%s): %v", filter, err)
	}
	return h
}

// stored counts the messages matching filter in the stream, asking the
// stream itself rather than Load.
func (f *fixture) stored(t *testing.T, filter string) uint64 {
	t.Helper()
	st, err := f.js.Stream(t.Context(), f.stream)
	if err != nil {
		t.Fatalf("stream %s: %v", f.stream, err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatalf("stream info %s: %v", f.stream, err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func wantStored(t *testing.T, f *fixture, filter string, want uint64) {
	t.Helper()
	if got := f.stored(t, filter); got != want {
		t.Fatalf("%s holds %d messages, want %d", filter, got, want)
	}
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
}

// wantHistory checks that h holds exactly the events evs, in order.
func wantHistory(t *testing.T, h eventstore.History, evs []event.Event) {
	t.Helper()
	if len(h.Events) != len(evs) {
		t.Fatalf("history has %d events, want %d", len(h.Events), len(evs))
	}
	for i, ev := range evs {
		got := h.Events[i]
		if got.ID != ev.ID || got.Sequence != ev.Sequence || got.Stream != ev.Stream || !proto.Equal(got.Data, ev.Data) {
			t.Fatalf("event %d: got %s@%d %v, want %s@%d %v", i, got.ID, got.Sequence, got.Data, ev.ID, ev.Sequence, ev.Data)
		}
	}
	var last uint64
	if len(evs) > 0 {
		last = evs[len(evs)-1].Sequence
	}
	if h.LastSeq != last {
		t.Fatalf("LastSeq = %d, want %d", h.LastSeq, last)
	}
}

// wantCounted checks that h holds the counted events 0..n-1 in increasing
// stream order.
func wantCounted(t *testing.T, h eventstore.History, n int) {
	t.Helper()
	if len(h.Events) != n {
		t.Fatalf("history has %d events, want %d", len(h.Events), n)
	}
	var prev uint64
	for i, ev := range h.Events {
		v, ok := ev.Data.(*wrapperspb.Int64Value)
		if !ok || v.Value != int64(i) {
			t.Fatalf("event %d carries %v, want %d", i, ev.Data, i)
		}
		if ev.Sequence <= prev {
			t.Fatalf("event %d has sequence %d after %d", i, ev.Sequence, prev)
		}
		prev = ev.Sequence
	}
	if h.LastSeq != prev {
		t.Fatalf("LastSeq = %d, want %d", h.LastSeq, prev)
	}
}

func testLoadEmpty(t *testing.T, f *fixture) {
	h := f.mustLoad(t, f.aggregate().filter)
	if h.Events != nil || h.LastSeq != 0 {
		t.Fatalf("empty aggregate loaded as %+v", h)
	}
}

func testCreateOnce(t *testing.T, f *fixture) {
	a := f.aggregate()
	evs := f.mustAppend(t, a, 0, "create-1", a.draft("created", wrapperspb.String("first")))
	_, err := f.store.Append(t.Context(), f.stream, a.filter, 0, cmd("create-2"), a.draft("created", wrapperspb.String("second")))
	wantConflict(t, err)
	wantStored(t, f, a.filter, 1)
	wantHistory(t, f.mustLoad(t, a.filter), evs)
}

// testAppendRace races single and batch appends with the same expectation:
// exactly one of them may win.
func testAppendRace(t *testing.T, f *fixture) {
	a := f.aggregate()
	created := f.mustAppend(t, a, 0, "create", a.draft("created", wrapperspb.String("x")))
	expected := created[0].Sequence

	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners [][]event.Event
	)
	for i := range racers {
		wg.Go(func() {
			drafts := a.counted(0, 1+i%2) // single appends and batches of two
			<-start
			evs, err := f.store.Append(t.Context(), f.stream, a.filter, expected, cmd(fmt.Sprintf("racer-%d", i)), drafts...)
			if err != nil {
				// ErrBusy: the server refused the batch before looking at it
				// (too many atomic batches in flight); not a winner either.
				if !errors.Is(err, eventstore.ErrConflict) && !errors.Is(err, eventstore.ErrBusy) {
					t.Errorf("racer %d: want success, ErrConflict or ErrBusy, got %v", i, err)
				}
				return
			}
			mu.Lock()
			winners = append(winners, evs)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners, want exactly 1", len(winners))
	}
	want := append(created, winners[0]...)
	wantStored(t, f, a.filter, uint64(len(want)))
	wantHistory(t, f.mustLoad(t, a.filter), want)
}

// testExecuteRace races commands that each add one event counting the events
// before it: every success must be stored once, at the place its decision
// saw, and every failure must be a conflict that stored nothing.
func testExecuteRace(t *testing.T, f *fixture) {
	a := f.aggregate()
	var (
		start     = make(chan struct{})
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes = map[string]event.Event{} // by request id
	)
	for i := range racers {
		wg.Go(func() {
			requestID := fmt.Sprintf("racer-%d", i)
			<-start
			res, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd(requestID), func(h eventstore.History) ([]event.Draft, error) {
				return a.counted(len(h.Events), 1), nil
			})
			if err != nil {
				if !errors.Is(err, eventstore.ErrConflict) {
					t.Errorf("%s: want success or ErrConflict, got %v", requestID, err)
				}
				return
			}
			if res.Replayed || len(res.Events) != 1 {
				t.Errorf("%s: result %+v, want one appended event", requestID, res)
				return
			}
			mu.Lock()
			successes[requestID] = res.Events[0]
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(successes) == 0 {
		t.Fatal("no command succeeded")
	}
	h := f.mustLoad(t, a.filter)
	wantCounted(t, h, len(successes))
	wantStored(t, f, a.filter, uint64(len(successes)))
	for _, ev := range h.Events {
		won, ok := successes[ev.RequestID]
		if !ok {
			t.Fatalf("stored event of %s, which did not succeed", ev.RequestID)
		}
		if won.ID != ev.ID || won.Sequence != ev.Sequence {
			t.Fatalf("%s: returned %s@%d, stored %s@%d", ev.RequestID, won.ID, won.Sequence, ev.ID, ev.Sequence)
		}
		delete(successes, ev.RequestID)
	}
}

func testExecuteIdempotent(t *testing.T, f *fixture) {
	a := f.aggregate()
	decisions := 0
	decide := func(h eventstore.History) ([]event.Draft, error) {
		decisions++
		return a.counted(len(h.Events), 3), nil
	}
	first, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("req-1"), decide)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || len(first.Events) != 3 {
		t.Fatalf("first run: %+v", first)
	}
	second, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("req-1"), decide)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Replayed {
		t.Fatal("second run not replayed")
	}
	if decisions != 1 {
		t.Fatalf("decide called %d times, want 1", decisions)
	}
	wantHistory(t, eventstore.History{Events: second.Events, LastSeq: first.Events[2].Sequence}, first.Events)
	wantHistory(t, second.History, first.Events)
	wantStored(t, f, a.filter, 3)

	// Another request still decides and appends.
	third, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("req-2"), decide)
	if err != nil || third.Replayed || len(third.Events) != 3 {
		t.Fatalf("other request: %+v, %v", third, err)
	}
	wantCounted(t, f.mustLoad(t, a.filter), 6)
}

// testAppendRetry retries appends, as after a lost acknowledgement: the
// retry may succeed with the stored events or conflict, but never stores a
// second copy.
func testAppendRetry(t *testing.T, f *fixture) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) {
			a := f.aggregate()
			evs := f.mustAppend(t, a, 0, "req", a.counted(0, n)...)
			again, err := f.store.Append(t.Context(), f.stream, a.filter, 0, cmd("req"), a.counted(0, n)...)
			switch {
			case errors.Is(err, eventstore.ErrConflict):
			case err != nil:
				t.Fatalf("retry: want success or ErrConflict, got %v", err)
			default:
				wantHistory(t, eventstore.History{Events: again, LastSeq: again[n-1].Sequence}, evs)
			}
			wantStored(t, f, a.filter, uint64(n))
			wantHistory(t, f.mustLoad(t, a.filter), evs)

			// Execute with the same request id replays the stored events.
			res, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("req"), func(eventstore.History) ([]event.Draft, error) {
				t.Fatal("decide called for a replayed request")
				return nil, nil
			})
			if err != nil || !res.Replayed {
				t.Fatalf("Execute: %+v, %v", res, err)
			}
			wantHistory(t, eventstore.History{Events: res.Events, LastSeq: evs[n-1].Sequence}, evs)
		})
	}
}

func testExecuteGivesUp(t *testing.T, f *fixture) {
	a := f.aggregate()
	decisions := 0
	res, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("loser"), func(h eventstore.History) ([]event.Draft, error) {
		decisions++
		// Another writer always gets there first.
		f.mustAppend(t, a, h.LastSeq, fmt.Sprintf("winner-%d", decisions), a.counted(len(h.Events), 1)...)
		return a.counted(len(h.Events), 1), nil
	})
	wantConflict(t, err)
	if decisions < 2 {
		t.Fatalf("decide called %d times: Execute did not retry", decisions)
	}
	if res.Replayed || res.Events != nil {
		t.Fatalf("failed Execute returned %+v", res)
	}
	h := f.mustLoad(t, a.filter)
	wantCounted(t, h, decisions)
	if got := h.ByRequest("loser"); got != nil {
		t.Fatalf("the loser's events were stored: %v", got)
	}
}

func testExecuteDecisions(t *testing.T, f *fixture) {
	a := f.aggregate()
	created := f.mustAppend(t, a, 0, "create", a.draft("created", wrapperspb.String("x")))

	refused := errors.New("refused")
	res, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("refused"), func(eventstore.History) ([]event.Draft, error) {
		return nil, refused
	})
	if err != refused { // unchanged, not merely wrapped
		t.Fatalf("decide error: got %v, want it unchanged", err)
	}
	wantHistory(t, res.History, created)

	res, err = f.store.Execute(t.Context(), f.stream, a.filter, cmd("no-op"), func(h eventstore.History) ([]event.Draft, error) {
		wantHistory(t, h, created)
		return nil, nil
	})
	if err != nil || res.Events != nil || res.Replayed {
		t.Fatalf("no-op decision: %+v, %v", res, err)
	}
	wantHistory(t, res.History, created)
	wantStored(t, f, a.filter, 1)

	// A new aggregate is created through Execute with an empty history.
	b := f.aggregate()
	res, err = f.store.Execute(t.Context(), f.stream, b.filter, cmd("create"), func(h eventstore.History) ([]event.Draft, error) {
		if h.Events != nil || h.LastSeq != 0 {
			t.Errorf("new aggregate loaded as %+v", h)
		}
		return []event.Draft{b.draft("created", wrapperspb.String("y"))}, nil
	})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("create: %+v, %v", res, err)
	}
	wantHistory(t, f.mustLoad(t, b.filter), res.Events)
}

func testBatchConflict(t *testing.T, f *fixture) {
	a := f.aggregate()
	created := f.mustAppend(t, a, 0, "create", a.counted(0, 1)...)
	for _, expected := range []uint64{0, created[0].Sequence + 1, created[0].Sequence - 1} {
		_, err := f.store.Append(t.Context(), f.stream, a.filter, expected, cmd(fmt.Sprintf("stale-%d", expected)), a.counted(1, 3)...)
		wantConflict(t, err)
	}
	wantStored(t, f, a.filter, 1)
	wantHistory(t, f.mustLoad(t, a.filter), created)
	f.mustAppend(t, a, created[0].Sequence, "fresh", a.counted(1, 3)...)
	wantCounted(t, f.mustLoad(t, a.filter), 4)
}

// testBatchUnstorable appends batches of which one message goes to a subject
// that no stream captures: the server never sees the whole batch and must
// store none of it, wherever the lost message is.
func testBatchUnstorable(t *testing.T, f *fixture) {
	head, last := cutLast(f.prefix)
	for lost := range 3 {
		t.Run(fmt.Sprintf("message %d lost", lost+1), func(t *testing.T) {
			id := event.NewID()
			wide := strings.TrimPrefix(head+".*.thing."+id+".>", ".")
			inside := aggregate{id: id, base: f.prefix + ".thing." + id, filter: wide}
			outside := aggregate{id: id, base: strings.TrimPrefix(head+"."+last+"-elsewhere.thing."+id, ".")}
			drafts := inside.counted(0, 3)
			drafts[lost] = outside.draft("counted", wrapperspb.Int64(int64(lost)))

			_, err := f.store.Append(t.Context(), f.stream, wide, 0, cmd("batch"), drafts...)
			if err == nil {
				t.Fatal("batch with a lost message was acknowledged")
			}
			if errors.Is(err, eventstore.ErrConflict) {
				t.Fatalf("lost message reported as a conflict: %v", err)
			}
			t.Logf("message %d lost: %v", lost+1, err)
			wantStored(t, f, wide, 0)
			if h := f.mustLoad(t, wide); len(h.Events) != 0 {
				t.Fatalf("loaded %d events", len(h.Events))
			}
			// The failed batch leaves the aggregate, and its event ids, usable.
			f.mustAppend(t, inside, 0, "batch", inside.counted(0, 3)...)
			wantCounted(t, f.mustLoad(t, wide), 3)
		})
	}
}

// cutLast splits a subject at its last dot; head is empty for a single
// token.
func cutLast(subject string) (head, last string) {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return "", subject
	}
	return subject[:i], subject[i+1:]
}

func testLoadOrder(t *testing.T, f *fixture) {
	a, b := f.aggregate(), f.aggregate()
	var evsA, evsB []event.Event
	var lastA, lastB uint64
	for i := range 10 {
		// a gets one or two events, b one, so their sequences interleave.
		got := f.mustAppend(t, a, lastA, fmt.Sprintf("a-%d", i), a.counted(len(evsA), 1+i%2)...)
		evsA, lastA = append(evsA, got...), got[len(got)-1].Sequence
		got = f.mustAppend(t, b, lastB, fmt.Sprintf("b-%d", i), b.counted(len(evsB), 1)...)
		evsB, lastB = append(evsB, got...), got[len(got)-1].Sequence
	}
	hA := f.mustLoad(t, a.filter)
	wantHistory(t, hA, evsA)
	wantCounted(t, hA, len(evsA))
	hB := f.mustLoad(t, b.filter)
	wantHistory(t, hB, evsB)
	wantCounted(t, hB, len(evsB))
	if hA.LastSeq >= hB.LastSeq {
		t.Fatalf("b was appended last, yet LastSeq a=%d >= b=%d", hA.LastSeq, hB.LastSeq)
	}
}

func testLoadPages(t *testing.T, f *fixture) {
	const batch = 100
	a, other := f.aggregate(), f.aggregate()
	var lastA, lastOther uint64
	for i := 0; i < pagedEvents; i += batch {
		evs := f.mustAppend(t, a, lastA, fmt.Sprintf("a-%d", i), a.counted(i, batch)...)
		lastA = evs[batch-1].Sequence
		evs = f.mustAppend(t, other, lastOther, fmt.Sprintf("other-%d", i), other.counted(i/batch, 1)...)
		lastOther = evs[0].Sequence
	}
	h := f.mustLoad(t, a.filter)
	wantCounted(t, h, pagedEvents)
	if h.LastSeq != lastA {
		t.Fatalf("LastSeq = %d, want %d", h.LastSeq, lastA)
	}
	wantCounted(t, f.mustLoad(t, other.filter), pagedEvents/batch)
}

func testEnvelope(t *testing.T, f *fixture) {
	a := f.aggregate()
	payload, err := structpb.NewStruct(map[string]any{"name": "Ada", "age": 36, "tags": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	c := eventstore.Command{RequestID: "req-envelope", Actor: "user-7", Time: at}
	drafts := []event.Draft{a.draft("registered", payload), a.draft("renamed", wrapperspb.String("Ada L."))}
	appended, err := f.store.Append(t.Context(), f.stream, a.filter, 0, c, drafts...)
	if err != nil {
		t.Fatal(err)
	}
	h := f.mustLoad(t, a.filter)
	wantHistory(t, h, appended)
	for i, ev := range h.Events {
		d := drafts[i]
		switch {
		case ev.ID != event.ID(a.filter, c.RequestID, i):
			t.Errorf("event %d: id %s, want event.ID(filter, request, %d)", i, ev.ID, i)
		case ev.Type != string(d.Data.ProtoReflect().Descriptor().FullName()):
			t.Errorf("event %d: type %s", i, ev.Type)
		case ev.Source == "" || ev.Source != appended[i].Source:
			t.Errorf("event %d: source %q, appended %q", i, ev.Source, appended[i].Source)
		case ev.Actor != c.Actor || ev.RequestID != c.RequestID:
			t.Errorf("event %d: actor %q request %q", i, ev.Actor, ev.RequestID)
		case ev.AggregateID != a.id || ev.Subject != d.Subject || ev.Stream != f.stream:
			t.Errorf("event %d: aggregate %q subject %q stream %q", i, ev.AggregateID, ev.Subject, ev.Stream)
		case !ev.Time.Equal(at):
			t.Errorf("event %d: time %v, want %v", i, ev.Time, at)
		case !proto.Equal(ev.Data, d.Data):
			t.Errorf("event %d: payload %v, want %v", i, ev.Data, d.Data)
		}
		if a := appended[i]; a.Type != ev.Type || a.Actor != ev.Actor || a.RequestID != ev.RequestID || a.AggregateID != ev.AggregateID || a.Subject != ev.Subject || !a.Time.Equal(ev.Time) {
			t.Errorf("event %d: appended %+v, loaded %+v", i, a, ev)
		}
	}

	// Without a time, events are stamped with the time of the append.
	before := time.Now()
	evs := f.mustAppend(t, a, h.LastSeq, "req-now", a.draft("renamed", wrapperspb.String("Ada")))
	after := time.Now()
	loaded := f.mustLoad(t, a.filter).Events[2]
	if loaded.Time.Before(before.Add(-time.Microsecond)) || loaded.Time.After(after) || !loaded.Time.Equal(evs[0].Time) {
		t.Errorf("default time %v not within [%v, %v] or not the appended %v", loaded.Time, before, after, evs[0].Time)
	}
}

func testInvalidInput(t *testing.T, f *fixture) {
	a := f.aggregate()
	ok := a.draft("created", wrapperspb.String("x"))
	unregistered, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("storetest/unregistered.proto"),
		Package:     proto.String("storetest"),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Unregistered")}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name           string
		stream, filter string
		cmd            eventstore.Command
		drafts         []event.Draft
	}{
		{"empty stream", "", a.filter, cmd("r"), []event.Draft{ok}},
		{"empty filter", f.stream, "", cmd("r"), []event.Draft{ok}},
		{"misplaced >", f.stream, a.base + ".>.x", cmd("r"), []event.Draft{ok}},
		{"empty token", f.stream, a.base + "..>", cmd("r"), []event.Draft{ok}},
		{"no request id", f.stream, a.filter, cmd(""), []event.Draft{ok}},
		{"no drafts", f.stream, a.filter, cmd("r"), nil},
		{"subject outside the filter", f.stream, a.filter, cmd("r"), []event.Draft{ok, f.aggregate().draft("created", wrapperspb.String("x"))}},
		{"subject equal to the filter prefix", f.stream, a.filter, cmd("r"), []event.Draft{ok, {Subject: a.base, AggregateID: a.id, Data: wrapperspb.String("x")}}},
		{"wildcard subject", f.stream, a.filter, cmd("r"), []event.Draft{ok, a.draft("*", wrapperspb.String("x"))}},
		{"no data", f.stream, a.filter, cmd("r"), []event.Draft{ok, a.draft("created", nil)}},
		{"unregistered payload type", f.stream, a.filter, cmd("r"), []event.Draft{ok, a.draft("created", dynamicpb.NewMessage(unregistered.Messages().Get(0)))}},
	}
	for _, tc := range cases {
		if _, err := f.store.Append(t.Context(), tc.stream, tc.filter, 0, tc.cmd, tc.drafts...); err == nil || errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("Append with %s: got %v, want an invalid input error", tc.name, err)
		}
	}
	wantStored(t, f, a.filter, 0)

	if _, err := f.store.Load(t.Context(), "", a.filter); err == nil {
		t.Error("Load without stream accepted")
	}
	if _, err := f.store.Load(t.Context(), f.stream, ""); err == nil {
		t.Error("Load without filter accepted")
	}
	if _, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd("r"), nil); err == nil {
		t.Error("Execute without decide accepted")
	}
	if _, err := f.store.Execute(t.Context(), f.stream, a.filter, cmd(""), func(eventstore.History) ([]event.Draft, error) {
		return []event.Draft{ok}, nil
	}); err == nil {
		t.Error("Execute without request id accepted")
	}
	wantStored(t, f, a.filter, 0)
}

// testTwoAggregates appends to two aggregates in one atomic batch, the
// second's first draft carrying that aggregate's expectation: both are
// stored, or, with a stale expectation on either, neither.
func testTwoAggregates(t *testing.T, f *fixture) {
	a, b := f.aggregate(), f.aggregate()
	createdA := f.mustAppend(t, a, 0, "create-a", a.counted(0, 1)...)
	createdB := f.mustAppend(t, b, 0, "create-b", b.counted(0, 1)...)
	both := func(expectB uint64) []event.Draft {
		second := b.counted(1, 2)
		second[0].ExpectFilter, second[0].ExpectLastSeq = b.filter, expectB
		return append(a.counted(1, 1), second...)
	}
	for _, stale := range []uint64{0, createdB[0].Sequence + 1, createdB[0].Sequence - 1} {
		_, err := f.store.Append(t.Context(), f.stream, a.filter, createdA[0].Sequence, cmd(fmt.Sprintf("stale-b-%d", stale)), both(stale)...)
		wantConflict(t, err)
	}
	_, err := f.store.Append(t.Context(), f.stream, a.filter, createdA[0].Sequence+1, cmd("stale-a"), both(createdB[0].Sequence)...)
	wantConflict(t, err)
	wantStored(t, f, a.filter, 1)
	wantStored(t, f, b.filter, 1)

	evs, err := f.store.Append(t.Context(), f.stream, a.filter, createdA[0].Sequence, cmd("fresh"), both(createdB[0].Sequence)...)
	if err != nil {
		t.Fatalf("Append to two aggregates: %v", err)
	}
	if len(evs) != 3 {
		t.Fatalf("Append returned %d events, want 3", len(evs))
	}
	wantCounted(t, f.mustLoad(t, a.filter), 2)
	wantCounted(t, f.mustLoad(t, b.filter), 3)

	// The expectation must open the other aggregate: a draft of b before
	// the one carrying b's expectation, or an expectation on the first
	// draft, is refused and stores nothing.
	late := append(a.counted(2, 1), b.counted(3, 2)...)
	late[2].ExpectFilter, late[2].ExpectLastSeq = b.filter, evs[2].Sequence
	if _, err := f.store.Append(t.Context(), f.stream, a.filter, evs[0].Sequence, cmd("late"), late...); err == nil || errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("a draft of another aggregate before its expectation: got %v, want an invalid input error", err)
	}
	first := b.counted(3, 1)
	first[0].ExpectFilter = b.filter
	if _, err := f.store.Append(t.Context(), f.stream, a.filter, evs[0].Sequence, cmd("first"), first...); err == nil || errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("an expectation on the first draft: got %v, want an invalid input error", err)
	}
	wantStored(t, f, a.filter, 2)
	wantStored(t, f, b.filter, 3)
}

// testExecuteAllRace moves units between two aggregates from many
// goroutines with ExecuteAll: every move lands in both or in neither, so the
// totals always agree.
func testExecuteAllRace(t *testing.T, f *fixture) {
	a, b := f.aggregate(), f.aggregate()
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for i := range racers {
		wg.Go(func() {
			_, err := f.store.ExecuteAll(t.Context(), f.stream, []string{a.filter, b.filter}, cmd(fmt.Sprintf("move-%d", i)),
				func(hs []eventstore.History) ([]event.Draft, error) {
					// The loads are not one snapshot: when they disagree,
					// the append conflicts and the command is retried.
					n := len(hs[0].Events)
					return []event.Draft{a.draft("counted", wrapperspb.Int64(int64(n))), b.draft("counted", wrapperspb.Int64(int64(n)))}, nil
				})
			if err != nil && !errors.Is(err, eventstore.ErrConflict) && !errors.Is(err, eventstore.ErrBusy) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ha, hb := f.mustLoad(t, a.filter), f.mustLoad(t, b.filter)
	if len(ha.Events) == 0 || len(ha.Events) != len(hb.Events) {
		t.Fatalf("aggregates hold %d and %d events, want the same, at least one", len(ha.Events), len(hb.Events))
	}
	wantCounted(t, ha, len(ha.Events))
	wantCounted(t, hb, len(hb.Events))

	// A replayed request returns the events of both aggregates.
	res, err := f.store.ExecuteAll(t.Context(), f.stream, []string{a.filter, b.filter}, cmd("move-0"), func([]eventstore.History) ([]event.Draft, error) {
		return nil, errors.New("decide must not run for a replayed request")
	})
	if err == nil && (!res.Replayed || len(res.Events) != 2) {
		t.Fatalf("replay: replayed %v with %d events, want 2", res.Replayed, len(res.Events))
	}
}
