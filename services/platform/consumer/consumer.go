// Package consumer runs durable JetStream pull consumers for avenir services:
// at-least-once delivery of decoded events to a handler, retries with
// backoff, a dead-letter stream for what cannot be handled, and, for
// projections, strict stream order.
//
// # Delivery
//
// A Runner fetches batches from its durable consumer and hands their events to
// the handler one at a time. The outcome of each message is:
//
//   - handler success: ack (a double ack, confirmed by the server, with
//     Spec.AckSync);
//   - undecodable message (no ce-type, unknown type, corrupt payload) or a
//     Permanent error: dead-lettered at once, then terminated;
//   - sealed personal fields that cannot be opened (no Sealer, the key
//     store unreachable or missing the key): like a handler error;
//   - other error: redelivered after the backoff of that attempt, until the
//     MaxDeliver-th delivery fails, which is dead-lettered (Ordered runners
//     retry without end instead, see Spec.Ordered);
//   - a dead-lettering that fails (the dead-letter stream is unreachable or
//     full) is retried like a handler error: the message is never dropped.
//
// Delivery is at least once: a handler may see an event again (after a
// crash, a lost ack, a handler slower than AckWait, a restart from StartSeq),
// so handlers must be idempotent, typically by stream sequence.
//
// The runner, not the server, enforces MaxDeliver: the consumer is created
// with an unlimited server-side MaxDeliver, because the server silently
// skips a message that reaches its limit, which would lose a message whose
// dead-lettering failed on its last delivery.
//
// # Dead letters
//
// Dead letters go to the AVENIR_DLQ stream (DLQSpec), on avenir.dlq.<consumer
// name>, with the original payload and headers and the Header* headers of
// this package describing where the message came from and why it failed.
//
// # Order
//
// With Spec.Ordered the handler sees the events in stream order, redeliveries
// included; see Spec.Ordered for how.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Spec declares a durable consumer and how its messages are retried.
type Spec struct {
	// Stream is the stream consumed.
	Stream string
	// Name is the durable name, "<consumer>-<purpose>": lower-case letters,
	// digits and dashes only (it names files on the server and the
	// dead-letter subject).
	Name string
	// FilterSubjects restricts the consumer to these subjects; empty means
	// the whole stream.
	FilterSubjects []string
	// MaxDeliver is the number of deliveries after which a failing message
	// is dead-lettered (not for Ordered consumers). Default 10.
	MaxDeliver int
	// BackOff lists the delays before each redelivery: BackOff[n-1] follows
	// the n-th failed delivery, the last entry repeats. Default 1s, 5s, 30s,
	// 2m, 10m.
	//
	// It is also the consumer's server-side BackOff, offset by AckWait: a
	// delivery that gets no answer at all (the process died) is redelivered
	// AckWait + BackOff[n-1] after it was sent.
	BackOff []time.Duration
	// AckWait bounds one handler call: the handler's context times out
	// after it. Default 30s.
	AckWait time.Duration
	// Batch is the number of messages fetched at once. Default 100. Unless
	// Ordered, the consumer's MaxAckPending is the server default (1000, or
	// the stream's consumer limit), which bounds it across all runners.
	Batch int
	// Ordered keeps stream order, for handlers that need it (projections
	// storing a per-projection checkpoint):
	//
	//   - the consumer has MaxAckPending = Batch and a priority group with
	//     the pinned-client policy, so a single runner across all processes
	//     receives messages; the others stand by and one of them takes over
	//     when the pinned runner stops (Stop unpins it at once) or stops
	//     pulling for PinnedTTL (max(2m, 2×AckWait));
	//   - when a message must be retried, it and every later message of its
	//     batch are handed back at once, so that the server queues them for
	//     redelivery in stream order, and the runner pulls nothing more until
	//     the backoff delay has passed. (A server-side nak delay would let
	//     later messages of the stream overtake them, up to MaxAckPending.)
	//
	//   - a transient failure is retried without end, with the backoff of
	//     the failing message's own consecutive failures (capped at the last
	//     BackOff entry), and never dead-lettered on MaxDeliver: skipping an
	//     event would leave a hole in a read model, while waiting only
	//     leaves it stale (the failures are logged and counted). Undecodable
	//     messages and Permanent errors are still dead-lettered at once.
	//
	// A handled message whose ack was lost is redelivered out of order,
	// after AckWait: apply-if-newer handlers ignore it.
	Ordered bool
	// StartSeq, when > 0, is the stream sequence where delivery must resume.
	// A new consumer starts there. An existing consumer that has acked
	// messages at or past StartSeq (the caller's state is behind it, e.g. an
	// in-memory read model rebuilt at start) is deleted and recreated from
	// StartSeq; one that has not simply continues. When 0, a new consumer
	// delivers the whole stream and an existing one continues.
	StartSeq uint64
	// Exclusive says the caller's state belongs to this process alone (an
	// in-memory read model): whatever an existing consumer has in flight
	// belongs to an earlier life of the process, possibly killed, and would
	// only come back after AckWait. With StartSeq, an existing consumer is
	// then recreated unless it stands exactly before StartSeq with nothing
	// pending.
	Exclusive bool
	// AckSync makes every ack a double ack that the server confirms (for
	// billing consumers); an unconfirmed ack is logged and the message will
	// be redelivered.
	AckSync bool
}

// Handler handles one event. A nil error acknowledges it; an error wrapped
// with Permanent dead-letters it at once; any other error retries it.
//
// The context carries the producer's trace context and a consumer span; it
// times out after Spec.AckWait and is not cancelled by Runner.Stop. A
// panicking handler is treated as one returning an error.
type Handler func(ctx context.Context, ev event.Event) error

// Permanent marks err as one that retrying cannot fix, so the message is
// dead-lettered at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Transient reports whether a handler error says a dependency is
// unavailable rather than that the handler failed: an apperr
// KindUnavailable (Redis or NATS down), or a read model lost and being
// rebuilt. Such messages are retried within TransientRetry.
func Transient(err error) bool {
	return apperr.KindOf(err) == apperr.KindUnavailable || errors.Is(err, projection.ErrGenerationChanged)
}

// Lag returns how many messages of the consumer's stream (matching its
// filters) are not yet handled: pending delivery or awaiting their ack.
func (r *Runner) Lag(ctx context.Context) (uint64, error) {
	info, err := r.info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// Name is the durable consumer's name.
func (r *Runner) Name() string { return r.spec.Name }

// WaitCaughtUp returns once the runner has handled every message of its
// stream that matched its filters when WaitCaughtUp was called, or ctx ends.
//
// It compares the consumer's ack floor with the last matching message, not
// the consumer's pending counts: the server updates those a moment after it
// stores a message, so right after a publish they may still say zero.
func (r *Runner) WaitCaughtUp(ctx context.Context) error {
	target, err := r.lastMatching(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := r.info(ctx)
		if err == nil && info.AckFloor.Stream >= target && info.NumAckPending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer %s: catching up to sequence %d (%v): %w", r.spec.Name, target, err, ctx.Err())
		case <-tick.C:
		}
	}
}

// lastMatching returns the stream sequence of the last message matching
// the consumer's filters, 0 when none does.
func (r *Runner) lastMatching(ctx context.Context) (uint64, error) {
	st, err := r.js.Stream(ctx, r.spec.Stream)
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", r.spec.Name, err)
	}
	filters := r.spec.FilterSubjects
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var last uint64
	for _, f := range filters {
		m, err := st.GetLastMsgForSubject(ctx, f)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return 0, fmt.Errorf("consumer %s: last message of %s: %w", r.spec.Name, f, err)
		default:
			last = max(last, m.Sequence)
		}
	}
	return last, nil
}

// info returns the consumer's state on the server.
func (r *Runner) info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	c, err := r.js.Consumer(ctx, r.spec.Stream, r.spec.Name)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", r.spec.Name, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: info: %w", r.spec.Name, err)
	}
	return info, nil
}

// Options are the runtime settings of a Runner.
type Options struct {
	// Logger receives the runner's logs. Default slog.Default().
	Logger *slog.Logger
	// Source is the service name, recorded on dead letters and metrics.
	// Required.
	Source string
	// Replicas is the replica count of the dead-letter stream (see
	// natsx.Topology). Default 1.
	Replicas int
	// Sealer opens the sealed personal fields of the events (see
	// event.Codec). Without it, a sealed event fails to decode and is
	// retried, not dead-lettered at once: the configuration is at fault.
	Sealer event.Sealer
}

// Runner consumes one durable consumer until Stop.
type Runner struct {
	js      jetstream.JetStream
	spec    Spec
	handler Handler
	codec   event.Codec
	source  string
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *instruments

	// Owned by the fetch loop once started.
	cons     jetstream.Consumer // nil after the consumer was found missing
	resumeAt time.Time          // Ordered: no fetch before this time
	pinID    string             // Ordered: the pin id the server gave this runner
	// Ordered: the stream sequence of the message being retried and how many
	// times in a row it failed.
	headSeq      uint64
	headFailures uint64

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// Start makes sure the dead-letter stream and the durable consumer exist with
// the spec's settings, then consumes in a goroutine until Stop. ctx bounds the
// setup only.
//
// The runner outlives NATS disconnections and server restarts: failed fetches
// are logged and retried, and a consumer deleted behind its back is created
// again.
func Start(ctx context.Context, js jetstream.JetStream, spec Spec, h Handler, opts Options) (*Runner, error) {
	if js == nil {
		return nil, errors.New("consumer: nil JetStream context")
	}
	if h == nil {
		return nil, errors.New("consumer: nil handler")
	}
	if opts.Source == "" {
		return nil, errors.New("consumer: options need a source")
	}
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	metrics, err := newInstruments(spec.Name, opts.Source)
	if err != nil {
		return nil, err
	}
	if _, err := natsx.EnsureStream(ctx, js, DLQSpec(), natsx.Topology{Replicas: opts.Replicas}); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", spec.Name, err)
	}
	r := &Runner{
		js:      js,
		spec:    spec,
		handler: h,
		codec:   event.Codec{Sealer: opts.Sealer},
		source:  opts.Source,
		log:     log.With("consumer", spec.Name, "stream", spec.Stream),
		tracer:  newTracer(),
		metrics: metrics,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if r.cons, err = r.ensureConsumer(ctx, true); err != nil {
		return nil, err
	}
	r.log.Info("consumer started", "ordered", spec.Ordered, "filter_subjects", spec.FilterSubjects, "start_seq", spec.StartSeq)
	go r.run()
	return r, nil
}

// Stop stops fetching, lets the message being handled finish, hands the other
// fetched messages back for immediate redelivery and returns. If ctx ends
// first, Stop returns its error and the runner still finishes in the
// background. Stop may be called more than once.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("consumer %s: stop: %w", r.spec.Name, ctx.Err())
	}
}
