package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// call dials the server, runs fn with a deadline and closes the connection.
func (f *clientFlags) call(cmd *cobra.Command, fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
	if f.output != "table" && f.output != "json" {
		return usageError{fmt.Errorf("--output must be table or json, got %q", f.output)}
	}
	var opts []grpc.DialOption
	if f.token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(auth.BearerToken(f.token)))
	}
	conn, err := grpcx.Dial(f.addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	f.conn, f.errOut = conn, cmd.ErrOrStderr()
	defer func() { f.conn = nil }()
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	return fn(ctx, conn)
}

// requestID returns the given idempotency key or a fresh one.
func requestID(given string) string {
	if given != "" {
		return given
	}
	return event.NewID()
}

// rpcCommand builds a command calling RPCs of one service, through the
// client newClient makes, with the client flags (address, token, output).
func rpcCommand[C any](newClient func(grpc.ClientConnInterface) C, use, short, example string, args cobra.PositionalArgs,
	setup func(fs *pflag.FlagSet), run func(ctx context.Context, cmd *cobra.Command, args []string, c C, f *clientFlags) error) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: use, Short: short, Example: example, Args: usageArgs(args),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return run(ctx, cmd, args, newClient(conn), &f)
			})
		},
	}
	addClientFlags(cmd.Flags(), &f)
	if setup != nil {
		setup(cmd.Flags())
	}
	return cmd
}

// required marks flags of cmd required (a missing one is a usage error).
func required(cmd *cobra.Command, names ...string) *cobra.Command {
	for _, n := range names {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func addRequestID(fs *pflag.FlagSet, rid *string) {
	fs.StringVar(rid, "request-id", "", "idempotency key (default: a new one)")
}
