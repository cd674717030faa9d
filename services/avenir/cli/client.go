package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
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
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	return fn(ctx, conn)
}

// field is one row of a table.
type field struct{ name, value string }

// print writes msg as JSON (protobuf JSON mapping, field names as in the
// .proto files) or as a two-column table of rows.
func (f *clientFlags) print(w io.Writer, msg proto.Message, rows []field) error {
	if f.output == "json" {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
		if err != nil {
			return err
		}
		var indented json.RawMessage = b
		out, err := json.MarshalIndent(indented, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", out)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.name, r.value)
	}
	return tw.Flush()
}

// requestID returns the given idempotency key or a fresh one.
func requestID(given string) string {
	if given != "" {
		return given
	}
	return event.NewID()
}

// parseDate reads a date flag: YYYY-MM-DD, "today" (in Europe/Paris),
// "today-N" (N days before today) or "today+N" (N days after).
func parseDate(flag, value string) (*commonv1.Date, error) {
	if rest, ok := strings.CutPrefix(value, "today"); ok {
		days := 0
		if rest != "" {
			n, err := strconv.Atoi(rest[min(1, len(rest)):])
			if (rest[0] != '-' && rest[0] != '+') || err != nil || n < 0 || n > 36600 {
				return nil, usageError{fmt.Errorf("--%s: %q is not today, today-N or today+N", flag, value)}
			}
			days = n
			if rest[0] == '-' {
				days = -n
			}
		}
		return civilpb.FromDate(civil.Of(time.Now()).AddDays(days)), nil
	}
	d, err := civil.Parse(value)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return civilpb.FromDate(d), nil
}

func dateString(d *commonv1.Date) string { return civilpb.Date(d).String() }

// optionalDate reads a date flag that may be left empty.
func optionalDate(flag, value string) (*commonv1.Date, error) {
	if value == "" {
		return nil, nil
	}
	return parseDate(flag, value)
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
