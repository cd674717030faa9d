package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

// errCodeDuplicateInProcess is the JetStream API error code of a message
// whose Nats-Msg-Id is being stored by a concurrent publish (replicated
// streams).
const errCodeDuplicateInProcess jetstream.ErrorCode = 10158

// Append appends the drafts to the aggregate addressed by filter as one
// unit, provided that the last event matching filter in stream has the
// sequence expectedLastSeq (0: the aggregate must have no event yet). Every
// draft's subject must match filter, except uniqueness claims (Draft.Unique,
// never first), whose subjects must hold no message yet, and the drafts of
// other aggregates, the first of which carries that aggregate's expectation
// (Draft.ExpectFilter, never first); and its payload type must be in the
// global protobuf registry, for Load to decode it; invalid input appends
// nothing.
//
// One draft is published as a single message, several as one atomic batch
// whose first message carries the expectation: either all of them are
// stored or none. A batch is limited by the server to 1,000 messages.
//
// The i-th event's id is event.ID(filter, cmd.RequestID, i), so an append
// retried within the stream's duplicate window stores nothing new: it either
// succeeds with the sequences of the stored events (a duplicate
// acknowledgement) or, since the aggregate has moved on, fails with
// ErrConflict; Execute turns the latter into a replay. A request id thus
// stands for one append to the aggregate: reusing it for other drafts is a
// mistake the store cannot always detect.
//
// Append returns the appended events, with Stream and Sequence set. When the
// aggregate has moved past expectedLastSeq, or events with the same ids are
// already stored or being stored, the error wraps ErrConflict.
func (s *Store) Append(ctx context.Context, stream, filter string, expectedLastSeq uint64, cmd Command, drafts ...event.Draft) ([]event.Event, error) {
	if err := validAppend(stream, filter, cmd, drafts); err != nil {
		return nil, err
	}
	ctx, span := s.tracer.Start(ctx, "publish "+stream,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("nats"),
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("publish"),
			semconv.MessagingDestinationName(drafts[0].Subject),
			semconv.MessagingBatchMessageCount(len(drafts)),
		))
	defer span.End()

	evs, err := s.publish(ctx, stream, filter, expectedLastSeq, cmd, drafts)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	return evs, nil
}

// publish encodes the drafts, with the trace context of ctx, and publishes
// them.
func (s *Store) publish(ctx context.Context, stream, filter string, expectedLastSeq uint64, cmd Command, drafts []event.Draft) ([]event.Event, error) {
	at := cmd.Time
	if at.IsZero() {
		at = time.Now()
	}
	msgs := make([]*nats.Msg, len(drafts))
	evs := make([]event.Event, len(drafts))
	for i, d := range drafts {
		msg, err := s.codec.Encode(ctx, d, event.Meta{
			ID:        event.ID(filter, cmd.RequestID, i),
			Source:    s.source,
			Actor:     cmd.Actor,
			RequestID: cmd.RequestID,
			Time:      at,
		})
		if errors.Is(err, event.ErrErased) {
			// Something personal about a learner whose data key is erased:
			// nothing personal can be recorded about them any more.
			return nil, apperr.FailedPrecondition("the learner's personal data was erased: nothing personal can be recorded about them").
				WithMeta("reason", event.ReasonErased).WithCause(err)
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: draft %d: %w", i, err)
		}
		// Decoding before publishing guarantees that Load can read what is
		// stored (the payload type must be registered), and yields the
		// events as Load will return them.
		if evs[i], err = s.codec.Decode(ctx, msg.Subject, msg.Header, msg.Data); err != nil {
			return nil, fmt.Errorf("eventstore: draft %d: %w", i, err)
		}
		msgs[i] = msg
	}

	first, err := s.send(ctx, stream, filter, expectedLastSeq, msgs, drafts)
	if err != nil {
		if isConflict(err) {
			return nil, fmt.Errorf("eventstore: append to %s expecting sequence %d: %w (%w)", filter, expectedLastSeq, ErrConflict, err)
		}
		if isBusy(err) {
			return nil, fmt.Errorf("eventstore: append to %s: %w (%w)", filter, ErrBusy, err)
		}
		return nil, fmt.Errorf("eventstore: append to %s: %w", filter, classify(ctx, stream, err))
	}
	for i := range evs {
		evs[i].Stream = stream
		evs[i].Sequence = first + uint64(i)
	}
	return evs, nil
}

// send publishes one message alone, or several as an atomic batch whose first
// message carries the expectation, and returns the stream sequence of the
// first message. Each message must be stored in stream. A draft with an
// ExpectFilter carries the expectation on that second aggregate.
func (s *Store) send(ctx context.Context, stream, filter string, expectedLastSeq uint64, msgs []*nats.Msg, drafts []event.Draft) (uint64, error) {
	if len(msgs) == 1 {
		ack, err := s.js.PublishMsg(ctx, msgs[0],
			jetstream.WithExpectStream(stream),
			jetstream.WithExpectLastSequenceForSubject(expectedLastSeq, filter))
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	for i, msg := range msgs {
		msg.Header.Set(jetstream.ExpectedStreamHeader, stream)
		switch {
		case drafts[i].Unique:
			// A claim: its own subject must be empty.
			msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
		case drafts[i].ExpectFilter != "":
			// The first message of another aggregate of the batch.
			msg.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, drafts[i].ExpectFilter)
			msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(drafts[i].ExpectLastSeq, 10))
		}
	}
	msgs[0].Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, filter)
	msgs[0].Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expectedLastSeq, 10))
	ack, err := jetstreamext.PublishMsgBatch(ctx, s.js, msgs)
	if err != nil {
		return 0, err
	}
	// The messages of a batch are stored contiguously; the ack gives the
	// sequence of the last one.
	return ack.Sequence - uint64(len(msgs)) + 1, nil
}

// isConflict reports whether the server refused a publish because another
// writer got to the aggregate first:
//   - 10071 and 10164 (replicated streams, batches) are the two forms of
//     "wrong last sequence";
//   - 10201 refuses an atomic batch whose event ids are already stored: the
//     server checks ids before expectations in a batch, so a retried or
//     concurrent duplicate of a command's batch gets it instead of 10071;
//   - 10158 refuses a message whose id a concurrent publish is storing.
//
// Single publishes wrap the *jetstream.APIError and batch publishes return it
// as is: errors.As matches both.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeStreamWrongLastSequence,
		jetstream.JSErrCodeStreamWrongLastSequenceConstant,
		jetstreamext.JSErrCodeBatchPublishDuplicateMsgID,
		errCodeDuplicateInProcess:
		return true
	}
	return false
}

// isBusy reports whether the server refused an atomic batch because too
// many batches were in flight on the stream (it allows 50 by default).
func isBusy(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstreamext.JSErrCodeAtomicPublishTooManyInflight ||
		apiErr.ErrorCode == jetstreamext.JSErrCodeBatchPublishTooManyInflight)
}

// validAppend checks the arguments of Append.
func validAppend(stream, filter string, cmd Command, drafts []event.Draft) error {
	if stream == "" {
		return errors.New("eventstore: empty stream name")
	}
	if err := validFilter(filter); err != nil {
		return err
	}
	if cmd.RequestID == "" {
		return errors.New("eventstore: command without request id")
	}
	if len(drafts) == 0 {
		return errors.New("eventstore: nothing to append")
	}
	var others []string // the filters of the other aggregates so far
	for i, d := range drafts {
		if err := event.ValidSubject(d.Subject); err != nil {
			return fmt.Errorf("eventstore: draft %d: %w", i, err)
		}
		if d.ExpectFilter != "" {
			if err := validOther(filter, drafts[:i], d); err != nil {
				return fmt.Errorf("eventstore: draft %d: %w", i, err)
			}
			others = append(others, d.ExpectFilter)
		}
		switch {
		case d.Unique && i == 0:
			return errors.New("eventstore: a uniqueness claim cannot be the first draft, which carries the aggregate's expectation")
		case d.Unique && matches(filter, d.Subject):
			return fmt.Errorf("eventstore: draft %d: claim %s lies inside the aggregate %s", i, d.Subject, filter)
		case !d.Unique && !matches(filter, d.Subject) && !slices.ContainsFunc(others, func(o string) bool { return matches(o, d.Subject) }):
			return fmt.Errorf("eventstore: draft %d: subject %s is outside the aggregate %s", i, d.Subject, filter)
		}
		if d.Data == nil {
			return fmt.Errorf("eventstore: draft %d has no data", i)
		}
	}
	return nil
}

// validOther checks a draft d that opens another aggregate of the batch
// (d.ExpectFilter set), given the drafts before it.
func validOther(filter string, earlier []event.Draft, d event.Draft) error {
	if err := validFilter(d.ExpectFilter); err != nil {
		return err
	}
	switch {
	case len(earlier) == 0:
		return errors.New("the first draft carries the aggregate's expectation, not another's")
	case d.Unique:
		return errors.New("a uniqueness claim cannot carry another aggregate's expectation")
	case !matches(d.ExpectFilter, d.Subject):
		return fmt.Errorf("subject %s is outside the expected aggregate %s", d.Subject, d.ExpectFilter)
	case matches(filter, d.Subject):
		return fmt.Errorf("subject %s lies inside the aggregate %s, not another", d.Subject, filter)
	}
	for _, e := range earlier {
		if matches(d.ExpectFilter, e.Subject) {
			return fmt.Errorf("an earlier draft writes %s, inside %s: the expectation must come first", e.Subject, d.ExpectFilter)
		}
	}
	return nil
}
