// Package eventstore keeps event-sourced aggregates in JetStream streams.
//
// Each bounded context owns one stream. An aggregate's events live on the
// subjects avenir.<ctx>.<aggregate>.<id>.<event>, and the aggregate is
// addressed by the subject filter avenir.<ctx>.<aggregate>.<id>.>: Load reads
// the events matching the filter, and Append writes new ones on the condition
// that the last event matching the filter is still the one the caller has
// seen (optimistic concurrency, checked by the server with the
// Nats-Expected-Last-Subject-Sequence headers). Execute combines both into
// the usual load, decide and append loop, retrying on conflicts.
//
// Commands are idempotent: the ids of a command's events derive from the
// aggregate's filter and the command's request id (see event.ID), so
// JetStream deduplicates a retried append within its duplicate window, and
// Execute recognises the events of an earlier run of the same request on the
// aggregate at any time and returns them instead of deciding again.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

// ErrConflict is wrapped by the errors of Append when the aggregate has moved
// past the expected sequence, and of Execute when it still conflicts after
// its retries. Retrying the whole command, from a fresh load, is safe.
var ErrConflict = errors.New("eventstore: concurrent modification of the aggregate")

// ErrBusy is wrapped by the errors of Append when the server refused an
// atomic batch because too many are in flight on the stream: nothing was
// stored. Execute retries it like a conflict.
var ErrBusy = errors.New("eventstore: too many atomic batches in flight")

// DefaultMaxRetries is the number of conflict retries of Execute when
// Options.MaxRetries is zero.
const DefaultMaxRetries = 5

// TracerName names the default tracer of a Store.
const TracerName = "avenir/eventstore"

// Conflict retries wait a random delay between half and all of a backoff that
// doubles from minBackoff up to maxBackoff.
const (
	minBackoff = 2 * time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// Options configures a Store.
type Options struct {
	// Source is the ce-source of the appended events: the service name.
	// Required.
	Source string
	// MaxRetries is how many times Execute reloads and decides again after a
	// conflict before giving up. Zero means DefaultMaxRetries; negative
	// values are rejected.
	MaxRetries int
	// Tracer starts the producer spans of appends. Default
	// otel.Tracer(TracerName).
	Tracer trace.Tracer
	// Sealer seals the personal fields of appended events and opens them
	// when loaded (see event.Codec). Without it, the store refuses events
	// with personal fields set and cannot read sealed ones.
	Sealer event.Sealer
}

// Store loads and appends the events of aggregates. It is safe for
// concurrent use.
type Store struct {
	js         jetstream.JetStream
	source     string
	maxRetries int
	tracer     trace.Tracer
	codec      event.Codec
	// locks queue this process's commands on one aggregate.
	locks keyedLocks
	// streams caches the stream handles of Lookup (a handle is looked up
	// with a STREAM.INFO request; its direct gets need no other).
	streams sync.Map // name → jetstream.Stream
}

// stream returns the handle of the stream, looked up once.
func (s *Store) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	if st, ok := s.streams.Load(name); ok {
		return st.(jetstream.Stream), nil
	}
	st, err := s.js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	s.streams.Store(name, st)
	return st, nil
}

// New returns a Store that reads and writes through js.
func New(js jetstream.JetStream, opts Options) (*Store, error) {
	if js == nil {
		return nil, errors.New("eventstore: nil JetStream context")
	}
	if opts.Source == "" {
		return nil, errors.New("eventstore: options need a source")
	}
	if opts.MaxRetries < 0 {
		return nil, fmt.Errorf("eventstore: negative MaxRetries %d", opts.MaxRetries)
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.Tracer == nil {
		opts.Tracer = otel.Tracer(TracerName)
	}
	return &Store{js: js, source: opts.Source, maxRetries: opts.MaxRetries, tracer: opts.Tracer, codec: event.Codec{Sealer: opts.Sealer}}, nil
}

// History is an aggregate's events, in stream order.
type History struct {
	Events []event.Event
	// LastSeq is the stream sequence of the last event matching the
	// aggregate's filter, 0 if there is none: the expected sequence of the
	// next append.
	LastSeq uint64
}

// ByRequest returns the events appended by the command with that request id,
// in stream order, or nil.
func (h History) ByRequest(requestID string) []event.Event {
	if requestID == "" {
		return nil
	}
	var evs []event.Event
	for _, ev := range h.Events {
		if ev.RequestID == requestID {
			evs = append(evs, ev)
		}
	}
	return evs
}

// Command carries what a command adds to each of its events.
type Command struct {
	// RequestID is the command's idempotency key. Required: the ids of the
	// command's events derive from it.
	RequestID string
	// Actor is who issued the command. Optional.
	Actor string
	// Time is the time of the events. Default: the time of the append.
	Time time.Time
}

// Result is the outcome of Execute.
type Result struct {
	// Events are the appended events, or the events of the earlier run of
	// the same request when Replayed is set. Empty when the decision
	// produced no event.
	Events []event.Event
	// Replayed reports that the request had already been applied to the
	// aggregate: decide was not called and nothing was appended.
	Replayed bool
	// History is the aggregate as last loaded, before the append.
	History History
}

// After returns the aggregate's events as they stood right after the
// command: the history plus the appended events, or, for a replayed command,
// the history up to its last event — so a retry answers what the first run
// answered even if the aggregate has moved on since.
func (r Result) After() []event.Event {
	h := r.History.Events
	if r.Replayed && len(r.Events) > 0 {
		last := r.Events[len(r.Events)-1].Sequence
		for i, ev := range h {
			if ev.Sequence == last {
				return h[: i+1 : i+1]
			}
		}
	}
	return append(h[:len(h):len(h)], r.Events...)
}

// Execute runs a command against the aggregate: it loads the aggregate, lets
// decide turn its history into new events and appends them, expecting the
// aggregate not to have changed in between.
//
// If the aggregate already holds events of cmd.RequestID, Execute returns
// them with Replayed set, without calling decide: a retried command is a
// no-op that yields the same result, however late it is retried. Request
// ids belong to their actor: another actor's command with the same request
// id is refused (FailedPrecondition wrapping ErrForeignRequest).
//
// An error of decide is returned unchanged. A decision without drafts
// appends nothing. When another writer appended to the aggregate first,
// Execute reloads it and decides again, up to MaxRetries times after a short
// random delay, and then returns an error wrapping ErrConflict. Commands of
// one process on the same aggregate wait for each other rather than
// conflict, so decide must not itself execute a command on that aggregate.
func (s *Store) Execute(ctx context.Context, stream, filter string, cmd Command, decide func(History) ([]event.Draft, error)) (Result, error) {
	if decide == nil {
		return Result{}, errors.New("eventstore: nil decide function")
	}
	if cmd.RequestID == "" {
		return Result{}, errors.New("eventstore: command without request id")
	}
	release, err := s.locks.lock(ctx, stream+" "+filter)
	if err != nil {
		return Result{}, err
	}
	defer release()
	for attempt := 0; ; attempt++ {
		h, err := s.Load(ctx, stream, filter)
		if err != nil {
			return Result{}, err
		}
		if prior := h.ByRequest(cmd.RequestID); len(prior) > 0 {
			if prior[0].Actor != cmd.Actor {
				return Result{History: h}, foreign(cmd.RequestID, cmd.Actor, prior[0].Actor)
			}
			return Result{Events: prior, Replayed: true, History: h}, nil
		}
		drafts, err := decide(h)
		if err != nil {
			return Result{History: h}, err
		}
		if len(drafts) == 0 {
			return Result{History: h}, nil
		}
		evs, err := s.Append(ctx, stream, filter, h.LastSeq, cmd, drafts...)
		if err == nil {
			return Result{Events: evs, History: h}, nil
		}
		if !retryable(err) {
			return Result{History: h}, err
		}
		if attempt >= s.maxRetries {
			return Result{History: h}, exhausted(filter, attempt+1, err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return Result{History: h}, err
		}
	}
}

// exhausted is the error of a command still refused after its retries: a
// typed error the API answers with Aborted (concurrent changes) or
// Unavailable (a busy server), both telling the client to retry, and which
// still wraps ErrConflict or ErrBusy.
func exhausted(what string, attempts int, err error) error {
	if errors.Is(err, ErrBusy) {
		return apperr.Unavailable("the event store is busy, retry shortly").WithCause(fmt.Errorf("eventstore: %s still refused after %d attempts: %w", what, attempts, err))
	}
	return apperr.Aborted("changed concurrently, retry").WithCause(fmt.Errorf("eventstore: %s still conflicting after %d attempts: %w", what, attempts, err))
}

// retryable reports whether Execute may run the command again: another
// writer got there first, or the server was too busy to take the batch.
func retryable(err error) bool { return errors.Is(err, ErrConflict) || errors.Is(err, ErrBusy) }

// backoff returns the jittered delay before the retry that follows the given
// attempt (0 for the first).
func backoff(attempt int) time.Duration {
	d := min(minBackoff<<min(attempt, 10), maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Lookup returns the last event stored on subject (a uniqueness claim, for
// instance) and whether there is one.
func (s *Store) Lookup(ctx context.Context, stream, subject string) (event.Event, bool, error) {
	if err := event.ValidSubject(subject); err != nil {
		return event.Event{}, false, err
	}
	st, err := s.stream(ctx, stream)
	if err != nil {
		return event.Event{}, false, fmt.Errorf("eventstore: lookup %s: %w", subject, classify(ctx, stream, err))
	}
	raw, err := st.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return event.Event{}, false, nil
	}
	if err != nil {
		return event.Event{}, false, fmt.Errorf("eventstore: lookup %s: %w", subject, classify(ctx, stream, err))
	}
	ev, err := s.codec.FromRaw(ctx, stream, raw)
	if err != nil {
		return event.Event{}, false, fmt.Errorf("eventstore: lookup %s: %w", subject, err)
	}
	return ev, true, nil
}

// MultiResult is the outcome of ExecuteAll.
type MultiResult struct {
	// Events are the appended events, or those of the earlier run of the
	// same request when Replayed is set.
	Events   []event.Event
	Replayed bool
	// Filters are the aggregates' filters and Histories the aggregates as
	// last loaded, in the order given to ExecuteAll.
	Filters   []string
	Histories []History
}

// Result returns the outcome for the i-th aggregate alone: its history and
// the events of the command that lie in it, so Result(i).After() is that
// aggregate right after the command.
func (r MultiResult) Result(i int) Result {
	var evs []event.Event
	for _, ev := range r.Events {
		if matches(r.Filters[i], ev.Subject) {
			evs = append(evs, ev)
		}
	}
	res := Result{Events: evs, Replayed: r.Replayed && len(evs) > 0, History: r.Histories[i]}
	if r.Replayed && len(evs) == 0 {
		// Replayed, but the command wrote nothing here: the aggregate as it
		// stands now is the best answer.
		res.Replayed = false
	}
	return res
}

// ExecuteAll runs a command that changes several aggregates of one stream
// atomically: it loads every aggregate (filters[0] is the primary one,
// whose history detects a replayed request and scopes the event ids), lets
// decide turn the histories into drafts and appends them as one atomic
// batch, expecting every aggregate it writes not to have changed since it
// was loaded. The first draft must lie in the primary aggregate; the first
// draft of each other aggregate is given that aggregate's expectation
// (Draft.ExpectFilter), so decide need not set it. An aggregate that is read
// but not written is not checked. Conflicts are retried as in Execute.
func (s *Store) ExecuteAll(ctx context.Context, stream string, filters []string, cmd Command, decide func([]History) ([]event.Draft, error)) (MultiResult, error) {
	if decide == nil {
		return MultiResult{}, errors.New("eventstore: nil decide function")
	}
	if cmd.RequestID == "" {
		return MultiResult{}, errors.New("eventstore: command without request id")
	}
	if len(filters) == 0 {
		return MultiResult{}, errors.New("eventstore: no aggregate to execute on")
	}
	for i, f := range filters {
		if err := validFilter(f); err != nil {
			return MultiResult{}, err
		}
		for _, g := range filters[:i] {
			if f == g {
				return MultiResult{}, fmt.Errorf("eventstore: aggregate %s given twice", f)
			}
		}
	}
	keys := make([]string, len(filters))
	for i, f := range filters {
		keys[i] = stream + " " + f
	}
	release, err := s.locks.lock(ctx, keys...)
	if err != nil {
		return MultiResult{}, err
	}
	defer release()
	for attempt := 0; ; attempt++ {
		res := MultiResult{Filters: filters, Histories: make([]History, len(filters))}
		for i, f := range filters {
			h, err := s.Load(ctx, stream, f)
			if err != nil {
				return MultiResult{}, err
			}
			res.Histories[i] = h
		}
		if prior := res.Histories[0].ByRequest(cmd.RequestID); len(prior) > 0 {
			if prior[0].Actor != cmd.Actor {
				return res, foreign(cmd.RequestID, cmd.Actor, prior[0].Actor)
			}
			// The batch was atomic: the other aggregates hold their part.
			for _, h := range res.Histories[1:] {
				prior = append(prior, h.ByRequest(cmd.RequestID)...)
			}
			res.Events, res.Replayed = prior, true
			return res, nil
		}
		drafts, err := decide(res.Histories)
		if err != nil {
			return res, err
		}
		if len(drafts) == 0 {
			return res, nil
		}
		if !matches(filters[0], drafts[0].Subject) {
			return res, fmt.Errorf("eventstore: the first draft %s lies outside the primary aggregate %s", drafts[0].Subject, filters[0])
		}
		drafts = slices.Clone(drafts)
		for i, f := range filters[1:] {
			for j := range drafts {
				if matches(f, drafts[j].Subject) {
					drafts[j].ExpectFilter, drafts[j].ExpectLastSeq = f, res.Histories[i+1].LastSeq
					break
				}
			}
		}
		evs, err := s.Append(ctx, stream, filters[0], res.Histories[0].LastSeq, cmd, drafts...)
		if err == nil {
			res.Events = evs
			return res, nil
		}
		if !retryable(err) {
			return res, err
		}
		if attempt >= s.maxRetries {
			return res, exhausted(strings.Join(filters, ", "), attempt+1, err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return res, err
		}
	}
}
