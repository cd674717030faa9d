package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/avenir-normandie/avenir/services/avenir/demo"
	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

func newDemoCmd() *cobra.Command {
	var (
		embedded          bool
		addr, admin, data string
		from              string
		opts              demo.Options
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Simulate a year of #Avenir through the public APIs: referents, operators, offers, learners day by day",
		Long: `Simulate a year of #Avenir, day by day, through the public gRPC APIs with real
tokens: the 18 territories' referents, 20 operators with contracts, #Action offers and
sessions, learners entering continuously, needs analyses, assignments, bookings with
waitlists and cancellations, outcomes, exits and re-entries, hour reports and flat fees,
monthly statements reviewed and closed by the funder. Deterministic for a --seed.

  avenir demo --embedded
      runs its own server in this process (data in --data-dir, default a new
      temporary directory), on a clock the simulation moves day by day.

  avenir demo --addr 127.0.0.1:50051 --admin-addr 127.0.0.1:9464 --data-dir data
      drives a running dev server started with --demo-clock (its clock is moved
      with PUT /demo/clock on the admin address; tokens are minted with the dev
      key in --data-dir).`,
		Example: "  avenir demo --embedded --learners 1000 --seed 7",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from != "" {
				d, err := parseDate("from", from)
				if err != nil {
					return err
				}
				opts.From = civilpb.Date(d)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			opts.Progress = cmd.ErrOrStderr()
			opts.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			if embedded {
				return runEmbeddedDemo(ctx, cmd.OutOrStdout(), data, opts)
			}
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer conn.Close()
			if data == "" {
				data = "data"
			}
			opts.Conn, opts.Clock = conn, demo.HTTPClock{URL: "http://" + admin + "/demo/clock"}
			if opts.Tokens, err = demo.DevTokens(data); err != nil {
				return err
			}
			return runDemo(ctx, cmd.OutOrStdout(), opts)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&embedded, "embedded", false, "run an in-process server for the simulation")
	fs.StringVar(&addr, "addr", "127.0.0.1:50051", "gRPC address of a server started with --dev --demo-clock")
	fs.StringVar(&admin, "admin-addr", "127.0.0.1:9464", "admin address of that server (its /demo/clock)")
	fs.StringVar(&data, "data-dir", "", "the server's data dir (its dev key); with --embedded, where to keep the streams (default a temporary directory)")
	fs.Int64Var(&opts.Seed, "seed", 1, "seed of the simulation: the same seed, the same year")
	fs.IntVar(&opts.Learners, "learners", 4500, "learners entering over the year")
	fs.StringVar(&from, "from", "", "first simulated day (default a Monday a year ago), "+dateHelp)
	fs.IntVar(&opts.Days, "days", 365, "days to simulate")
	return cmd
}

func runDemo(ctx context.Context, w io.Writer, opts demo.Options) error {
	sum, err := demo.Run(ctx, opts)
	if err != nil {
		return err
	}
	return sum.Write(w)
}

// runEmbeddedDemo runs a dev server in this process on a demo clock, and
// the simulation against it.
func runEmbeddedDemo(ctx context.Context, w io.Writer, data string, opts demo.Options) error {
	if data == "" {
		dir, err := os.MkdirTemp("", "avenir-demo-")
		if err != nil {
			return err
		}
		data = dir
		fmt.Fprintf(w, "data: %s\n", dir)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	from := opts.From
	if from.IsZero() {
		from = demo.DefaultFrom(civil.Of(time.Now()))
		opts.From = from
	}
	clock, err := server.NewDemoClock(from, data)
	if err != nil {
		return err
	}
	cfg := server.DevConfig(data)
	cfg.DemoClock, cfg.LogLevel = clock, "error"
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServer()
	ready := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- server.Run(srvCtx, cfg, func(a server.Addrs) { ready <- a }) }()
	var addrs server.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := grpc.NewClient(addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	opts.Conn = conn
	opts.Clock = demo.ClockFunc(func(_ context.Context, day civil.Date) error { return clock.Set(day) })
	if opts.Tokens, err = demo.DevTokens(data); err != nil {
		return err
	}
	runErr := runDemo(ctx, w, opts)
	stopServer()
	return errors.Join(runErr, <-done)
}
