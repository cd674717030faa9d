package consumer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

func TestOrderedKeepsStreamOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(100)
	tr := newTracker()
	s := spec("proj-ordered")
	s.Ordered = true
	s.Batch = 8
	failures := map[uint64]int{13: 1, 50: 2, 99: 1} // sequence: transient failures
	h.start(s, tr.handler(func(seq uint64, call int) error {
		if call <= failures[seq] {
			return errFlaky
		}
		return nil
	}))
	tr.waitHandled(t, seqs)
	if got := tr.handledSeqs(); !slices.Equal(got, seqs) {
		t.Fatalf("handled out of stream order or twice:\n%v", got)
	}
	if got := tr.calls(50); got != 3 {
		t.Errorf("sequence 50 delivered %d times, want 3", got)
	}
}

// A failure in a partly filled batch leaves room under MaxAckPending: the
// messages published once the batch is over, while the failed one waits for
// its retry, must not overtake it.
func TestOrderedNewMessagesDoNotOvertakeARetry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(5)
	tr := newTracker()
	s := spec("proj-overtake")
	s.Ordered = true
	s.Batch = 10
	s.BackOff = []time.Duration{2 * time.Second}
	h.start(s, tr.handler(func(seq uint64, call int) error {
		if seq == 3 && call == 1 {
			return errFlaky
		}
		return nil
	}))
	eventually(t, 10*time.Second, func() bool { return tr.calls(3) > 0 }, "first delivery of 3")
	// Bounded: long enough for a fetch (250 ms) to end and a later message
	// to overtake 3 if the runner let it, short of 3's backoff (2 s).
	time.Sleep(800 * time.Millisecond)
	if got := tr.handledSeqs(); !slices.Equal(got, seqs[:2]) {
		t.Fatalf("handled %v before the retry, want 1 and 2", got)
	}
	seqs = append(seqs, h.publish(5)...)
	tr.waitHandled(t, seqs)
	if got := tr.handledSeqs(); !slices.Equal(got, seqs) {
		t.Fatalf("handled %v, want %v", got, seqs)
	}
}

func TestOrderedPinsOneRunner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := spec("proj-pinned")
	s.Ordered = true
	var (
		mu  sync.Mutex
		by  = map[string][]uint64{} // runner: sequences handled
		all = newTracker()
	)
	handler := func(runner string) consumer.Handler {
		return func(c context.Context, ev event.Event) error {
			mu.Lock()
			by[runner] = append(by[runner], ev.Sequence)
			mu.Unlock()
			return all.handler(nil)(c, ev)
		}
	}
	// Two runners on two connections, as in two processes.
	runners := map[string]*consumer.Runner{
		"a": startWith(t, h.srv.JetStream(t), s, handler("a")),
		"b": startWith(t, h.srv.JetStream(t), s, handler("b")),
	}
	seqs := h.publish(50)
	all.waitHandled(t, seqs)
	mu.Lock()
	var active, standby string
	switch {
	case len(by["a"]) == len(seqs) && len(by["b"]) == 0:
		active, standby = "a", "b"
	case len(by["b"]) == len(seqs) && len(by["a"]) == 0:
		active, standby = "b", "a"
	default:
		t.Fatalf("messages spread over runners: a %v, b %v", by["a"], by["b"])
	}
	mu.Unlock()
	if got := all.handledSeqs(); !slices.Equal(got, seqs) {
		t.Fatalf("handled %v", got)
	}

	// Stopping the pinned runner hands over to the standby at once, not
	// after the pinned TTL.
	stop(t, runners[active])
	more := h.publish(50)
	start := time.Now()
	all.waitHandled(t, more)
	t.Logf("standby took over in %v", time.Since(start))
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(by[standby], more) {
		t.Fatalf("standby handled %v, want %v", by[standby], more)
	}
}

// An Ordered runner never skips a message because it kept failing: the
// backoff follows the message's own failures, and once the cause is gone it
// and the messages behind it are handled, in order, none dead-lettered.
func TestOrderedRetriesWithoutDeadLettering(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(6)
	s := spec("ordered-outage")
	s.Ordered, s.Batch, s.MaxDeliver = true, 3, 2
	tr := newTracker()
	// Message 2 fails 4 times (twice MaxDeliver), as during an outage.
	h.start(s, tr.handler(func(seq uint64, call int) error {
		if seq == seqs[1] && call <= 4 {
			return errFlaky
		}
		return nil
	}))
	tr.waitHandled(t, seqs)
	if got := tr.handledSeqs(); !slices.Equal(got, seqs) {
		t.Fatalf("handled %v, want %v in order", got, seqs)
	}
	if dl := h.deadLetters(); len(dl) != 0 {
		t.Fatalf("%d messages dead-lettered, want none", len(dl))
	}
}
