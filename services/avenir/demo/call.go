package demo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// callTimeout bounds one attempt of a call.
const callTimeout = 30 * time.Second

// Principals of the simulation.
var (
	adminP  = auth.Principal{Subject: "demo-admin", Name: "Demo administrator", Role: auth.RoleAdmin}
	funderP = auth.Principal{Subject: "demo-funder", Name: "Région Normandie", Role: auth.RoleFunder}
)

func coordinator(referentID, territory string) auth.Principal {
	return auth.Principal{Subject: referentID, Role: auth.RoleReferent, ReferentID: referentID, Territories: []string{territory}, Coordinator: true}
}

func operatorP(o *Operator) auth.Principal {
	return auth.Principal{Subject: o.ID, Role: auth.RoleOperator, OperatorID: o.ID, Territories: o.Territories}
}

// as returns the call option authenticating as p on the current day.
func (s *sim) as(p auth.Principal) (grpc.CallOption, error) {
	key := fmt.Sprintf("%s|%s|%s|%s|%v|%v", p.Role, p.Subject, p.ReferentID, p.OperatorID, p.Territories, p.Coordinator)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[key]
	if !ok {
		var err error
		tok, err = s.opts.Tokens(p, s.today)
		if err != nil {
			return nil, fmt.Errorf("token for %s: %w", p.Actor(), err)
		}
		s.tokens[key] = tok
	}
	return grpc.PerRPCCredentials(auth.BearerToken(tok)), nil
}

// transient reports whether err means the server is away for a while
// (restarting, overloaded, a conflict to retry).
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Unauthenticated:
		// Unauthenticated: a restarted server whose clock is not set yet
		// refuses tokens of the simulated day; the clock is set again before
		// the next attempt.
		return true
	}
	return false
}

// retry runs f until it succeeds, fails with a non-transient error, or
// transient errors have lasted opts.RetryFor. Before each new attempt the
// server's clock is set again (a restarted server may have lost it).
func (s *sim) retry(ctx context.Context, what string, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(s.opts.RetryFor)
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := f(cctx)
		cancel()
		if err == nil || !transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still failing after %s: %w", what, s.opts.RetryFor, err)
		}
		if attempt == 0 || attempt%10 == 0 {
			s.log.Debug("retrying", "what", what, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
		if what != "set clock" {
			s.mu.Lock()
			day := s.today
			s.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = s.opts.Clock.Set(cctx, day)
			cancel()
		}
	}
}

// call is retry for a call made as p.
func (s *sim) call(ctx context.Context, p auth.Principal, what string, f func(ctx context.Context, o grpc.CallOption) error) error {
	return s.retry(ctx, what, func(ctx context.Context) error {
		o, err := s.as(p)
		if err != nil {
			return err
		}
		return f(ctx, o)
	})
}

// callSettling is call, also retrying FailedPrecondition and NotFound
// refusals for a short while: what a read model has not seen yet (a learner
// who entered a moment ago). It returns the last refusal.
func (s *sim) callSettling(ctx context.Context, p auth.Principal, what string, f func(ctx context.Context, o grpc.CallOption) error) error {
	var err error
	for i := range 40 {
		err = s.call(ctx, p, what, f)
		switch status.Code(err) {
		case codes.FailedPrecondition, codes.NotFound:
		default:
			return err
		}
		time.Sleep(time.Duration(5+5*min(i, 10)) * time.Millisecond)
	}
	return err
}

// settle waits a little, growing with attempt, for read models to catch up.
func settle(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(10+10*min(attempt, 20)) * time.Millisecond):
		return nil
	}
}

// reasonOf returns the "reason" metadata of a refusal, if any.
func reasonOf(err error) string { return metaOf(err, "reason") }

// metaOf returns the metadata key of the error's ErrorInfo.
func metaOf(err error, key string) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if v, ok := info.GetMetadata()[key]; ok {
				return v
			}
		}
	}
	return ""
}

// rid is a request id derived from the seed and what the request does.
func (s *sim) rid(parts ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "demo-%d", s.opts.Seed)
	for _, p := range parts {
		fmt.Fprintf(&b, "-%v", p)
	}
	id := b.String()
	if len(id) > 120 {
		h := fnv.New64a()
		h.Write([]byte(id))
		id = fmt.Sprintf("%s-%016x", id[:100], h.Sum64())
	}
	return id
}

// rng is a random source for one decision, derived from the seed and the
// decision's name: decisions do not depend on the order they are made in.
func (s *sim) rng(parts ...any) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return rand.New(rand.NewPCG(uint64(s.opts.Seed), h.Sum64()))
}

// parallel runs f(i) for i in [0,n) on at most opts.Workers goroutines and
// returns the first error.
func (s *sim) parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range min(n, s.opts.Workers) {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

var errDeferred = errors.New("deferred")
