package platform

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// Running is a set of started services.
type Running struct {
	units []Unit
	// owned are the streams the running services own.
	owned       []ownedStream
	projections []*projector.Runner
	consumers   []*consumer.Runner
	jobs        []*jobRunner
	stopOnce    sync.Once
	stopErr     error
}

// Unit is a service with its own dependencies: its own NATS connection,
// under its own identity (docs/adr/0066-nats-identities-in-every-mode.md).
type Unit struct {
	Service Service
	Deps    Deps
}

// ownedStream is a stream a running service owns, read through its
// connection.
type ownedStream struct {
	spec natsx.StreamSpec
	deps Deps
}

// Start runs services that share deps, whose NATS connection may
// administer streams (tests, tools with one all-powerful identity): it
// creates or updates the streams they own, creates the streams they
// consume that no running service owns (from catalog, the specs of every
// context; an existing stream is left as its owner made it), then starts
// them as StartUnits does.
func Start(ctx context.Context, deps Deps, services []Service, catalog []natsx.StreamSpec) (*Running, error) {
	if err := ensureServiceStreams(ctx, deps, services, catalog); err != nil {
		return nil, err
	}
	units := make([]Unit, len(services))
	for i, svc := range services {
		units[i] = Unit{Service: svc, Deps: deps}
	}
	return StartUnits(ctx, units, StartOptions{})
}

// StartOptions tune StartUnits.
type StartOptions struct {
	// Waiting, when set, is called with the streams still missing each
	// time StartUnits waits for them.
	Waiting func(missing []string)
}

// StartUnits runs services, each with its own Deps. It creates and updates
// no stream: streams belong to the admin identity (EnsureStreams, run by
// `avenir streams ensure` or the dev server), so it first waits, logging
// what it waits for, until every stream the services own or read (and the
// dead-letter stream) exists. Then it starts every read model, waits until
// all have caught up with their streams, starts every consumer, then every
// job. So a service answers from complete read models as soon as it
// serves. On error, what started is stopped.
func StartUnits(ctx context.Context, units []Unit, opts StartOptions) (*Running, error) {
	r := &Running{units: units}
	if err := r.waitForStreams(ctx, opts.Waiting); err != nil {
		return nil, err
	}
	for _, u := range units {
		for _, spec := range u.Service.Streams() {
			r.owned = append(r.owned, ownedStream{spec: spec, deps: u.Deps})
		}
	}
	for _, u := range units {
		svc, deps := u.Service, u.Deps
		popts := projector.Options{Store: deps.Projections, Replicas: deps.Topology.Replicas, Sealer: deps.Sealer()}
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
	for _, u := range units {
		svc, deps := u.Service, u.Deps
		copts := consumer.Options{Logger: deps.Logger.With("service", svc.Name()), Source: svc.Name(), Replicas: deps.Topology.Replicas, Sealer: deps.Sealer()}
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
	for _, u := range units {
		svc, w := u.Service, u.Service.Wiring()
		log := u.Deps.Logger.With("service", svc.Name())
		jobs := w.Jobs
		if len(w.Retired) > 0 {
			jobs = append(slices.Clone(jobs), retireJob(svc.Name(), w.Retired, u.Deps.Projections, log))
		}
		for _, job := range jobs {
			j, err := startJob(ctx, job, log)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("start %s: %w", svc.Name(), err), r.Stop(context.WithoutCancel(ctx)))
			}
			r.jobs = append(r.jobs, j)
		}
	}
	return r, nil
}

// EnsureStreams creates every stream of specs, or updates it to its
// declared configuration: the stream administration of the admin identity
// (`avenir streams ensure`, the dev server before its services start),
// given the catalog of every context's streams. report, when set, is told
// what was done to each stream.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, t natsx.Topology, specs []natsx.StreamSpec, report func(natsx.StreamSpec, natsx.StreamChange)) error {
	for _, spec := range specs {
		_, change, err := natsx.EnsureStreamChange(ctx, js, spec, t)
		if err != nil {
			return err
		}
		if report != nil {
			report(spec, change)
		}
	}
	return nil
}

// ensureServiceStreams creates or updates the dead-letter stream and the
// streams the services own, and creates the consumed ones that are
// missing, from catalog.
func ensureServiceStreams(ctx context.Context, deps Deps, services []Service, catalog []natsx.StreamSpec) error {
	if slices.ContainsFunc(services, func(svc Service) bool {
		w := svc.Wiring()
		return len(w.Projections) > 0 || len(w.Consumers) > 0
	}) {
		if _, err := natsx.EnsureStream(ctx, deps.JS, consumer.DLQSpec(), deps.Topology); err != nil {
			return err
		}
	}
	var owned []natsx.StreamSpec
	for _, svc := range services {
		for _, spec := range svc.Streams() {
			if _, err := natsx.EnsureStream(ctx, deps.JS, spec, deps.Topology); err != nil {
				return err
			}
			owned = append(owned, spec)
		}
	}
	for _, svc := range services {
		for _, name := range consumed(svc.Wiring()) {
			if slices.ContainsFunc(owned, func(s natsx.StreamSpec) bool { return s.Name == name }) {
				continue
			}
			i := slices.IndexFunc(catalog, func(s natsx.StreamSpec) bool { return s.Name == name })
			if i < 0 {
				return fmt.Errorf("service %s consumes stream %s, which no known context declares", svc.Name(), name)
			}
			if err := natsx.CreateStreamIfAbsent(ctx, deps.JS, catalog[i], deps.Topology); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitForStreams waits until every stream a unit needs exists: those its
// service owns, those it reads, and the dead-letter stream of its
// consumers. An owned stream whose configuration differs from its
// declaration is logged (the admin identity updates it).
func (r *Running) waitForStreams(ctx context.Context, waiting func([]string)) error {
	for _, u := range r.units {
		w := u.Service.Wiring()
		var names []string
		for _, spec := range u.Service.Streams() {
			names = append(names, spec.Name)
		}
		names = append(names, consumed(w)...)
		if len(w.Projections) > 0 || len(w.Consumers) > 0 {
			names = append(names, consumer.DLQStream)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		log := u.Deps.Logger.With("service", u.Service.Name())
		var last []string
		err := natsx.WaitForStreams(ctx, u.Deps.JS, names, func(missing []string) {
			if !slices.Equal(missing, last) {
				log.Warn("waiting for streams: the admin identity creates them (avenir streams ensure)", "missing", missing)
				last = missing
			}
			if waiting != nil {
				waiting(missing)
			}
		})
		if err != nil {
			return fmt.Errorf("start %s: %w", u.Service.Name(), err)
		}
		if waiting != nil {
			waiting(nil)
		}
		for _, spec := range u.Service.Streams() {
			want, err := spec.Config(u.Deps.Topology)
			if err != nil {
				return fmt.Errorf("start %s: %w", u.Service.Name(), err)
			}
			st, err := u.Deps.JS.Stream(ctx, spec.Name)
			if err != nil {
				return fmt.Errorf("start %s: stream %s: %w", u.Service.Name(), spec.Name, err)
			}
			if natsx.StreamDiffers(st.CachedInfo().Config, want) {
				log.Warn("stream configuration differs from its declaration: run avenir streams ensure with the admin identity", "stream", spec.Name)
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
	for _, u := range r.units {
		for _, name := range consumed(u.Service.Wiring()) {
			if _, done := seqs[name]; done {
				continue
			}
			seq, err := natsx.LastSequence(ctx, u.Deps.JS, name)
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
		// Jobs first: a job's run may read the read models.
		jobsErr := stopJobs(ctx, r.jobs)
		stops := make([]func(context.Context) error, 0, len(r.consumers))
		for _, c := range r.consumers {
			stops = append(stops, c.Stop)
		}
		err := errors.Join(jobsErr, stopTogether(ctx, stops))
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
