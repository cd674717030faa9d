package consumer

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/event"
)

// InstrumentationName names the tracer and the meter of this package.
const InstrumentationName = "avenir/consumer"

// Span attributes beyond the messaging semantic conventions.
const (
	attrStreamSequence = attribute.Key("avenir.stream.sequence")
	attrDeliveries     = attribute.Key("avenir.delivery.count")
	attrService        = attribute.Key("avenir.service")
)

// instruments are a runner's metrics, all with the consumer name and the
// service as attributes.
type instruments struct {
	processed    metric.Int64Counter
	failed       metric.Int64Counter
	deadLettered metric.Int64Counter
	duration     metric.Float64Histogram
	attrs        metric.MeasurementOption
}

func newInstruments(name, source string) (*instruments, error) {
	m := otel.Meter(InstrumentationName)
	in := &instruments{attrs: metric.WithAttributeSet(attribute.NewSet(
		semconv.MessagingConsumerGroupName(name),
		attrService.String(source),
	))}
	var err error
	if in.processed, err = m.Int64Counter("avenir.consumer.processed",
		metric.WithUnit("{message}"), metric.WithDescription("Messages handled successfully.")); err != nil {
		return nil, fmt.Errorf("consumer: metric: %w", err)
	}
	if in.failed, err = m.Int64Counter("avenir.consumer.failed",
		metric.WithUnit("{message}"), metric.WithDescription("Failed deliveries: handler errors and undecodable messages.")); err != nil {
		return nil, fmt.Errorf("consumer: metric: %w", err)
	}
	if in.deadLettered, err = m.Int64Counter("avenir.consumer.dead_lettered",
		metric.WithUnit("{message}"), metric.WithDescription("Messages moved to the dead-letter stream.")); err != nil {
		return nil, fmt.Errorf("consumer: metric: %w", err)
	}
	if in.duration, err = m.Float64Histogram("avenir.consumer.handler.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of handler calls.")); err != nil {
		return nil, fmt.Errorf("consumer: metric: %w", err)
	}
	return in, nil
}

func newTracer() trace.Tracer { return otel.Tracer(InstrumentationName) }

// startSpan starts the consumer span of a delivery, as a child of the
// producer's span carried by the message.
func (r *Runner) startSpan(msg jetstream.Msg, md *jetstream.MsgMetadata) (context.Context, trace.Span) {
	ctx := event.Context(context.Background(), msg.Headers())
	return r.tracer.Start(ctx, "process "+md.Stream,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("nats"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(msg.Subject()),
			semconv.MessagingConsumerGroupName(r.spec.Name),
			semconv.MessagingMessageID(msg.Headers().Get(jetstream.MsgIDHeader)),
			attrStreamSequence.Int64(int64(md.Sequence.Stream)),
			attrDeliveries.Int64(int64(md.NumDelivered)),
		))
}
