package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/demo"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// clock is a settable server clock: the simulated day at 08:00 in Paris,
// plus the real time elapsed since it was set (so that events of one day
// stay in order), or the real time before the first Set.
type clock struct {
	mu       sync.Mutex
	day, set time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.day.IsZero() {
		return time.Now()
	}
	return c.day.Add(time.Since(c.set))
}

func (c *clock) at(day civil.Date) time.Time {
	return time.Date(day.Year, day.Month, day.Day, 8, 0, 0, 0, civil.Paris)
}

func (c *clock) Set(_ context.Context, day civil.Date) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.day, c.set = c.at(day), time.Now()
	return nil
}

// run simulates on a fresh server.
func run(t *testing.T, opts demo.Options) demo.Summary {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{}
	cfg := servertest.Dev(dir)
	cfg.Now = clk.Now
	addrs, _ := servertest.Run(t, cfg)
	conn, err := grpc.NewClient(addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	opts.Conn, opts.Clock = conn, clk
	opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts.Tokens = func(p auth.Principal, day civil.Date) (string, error) {
		return servertest.Token(t, cfg.DataDir, p, clk.at(day)), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	sum, err := demo.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d learners over %d days in %s", opts.Learners, opts.Days, time.Since(start).Round(time.Millisecond))
	return sum
}

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation: not in -short")
	}
	opts := demo.Options{Seed: 7, Learners: 60, Days: 45, From: civil.Date{Year: 2025, Month: time.September, Day: 1}}
	var progress bytes.Buffer
	first := opts
	first.Progress = &progress
	sum := run(t, first)
	var out bytes.Buffer
	if err := sum.Write(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())

	switch {
	case sum.LearnersEntered != 60 || len(sum.World.Learners) != 60:
		t.Errorf("entered %d learners (world %d), want 60", sum.LearnersEntered, len(sum.World.Learners))
	case sum.Exits == 0:
		t.Error("no exit")
	case sum.Analyses == 0:
		t.Error("no analysis")
	case sum.Booked == 0:
		t.Error("no booking")
	case sum.TotalCents <= 0 || sum.TraineeCents <= 0 || sum.FlatFeeCents <= 0:
		t.Errorf("money: %d total, %d trainee hours, %d fees", sum.TotalCents, sum.TraineeCents, sum.FlatFeeCents)
	case len(sum.World.Contracts) != 40:
		t.Errorf("%d contracts, want an #Avenir and an #Action contract for each of the 20 operators", len(sum.World.Contracts))
	case sum.StatementsClosed != len(sum.World.Contracts):
		t.Errorf("%d statements closed, want the first month of each of the %d contracts", sum.StatementsClosed, len(sum.World.Contracts))
	case sum.Assigned+sum.Queued != sum.ActiveAtEnd:
		t.Errorf("%d assigned + %d queued, %d active", sum.Assigned, sum.Queued, sum.ActiveAtEnd)
	case !bytes.Contains(progress.Bytes(), []byte("day 45/45")):
		t.Errorf("progress: %q", progress.String())
	}
	for _, l := range sum.World.Learners {
		if l.ID == "" || len(l.Episodes) == 0 {
			t.Fatalf("learner %d: %+v", l.Index, l)
		}
	}

	// Every line due was accepted; the mistakes made on purpose were
	// rejected as meant.
	if len(sum.Unexpected) > 0 {
		t.Errorf("unexpected line fates: %v", sum.Unexpected)
	}
	if len(sum.Rejected) == 0 {
		t.Error("no mistake made on purpose was rejected")
	}
	for reason := range sum.Rejected {
		switch reason {
		case "duplicate-line-id", "daily-cap-exceeded", "learner-not-enrolled", "date-in-future", "fact-already-paid":
		default:
			t.Errorf("a mistake rejected as %s, which the simulation never means", reason)
		}
	}
	// Each entry enrolled the learner with its accompaniment; each place
	// in a session that started, with its host.
	if n := sum.Enrolments["accompaniment"]; n != sum.Entries {
		t.Errorf("%d accompaniment enrolments for %d entries", n, sum.Entries)
	}
	hosted := 0
	for _, ss := range sum.World.Sessions {
		if !ss.From.After(sum.To) {
			hosted += len(ss.Places)
		}
	}
	if n := sum.Enrolments["immersion-host"]; n != hosted || n == 0 {
		t.Errorf("%d host enrolments for %d places in sessions started", n, hosted)
	}
	for _, l := range sum.World.Learners {
		for _, e := range l.Enrolments {
			last := l.Episodes[len(l.Episodes)-1].Number
			if e.Kind == pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT && e.Episode == last && e.To.IsZero() != l.Active() {
				t.Errorf("learner %d: enrolment %+v, active %v", l.Index, e, l.Active())
			}
		}
	}

	// The scheme seen whole: the funder's month of September, the year's
	// programmes, and the run's own counts agreeing with each other.
	fm := sum.FunderMonth
	if fm.Period.String() != "2025-09" || !fm.Complete || fm.Statements != 40 || fm.ByStatus["closed"] != 40 || fm.BilledCents <= 0 {
		t.Errorf("funder's month: %+v", fm)
	}
	if len(sum.ProgrammeBudgets) != 2 {
		t.Fatalf("programme budgets: %+v", sum.ProgrammeBudgets)
	}
	var consumed int64
	for _, b := range sum.ProgrammeBudgets {
		consumed += b.ConsumedCents
		if b.Year != 2025 || b.SchemeDefault || b.Contracts != 20 || b.EnvelopeCents <= 0 || b.Target <= 0 {
			t.Errorf("programme budget: %+v", b)
		}
	}
	if consumed != sum.TotalCents {
		t.Errorf("the programmes consumed %d cents, the statements billed %d", consumed, sum.TotalCents)
	}
	if len(sum.Beneficiaries) != 2 || sum.Beneficiaries[0].Learners != sum.LearnersEntered || sum.Beneficiaries[1].Learners == 0 {
		t.Errorf("beneficiaries: %+v, %d learners entered", sum.Beneficiaries, sum.LearnersEntered)
	}
	if sum.Public.Entries != sum.Entries {
		t.Errorf("entries by public: %d, entries %d", sum.Public.Entries, sum.Entries)
	}
	exits, immersions := 0, 0
	for op, reasons := range sum.ExitsByOperator {
		if op == "" {
			t.Errorf("exits without an accompaniment: %v", reasons)
		}
		for _, n := range reasons {
			exits += n
		}
	}
	for _, n := range sum.ImmersionsByHost {
		immersions += n.WithOutcome
	}
	outcomes := 0
	for _, n := range sum.Outcomes {
		outcomes += n
	}
	if exits != sum.Exits || immersions != outcomes {
		t.Errorf("outcomes by operator: %d exits of %d, %d immersions of %d", exits, sum.Exits, immersions, outcomes)
	}

	// The same seed on another fresh server: the same figures.
	again := run(t, opts)
	sum.World, again.World = nil, nil
	sum.Elapsed, again.Elapsed = 0, 0
	if !reflect.DeepEqual(sum, again) {
		var a, b bytes.Buffer
		sum.Write(&a)
		again.Write(&b)
		t.Errorf("not deterministic:\n%s\n---\n%s", a.String(), b.String())
	}
}

// TestScale runs one simulation of AVENIR_DEMO_LEARNERS learners over
// AVENIR_DEMO_DAYS days (default 365), to measure; skipped without them.
func TestScale(t *testing.T) {
	learners, _ := strconv.Atoi(os.Getenv("AVENIR_DEMO_LEARNERS"))
	if learners == 0 {
		t.Skip("AVENIR_DEMO_LEARNERS not set")
	}
	days, _ := strconv.Atoi(os.Getenv("AVENIR_DEMO_DAYS"))
	if days == 0 {
		days = 365
	}
	sum := run(t, demo.Options{Seed: 1, Learners: learners, Days: days, From: civil.Date{Year: 2025, Month: time.January, Day: 6}, Progress: os.Stderr})
	var out bytes.Buffer
	if err := sum.Write(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
}
