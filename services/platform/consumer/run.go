package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/event"
)

const (
	// pollWait is how long a fetch waits for messages: the delay before Stop
	// takes effect on an idle runner (a fetch is not cancelled: a message the
	// server sent to a cancelled fetch would only come back after AckWait).
	// Short, so that a stop, a rebuild or a test's restart is quick; an idle
	// runner costs four small requests a second.
	pollWait = 250 * time.Millisecond
	// apiTimeout bounds the runner's requests to the server (double acks,
	// synchronous naks, dead-letter publishes, unpinning).
	apiTimeout = 10 * time.Second
	// Failed fetches are retried after a delay doubling from minRetry to
	// maxRetry: short, so that a runner catches up within a second or two
	// of the server coming back.
	minRetry = 100 * time.Millisecond
	maxRetry = time.Second
	// TransientRetry bounds the delay before retrying a message whose
	// handler failed because a dependency is unavailable (apperr
	// KindUnavailable, a read model being rebuilt): the handler is not at
	// fault and the message must go through as soon as the dependency is
	// back, whatever the backoff of its failures so far.
	TransientRetry = 250 * time.Millisecond
	// pinIDHeader carries, on messages of a pinned consumer, the pin id of the
	// receiving client.
	pinIDHeader = "Nats-Pin-Id"
)

// run is the fetch loop.
func (r *Runner) run() {
	defer close(r.done)
	retry := minRetry
	failures := 0
	for !r.stopping() {
		if !r.sleep(time.Until(r.resumeAt)) {
			break
		}
		if err := r.poll(); err != nil {
			failures++
			level := slog.LevelDebug
			if failures == 1 {
				level = slog.LevelWarn
			}
			r.log.Log(context.Background(), level, "consumer: fetch failed, retrying", "error", err, "retry_in", retry, "failures", failures)
			if !r.sleep(retry) {
				break
			}
			retry = min(2*retry, maxRetry)
			continue
		}
		if failures > 0 {
			r.log.Info("consumer: fetching again", "failed_fetches", failures)
		}
		retry, failures = minRetry, 0
	}
	if r.spec.Ordered {
		r.unpin()
	}
	r.log.Info("consumer stopped")
}

// stopping reports whether Stop was called.
func (r *Runner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// sleep waits for d and reports whether the runner is still running.
func (r *Runner) sleep(d time.Duration) bool {
	if d <= 0 {
		return !r.stopping()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.stop:
		return false
	case <-t.C:
		return true
	}
}

// poll fetches one batch and handles it.
func (r *Runner) poll() error {
	if r.cons == nil {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		c, err := r.ensureConsumer(ctx, false)
		cancel()
		if err != nil {
			return err
		}
		r.log.Warn("consumer: the consumer went missing, ensured it again")
		r.cons = c
	}
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(pollWait)}
	if r.spec.Ordered {
		opts = append(opts, jetstream.FetchPriorityGroup(priorityGroup))
	}
	batch, err := r.cons.Fetch(r.spec.Batch, opts...)
	if err != nil {
		return r.fetchError(err)
	}
	r.handleBatch(batch)
	if err := batch.Error(); err != nil {
		return r.fetchError(err)
	}
	return nil
}

// fetchError classifies a fetch error; it returns nil for those that need no
// retry delay.
func (r *Runner) fetchError(err error) error {
	switch {
	case errors.Is(err, jetstream.ErrPinIDMismatch):
		// This runner lost its pin (it stayed silent for PinnedTTL, or the
		// server restarted). The client forgot the old pin id, so the next
		// fetch waits to be pinned again.
		r.log.Info("consumer: no longer pinned")
		return nil
	case errors.Is(err, jetstream.ErrConsumerDeleted),
		errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, nats.ErrNoResponders):
		r.cons = nil
	}
	return err
}

// handleBatch handles the messages of a batch in order.
func (r *Runner) handleBatch(batch jetstream.MessageBatch) {
	var (
		back  []jetstream.Msg // handed back for redelivery, in stream order
		hold  time.Duration
		first time.Time // arrival of the first message, which the loop waits for
	)
	for msg := range batch.Messages() {
		if first.IsZero() {
			first = time.Now()
		}
		if id := msg.Headers().Get(pinIDHeader); id != "" {
			r.pinID = id
		}
		if len(back) > 0 || r.stopping() {
			back = append(back, msg)
			continue
		}
		retryIn, retry := r.handle(msg, first)
		switch {
		case !retry:
		case r.spec.Ordered:
			back, hold = append(back, msg), retryIn
		default:
			r.nakLater(msg)
		}
	}
	r.handBack(back)
	r.resumeAt = time.Now().Add(hold)
}

// handle processes one message and settles it, unless it must be retried:
// then it returns the delay before the retry and true. The message arrived
// after its batch's first message, at first.
func (r *Runner) handle(msg jetstream.Msg, first time.Time) (time.Duration, bool) {
	md, err := msg.Metadata()
	if err != nil {
		// Only a message without an ack subject has no metadata; it cannot be
		// settled either.
		r.log.Error("consumer: message without JetStream metadata", "subject", msg.Subject(), "error", err)
		return 0, false
	}
	// The server redelivers AckWait + backoff after the delivery, and the
	// handler may take AckWait: if the message waited in the batch for a
	// good part of the backoff, restart the server's clock.
	if time.Since(first) > r.spec.backoff(md.NumDelivered)/2 {
		if err := msg.InProgress(); err != nil {
			r.log.Warn("consumer: extending the ack deadline failed", "seq", md.Sequence.Stream, "error", err)
		}
	}
	ctx, span := r.startSpan(msg, md)
	defer span.End()

	ev, err := r.codec.FromMsg(ctx, msg)
	if errors.Is(err, event.ErrUndecodable) {
		r.fail(span, err)
		return r.deadLetter(ctx, msg, md, err)
	}
	if err == nil {
		err = r.call(ctx, ev)
	}
	if err != nil {
		r.fail(span, err)
		failures := md.NumDelivered
		if r.spec.Ordered {
			failures = r.headFailure(md.Sequence.Stream)
		}
		if isPermanent(err) || (!r.spec.Ordered && md.NumDelivered >= uint64(r.spec.MaxDeliver)) {
			return r.deadLetter(ctx, msg, md, err)
		}
		retryIn := r.spec.backoff(failures)
		level := slog.LevelWarn
		if Transient(err) {
			retryIn = min(retryIn, TransientRetry)
			if failures > 1 {
				// Logged once per outage, not four times a second.
				level = slog.LevelDebug
			}
		}
		r.log.Log(ctx, level, "consumer: handler failed, will retry",
			"subject", msg.Subject(), "seq", md.Sequence.Stream, "deliveries", md.NumDelivered,
			"failures", failures, "retry_in", retryIn, "error", err)
		return retryIn, true
	}
	if r.headSeq == md.Sequence.Stream && r.headFailures > 1 {
		r.log.InfoContext(ctx, "consumer: handled after failures", "seq", md.Sequence.Stream, "failures", r.headFailures)
	}
	r.metrics.processed.Add(context.Background(), 1, r.metrics.attrs)
	r.ack(msg, md)
	return 0, false
}

// headFailure counts one more consecutive failure of the message at stream
// sequence seq, which an Ordered runner retries before anything else, and
// returns the count.
func (r *Runner) headFailure(seq uint64) uint64 {
	if r.headSeq != seq {
		r.headSeq, r.headFailures = seq, 0
	}
	r.headFailures++
	return r.headFailures
}

// call runs the handler with its timeout, turning a panic into an error.
func (r *Runner) call(ctx context.Context, ev event.Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.spec.AckWait)
	defer cancel()
	start := time.Now()
	defer func() {
		r.metrics.duration.Record(context.Background(), time.Since(start).Seconds(), r.metrics.attrs)
	}()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("consumer: handler panicked: %v", p)
			r.log.ErrorContext(ctx, "consumer: handler panicked", "seq", ev.Sequence, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	return r.handler(ctx, ev)
}

// fail records a failure on the span and in the metrics.
func (r *Runner) fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	r.metrics.failed.Add(context.Background(), 1, r.metrics.attrs)
}

// ack acknowledges a handled message.
func (r *Runner) ack(msg jetstream.Msg, md *jetstream.MsgMetadata) {
	var err error
	if r.spec.AckSync {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		err = msg.DoubleAck(ctx)
		cancel()
	} else {
		err = msg.Ack()
	}
	if err != nil {
		r.log.Warn("consumer: ack failed, the message will be redelivered", "seq", md.Sequence.Stream, "error", err)
	}
}

// nakLater asks the server to redeliver msg after the backoff of its
// delivery.
//
// The server does not wait for a nak delay alone: it backdates the delay by
// its AckWait (serverBackOff[0]) and then waits for the serverBackOff entry of
// the delivery (nats-server consumer.processNak and checkPending), which adds
// serverBackOff[n-1] - serverBackOff[0] = BackOff[n-1] - BackOff[0] to the
// delay asked for. Asking for BackOff[0] therefore redelivers BackOff[n-1]
// after the nak, as intended.
func (r *Runner) nakLater(msg jetstream.Msg) {
	if err := msg.NakWithDelay(r.spec.BackOff[0]); err != nil {
		r.log.Warn("consumer: nak failed, the message will be redelivered after its ack deadline", "error", err)
	}
}

// handBack asks the server to redeliver msgs at once. In Ordered mode every
// nak waits for the server's confirmation, so the messages are queued for
// redelivery, in stream order, before any later pull request is served.
func (r *Runner) handBack(msgs []jetstream.Msg) {
	for _, msg := range msgs {
		var err error
		if r.spec.Ordered {
			err = r.nakSync(msg)
		} else {
			err = msg.Nak()
		}
		if err != nil {
			r.log.Warn("consumer: nak failed, the message will be redelivered after its ack deadline", "error", err)
		}
	}
}

// nakSync naks msg and waits for the server to confirm it, which the client
// library only offers for acks.
func (r *Runner) nakSync(msg jetstream.Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	_, err := r.js.Conn().RequestWithContext(ctx, msg.Reply(), []byte("-NAK"))
	return err
}

// unpin releases the pin of this runner, if it still holds it, so that a
// standby runner takes over at once instead of after PinnedTTL.
func (r *Runner) unpin() {
	if r.pinID == "" || r.cons == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	info, err := r.cons.Info(ctx)
	if err != nil {
		r.log.Warn("consumer: cannot check the pinned client, not unpinning", "error", err)
		return
	}
	for _, g := range info.PriorityGroups {
		if g.Group != priorityGroup || g.PinnedClientID != r.pinID {
			continue
		}
		st, err := r.js.Stream(ctx, r.spec.Stream)
		if err == nil {
			err = st.UnpinConsumer(ctx, r.spec.Name, priorityGroup)
		}
		if err != nil {
			r.log.Warn("consumer: unpin failed, a standby runner takes over after the pinned TTL", "error", err)
		}
	}
}
