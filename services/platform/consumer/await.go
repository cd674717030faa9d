package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultStreamWait is how often StartWhenStreamExists looks for the stream
// when it does not exist yet.
const DefaultStreamWait = time.Second

// StartWhenStreamExists starts a runner like Start, first waiting for the
// consumed stream to be created by the service that owns it (in
// microservices mode that service may start later), looking every wait
// (DefaultStreamWait when zero) until ctx ends.
func StartWhenStreamExists(ctx context.Context, js jetstream.JetStream, spec Spec, h Handler, opts Options, wait time.Duration) (*Runner, error) {
	if wait <= 0 {
		wait = DefaultStreamWait
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	for {
		r, err := Start(ctx, js, spec, h, opts)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("consumer %s: %w", spec.Name, err)
		}
		log.Warn("consumer waits for its stream to be created", "consumer", spec.Name, "stream", spec.Stream)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("consumer %s: waiting for stream %s: %w", spec.Name, spec.Stream, ctx.Err())
		case <-time.After(wait):
		}
	}
}
