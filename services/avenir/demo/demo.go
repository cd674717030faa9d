// Package demo simulates a year of #Avenir through the public gRPC APIs of
// a running server: referents, operators with an #Avenir contract for the
// accompaniment of the learners of their lot and an #Action contract for
// the immersions they host, the programmes' figures for the year, #Action
// offers and sessions, then day by day learners entering (each enrolled at
// once with its operator's #Avenir contract, as its referent would), needs
// analyses, immersion bookings (waitlists, cancellations), the learners
// holding a place enrolled with the host's #Action contract for the
// immersion, outcomes, hours and flat fees reported by operators, exits
// (some late, ending the enrolments) and re-entries, and the funder's
// monthly review and closing of the statements.
//
// Operators report only what funding must accept: days the learner was
// enrolled with the contract, never after today, within the caps (no other
// hours during an immersion), each fact's fee once. About one line in fifty
// carries a mistake made on purpose, which funding must reject with the
// reason meant (Summary.Rejected); anything else is counted in
// Summary.Unexpected.
//
// Everything is deterministic for a seed: each decision draws from a random
// source derived from the seed and what it decides (math/rand/v2, PCG), and
// every mutation carries a request id derived from the seed and what it
// does, so that a call retried after a server restart is a no-op. Calls the
// server cannot answer for a while (Unavailable, DeadlineExceeded, Aborted)
// are retried for up to a minute; refusals that are only eventual
// consistency (a learner who entered a moment ago) are retried briefly or
// deferred to the next day.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Clock moves the server's clock: the simulation sets each simulated day
// before acting on it (the server's services decide with that day).
type Clock interface {
	Set(ctx context.Context, day civil.Date) error
}

// Tokens mints a bearer token for a principal, valid on the simulated day
// (iat/nbf/exp around that day).
type Tokens func(p auth.Principal, day civil.Date) (string, error)

// Options configure Run.
type Options struct {
	Conn     grpc.ClientConnInterface // to the server (all services)
	Clock    Clock
	Tokens   Tokens
	Seed     int64      // default 1
	Learners int        // learners entering over the simulated period, default 4500
	From     civil.Date // first simulated day; default: 365 days before today, a Monday
	Days     int        // default 365
	Progress io.Writer  // progress bar (nil: none)
	Log      *slog.Logger
	// AfterDay, if set, is called after each simulated day with its index
	// (0 for the first); it lets tests interrupt the server mid-simulation.
	// An error stops the run.
	AfterDay func(ctx context.Context, day int) error
	// Workers bounds the calls made in parallel within a step of a day
	// (default 8). The result does not depend on it.
	Workers int
	// RetryFor is how long calls failing with Unavailable, DeadlineExceeded
	// or Aborted are retried (default 60s).
	RetryFor time.Duration
}

func (o *Options) defaults() error {
	if o.Conn == nil || o.Clock == nil || o.Tokens == nil {
		return errors.New("demo: Conn, Clock and Tokens are required")
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Learners <= 0 {
		o.Learners = 4500
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.From.IsZero() {
		o.From = DefaultFrom(civil.Of(time.Now()))
	}
	if !o.From.Valid() {
		return fmt.Errorf("demo: invalid first day %v", o.From)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 60 * time.Second
	}
	return nil
}

// clients of every service.
type clients struct {
	intake    intakev1.IntakeServiceClient
	pathway   pathwayv1.PathwayServiceClient
	needs     needsv1.NeedsServiceClient
	referent  referentv1.ReferentServiceClient
	immersion immersionv1.ImmersionServiceClient
	funding   fundingv1.FundingServiceClient
}

// sim is one run.
type sim struct {
	opts  Options
	log   *slog.Logger
	c     clients
	world *World
	sum   *Summary
	books *books

	mu        sync.Mutex
	today     civil.Date
	dayIdx    int
	tokens    map[string]string // principal key -> token of today
	cancels   map[civil.Date][]cancellation
	stepTimes map[string]time.Duration
}

// Run simulates opts.Days days from opts.From and returns what happened,
// with the World it created (Summary.World) for invariant checks.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if err := opts.defaults(); err != nil {
		return Summary{}, err
	}
	s := &sim{
		opts: opts, log: opts.Log,
		c: clients{
			intake: intakev1.NewIntakeServiceClient(opts.Conn), pathway: pathwayv1.NewPathwayServiceClient(opts.Conn),
			needs: needsv1.NewNeedsServiceClient(opts.Conn), referent: referentv1.NewReferentServiceClient(opts.Conn),
			immersion: immersionv1.NewImmersionServiceClient(opts.Conn), funding: fundingv1.NewFundingServiceClient(opts.Conn),
		},
		world:     newWorld(opts),
		books:     newBooks(),
		tokens:    map[string]string{},
		cancels:   map[civil.Date][]cancellation{},
		stepTimes: map[string]time.Duration{},
	}
	s.sum = newSummary(opts)
	s.sum.World = s.world
	start := time.Now()
	bar := newProgress(opts.Progress, opts.Days)

	if err := s.setDay(ctx, 0); err != nil {
		return *s.sum, err
	}
	t0 := time.Now()
	if err := s.setup(ctx); err != nil {
		return *s.sum, fmt.Errorf("demo: setup: %w", err)
	}
	s.stepTimes["setup"] = time.Since(t0)
	for i := range opts.Days {
		if err := ctx.Err(); err != nil {
			return *s.sum, err
		}
		if i > 0 {
			if err := s.setDay(ctx, i); err != nil {
				return *s.sum, err
			}
		}
		if err := s.simulateDay(ctx); err != nil {
			return *s.sum, fmt.Errorf("demo: day %d (%s): %w", i, s.today, err)
		}
		bar.update(i+1, s.today, s.world.activeCount(), s.sum.LearnersEntered)
		if opts.AfterDay != nil {
			if err := opts.AfterDay(ctx, i); err != nil {
				return *s.sum, err
			}
		}
	}
	bar.done()
	t0 = time.Now()
	if err := s.finish(ctx); err != nil {
		return *s.sum, fmt.Errorf("demo: final figures: %w", err)
	}
	s.stepTimes["finish"] = time.Since(t0)
	s.sum.Elapsed = time.Since(start)
	s.log.Info("demo: time per step", "steps", fmt.Sprint(s.stepTimes), "elapsed", s.sum.Elapsed)
	return *s.sum, nil
}

// setDay moves the simulation and the server to day i.
func (s *sim) setDay(ctx context.Context, i int) error {
	day := s.opts.From.AddDays(i)
	s.mu.Lock()
	s.today, s.dayIdx = day, i
	s.tokens = map[string]string{}
	s.mu.Unlock()
	return s.retry(ctx, "set clock", func(ctx context.Context) error { return s.opts.Clock.Set(ctx, day) })
}

// DefaultFrom is the first simulated day by default: the Monday on or
// before 365 days before today.
func DefaultFrom(today civil.Date) civil.Date {
	d := today.AddDays(-365)
	for d.Weekday() != time.Monday {
		d = d.AddDays(-1)
	}
	return d
}
