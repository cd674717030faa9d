package platform

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// Running is a set of started services.
type Running struct {
	deps     Deps
	services []Service
	// owned are the streams the running services own.
	owned       []natsx.StreamSpec
	projections []*projector.Runner
	consumers   []*consumer.Runner
	stopOnce    sync.Once
	stopErr     error
}

// Start runs services: it creates or updates the streams they own, creates
// the streams they consume that no running service owns (from catalog, the
// specs of every context; an existing stream is left as its owner made it),
// starts every read model, waits until all have caught up with their
// streams, then starts every consumer. So a service answers from complete
// read models as soon as it serves, and nothing polls for a stream another
// process has not created yet. On error, what started is stopped.
func Start(ctx context.Context, deps Deps, services []Service, catalog []natsx.StreamSpec) (*Running, error) {
	r := &Running{deps: deps, services: services}
	if err := r.ensureStreams(ctx, catalog); err != nil {
		return nil, err
	}
	popts := projector.Options{Store: deps.Projections, Replicas: deps.Topology.Replicas}
	for _, svc := range services {
		popts.Logger, popts.Source = deps.Logger.With("service", svc.Name()), svc.Name()
		for _, spec := range svc.Wiring().Projections {
			p, err := projector.Start(ctx, deps.JS, spec, popts)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("start %s: %w", svc.Name(), err), r.Stop(context.WithoutCancel(ctx)))
			}
			r.projections = append(r.projections, p)
		}
	}
	for _, p := range r.projections {
		if err := p.WaitCaughtUp(ctx); err != nil {
			return nil, errors.Join(err, r.Stop(context.WithoutCancel(ctx)))
		}
	}
	for _, svc := range services {
		copts := consumer.Options{Logger: deps.Logger.With("service", svc.Name()), Source: svc.Name(), Replicas: deps.Topology.Replicas}
		w := svc.Wiring()
		for _, c := range w.Consumers {
			h, err := after(deps.Projections, w.Projections, c)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("start %s: %w", svc.Name(), err), r.Stop(context.WithoutCancel(ctx)))
			}
			cr, err := consumer.Start(ctx, deps.JS, c.Spec, h, copts)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("start %s: %w", svc.Name(), err), r.Stop(context.WithoutCancel(ctx)))
			}
			r.consumers = append(r.consumers, cr)
		}
	}
	return r, nil
}

// ensureStreams creates or updates the owned streams and creates the
// consumed ones that are missing.
func (r *Running) ensureStreams(ctx context.Context, catalog []natsx.StreamSpec) error {
	for _, svc := range r.services {
		for _, spec := range svc.Streams() {
			if _, err := natsx.EnsureStream(ctx, r.deps.JS, spec, r.deps.Topology); err != nil {
				return err
			}
			r.owned = append(r.owned, spec)
		}
	}
	for _, svc := range r.services {
		for _, name := range consumed(svc.Wiring()) {
			if slices.ContainsFunc(r.owned, func(s natsx.StreamSpec) bool { return s.Name == name }) {
				continue
			}
			i := slices.IndexFunc(catalog, func(s natsx.StreamSpec) bool { return s.Name == name })
			if i < 0 {
				return fmt.Errorf("service %s consumes stream %s, which no known context declares", svc.Name(), name)
			}
			if err := natsx.CreateStreamIfAbsent(ctx, r.deps.JS, catalog[i], r.deps.Topology); err != nil {
				return err
			}
		}
	}
	return nil
}

// consumed lists the streams a wiring reads.
func consumed(w Wiring) []string {
	var names []string
	for _, p := range w.Projections {
		names = append(names, p.Stream)
	}
	for _, c := range w.Consumers {
		names = append(names, c.Spec.Stream)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// after wraps a consumer's handler so that it runs once the read models it
// comes after have applied the event.
func after(store projection.Store, projections []projector.Spec, c Consumer) (consumer.Handler, error) {
	for _, name := range c.After {
		i := slices.IndexFunc(projections, func(p projector.Spec) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("consumer %s comes after read model %s, which the service does not declare", c.Spec.Name, name)
		}
		if projections[i].Stream != c.Spec.Stream {
			return nil, fmt.Errorf("consumer %s of %s comes after read model %s of another stream, %s", c.Spec.Name, c.Spec.Stream, name, projections[i].Stream)
		}
	}
	if len(c.After) == 0 {
		return c.Handle, nil
	}
	return func(ctx context.Context, ev event.Event) error {
		for _, name := range c.After {
			if err := projection.WaitApplied(ctx, store, name, ev.Sequence, AfterWait); err != nil {
				return apperr.Unavailable("read model %s is not ready", name).WithCause(err)
			}
		}
		return c.Handle(ctx, ev)
	}, nil
}

// Components returns the running read models and consumers.
func (r *Running) Components() Components {
	return Components{Projections: slices.Clone(r.projections), Consumers: slices.Clone(r.consumers)}
}

// WaitCaughtUp returns once every read model and consumer has handled every
// event stored, including the events the consumers appended meanwhile (a
// consumer's decision the read models then follow), or ctx ends.
func (r *Running) WaitCaughtUp(ctx context.Context) error {
	for {
		before, err := r.lastSequences(ctx)
		if err != nil {
			return err
		}
		for _, p := range r.projections {
			if err := p.WaitCaughtUp(ctx); err != nil {
				return err
			}
		}
		for _, c := range r.consumers {
			if err := c.WaitCaughtUp(ctx); err != nil {
				return err
			}
		}
		after, err := r.lastSequences(ctx)
		if err != nil {
			return err
		}
		if maps.Equal(before, after) {
			return nil
		}
	}
}

// lastSequences returns the last sequence of every stream the running
// services read.
func (r *Running) lastSequences(ctx context.Context) (map[string]uint64, error) {
	seqs := map[string]uint64{}
	for _, svc := range r.services {
		for _, name := range consumed(svc.Wiring()) {
			if _, done := seqs[name]; done {
				continue
			}
			seq, err := natsx.LastSequence(ctx, r.deps.JS, name)
			if err != nil {
				return nil, err
			}
			seqs[name] = seq
		}
	}
	return seqs, nil
}

// Stop stops the consumers together, then the read models together: a
// consumer's handler may wait for a read model, so the read models keep
// running until the handlers in flight are done. Stop may be called more
// than once.
func (r *Running) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		stops := make([]func(context.Context) error, 0, len(r.consumers))
		for _, c := range r.consumers {
			stops = append(stops, c.Stop)
		}
		err := stopTogether(ctx, stops)
		stops = stops[:0]
		for _, p := range r.projections {
			stops = append(stops, p.Stop)
		}
		r.stopErr = errors.Join(err, stopTogether(ctx, stops))
	})
	return r.stopErr
}

// stopTogether runs the stop functions concurrently and joins their errors:
// runners that each wait for a fetch to end stop in the time of one.
func stopTogether(ctx context.Context, stops []func(context.Context) error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
