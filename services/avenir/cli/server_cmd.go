package cli

import (
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	notify "github.com/avenir-normandie/avenir/services/notify/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

func newServerCmd() *cobra.Command {
	cfg := server.Config{}
	var services, demoClock string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run avenir services (all of them with --dev)",
		Long: `Run avenir services.

  avenir server --dev
      every service in one process, with an embedded NATS server storing its
      streams under --data-dir, read models in memory (rebuilt from the
      streams at start) unless --redis-url is given. The embedded server
      accepts only avenir's NATS identities, whose NKey seeds it creates in
      <data dir>/nats-identities (ops.nk is for the nats CLI); it creates
      the streams as admin, and each service connects as itself.

  avenir server --services=intake --nats-url=nats://... --redis-url=redis://...
      some services against an external NATS (cluster) and Redis, connected
      with the service's identity (--nats-creds, --nats-nkey, or a user and
      password in the URL). The streams must be created first, with the
      admin identity: avenir streams ensure; until then the service waits.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Services = splitList(services)
			cfg.Version = Version
			// The master key itself only from the environment, never a flag
			// (a command line is visible to every local user).
			cfg.MasterKey = os.Getenv(privacy.MasterKeyEnv)
			cfg.Console.OIDCClientSecret = os.Getenv(server.ConsoleSecretEnv)
			cfg.Notify.SMTPPassword = os.Getenv(notify.SMTPPasswordEnv)
			if demoClock != "" {
				day, err := parseDate("demo-clock", demoClock)
				if err != nil {
					return err
				}
				if !cfg.Dev {
					return usageError{errors.New("--demo-clock: only with --dev")}
				}
				if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
					return err
				}
				if cfg.DemoClock, err = server.NewDemoClock(civilpb.Date(day), cfg.DataDir); err != nil {
					return err
				}
			}
			cfg.Out = cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, cfg, nil)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&cfg.Dev, "dev", false, "development mode: embedded NATS server, zero configuration")
	fs.StringVar(&services, "services", strings.Join(append(server.ServiceNames(), server.ConsoleService), ","), "comma-separated services to run ("+server.ConsoleService+" is the web console)")
	fs.StringVar(&cfg.DataDir, "data-dir", "data", "where the embedded NATS server stores its streams")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:50051", "gRPC listen address")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "127.0.0.1:9464", "admin HTTP listen address (/metrics, /healthz, /readyz)")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "external NATS server(s), comma-separated; empty with --dev embeds one")
	fs.StringVar(&cfg.NATSListen, "nats-listen", natsx.DefaultEmbeddedListen, "client address of the embedded NATS server (loopback only)")
	fs.StringVar(&cfg.NATSCreds, "nats-creds", "", "NATS credentials file (user JWT and NKey seed) of the services' identity, with --nats-url")
	fs.StringVar(&cfg.NATSNKey, "nats-nkey", "", "NATS NKey seed file of the services' identity, with --nats-url")
	fs.StringVar(&cfg.NATSCA, "nats-ca", "", "CA file to verify NATS servers")
	fs.StringVar(&cfg.NATSCert, "nats-cert", "", "client certificate for NATS mutual TLS")
	fs.StringVar(&cfg.NATSKey, "nats-key", "", "client key for NATS mutual TLS")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "file holding the master key that wraps the learners' data keys (64 hex characters, mode 0600; or the key itself in "+privacy.MasterKeyEnv+"); required without --dev, which creates <data-dir>/"+privacy.DevMasterKeyFile)
	fs.IntVar(&cfg.Replicas, "replicas", 1, "stream replicas: 1 on one node, 3 in a cluster")
	fs.Int64Var(&cfg.StreamMaxBytes, "stream-max-bytes", natsx.DefaultStreamMaxBytes, "size bound of each stream in bytes; a full stream refuses writes")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "Redis for read models (redis://host:port/db); empty keeps them in memory")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", "avenir:", "prefix of every Redis key")
	fs.StringVar(&cfg.OIDCIssuer, "oidc-issuer", "", "verify tokens with this OpenID Connect issuer's keys (production); empty with --dev uses the dev key in --data-dir")
	fs.StringVar(&cfg.Audience, "audience", auth.DefaultAudience, "audience tokens must carry")
	fs.BoolVar(&cfg.InsecureNoAuth, "insecure-no-auth", false, "no authentication, every call acts as an admin (local experiments only; refused on a non-loopback address)")
	fs.StringVar(&cfg.TerritoriesFile, "territories-file", "", "JSON file replacing the 18 territories shipped with intake (same format as services/intake/domain/reference/territories.json)")
	fs.IntVar(&cfg.MaxEntryBackdateDays, "max-entry-backdate-days", 30, "how many days back a pathway entry may be dated")
	fs.IntVar(&cfg.HandoverGraceDays, "handover-grace-days", 30, "how many days a referent still reads a learner after handing them over")
	fs.IntVar(&cfg.QualifWeightPercent, "qualif-weight-percent", 50, "what a learner followed in Qualif (exited to qualifying training, until the outcome) weighs in a referent's capacity, in percent of an active learner (1 to 100; 50: two take one place)")
	fs.IntVar(&cfg.RetentionMonths, "retention-months", 24, "months after a learner's last exit (or registration, if never entered) when the retention policy erases its personal data")
	fs.Uint64Var(&cfg.ReadyMaxLag, "ready-max-lag", platform.DefaultMaxLag, "events a read model or consumer may lag behind its stream before /readyz answers not ready")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "text or json")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long a graceful stop may take")
	fs.StringVar(&cfg.Console.Addr, "console-addr", server.DefaultConsoleAddr, "HTTP listen address of the web console (service "+server.ConsoleService+")")
	fs.StringVar(&cfg.Console.URL, "console-url", "", "public address of the web console (https://...); required beyond loopback and with --oidc-issuer; empty: http://<console-addr>")
	fs.StringVar(&cfg.Console.Upstreams, "console-upstreams", "", "gRPC addresses the console calls: host:port for all services, or intake=host:port,pathway=host:port,... (*=host:port for the others); empty: this process")
	fs.StringVar(&cfg.Console.OIDCClientID, "console-oidc-client-id", "", "the console's client id at the OIDC issuer (authorization code flow with PKCE); its secret, if any, in "+server.ConsoleSecretEnv)
	fs.StringVar(&cfg.Notify.SMTPURL, "smtp-url", "", "SMTP server of the notification e-mails: smtp[s]://user@host:port?from=avenir@example.fr (password in "+notify.SMTPPasswordEnv+"); empty: no e-mail, notifications stay in-app")
	fs.StringVar(&cfg.Notify.IntakeAddr, "notify-intake-addr", "", "gRPC address of intake, where notify reads a learner's e-mail address at send time; empty: this process")
	fs.StringVar(&cfg.Notify.TokenFile, "notify-token-file", "", "file holding notify's own bearer token (role service, subject notify) with --oidc-issuer, read at each call; the dev server mints it")
	fs.DurationVar(&cfg.Console.IdleTimeout, "console-idle-timeout", 30*time.Minute, "a console session ends after this long without a request")
	fs.StringVar(&demoClock, "demo-clock", "", "dev only: the services' clock stands on this day (YYYY-MM-DD, today-N) and moves only with PUT /demo/clock?date=YYYY-MM-DD on the admin address (avenir demo); a restarted server resumes the day kept in --data-dir")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
