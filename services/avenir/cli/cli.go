// Package cli is the avenir command line: the server, and gRPC client
// commands that print tables for people and JSON for scripts.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/avenir-normandie/avenir/services/platform/config"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// Version is the binary's version, set at build time with -ldflags "-X".
var Version = "dev"

// Exit statuses of the command line (see exitStatuses).
const (
	exitOK         = 0
	exitIncomplete = 1
	exitUsage      = 2
)

// exitStatuses documents the exit statuses in the root help.
const exitStatuses = `Exit status:
  0  everything asked was done.
  1  something asked was not done: a call failed or was refused, a line was rejected
     or could not be read (funding hours import, report, correct, group-hours,
     claim-fee), one of several territories did not answer. The output, table or
     -o json, still shows in full what was done; standard error says what was not.
  2  usage error (unknown flag, bad value, missing argument): nothing was sent.`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(stderr, err)
		var usage usageError
		if errors.As(err, &usage) {
			return exitUsage
		}
		return exitIncomplete
	}
	return exitOK
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "avenir",
		Short: "avenir orchestrates #Avenir learner pathways (Normandy Region)",
		Long: "avenir runs the #Avenir services (server) and talks to them over gRPC (every other command).\n\n" +
			"Flags mean the same everywhere: --from and --to are the first and last days of a range, dates\n" +
			"being YYYY-MM-DD, today, today-N or today+N (Europe/Paris); --period is a month, YYYY-MM, or a\n" +
			"range of months, YYYY-MM..YYYY-MM; --territory is repeatable (--territory T05 --territory T14)\n" +
			"and takes comma-separated codes (T05,T14). Every flag can also come from AVENIR_<FLAG>.\n\n" + exitStatuses,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// Every flag can also come from AVENIR_<FLAG>; the command line wins.
		if err := config.ApplyEnv(cmd.Flags(), os.LookupEnv); err != nil {
			return usageError{err}
		}
		// Cobra checks required flags after this hook with an untyped
		// error; checking here makes a missing flag a usage error (exit 2).
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError{err}
		}
		return nil
	}
	root.AddCommand(newServerCmd(), newAuthCmd(), newLearnersCmd(), newPathwaysCmd(), newAnalysesCmd(), newReferentsCmd(), newImmersionsCmd(), newFundingCmd(), newDemoCmd(), newHealthcheckCmd(), newStreamsCmd(), newPrivacyCmd(), newNotificationsCmd())
	documentAll(root)
	return root
}

// documentAll notes each flag's environment variable in --help.
func documentAll(c *cobra.Command) {
	config.Document(c.Flags())
	config.Document(c.PersistentFlags())
	for _, sub := range c.Commands() {
		documentAll(sub)
	}
}

// usageArgs makes an argument validator's errors usage errors (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// errorLine is err on one line: a gRPC error as its code and message.
func errorLine(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Code().String() + ": " + st.Message()
	}
	return err.Error()
}

// printError explains an error; gRPC errors show their code, field
// violations and metadata (e.g. the id of an existing learner).
func printError(w io.Writer, err error) {
	st, ok := status.FromError(err)
	if !ok {
		fmt.Fprintf(w, "Error: %v\n", err)
		return
	}
	fields := grpcx.FieldViolations(err)
	if len(fields) > 0 {
		// The message repeats the violations; list them once, one a line.
		fmt.Fprintf(w, "Error: %s\n", st.Code())
	} else {
		fmt.Fprintf(w, "Error: %s: %s\n", st.Code(), st.Message())
	}
	for _, f := range fields {
		fmt.Fprintf(w, "  - %s: %s\n", f.Field, f.Description)
	}
	for k, v := range grpcx.Metadata(err) {
		fmt.Fprintf(w, "  %s: %s\n", k, v)
	}
}

// clientFlags are shared by every client command.
type clientFlags struct {
	addr    string
	token   string
	output  string
	timeout time.Duration

	// Set while a command runs (call): the connection, for the names a
	// table joins to ids (learnerNames, actorNames), where notes go, and
	// the referents' names already asked.
	conn      grpc.ClientConnInterface
	errOut    io.Writer
	referents map[string]string
}

func addClientFlags(fs *pflag.FlagSet, f *clientFlags) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:50051", "gRPC address of an avenir server")
	fs.StringVar(&f.token, "token", "", "bearer token (see `avenir auth token`)")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "deadline of each call")
}
