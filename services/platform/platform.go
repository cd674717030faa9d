// Package platform is the shared plumbing of every avenir service: what a
// service is given (Deps) and what it must offer (Service) so that the avenir
// binary can run any set of services in one process or one per process.
// It holds no business rules.
package platform

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
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
}

// Service is one bounded context as the avenir binary runs it.
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
	// Start creates the service's consumers and starts them. It returns once
	// the service's read models have caught up with their streams, so the
	// service answers from complete data as soon as it serves.
	Start(ctx context.Context) error
	// Stop drains the consumers.
	Stop(ctx context.Context) error
}

// StopTogether runs the stop functions concurrently and joins their errors:
// runners that each wait for a fetch to end stop in the time of one.
func StopTogether(ctx context.Context, stops ...func(context.Context) error) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		if stop == nil {
			continue
		}
		wg.Go(func() { errs[i] = stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopService stops a service's consumers together, then its read models
// (stopProjections): a consumer's handler may wait for a read model to
// catch up, so the read models keep running until the handlers in flight
// are done.
func StopService(ctx context.Context, stopProjections func(context.Context) error, consumers ...func(context.Context) error) error {
	err := StopTogether(ctx, consumers...)
	if stopProjections == nil {
		return err
	}
	return errors.Join(err, stopProjections(ctx))
}
