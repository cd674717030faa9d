package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
// behind its stream.
func (r *Running) Ready(ctx context.Context, opts ReadyOptions) []telemetry.Check {
	if opts.MaxLag == 0 {
		opts.MaxLag = DefaultMaxLag
	}
	var checks []telemetry.Check
	// Each service has its own connection (its own NATS identity).
	var disconnected []string
	for _, u := range r.units {
		if u.Deps.NC == nil || !u.Deps.NC.IsConnected() {
			disconnected = append(disconnected, u.Service.Name())
		}
	}
	connected := len(disconnected) == 0
	checks = append(checks, check("nats", connected, "not connected to NATS: "+strings.Join(disconnected, ", ")))
	if connected {
		for _, o := range r.owned {
			checks = append(checks, streamCheck(ctx, o.deps.JS, o.spec.Name))
		}
	}
	var pinged []projection.Store
	for _, u := range r.units {
		if slices.Contains(pinged, u.Deps.Projections) {
			continue
		}
		pinged = append(pinged, u.Deps.Projections)
		if err := u.Deps.Projections.Ping(ctx); err != nil {
			checks = append(checks, telemetry.Check{Name: "read-model store", Detail: err.Error()})
		} else {
			checks = append(checks, telemetry.Check{Name: "read-model store", OK: true})
		}
	}
	if !connected {
		return checks
	}
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
		c := telemetry.Check{Name: "lag " + l.Name()}
		switch lag, err := l.Lag(ctx); {
		case err != nil:
			c.Detail = err.Error()
		case lag > opts.MaxLag:
			c.Detail = fmt.Sprintf("%d events behind (more than %d)", lag, opts.MaxLag)
		default:
			c.OK = true
		}
		checks = append(checks, c)
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
