package consumer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/event"
)

// maxReason bounds the length of the reason header, in bytes.
const maxReason = 1024

// deadLetter copies msg to the dead-letter stream and terminates it. When the
// copy cannot be stored, msg must be retried: deadLetter returns the delay
// before the retry and true.
func (r *Runner) deadLetter(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, cause error) (time.Duration, bool) {
	reason := headerValue(cause.Error())
	dl := r.deadLetterMsg(ctx, msg, md, reason)
	pctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, dl, jetstream.WithExpectStream(DLQStream)); err != nil {
		retryIn := r.spec.backoff(md.NumDelivered)
		trace.SpanFromContext(ctx).RecordError(err)
		r.log.ErrorContext(ctx, "consumer: dead-lettering failed, will retry",
			"subject", msg.Subject(), "seq", md.Sequence.Stream, "retry_in", retryIn, "reason", reason, "error", err)
		return retryIn, true
	}
	r.metrics.deadLettered.Add(context.Background(), 1, r.metrics.attrs)
	r.log.WarnContext(ctx, "consumer: message dead-lettered",
		"subject", msg.Subject(), "seq", md.Sequence.Stream, "deliveries", md.NumDelivered, "reason", reason)
	if err := msg.TermWithReason(reason); err != nil {
		// Redelivered, it will be dead-lettered again under the same message
		// id, which the dead-letter stream deduplicates.
		r.log.WarnContext(ctx, "consumer: terminating a dead-lettered message failed", "seq", md.Sequence.Stream, "error", err)
	}
	return 0, false
}

// deadLetterMsg builds the dead letter of msg: its payload and headers, the
// trace context of ctx and the dead-letter headers. The Nats-* headers of the
// original are left out: they are JetStream publish directives (message id,
// expected sequences, atomic batches, TTLs, ...) that would apply to the
// dead-letter stream, and the original remains readable in its stream.
func (r *Runner) deadLetterMsg(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, reason string) *nats.Msg {
	dl := nats.NewMsg(DLQSubjectPrefix + r.spec.Name)
	dl.Data = msg.Data()
	for k, v := range msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			dl.Header[k] = slices.Clone(v)
		}
	}
	otel.GetTextMapPropagator().Inject(ctx, event.HeaderCarrier(dl.Header))
	h := dl.Header
	h.Set(HeaderDLQStream, md.Stream)
	h.Set(HeaderDLQSubject, msg.Subject())
	h.Set(HeaderDLQSequence, strconv.FormatUint(md.Sequence.Stream, 10))
	h.Set(HeaderDLQConsumer, r.spec.Name)
	h.Set(HeaderDLQSource, r.source)
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	// One dead letter per consumer and message, however often it is
	// dead-lettered within the duplicate window.
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s:%s:%d", r.spec.Name, md.Stream, md.Sequence.Stream))
	return dl
}

// headerValue makes s a valid header value: one line of at most maxReason
// bytes of valid UTF-8.
func headerValue(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(c rune) rune {
		if c == '\r' || c == '\n' {
			return ' '
		}
		return c
	}, s)
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
