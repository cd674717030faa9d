package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// pageSize is the number of events Load asks for in one direct batch get.
const pageSize = 1000

// numPendingHeader is set by the server on each message of a direct batch
// get: the number of messages matching the request's filter that follow it
// in the stream.
const numPendingHeader = "Nats-Num-Pending"

// Load reads the events matching filter in stream, in stream order, with
// direct batch gets (no consumer is created). An aggregate without events is
// not an error: Load returns an empty History. An event that cannot be
// decoded fails the load with an error wrapping event.ErrUndecodable.
func (s *Store) Load(ctx context.Context, stream, filter string) (History, error) {
	if stream == "" {
		return History{}, errors.New("eventstore: empty stream name")
	}
	if err := validFilter(filter); err != nil {
		return History{}, err
	}
	var h History
	for {
		more, err := s.loadPage(ctx, stream, filter, &h)
		if errors.Is(err, nats.ErrNoResponders) {
			return History{}, fmt.Errorf("eventstore: load %s: stream %s does not exist or does not allow direct get: %w", filter, stream, err)
		}
		if err != nil {
			return History{}, fmt.Errorf("eventstore: load %s from %s: %w", filter, stream, classify(ctx, stream, err))
		}
		if !more {
			return h, nil
		}
	}
}

// loadPage appends to h the events of one direct batch get starting after
// h.LastSeq and reports whether more events match filter.
//
// GetBatch answers a request that matches nothing with ErrNoMessages; and
// when the server does not answer in time, or ctx ends, its iterator stops
// without an error, so a page is known to be complete only from the
// Nats-Num-Pending header of its last message.
func (s *Store) loadPage(ctx context.Context, stream, filter string, h *History) (bool, error) {
	msgs, err := jetstreamext.GetBatch(ctx, s.js, stream, pageSize,
		jetstreamext.GetBatchSubject(filter), jetstreamext.GetBatchSeq(h.LastSeq+1))
	if err != nil {
		return false, err
	}
	var (
		got     int
		pending string
	)
	for raw, err := range msgs {
		if errors.Is(err, jetstreamext.ErrNoMessages) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		ev, err := s.codec.FromRaw(ctx, stream, raw)
		if err != nil {
			return false, fmt.Errorf("sequence %d: %w", raw.Sequence, err)
		}
		h.Events = append(h.Events, ev)
		h.LastSeq = raw.Sequence
		pending = raw.Header.Get(numPendingHeader)
		got++
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if got == 0 {
		return false, fmt.Errorf("no answer to the direct get in time: %w", nats.ErrTimeout)
	}
	n, err := strconv.ParseUint(pending, 10, 64)
	if err != nil {
		return false, fmt.Errorf("direct get: bad %s header %q", numPendingHeader, pending)
	}
	return n > 0, nil
}
