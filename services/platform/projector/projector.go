// Package projector keeps a read model up to date from a stream: a durable,
// ordered consumer whose handler turns each event into projection writes,
// applied together with the event's stream sequence (apply-if-newer), so a
// redelivered event is a no-op and a fresh store is rebuilt from the stream.
//
// A runner heals its read model by itself: it writes under the projection's
// generation (see projection.Store), checks it every CheckEvery, and when
// the store has lost the projection (Redis flushed, or restarted without
// persistence) it restarts its consumer from the store's checkpoint, which
// is then 0, and rebuilds the read model from the stream, without a restart
// of the process. A write that meets the loss first triggers the same.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Spec declares one projection.
type Spec struct {
	// Name is the projection's name in the store and the durable consumer's
	// name: "<service>-<purpose>", e.g. "pathway-learners".
	Name           string
	Stream         string
	FilterSubjects []string
	// Project turns one event into writes. Events arrive one at a time in
	// stream order, so Project may read the projection's current state.
	// Events it does not handle return no ops (the checkpoint still moves).
	Project func(ctx context.Context, ev event.Event) ([]projection.Op, error)
}

// DefaultCheckEvery is how often a runner checks that the store still
// holds its projection, when Options.CheckEvery is zero.
const DefaultCheckEvery = time.Second

// Options are the shared resources of the runners.
type Options struct {
	Store    projection.Store
	Logger   *slog.Logger
	Source   string // the service running the projection
	Replicas int    // replicas of the dead-letter stream
	// CheckEvery is how often the runner checks the projection's
	// generation. Default DefaultCheckEvery.
	CheckEvery time.Duration
	// Sealer opens the sealed personal fields of the events (see
	// event.Codec).
	Sealer event.Sealer
}

// Runner runs one projection.
type Runner struct {
	spec  Spec
	js    jetstream.JetStream
	store projection.Store
	opts  Options
	log   *slog.Logger

	// lost is signalled by a write that found the projection lost.
	lost chan struct{}
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	gen      string           // the generation the consumer writes under
	consumer *consumer.Runner // nil while rebuilding
	rebuilds int
}

// Start resumes the projection after its stored checkpoint. A store that is
// behind the durable consumer (an in-memory store after a restart, a new or
// flushed Redis) makes the consumer restart from the store's checkpoint,
// which rebuilds the read model from the stream. The stream must exist.
func Start(ctx context.Context, js jetstream.JetStream, spec Spec, opts Options) (*Runner, error) {
	if spec.Project == nil {
		return nil, errors.New("projector: spec without Project")
	}
	if opts.Store == nil {
		return nil, errors.New("projector: options without a store")
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = DefaultCheckEvery
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{
		spec: spec, js: js, store: opts.Store, opts: opts, log: log.With("projection", spec.Name),
		lost: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := r.begin(ctx); err != nil {
		return nil, err
	}
	go r.watch()
	return r, nil
}

// begin starts the consumer from the store's checkpoint, under the
// projection's current generation.
func (r *Runner) begin(ctx context.Context) error {
	gen, err := r.store.Generation(ctx, r.spec.Name)
	if err != nil {
		return fmt.Errorf("projector %s: generation: %w", r.spec.Name, err)
	}
	cp, err := r.store.Checkpoint(ctx, r.spec.Name)
	if err != nil {
		return fmt.Errorf("projector %s: checkpoint: %w", r.spec.Name, err)
	}
	local, _ := r.store.(interface{ ProcessLocal() bool })
	cspec := consumer.Spec{
		Stream:         r.spec.Stream,
		Name:           r.spec.Name,
		FilterSubjects: r.spec.FilterSubjects,
		Ordered:        true,
		StartSeq:       cp + 1,
		Exclusive:      local != nil && local.ProcessLocal(),
	}
	r.mu.Lock()
	r.gen = gen
	r.mu.Unlock()
	c, err := consumer.Start(ctx, r.js, cspec, r.handle, consumer.Options{Logger: r.log, Source: r.opts.Source, Replicas: r.opts.Replicas, Sealer: r.opts.Sealer})
	if err != nil {
		return fmt.Errorf("projector %s: %w", r.spec.Name, err)
	}
	r.mu.Lock()
	r.consumer = c
	r.mu.Unlock()
	return nil
}

func (r *Runner) handle(ctx context.Context, ev event.Event) error {
	ops, err := r.spec.Project(ctx, ev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	if _, err := r.store.Apply(ctx, r.spec.Name, gen, ev.Sequence, ops...); err != nil {
		if errors.Is(err, projection.ErrGenerationChanged) {
			select {
			case r.lost <- struct{}{}:
			default:
			}
		}
		return fmt.Errorf("projector %s: apply seq %d: %w", r.spec.Name, ev.Sequence, err)
	}
	return nil
}

// watch checks the projection's generation every CheckEvery, and at once
// when a write found it changed, and rebuilds the read model when the store
// lost it.
func (r *Runner) watch() {
	defer close(r.done)
	tick := time.NewTicker(r.opts.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		case <-r.lost:
		}
		r.check()
	}
}

// check compares the store's generation of the projection with the
// runner's, and rebuilds on a difference. A store that does not answer is
// checked again at the next tick: its consumer waits for it meanwhile.
func (r *Runner) check() {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.CheckEvery+5*time.Second)
	defer cancel()
	gen, err := r.store.Generation(ctx, r.spec.Name)
	if err != nil {
		return
	}
	r.mu.Lock()
	same := gen == r.gen
	r.mu.Unlock()
	if same {
		return
	}
	r.log.Warn("projector: the store lost the read model, rebuilding it from the stream")
	if err := r.rebuild(ctx); err != nil {
		r.log.Error("projector: rebuild failed, trying again", "error", err)
	}
}

// rebuild stops the consumer and starts it again from the store's
// checkpoint under the current generation.
func (r *Runner) rebuild(ctx context.Context) error {
	r.mu.Lock()
	c := r.consumer
	r.consumer = nil
	r.mu.Unlock()
	if c != nil {
		if err := c.Stop(ctx); err != nil {
			return err
		}
	}
	if err := r.begin(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.rebuilds++
	r.mu.Unlock()
	return nil
}

// Rebuilds counts the times the runner rebuilt its read model after the
// store lost it.
func (r *Runner) Rebuilds() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rebuilds
}

// Name is the projection's name.
func (r *Runner) Name() string { return r.spec.Name }

// Lag returns how many events of the projection's stream (matching its
// filters) are not applied yet.
func (r *Runner) Lag(ctx context.Context) (uint64, error) {
	c := r.current()
	if c == nil {
		return 0, fmt.Errorf("projector %s: rebuilding", r.spec.Name)
	}
	return c.Lag(ctx)
}

// WaitCaughtUp returns once every event stored when it was called (and
// matching the filters) has been applied, or ctx ends.
func (r *Runner) WaitCaughtUp(ctx context.Context) error {
	for {
		c := r.current()
		if c != nil {
			err := c.WaitCaughtUp(ctx)
			if err == nil && r.current() == c {
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			// Rebuilt meanwhile: catch up with the new consumer.
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("projector %s: catching up: %w", r.spec.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// current returns the running consumer, nil while rebuilding.
func (r *Runner) current() *consumer.Runner {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.consumer
}

// Stop stops checking the generation and drains the consumer.
func (r *Runner) Stop(ctx context.Context) error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("projector %s: stop: %w", r.spec.Name, ctx.Err())
	}
	r.mu.Lock()
	c := r.consumer
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}
