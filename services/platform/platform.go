// Package platform is the shared plumbing of every avenir service: what a
// service is given (Deps), what it declares (Service, Wiring) and how the
// avenir binary runs any set of services in one process or one per process
// (Start). It holds no business rules.
package platform

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// Deps are the shared resources a service is built with.
type Deps struct {
	Logger      *slog.Logger
	NC          *nats.Conn
	JS          jetstream.JetStream
	Projections projection.Store
	Topology    natsx.Topology
	// Now is the clock; business days are derived from it in Europe/Paris.
	Now func() time.Time
	// Keys is the key store: it seals the personal fields of the events the
	// services append and opens them when they read (Sealer), hashes values
	// for duplicate detection without clear data, and erases a learner's
	// data key (docs/adr/0064-personal-data-sealed-with-per-learner-keys.md).
	// Without it, events with personal fields can be neither appended nor
	// read.
	Keys *privacy.Keyring
	// Sealing, when set, is the event codecs' Sealer in place of Keys (which
	// still hashes and erases): benchmarks set it to measure what sealing
	// costs. Production leaves it nil.
	Sealing event.Sealer
}

// Sealer is the event codecs' Sealer: Sealing when set, else Keys, or nil
// without a key store (a nil Keyring never hides in a non-nil interface).
func (d Deps) Sealer() event.Sealer {
	if d.Sealing != nil {
		return d.Sealing
	}
	if d.Keys == nil {
		return nil
	}
	return d.Keys
}

// Command is what a command of the caller of ctx adds to its events: its
// request id, the caller as actor, the time on the services' clock.
func (d Deps) Command(ctx context.Context, requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: d.Now()}
}

// Today is the business day on the services' clock, in Europe/Paris.
func (d Deps) Today() civil.Date { return civil.Of(d.Now()) }

// Service is one bounded context as the avenir binary runs it. It holds its
// domain, its access policy and its wire codecs; it declares the rest and
// the platform runs it.
type Service interface {
	// Name is the service's short name ("intake", "pathway", ...).
	Name() string
	// Streams lists the streams the service owns; they are created or
	// updated before any service starts.
	Streams() []natsx.StreamSpec
	// Register adds the service's gRPC handlers.
	Register(s grpc.ServiceRegistrar)
	// Policy says which roles may call each of the service's RPCs; every
	// registered method must have an entry.
	Policy() auth.Policy
	// Wiring declares the service's read models and consumers.
	Wiring() Wiring
}

// Wiring declares what a service runs besides its gRPC handlers. Start runs
// it in this order: every read model, then, once all have caught up with
// their streams, every consumer, then every job; Stop stops the jobs, then
// the consumers (a handler may wait for a read model) and the read models
// last.
type Wiring struct {
	// Projections are the service's read models.
	Projections []projector.Spec
	// Consumers react to events, with the read models complete.
	Consumers []Consumer
	// Jobs run periodically once the consumers have started.
	Jobs []Job
	// Retired names read models of earlier versions of the service: a job
	// deletes them from the store once an upgrade replaced them.
	Retired []string
}

// Consumer declares a durable consumer of the service.
type Consumer struct {
	Spec   consumer.Spec
	Handle consumer.Handler
	// After names read models of the same service, projecting the same
	// stream, that must have applied an event before Handle sees it: Handle
	// reads them and needs every event up to this one (its own decisions
	// included). The wait is bounded by AfterWait; past it the event is
	// retried, as for any dependency that is not ready.
	After []string
}

// AfterWait bounds the wait of a consumer for the read models it comes
// after, per attempt.
const AfterWait = 10 * time.Second

// Components lists the parts of a running set of services, for tests and
// readiness.
type Components struct {
	Projections []*projector.Runner
	Consumers   []*consumer.Runner
}
