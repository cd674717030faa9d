// Package projector keeps a read model up to date from a stream: a durable,
// ordered consumer whose handler turns each event into projection writes,
// applied together with the event's stream sequence (apply-if-newer), so a
// redelivered event is a no-op and a fresh store is rebuilt from the stream.
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
	// Later lets StartAll return without this projection when its stream
	// does not exist yet (another service, maybe not started, creates it):
	// the projection then starts in the background once the stream
	// appears. Its read model is empty until then, which is exact while
	// the stream does not exist.
	Later bool
}

// Options are the shared resources of the runners.
type Options struct {
	Store    projection.Store
	Logger   *slog.Logger
	Source   string // the service running the projection
	Replicas int    // replicas of the dead-letter stream
	// StreamWait is how often to retry while the stream does not exist yet
	// (another service creates it). Default 1s.
	StreamWait time.Duration
}

// Runner runs one projection.
type Runner struct {
	spec     Spec
	js       jetstream.JetStream
	store    projection.Store
	consumer *consumer.Runner
}

// Start resumes the projection after its stored checkpoint. A store that is
// behind the durable consumer (an in-memory store after a restart, or a new
// Redis) makes the consumer restart from the store's checkpoint, which
// rebuilds the read model from the stream.
func Start(ctx context.Context, js jetstream.JetStream, spec Spec, opts Options) (*Runner, error) {
	if spec.Project == nil {
		return nil, errors.New("projector: spec without Project")
	}
	if opts.StreamWait <= 0 {
		opts.StreamWait = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	cp, err := opts.Store.Checkpoint(ctx, spec.Name)
	if err != nil {
		return nil, fmt.Errorf("projector %s: checkpoint: %w", spec.Name, err)
	}
	r := &Runner{spec: spec, js: js, store: opts.Store}
	local, _ := opts.Store.(interface{ ProcessLocal() bool })
	cspec := consumer.Spec{
		Stream:         spec.Stream,
		Name:           spec.Name,
		FilterSubjects: spec.FilterSubjects,
		Ordered:        true,
		StartSeq:       cp + 1,
		Exclusive:      local != nil && local.ProcessLocal(),
	}
	copts := consumer.Options{Logger: log, Source: opts.Source, Replicas: opts.Replicas}
	if r.consumer, err = consumer.StartWhenStreamExists(ctx, js, cspec, r.handle, copts, opts.StreamWait); err != nil {
		return nil, fmt.Errorf("projector %s: %w", spec.Name, err)
	}
	return r, nil
}

func (r *Runner) handle(ctx context.Context, ev event.Event) error {
	ops, err := r.spec.Project(ctx, ev)
	if err != nil {
		return err
	}
	if _, err := r.store.Apply(ctx, r.spec.Name, ev.Sequence, ops...); err != nil {
		return fmt.Errorf("projector %s: apply seq %d: %w", r.spec.Name, ev.Sequence, err)
	}
	return nil
}

// WaitCaughtUp returns once every event stored when it was called (and
// matching the filters) has been applied, or ctx ends.
func (r *Runner) WaitCaughtUp(ctx context.Context) error {
	c, err := r.js.Consumer(ctx, r.spec.Stream, r.spec.Name)
	if err != nil {
		return fmt.Errorf("projector %s: %w", r.spec.Name, err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("projector %s: consumer info: %w", r.spec.Name, err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("projector %s: catching up (%d pending): %w", r.spec.Name, info.NumPending+uint64(info.NumAckPending), ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop drains the consumer.
func (r *Runner) Stop(ctx context.Context) error { return r.consumer.Stop(ctx) }

// Group is the set of projections one service runs.
type Group struct {
	runners []*Runner
	mu      sync.Mutex
	later   []*Runner
	cancel  context.CancelFunc
	// laterCtx is the context of the later projections.
	laterCtx context.Context
	wg       sync.WaitGroup
}

// streamExists reports whether stream exists.
func streamExists(ctx context.Context, js jetstream.JetStream, stream string) (bool, error) {
	_, err := js.Stream(ctx, stream)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return false, nil
	}
	return false, err
}

// startLater starts spec in the background, once its stream exists.
func (g *Group) startLater(ctx context.Context, js jetstream.JetStream, spec Spec, opts Options) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cancel == nil {
		// One context for every later projection, which Stop cancels: not
		// the caller's, which ends when StartAll returns.
		g.laterCtx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	ctx = g.laterCtx
	g.wg.Go(func() {
		r, err := Start(ctx, js, spec, opts)
		if err != nil {
			if ctx.Err() == nil {
				log := opts.Logger
				if log == nil {
					log = slog.Default()
				}
				log.Error("projection did not start", "projection", spec.Name, "error", err)
			}
			return
		}
		g.mu.Lock()
		g.later = append(g.later, r)
		g.mu.Unlock()
	})
}

// StartAll starts every projection and returns once all have caught up with
// their streams, so the service answers from complete read models as soon
// as it serves. On error, the projections already started are stopped.
func StartAll(ctx context.Context, js jetstream.JetStream, specs []Spec, opts Options) (*Group, error) {
	g := &Group{}
	for _, spec := range specs {
		if spec.Later {
			ok, err := streamExists(ctx, js, spec.Stream)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("projector %s: %w", spec.Name, err), g.Stop(context.WithoutCancel(ctx)))
			}
			if !ok {
				g.startLater(ctx, js, spec, opts)
				continue
			}
		}
		r, err := Start(ctx, js, spec, opts)
		if err != nil {
			return nil, errors.Join(err, g.Stop(context.WithoutCancel(ctx)))
		}
		g.runners = append(g.runners, r)
	}
	for _, r := range g.runners {
		if err := r.WaitCaughtUp(ctx); err != nil {
			return nil, errors.Join(err, g.Stop(context.WithoutCancel(ctx)))
		}
	}
	return g, nil
}

// Stop drains every projection. A nil group has nothing to stop.
func (g *Group) Stop(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	cancel := g.cancel
	g.mu.Unlock()
	if cancel != nil {
		cancel()
		g.wg.Wait()
	}
	// Each runner may wait up to a fetch's wait to stop: stop them together.
	runners := append(g.runners, g.later...)
	errs := make([]error, len(runners))
	var wg sync.WaitGroup
	for i, r := range runners {
		wg.Go(func() { errs[i] = r.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
