package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/event"
)

// Kind describes one kind of event-sourced aggregate: where its events
// live and how they turn into its state and back. A service declares a Kind
// per aggregate and its commands and queries need no plumbing of their own:
// Aggregates loads, folds, decides, encodes, appends with optimistic
// concurrency and replays retried requests.
//
// S is the aggregate's state and E its domain events, both from the
// service's domain package; Decode and Encode are the service's codec.
type Kind[S, E any] struct {
	// Stream holds the aggregates, e.g. "INTAKE".
	Stream string
	// Prefix is the subject prefix of the aggregates of this kind, ending
	// with a dot, e.g. "avenir.intake.learner.": an aggregate's events lie
	// on Prefix + id + "." + event name.
	Prefix string
	// Decode turns a stored event into a domain event; false for an event
	// that is not the aggregate's (a uniqueness claim appended with it, an
	// event of another aggregate in the same batch).
	Decode func(event.Event) (E, bool)
	// Evolve applies one domain event to the state.
	Evolve func(S, E) S
	// Encode turns the events of a decision into drafts, in order. It may
	// add drafts outside the aggregate, such as uniqueness claims.
	Encode func([]E) ([]event.Draft, error)
}

// Filter is the subject filter of the aggregate with that id.
func (k Kind[S, E]) Filter(id string) string { return k.Prefix + id + ".>" }

// Owns reports whether a stored event belongs to the aggregate with that id.
func (k Kind[S, E]) Owns(id string, ev event.Event) bool {
	return strings.HasPrefix(ev.Subject, k.Prefix+id+".")
}

// Fold returns the state that evs, in stream order, leave (from the zero
// state); events Decode does not recognise are skipped.
func (k Kind[S, E]) Fold(evs []event.Event) S { return event.Fold(evs, k.Decode, k.Evolve) }

// Decoded returns the domain events among evs, in order.
func (k Kind[S, E]) Decoded(evs []event.Event) []E {
	out := make([]E, 0, len(evs))
	for _, ev := range evs {
		if e, ok := k.Decode(ev); ok {
			out = append(out, e)
		}
	}
	return out
}

// Snapshot is an aggregate as loaded.
type Snapshot[S any] struct {
	ID    string
	State S
	// Version is the stream sequence of the aggregate's last event, 0 when
	// it has none (it does not exist).
	Version uint64
	// Events are the aggregate's stored events, in stream order.
	Events []event.Event
}

// Outcome is the result of a command on one aggregate.
type Outcome[S, E any] struct {
	// State is the aggregate right after the command: as the decision
	// left it, or, when Replayed, as the first run of the request left it
	// (whatever happened to the aggregate since), so a retry answers what
	// the first run answered.
	State S
	// Events are the command's domain events (the first run's when
	// Replayed); empty when the decision changed nothing.
	Events []E
	// Stored are the command's events as stored, with their sequences,
	// including those outside the aggregate (claims).
	Stored []event.Event
	// Replayed reports that the request had already been applied: nothing
	// was decided or appended this time.
	Replayed bool
	// Version is the stream sequence of the aggregate's last event after
	// the command (as of the first run when Replayed), 0 when it has none.
	Version uint64
	// History is the aggregate's own stored events right after the command
	// (as of the first run when Replayed), in stream order.
	History []event.Event
}

// Aggregates runs commands and loads on the aggregates of one kind.
type Aggregates[S, E any] struct {
	store *Store
	kind  Kind[S, E]
}

// NewAggregates returns the aggregates of kind k kept in s. It panics on an
// incomplete kind: that is a programming error found at start.
func NewAggregates[S, E any](s *Store, k Kind[S, E]) *Aggregates[S, E] {
	switch {
	case s == nil:
		panic("eventstore: NewAggregates with a nil store")
	case k.Stream == "" || !strings.HasSuffix(k.Prefix, ".") || k.Decode == nil || k.Evolve == nil || k.Encode == nil:
		panic(fmt.Sprintf("eventstore: incomplete kind %q on stream %q", k.Prefix, k.Stream))
	}
	return &Aggregates[S, E]{store: s, kind: k}
}

// Kind returns the aggregates' kind.
func (a *Aggregates[S, E]) Kind() Kind[S, E] { return a.kind }

// Store returns the store the aggregates are kept in.
func (a *Aggregates[S, E]) Store() *Store { return a.store }

// Load reads the aggregate with that id; one without events has the zero
// state and version 0.
func (a *Aggregates[S, E]) Load(ctx context.Context, id string) (Snapshot[S], error) {
	h, err := a.store.Load(ctx, a.kind.Stream, a.kind.Filter(id))
	if err != nil {
		return Snapshot[S]{}, err
	}
	return Snapshot[S]{ID: id, State: a.kind.Fold(h.Events), Version: h.LastSeq, Events: h.Events}, nil
}

// Execute runs a command on the aggregate with that id: it loads the
// aggregate, lets decide turn its state into events, encodes and appends
// them, expecting the aggregate unchanged since the load, and answers the
// state the decision left. A concurrent change makes it decide again (see
// Store.Execute); a request already applied is answered from the stored
// events without deciding; a decision error is returned unchanged.
//
// The answer never comes from a read model: once the events are stored,
// Execute cannot fail.
func (a *Aggregates[S, E]) Execute(ctx context.Context, id string, cmd Command, decide func(S) ([]E, error)) (Outcome[S, E], error) {
	if decide == nil {
		return Outcome[S, E]{}, errors.New("eventstore: nil decide function")
	}
	var decided []E
	res, err := a.store.Execute(ctx, a.kind.Stream, a.kind.Filter(id), cmd, func(h History) ([]event.Draft, error) {
		evs, err := decide(a.kind.Fold(h.Events))
		if err != nil || len(evs) == 0 {
			decided = nil
			return nil, err
		}
		decided = evs
		return a.kind.Encode(evs)
	})
	if err != nil {
		return Outcome[S, E]{}, err
	}
	return a.outcome(id, res, decided), nil
}

// outcome builds the outcome of a command from the store's result.
func (a *Aggregates[S, E]) outcome(id string, res Result, decided []E) Outcome[S, E] {
	var own []event.Event
	for _, ev := range res.After() {
		if a.kind.Owns(id, ev) {
			own = append(own, ev)
		}
	}
	out := Outcome[S, E]{State: a.kind.Fold(own), Stored: res.Events, Replayed: res.Replayed, History: own}
	if len(own) > 0 {
		out.Version = own[len(own)-1].Sequence
	}
	if res.Replayed {
		out.Events = a.kind.Decoded(res.Events)
	} else {
		out.Events = decided
	}
	return out
}

// Outcome returns the outcome for the aggregate with that id of a command
// that changed several aggregates at once (Store.ExecuteAll): its state
// right after the command and the command's events on it.
func (a *Aggregates[S, E]) Outcome(id string, r MultiResult) Outcome[S, E] {
	filter := a.kind.Filter(id)
	for i, f := range r.Filters {
		if f == filter {
			res := r.Result(i)
			return a.outcome(id, res, a.kind.Decoded(res.Events))
		}
	}
	return Outcome[S, E]{}
}
