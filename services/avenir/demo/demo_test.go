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
	case sum.StatementsClosed != len(sum.World.Operators):
		t.Errorf("%d statements closed, want the first month of each of the %d contracts", sum.StatementsClosed, len(sum.World.Operators))
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
