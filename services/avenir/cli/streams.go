package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

func newStreamsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Administer avenir's JetStream streams (as the NATS admin identity)",
		Args:  usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newStreamsEnsureCmd())
	return cmd
}

func newStreamsEnsureCmd() *cobra.Command {
	var (
		cfg     server.StreamsConfig
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Create every stream avenir uses, or update it to its declared configuration",
		Long: `Create every stream avenir uses (each context's, the dead-letter stream, the key
store), or update it to its declared configuration, connected as the NATS admin identity.
The services never create nor change a stream: a service that finds one missing waits for
it. Run it before the services' first start and at every upgrade (the Helm chart runs it
as a pre-install and pre-upgrade hook, compose as a one-shot service). Prints what was done
to each stream: created, updated or unchanged.

  avenir streams ensure --nats-url nats://nats-1:4222,nats://nats-2:4222 --nats-creds admin.creds --replicas 3
      a NATS cluster, with the admin identity's credentials (--nats-creds, --nats-nkey,
      or a user and password in the URL).

  avenir streams ensure --data-dir data
      the dev server using data (it ensures its streams itself when it starts): its
      address is --nats-listen, its admin identity data/nats-identities/admin.nk.`,
		Example: "  avenir streams ensure --nats-url nats://admin:$ADMIN_PASSWORD@nats:4222 --replicas 3",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STREAM\tSUBJECTS\tCHANGE")
			err := server.EnsureStreams(ctx, cfg, func(spec natsx.StreamSpec, change natsx.StreamChange) {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", spec.Name, strings.Join(spec.Subjects, ","), change)
			})
			if ferr := tw.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS server(s), comma-separated; empty: the dev server of --data-dir")
	fs.StringVar(&cfg.NATSCreds, "nats-creds", "", "NATS credentials file of the admin identity")
	fs.StringVar(&cfg.NATSNKey, "nats-nkey", "", "NATS NKey seed file of the admin identity")
	fs.StringVar(&cfg.NATSCA, "nats-ca", "", "CA file to verify NATS servers")
	fs.StringVar(&cfg.NATSCert, "nats-cert", "", "client certificate for NATS mutual TLS")
	fs.StringVar(&cfg.NATSKey, "nats-key", "", "client key for NATS mutual TLS")
	fs.StringVar(&cfg.DataDir, "data-dir", "data", "without --nats-url: the dev server's data dir (its admin identity)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", natsx.DefaultEmbeddedListen, "without --nats-url: the dev server's NATS address")
	fs.IntVar(&cfg.Replicas, "replicas", 1, "stream replicas: 1 on one node, 3 in a cluster")
	fs.Int64Var(&cfg.StreamMaxBytes, "stream-max-bytes", natsx.DefaultStreamMaxBytes, "size bound of each stream in bytes; a full stream refuses writes")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to keep trying (a cluster still electing its leaders answers late)")
	return cmd
}
