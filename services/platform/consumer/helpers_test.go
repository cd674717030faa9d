package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
)

const (
	testStream = "TEST"
	testSource = "consumer-test"
)

// Telemetry installed for the whole test binary; tests filter what they read
// by consumer name.
var (
	spans        = tracetest.NewInMemoryExporter()
	metricReader = sdkmetric.NewManualReader()
	testTracer   = sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
)

func TestMain(m *testing.M) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetTracerProvider(testTracer)
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(metricReader)))
	os.Exit(m.Run())
}

// harness is an embedded server with a throwaway stream TEST on avenir.test.>.
type harness struct {
	tb  testing.TB
	srv *natstest.Server
	js  jetstream.JetStream
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	srv := natstest.Start(tb)
	h := &harness{tb: tb, srv: srv, js: srv.JetStream(tb)}
	h.ensureStream(h.js)
	return h
}

func (h *harness) ensureStream(js jetstream.JetStream) {
	h.tb.Helper()
	spec := natsx.StreamSpec{Name: testStream, Subjects: []string{"avenir.test.>"}, MaxBytes: 64 << 20}
	if _, err := natsx.EnsureStream(ctx(h.tb), js, spec, natsx.Topology{}); err != nil {
		h.tb.Fatal(err)
	}
}

// ctx is a test context bounded to 30 seconds.
func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

// spec is a spec with test-friendly delays.
func spec(name string) consumer.Spec {
	return consumer.Spec{
		Stream:  testStream,
		Name:    name,
		BackOff: []time.Duration{50 * time.Millisecond},
		AckWait: 5 * time.Second,
	}
}

// eventMsg encodes the i-th test event, carrying the trace context of c.
func eventMsg(tb testing.TB, c context.Context, i int) *nats.Msg {
	tb.Helper()
	msg, err := event.Codec{}.Encode(c, event.Draft{
		Subject:     fmt.Sprintf("avenir.test.item.%d.happened", i),
		AggregateID: fmt.Sprint(i),
		Data:        wrapperspb.Int64(int64(i)),
	}, event.Meta{ID: event.NewID(), Source: testSource})
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

// publish appends n events with js and returns their stream sequences.
func publish(tb testing.TB, js jetstream.JetStream, n int) []uint64 {
	tb.Helper()
	seqs := make([]uint64, n)
	for i := range n {
		ack, err := js.PublishMsg(ctx(tb), eventMsg(tb, context.Background(), i))
		if err != nil {
			tb.Fatal(err)
		}
		seqs[i] = ack.Sequence
	}
	return seqs
}

func (h *harness) publish(n int) []uint64 { return publish(h.tb, h.js, n) }

// start starts a runner stopped at the end of the test.
func (h *harness) start(s consumer.Spec, fn consumer.Handler) *consumer.Runner {
	h.tb.Helper()
	return startWith(h.tb, h.js, s, fn)
}

func startWith(tb testing.TB, js jetstream.JetStream, s consumer.Spec, fn consumer.Handler) *consumer.Runner {
	tb.Helper()
	r, err := consumer.Start(ctx(tb), js, s, fn, consumer.Options{
		Logger: slog.New(slog.DiscardHandler),
		Source: testSource,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stop(tb, r) })
	return r
}

func stop(tb testing.TB, r *consumer.Runner) {
	tb.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Stop(c); err != nil {
		tb.Error(err)
	}
}

// deadLetters reads the dead-letter stream.
func (h *harness) deadLetters() []*jetstream.RawStreamMsg {
	h.tb.Helper()
	st, err := h.js.Stream(ctx(h.tb), consumer.DLQStream)
	if err != nil {
		h.tb.Fatal(err)
	}
	info, err := st.Info(ctx(h.tb))
	if err != nil {
		h.tb.Fatal(err)
	}
	var msgs []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx(h.tb), seq)
		if err != nil {
			h.tb.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func (h *harness) consumerInfo(name string) *jetstream.ConsumerInfo {
	h.tb.Helper()
	c, err := h.js.Consumer(ctx(h.tb), testStream, name)
	if err != nil {
		h.tb.Fatal(err)
	}
	info, err := c.Info(ctx(h.tb))
	if err != nil {
		h.tb.Fatal(err)
	}
	return info
}

// waitAcked waits until the consumer has acked everything up to seq.
func (h *harness) waitAcked(name string, seq uint64) {
	h.tb.Helper()
	eventually(h.tb, 10*time.Second, func() bool {
		info := h.consumerInfo(name)
		return info.AckFloor.Stream >= seq && info.NumAckPending == 0
	}, "consumer %s acked up to %d", name, seq)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for: "+format, args...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tracker records what a handler sees.
type tracker struct {
	mu         sync.Mutex
	deliveries map[uint64]int // handler calls per stream sequence
	handled    []uint64       // sequences handled successfully, in order
}

func newTracker() *tracker { return &tracker{deliveries: map[uint64]int{}} }

// handler returns a handler that records calls and fails where fail says so.
// fail receives the sequence and the number of the call for it (from 1).
func (tr *tracker) handler(fail func(seq uint64, call int) error) consumer.Handler {
	return func(_ context.Context, ev event.Event) error {
		tr.mu.Lock()
		tr.deliveries[ev.Sequence]++
		call := tr.deliveries[ev.Sequence]
		tr.mu.Unlock()
		if fail != nil {
			if err := fail(ev.Sequence, call); err != nil {
				return err
			}
		}
		tr.mu.Lock()
		tr.handled = append(tr.handled, ev.Sequence)
		tr.mu.Unlock()
		return nil
	}
}

func (tr *tracker) calls(seq uint64) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.deliveries[seq]
}

func (tr *tracker) handledSeqs() []uint64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.handled)
}

// handledAll reports whether every sequence of seqs was handled.
func (tr *tracker) handledAll(seqs []uint64) bool {
	done := map[uint64]bool{}
	for _, s := range tr.handledSeqs() {
		done[s] = true
	}
	for _, s := range seqs {
		if !done[s] {
			return false
		}
	}
	return true
}

func (tr *tracker) waitHandled(tb testing.TB, seqs []uint64) {
	tb.Helper()
	eventually(tb, 15*time.Second, func() bool { return tr.handledAll(seqs) }, "%d sequences handled", len(seqs))
}
