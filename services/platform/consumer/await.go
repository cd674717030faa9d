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

// Background is a runner started in the background once its stream exists:
// for consumers of a stream whose service may start later, or never in this
// deployment, which must not hold their own service's start back.
type Background struct {
	cancel context.CancelFunc
	done   chan struct{}
	runner *Runner // set before done is closed, if it started
}

// StartInBackground starts a runner like StartWhenStreamExists, in the
// background, until Stop.
func StartInBackground(js jetstream.JetStream, spec Spec, h Handler, opts Options, wait time.Duration) *Background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Background{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		r, err := StartWhenStreamExists(ctx, js, spec, h, opts, wait)
		if err != nil {
			if ctx.Err() == nil {
				log := opts.Logger
				if log == nil {
					log = slog.Default()
				}
				log.Error("consumer did not start", "consumer", spec.Name, "error", err)
			}
			return
		}
		b.runner = r
	}()
	return b
}

// Stop stops waiting for the stream, or stops the runner.
func (b *Background) Stop(ctx context.Context) error {
	b.cancel()
	select {
	case <-b.done:
	case <-ctx.Done():
		return fmt.Errorf("consumer: stop: %w", ctx.Err())
	}
	if b.runner == nil {
		return nil
	}
	return b.runner.Stop(ctx)
}
