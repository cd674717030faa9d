package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/telemetry"
)

// Readiness defaults.
const (
	// DefaultMaxLag is the consumer lag past which a service is not ready:
	// its read models answer too far behind the facts.
	DefaultMaxLag = 1000
	// StreamHeadroom is the free space under which a stream counts as full:
	// room for no more than a few large events.
	StreamHeadroom = 64 << 10
)

// ReadyOptions tune Ready.
type ReadyOptions struct {
	// MaxLag is the greatest lag of a read model or consumer that is still
	// ready. Default DefaultMaxLag.
	MaxLag uint64
}

// Ready checks what the running services depend on, one check each: NATS
// connected, every owned stream writable (not full), the read-model store
// answering, and every read model and consumer less than MaxLag events
// behind its stream. The checks run side by side; one that has not answered
// when ctx ends fails as "did not answer in time", and the others keep
// their answers, so a slow check never hides a dependency that is down.
func (r *Running) Ready(ctx context.Context, opts ReadyOptions) []telemetry.Check {
	if opts.MaxLag == 0 {
		opts.MaxLag = DefaultMaxLag
	}
	// Each service has its own connection (its own NATS identity).
	var disconnected []string
	for _, u := range r.units {
		if u.Deps.NC == nil || !u.Deps.NC.IsConnected() {
			disconnected = append(disconnected, u.Service.Name())
		}
	}
	connected := len(disconnected) == 0
	checks := []telemetry.Check{check("nats", connected, "not connected to NATS: "+strings.Join(disconnected, ", "))}

	var probes []probe
	if connected {
		for _, o := range r.owned {
			probes = append(probes, probe{"stream " + o.spec.Name, func(ctx context.Context) telemetry.Check {
				return streamCheck(ctx, o.deps.JS, o.spec.Name)
			}})
		}
	}
	var pinged []projection.Store
	for _, u := range r.units {
		store := u.Deps.Projections
		if slices.Contains(pinged, store) {
			continue
		}
		pinged = append(pinged, store)
		probes = append(probes, probe{"read-model store", func(ctx context.Context) telemetry.Check {
			if err := store.Ping(ctx); err != nil {
				return telemetry.Check{Name: "read-model store", Detail: err.Error()}
			}
			return telemetry.Check{Name: "read-model store", OK: true}
		}})
	}
	if connected {
		type lagger interface {
			Name() string
			Lag(context.Context) (uint64, error)
		}
		var all []lagger
		for _, p := range r.projections {
			all = append(all, p)
		}
		for _, c := range r.consumers {
			all = append(all, c)
		}
		for _, l := range all {
			name := "lag " + l.Name()
			probes = append(probes, probe{name, func(ctx context.Context) telemetry.Check {
				c := telemetry.Check{Name: name}
				switch lag, err := l.Lag(ctx); {
				case err != nil:
					c.Detail = err.Error()
				case lag > opts.MaxLag:
					c.Detail = fmt.Sprintf("%d events behind (more than %d)", lag, opts.MaxLag)
				default:
					c.OK = true
				}
				return c
			}})
		}
	}
	return append(checks, runProbes(ctx, probes)...)
}

// probe is one readiness check to run.
type probe struct {
	name string
	run  func(context.Context) telemetry.Check
}

// readyParallelism bounds the checks that run at once.
const readyParallelism = 8

// runProbes runs the probes side by side (readyParallelism at a time) and
// returns their checks in order; those still running when ctx ends fail as
// not answered in time.
func runProbes(ctx context.Context, probes []probe) []telemetry.Check {
	out := make([]telemetry.Check, len(probes))
	done := make([]bool, len(probes))
	var mu sync.Mutex
	finished := make(chan struct{})
	sem := make(chan struct{}, readyParallelism)
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			c := p.run(ctx)
			mu.Lock()
			out[i], done[i] = c, true
			mu.Unlock()
		})
	}
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	checks := make([]telemetry.Check, len(probes))
	for i, p := range probes {
		if done[i] {
			checks[i] = out[i]
		} else {
			checks[i] = telemetry.Check{Name: p.name, Detail: "did not answer in time"}
		}
	}
	return checks
}

// streamCheck checks that a stream has room for more events.
func streamCheck(ctx context.Context, js jetstream.JetStream, name string) telemetry.Check {
	c := telemetry.Check{Name: "stream " + name}
	st, err := js.Stream(ctx, name)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	info, err := st.Info(ctx)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	if max := info.Config.MaxBytes; max > 0 && max-int64(info.State.Bytes) < StreamHeadroom {
		c.Detail = fmt.Sprintf("full: %d of %d bytes used; raise --stream-max-bytes", info.State.Bytes, max)
		return c
	}
	c.OK = true
	return c
}

func check(name string, ok bool, detail string) telemetry.Check {
	if ok {
		return telemetry.Check{Name: name, OK: true}
	}
	return telemetry.Check{Name: name, Detail: detail}
}
