package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// JetStream API error codes the store answers with a typed error.
const (
	// errCodeStoreFailed (JSStreamStoreFailedF) refuses a message the
	// stream cannot store: with avenir's "discard new" streams, because the
	// stream reached its MaxBytes.
	errCodeStoreFailed jetstream.ErrorCode = 10077
	// errCodeStorageExhausted (JSStorageResourcesExceededErr) refuses a
	// message because the server's JetStream storage is used up.
	errCodeStorageExhausted jetstream.ErrorCode = 10047
)

// ErrForeignRequest is wrapped by the error of a command whose request id
// the aggregate already holds from another actor: request ids belong to
// the caller that chose them, so the command is refused rather than
// answered with someone else's result.
var ErrForeignRequest = errors.New("eventstore: request id already used by another actor")

// classify turns an error of the server or the connection into the typed
// error the caller acts on; others pass unchanged:
//   - a full stream or store is ResourceExhausted, with what to do;
//   - an unanswered request or a lost connection is Unavailable: the write
//     may or may not be stored, and retrying with the same request id
//     answers either way (replay).
func classify(ctx context.Context, stream string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeStoreFailed:
			return apperr.ResourceExhausted("the %s stream is full: raise --stream-max-bytes", stream).WithCause(err)
		case errCodeStorageExhausted:
			return apperr.ResourceExhausted("the NATS server's JetStream storage is full (stream %s): free disk space or raise its max_file_store", stream).WithCause(err)
		}
		return err
	}
	if ctx.Err() != nil {
		// The caller's deadline or cancellation: it says so itself.
		return err
	}
	if unreachable(err) {
		return apperr.Unavailable("the event store did not answer: retry with the same request id").WithCause(err)
	}
	return err
}

// unreachable reports whether err says the server could not be reached or
// did not answer in time.
func unreachable(err error) bool {
	for _, target := range []error{
		nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrDisconnected,
		nats.ErrConnectionDraining, jetstream.ErrNoStreamResponse, context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// foreign is the error of a request id another actor used first.
func foreign(requestID, actor, owner string) error {
	return apperr.FailedPrecondition("request id %q was already used by someone else: choose a new one", requestID).
		WithCause(fmt.Errorf("%w: %s used by %s, retried by %s", ErrForeignRequest, requestID, owner, actor))
}
