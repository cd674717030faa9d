package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// textWorkers bounds the events read at once to open a page's texts.
const textWorkers = 8

// texts opens the personal texts (cancellation reasons, outcome comments)
// held by the IMMERSION events at seqs, by sequence: the catalogue points at
// them rather than copying them (see the catalogue read model). A text
// sealed with an erased key reads empty.
func (s *Service) texts(ctx context.Context, seqs []uint64) (map[uint64]string, error) {
	out := make(map[uint64]string, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	st, err := s.stream(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		errs  []error
		next  = make(chan uint64)
		found = func(seq uint64, text string, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[seq] = text
		}
	)
	for range min(textWorkers, len(seqs)) {
		wg.Go(func() {
			for seq := range next {
				text, err := s.text(ctx, st, seq)
				found(seq, text, err)
			}
		})
	}
	for _, seq := range seqs {
		next <- seq
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// stream returns the IMMERSION stream's handle, looked up once (with a
// STREAM.INFO request; its direct gets need no other).
func (s *Service) stream(ctx context.Context) (jetstream.Stream, error) {
	if st := s.immersion.Load(); st != nil {
		return *st, nil
	}
	st, err := s.deps.JS.Stream(ctx, Stream)
	if err != nil {
		return nil, apperr.Unavailable("the %s stream does not answer", Stream).WithCause(err)
	}
	s.immersion.Store(&st)
	return st, nil
}

// text opens the text of the event at seq.
func (s *Service) text(ctx context.Context, st jetstream.Stream, seq uint64) (string, error) {
	raw, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Streams deny deletes: a text never found is none.
		return "", nil
	}
	if err != nil {
		return "", apperr.Unavailable("the %s stream does not answer", Stream).WithCause(err)
	}
	ev, err := s.codec.FromRaw(ctx, Stream, raw)
	if err != nil {
		return "", fmt.Errorf("immersion: the text at %s sequence %d: %w", Stream, seq, err)
	}
	switch m := ev.Data.(type) {
	case *immersionv1.BookingCancelled:
		return m.GetReason(), nil
	case *immersionv1.OutcomeRecorded:
		return m.GetComment(), nil
	}
	return "", fmt.Errorf("immersion: the text at %s sequence %d: a %s holds none", Stream, seq, ev.Type)
}
