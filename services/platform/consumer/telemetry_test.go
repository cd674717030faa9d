package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

// telemetryRuns makes consumer names unique across runs of the test (-count),
// since spans and metrics accumulate in the process-wide providers.
var telemetryRuns atomic.Int64

func TestSpansAndMetrics(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("proj-telemetry-%d", telemetryRuns.Add(1))
	h := newHarness(t)
	producer, span := testTracer.Tracer("test").Start(context.Background(), "command")
	var seqs []uint64
	for i := range 2 {
		ack, err := h.js.PublishMsg(ctx(t), eventMsg(t, producer, i))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	span.End()

	handlerSpans := make(chan trace.SpanContext, 2)
	h.start(spec(name), func(c context.Context, ev event.Event) error {
		handlerSpans <- trace.SpanContextFromContext(c)
		if ev.Sequence == seqs[1] {
			return consumer.Permanent(errors.New("rejected"))
		}
		return nil
	})
	eventually(t, 10*time.Second, func() bool { return len(h.deadLetters()) == 1 }, "dead letter")
	h.waitAcked(name, seqs[1])

	var got []tracetest.SpanStub
	eventually(t, 5*time.Second, func() bool {
		got = consumerSpans(name)
		return len(got) == 2
	}, "two consumer spans")
	for i, s := range got {
		if s.Name != "process "+testStream || s.SpanKind != trace.SpanKindConsumer {
			t.Errorf("span %q of kind %v", s.Name, s.SpanKind)
		}
		if s.Parent.SpanID() != span.SpanContext().SpanID() || s.SpanContext.TraceID() != span.SpanContext().TraceID() {
			t.Errorf("span %d is not a child of the producer's span", i)
		}
		attrs := attribute.NewSet(s.Attributes...)
		for k, want := range map[attribute.Key]attribute.Value{
			"messaging.system":              attribute.StringValue("nats"),
			"messaging.operation.type":      attribute.StringValue("process"),
			"messaging.consumer.group.name": attribute.StringValue(name),
			"avenir.stream.sequence":        attribute.Int64Value(int64(seqs[i])),
			"avenir.delivery.count":         attribute.Int64Value(1),
		} {
			if v, ok := attrs.Value(k); !ok || v != want {
				t.Errorf("span %d attribute %s = %v, want %v", i, k, v.Emit(), want.Emit())
			}
		}
		for _, k := range []attribute.Key{"messaging.destination.name", "messaging.message.id"} {
			if v, ok := attrs.Value(k); !ok || v.AsString() == "" {
				t.Errorf("span %d has no %s", i, k)
			}
		}
	}
	if got[1].Status.Code.String() != "Error" {
		t.Errorf("failed delivery's span status %v", got[1].Status)
	}
	for range 2 {
		if sc := <-handlerSpans; sc.TraceID() != span.SpanContext().TraceID() {
			t.Error("handler context does not carry the producer's trace")
		}
	}
	// The dead letter carries the trace on.
	if tp := h.deadLetters()[0].Header.Get("traceparent"); tp == "" || tp[3:35] != span.SpanContext().TraceID().String() {
		t.Errorf("dead letter traceparent %q", tp)
	}

	want := map[string]int64{
		"avenir.consumer.processed":     1,
		"avenir.consumer.failed":        1,
		"avenir.consumer.dead_lettered": 1,
	}
	counts := consumerMetrics(t, name)
	for metric, n := range want {
		if counts[metric] != n {
			t.Errorf("%s = %d, want %d", metric, counts[metric], n)
		}
	}
	if counts["avenir.consumer.handler.duration"] != 2 {
		t.Errorf("handler duration recorded %d times, want 2", counts["avenir.consumer.handler.duration"])
	}
}

// consumerSpans returns the spans of the named consumer, in stream order.
func consumerSpans(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans.GetSpans() {
		attrs := attribute.NewSet(s.Attributes...)
		if v, _ := attrs.Value("messaging.consumer.group.name"); v.AsString() == name {
			out = append(out, s)
		}
	}
	return out
}

// consumerMetrics sums the counters, and counts the histogram records, of
// the named consumer.
func consumerMetrics(t *testing.T, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := metricReader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	mine := func(attrs attribute.Set) bool {
		v, _ := attrs.Value("messaging.consumer.group.name")
		s, _ := attrs.Value("avenir.service")
		return v.AsString() == name && s.AsString() == testSource
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != consumer.InstrumentationName {
			continue
		}
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					if mine(dp.Attributes) {
						out[m.Name] += dp.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					if mine(dp.Attributes) {
						out[m.Name] += int64(dp.Count)
					}
				}
			}
		}
	}
	return out
}
