package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

var errFlaky = errors.New("flaky dependency")

func TestRedeliversAfterHandlerError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(1)
	tr := newTracker()
	h.start(spec("proj-retry"), tr.handler(func(_ uint64, call int) error {
		if call <= 2 {
			return errFlaky
		}
		return nil
	}))
	tr.waitHandled(t, seqs)
	h.waitAcked("proj-retry", seqs[0])
	if got := tr.calls(seqs[0]); got != 3 {
		t.Fatalf("handler called %d times, want 3", got)
	}
	if got := tr.handledSeqs(); len(got) != 1 {
		t.Fatalf("handled successfully %v, want once", got)
	}
	if dl := h.deadLetters(); len(dl) != 0 {
		t.Fatalf("%d dead letters, want none", len(dl))
	}
}

func TestRetryDelaysFollowBackOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.publish(1)
	backOff := []time.Duration{100 * time.Millisecond, 500 * time.Millisecond}
	var (
		mu    sync.Mutex
		times []time.Time
	)
	s := spec("proj-delays")
	s.BackOff, s.MaxDeliver = backOff, 4
	h.start(s, func(context.Context, event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		return errFlaky
	})
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter")
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 4 {
		t.Fatalf("%d deliveries, want 4", len(times))
	}
	// After the n-th failure, BackOff[n-1], the last entry repeating.
	for i, want := range []time.Duration{backOff[0], backOff[1], backOff[1]} {
		got := times[i+1].Sub(times[i])
		if got < want-20*time.Millisecond || got > want+150*time.Millisecond {
			t.Errorf("delay after delivery %d = %v, want about %v", i+1, got, want)
		}
	}
}

func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	good := eventMsg(t, context.Background(), 1)

	noType := nats.NewMsg("avenir.test.item.1.happened")
	noType.Header.Set("x-origin", "no-type")
	noType.Header.Set(jetstream.MsgIDHeader, "poison-1")
	noType.Data = []byte("payload")

	garbage := nats.NewMsg("avenir.test.item.2.happened")
	garbage.Header = maps.Clone(good.Header)
	garbage.Header.Set("x-origin", "garbage")
	garbage.Header.Set(jetstream.MsgIDHeader, "poison-2")
	garbage.Data = []byte{0xff, 0xff, 0xff}

	var seqs []uint64
	for _, m := range []*nats.Msg{noType, garbage} {
		ack, err := h.js.PublishMsg(ctx(t), m)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	tr := newTracker()
	h.start(spec("proj-poison"), tr.handler(nil))
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 2 }, "two dead letters")
	h.waitAcked("proj-poison", seqs[1])

	for i, dl := range h.deadLetters() {
		orig := []*nats.Msg{noType, garbage}[i]
		if dl.Subject != consumer.DLQSubjectPrefix+"proj-poison" {
			t.Errorf("dead letter subject %q", dl.Subject)
		}
		if string(dl.Data) != string(orig.Data) {
			t.Errorf("dead letter data %q, want %q", dl.Data, orig.Data)
		}
		wantHeaders := map[string]string{
			"x-origin":                   orig.Header.Get("x-origin"),
			consumer.HeaderDLQStream:     testStream,
			consumer.HeaderDLQSubject:    orig.Subject,
			consumer.HeaderDLQSequence:   strconv.FormatUint(seqs[i], 10),
			consumer.HeaderDLQConsumer:   "proj-poison",
			consumer.HeaderDLQSource:     testSource,
			consumer.HeaderDLQDeliveries: "1",
			jetstream.MsgIDHeader:        fmt.Sprintf("proj-poison:%s:%d", testStream, seqs[i]),
			event.HeaderType:             orig.Header.Get(event.HeaderType),
			event.HeaderDataContentType:  orig.Header.Get(event.HeaderDataContentType),
		}
		for k, want := range wantHeaders {
			if got := dl.Header.Get(k); got != want {
				t.Errorf("dead letter %d header %s = %q, want %q", i, k, got, want)
			}
		}
		if dl.Header.Get(consumer.HeaderDLQReason) == "" {
			t.Errorf("dead letter %d has no reason", i)
		}
	}
	if got := tr.handledSeqs(); len(got) != 0 {
		t.Fatalf("poison handed to the handler: %v", got)
	}
}

func TestExhaustedMaxDeliverIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(2)
	tr := newTracker()
	s := spec("proj-exhaust")
	s.MaxDeliver = 3
	h.start(s, tr.handler(func(seq uint64, _ int) error {
		if seq == seqs[0] {
			return fmt.Errorf("always: %w", errFlaky)
		}
		return nil
	}))
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter")
	h.waitAcked("proj-exhaust", seqs[1])
	dl := h.deadLetters()[0]
	if got := dl.Header.Get(consumer.HeaderDLQDeliveries); got != "3" {
		t.Errorf("deliveries header %q, want 3", got)
	}
	if got := dl.Header.Get(consumer.HeaderDLQReason); got != "always: flaky dependency" {
		t.Errorf("reason %q", got)
	}
	if got := tr.calls(seqs[0]); got != 3 {
		t.Errorf("handler called %d times, want 3", got)
	}
	ev, err := event.Codec{}.Decode(context.Background(), dl.Header.Get(consumer.HeaderDLQSubject), dl.Header, dl.Data)
	if err != nil {
		t.Fatalf("dead letter is not a decodable event: %v", err)
	}
	if !proto.Equal(ev.Data, wrapperspb.Int64(0)) {
		t.Errorf("dead letter payload %v", ev.Data)
	}
}

func TestPermanentErrorIsDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(1)
	tr := newTracker()
	h.start(spec("proj-permanent"), tr.handler(func(uint64, int) error {
		return fmt.Errorf("validate: %w", consumer.Permanent(errors.New("negative amount")))
	}))
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter")
	h.waitAcked("proj-permanent", seqs[0])
	dl := h.deadLetters()[0]
	if got := dl.Header.Get(consumer.HeaderDLQDeliveries); got != "1" {
		t.Errorf("deliveries %q, want 1", got)
	}
	if got := dl.Header.Get(consumer.HeaderDLQReason); got != "validate: negative amount" {
		t.Errorf("reason %q", got)
	}
	if tr.calls(seqs[0]) != 1 {
		t.Errorf("handler called %d times, want 1", tr.calls(seqs[0]))
	}
	if consumer.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

func TestDeadLetterFailureKeepsTheMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(1)
	tr := newTracker()
	// The handler holds the first delivery until the dead-letter stream is
	// gone (Start creates it), so the first dead-lettering already fails.
	release := make(chan struct{})
	h.start(spec("proj-dlqdown"), tr.handler(func(uint64, int) error {
		<-release
		return consumer.Permanent(errors.New("bad"))
	}))
	// The dead-letter stream disappears: dead-lettering fails, so the message
	// must be kept and retried rather than terminated.
	if err := h.js.DeleteStream(ctx(t), consumer.DLQStream); err != nil {
		t.Fatal(err)
	}
	close(release)
	eventually(t, 10*time.Second, func() bool { return tr.calls(seqs[0]) >= 3 }, "retries while the DLQ is missing")
	if _, err := h.js.CreateOrUpdateStream(ctx(t), mustDLQConfig(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter once the DLQ is back")
	h.waitAcked("proj-dlqdown", seqs[0])
}

func mustDLQConfig(t *testing.T) jetstream.StreamConfig {
	t.Helper()
	cfg, err := consumer.DLQSpec().Config(natsx.Topology{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRepeatedDeadLetteringIsDeduplicated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(1)
	tr := newTracker()
	r := h.start(spec("proj-dedup"), tr.handler(func(uint64, int) error {
		return consumer.Permanent(errors.New("bad"))
	}))
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter")
	stop(t, r)
	// The same message dead-lettered again (say its Term was lost and a
	// rebuilt consumer met it again) yields no second dead letter.
	s := spec("proj-dedup")
	s.StartSeq = seqs[0]
	h.start(s, tr.handler(func(uint64, int) error {
		return consumer.Permanent(errors.New("bad again"))
	}))
	eventually(t, 10*time.Second, func() bool { return tr.calls(seqs[0]) == 2 }, "second delivery")
	h.waitAcked("proj-dedup", seqs[0])
	if n := len(h.deadLetters()); n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}
}

func TestNoLossAcrossRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(300)
	tr := newTracker()
	s := spec("proj-restart")
	s.Batch = 20
	handler := tr.handler(func(uint64, int) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	r := h.start(s, handler)
	eventually(t, 10*time.Second, func() bool { return len(tr.handledSeqs()) >= 100 }, "100 handled")
	stop(t, r)
	stoppedAt := len(tr.handledSeqs())
	if stoppedAt >= len(seqs) {
		t.Fatalf("everything handled before the stop (%d)", stoppedAt)
	}
	h.start(s, handler)
	tr.waitHandled(t, seqs)
	h.waitAcked("proj-restart", seqs[len(seqs)-1])
	t.Logf("stopped after %d, %d handler calls in all", stoppedAt, len(tr.handledSeqs()))
}

func TestStopWaitsForTheInFlightHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(5)
	tr := newTracker()
	started, release := make(chan struct{}), make(chan struct{})
	type seen struct {
		err         error
		hasDeadline bool
	}
	after := make(chan seen, 1)
	s := spec("proj-graceful")
	r := h.start(s, func(c context.Context, ev event.Event) error {
		if ev.Sequence == seqs[0] {
			close(started)
			<-release
			_, ok := c.Deadline()
			after <- seen{err: c.Err(), hasDeadline: ok}
		}
		return tr.handler(nil)(c, ev)
	})
	<-started
	stopped := make(chan error, 1)
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- r.Stop(c)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned while the handler was running: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := <-after; got.err != nil || !got.hasDeadline {
		t.Fatalf("handler context after Stop: err %v, deadline %v; want live, with a deadline", got.err, got.hasDeadline)
	}
	if got := tr.handledSeqs(); !slices.Equal(got, seqs[:1]) {
		t.Fatalf("handled %v before stopping, want only the in-flight %d", got, seqs[0])
	}

	// The next runner gets the rest at once, but not the in-flight message,
	// which was acked.
	h.start(s, tr.handler(nil))
	tr.waitHandled(t, seqs)
	h.waitAcked("proj-graceful", seqs[4])
	if got := tr.calls(seqs[0]); got != 1 {
		t.Fatalf("in-flight message delivered %d times, want 1", got)
	}
}

func TestStopTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.publish(1)
	started, release := make(chan struct{}), make(chan struct{})
	r := h.start(spec("proj-stuck"), func(context.Context, event.Event) error {
		close(started)
		<-release
		return nil
	})
	<-started
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Stop(c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want a deadline error", err)
	}
	close(release)
}

func TestPanicIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(1)
	tr := newTracker()
	h.start(spec("proj-panic"), tr.handler(func(_ uint64, call int) error {
		if call == 1 {
			panic("boom")
		}
		return nil
	}))
	tr.waitHandled(t, seqs)
	if got := tr.calls(seqs[0]); got != 2 {
		t.Fatalf("handler called %d times, want 2", got)
	}
}

func TestStartSeq(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const name = "proj-startseq"
	seqs := h.publish(50)

	// A consumer acked up to 50.
	tr := newTracker()
	r := h.start(spec(name), tr.handler(nil))
	tr.waitHandled(t, seqs)
	stop(t, r)
	h.waitAcked(name, 50)
	created := h.consumerInfo(name).Created

	// StartSeq 0 on the existing consumer: it continues where it was.
	seqs = append(seqs, h.publish(5)...)
	tr = newTracker()
	r = h.start(spec(name), tr.handler(nil))
	tr.waitHandled(t, seqs[50:])
	stop(t, r)
	h.waitAcked(name, 55)
	if got := tr.handledSeqs(); !slices.Equal(got, seqs[50:]) {
		t.Fatalf("StartSeq 0 handled %v, want 51..55", got)
	}

	// StartSeq at the ack floor + 1: the caller is up to date, nothing is
	// replayed and the consumer is kept.
	s := spec(name)
	s.StartSeq = 56
	tr = newTracker()
	r = h.start(s, tr.handler(nil))
	// In stream order, a replay would come before the next new message.
	next := h.publish(1)
	tr.waitHandled(t, next)
	stop(t, r)
	if got := tr.handledSeqs(); !slices.Equal(got, next) {
		t.Fatalf("StartSeq 56 handled %v, want only the new %v", got, next)
	}
	seqs = append(seqs, next...)
	if !h.consumerInfo(name).Created.Equal(created) {
		t.Fatal("consumer recreated although the caller was up to date")
	}

	// StartSeq 11 on a consumer acked up to 56: replay from 11.
	s.StartSeq = 11
	tr = newTracker()
	h.start(s, tr.handler(nil))
	tr.waitHandled(t, seqs[10:])
	if got := tr.handledSeqs(); got[0] != 11 || len(got) != 46 {
		t.Fatalf("StartSeq 11 handled %d messages from %d, want 46 from 11", len(got), got[0])
	}
	info := h.consumerInfo(name)
	if info.Config.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || info.Config.OptStartSeq != 11 {
		t.Fatalf("recreated consumer delivers %v from %d", info.Config.DeliverPolicy, info.Config.OptStartSeq)
	}

	// A new consumer with a StartSeq starts there.
	s = spec("proj-fresh")
	s.StartSeq = 20
	tr = newTracker()
	h.start(s, tr.handler(nil))
	tr.waitHandled(t, seqs[19:])
	if got := tr.handledSeqs(); got[0] != 20 {
		t.Fatalf("new consumer with StartSeq 20 began at %d", got[0])
	}
}

func TestConsumerConfiguration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := spec("proj-config")
	s.FilterSubjects = []string{"avenir.test.item.*.happened"}
	s.BackOff = []time.Duration{time.Second, 5 * time.Second}
	s.AckWait = 10 * time.Second
	s.Ordered = true
	s.Batch = 7
	r := h.start(s, newTracker().handler(nil))
	stop(t, r)

	cfg := h.consumerInfo("proj-config").Config
	if cfg.Durable != "proj-config" || cfg.AckPolicy != jetstream.AckExplicitPolicy || cfg.MaxDeliver != -1 {
		t.Errorf("durable %q, ack policy %v, max deliver %d", cfg.Durable, cfg.AckPolicy, cfg.MaxDeliver)
	}
	if want := []time.Duration{11 * time.Second, 15 * time.Second}; !slices.Equal(cfg.BackOff, want) || cfg.AckWait != want[0] {
		t.Errorf("backoff %v, ack wait %v; want %v", cfg.BackOff, cfg.AckWait, want)
	}
	if !slices.Equal(cfg.FilterSubjects, s.FilterSubjects) {
		t.Errorf("filters %v", cfg.FilterSubjects)
	}
	if cfg.MaxAckPending != 7 || cfg.PriorityPolicy != jetstream.PriorityPolicyPinned || !slices.Equal(cfg.PriorityGroups, []string{"avenir"}) || cfg.PinnedTTL != 2*time.Minute {
		t.Errorf("ordered settings: max ack pending %d, policy %v, groups %v, pinned TTL %v",
			cfg.MaxAckPending, cfg.PriorityPolicy, cfg.PriorityGroups, cfg.PinnedTTL)
	}

	// The same consumer, no longer ordered, with another filter: updated in
	// place.
	s.Ordered = false
	s.FilterSubjects = []string{"avenir.test.>"}
	r = h.start(s, newTracker().handler(nil))
	stop(t, r)
	cfg = h.consumerInfo("proj-config").Config
	if cfg.PriorityPolicy != jetstream.PriorityPolicyNone || len(cfg.PriorityGroups) != 0 || cfg.MaxAckPending == 7 {
		t.Errorf("not updated to unordered: policy %v, groups %v, max ack pending %d", cfg.PriorityPolicy, cfg.PriorityGroups, cfg.MaxAckPending)
	}
	if !slices.Equal(cfg.FilterSubjects, s.FilterSubjects) {
		t.Errorf("filters not updated: %v", cfg.FilterSubjects)
	}

	// The dead-letter stream exists with its settings.
	st, err := h.js.Stream(ctx(t), consumer.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxAge != 30*24*time.Hour || !slices.Equal(c.Subjects, []string{"avenir.dlq.>"}) {
		t.Errorf("DLQ stream: max age %v, subjects %v", c.MaxAge, c.Subjects)
	}
}

func TestRecreatesADeletedConsumer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seqs := h.publish(3)
	tr := newTracker()
	h.start(spec("proj-deleted"), tr.handler(nil))
	tr.waitHandled(t, seqs)
	if err := h.js.DeleteConsumer(ctx(t), testStream, "proj-deleted"); err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, h.publish(2)...)
	tr.waitHandled(t, seqs)
}

func TestStartValidates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ok := func(context.Context, event.Event) error { return nil }
	opts := consumer.Options{Source: testSource}
	bad := map[string]consumer.Spec{
		"no stream":         {Name: "x"},
		"dotted name":       {Stream: testStream, Name: "proj.read"},
		"upper-case name":   {Stream: testStream, Name: "Proj"},
		"empty name":        {Stream: testStream},
		"negative deliver":  {Stream: testStream, Name: "x", MaxDeliver: -1},
		"zero backoff":      {Stream: testStream, Name: "x", BackOff: []time.Duration{0}},
		"negative ack wait": {Stream: testStream, Name: "x", AckWait: -time.Second},
		"negative batch":    {Stream: testStream, Name: "x", Batch: -1},
		"empty filter":      {Stream: testStream, Name: "x", FilterSubjects: []string{""}},
	}
	for name, s := range bad {
		if r, err := consumer.Start(ctx(t), h.js, s, ok, opts); err == nil {
			stop(t, r)
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := consumer.Start(ctx(t), h.js, spec("x"), nil, opts); err == nil {
		t.Error("nil handler accepted")
	}
	if _, err := consumer.Start(ctx(t), h.js, spec("x"), ok, consumer.Options{}); err == nil {
		t.Error("options without a source accepted")
	}
	if _, err := consumer.Start(ctx(t), h.js, consumer.Spec{Stream: "MISSING", Name: "x"}, ok, opts); err == nil {
		t.Error("missing stream accepted")
	}
}

// A process killed while it held messages comes back with an empty in-memory
// state: as an Exclusive caller it gets them at once, not after AckWait.
func TestExclusiveTakesBackWhatAKilledProcessHeld(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const name = "proj-exclusive"
	seqs := h.publish(3)
	s := spec(name)
	s.StartSeq = 1
	s.AckWait = time.Minute

	// The earlier life of the process: the consumer delivered all three, and
	// the process died before acking (nothing acks them here).
	c, err := h.js.CreateConsumer(ctx(t), testStream, jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(3, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() {
	}
	if info := h.consumerInfo(name); info.NumAckPending != 3 {
		t.Fatalf("setup: %d pending, want 3", info.NumAckPending)
	}

	s.Exclusive = true
	tr := newTracker()
	h.start(s, tr.handler(nil))
	done := make(chan struct{})
	go func() { tr.waitHandled(t, seqs); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the messages a dead process held were not delivered again well before AckWait")
	}
}
