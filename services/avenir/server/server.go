// Package server runs any set of avenir services in one process: with an
// embedded NATS server in dev mode, or against a NATS cluster and Redis.
package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	funding "github.com/avenir-normandie/avenir/services/funding/service"
	immersion "github.com/avenir-normandie/avenir/services/immersion/service"
	intake "github.com/avenir-normandie/avenir/services/intake/service"
	needs "github.com/avenir-normandie/avenir/services/needs/service"
	notify "github.com/avenir-normandie/avenir/services/notify/service"
	pathway "github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/config"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/telemetry"
	referent "github.com/avenir-normandie/avenir/services/referent/service"
)

// Config is the server's configuration; see the flags in the cli package.
type Config struct {
	Dev        bool
	Services   []string
	DataDir    string
	GRPCAddr   string
	AdminAddr  string
	NATSURL    string
	NATSListen string
	NATSCreds  string
	// NATSNKey is an NKey seed file (with --nats-url): the identity of the
	// process's services (one connection each).
	NATSNKey string
	NATSCA   string
	NATSCert string
	NATSKey  string
	Replicas int
	// StreamMaxBytes bounds each stream (discard new: a full stream refuses
	// writes and the service reports it, history is never dropped); 0 means
	// natsx.DefaultStreamMaxBytes.
	StreamMaxBytes int64
	RedisURL       string
	// OIDCIssuer verifies tokens with the issuer's JWKS (production).
	OIDCIssuer string
	// Audience is the audience tokens must carry.
	Audience string
	// InsecureNoAuth serves every call as an admin without tokens; refused
	// on a non-loopback gRPC address.
	InsecureNoAuth bool
	RedisPrefix    string
	LogLevel       string
	LogFormat      string
	// ShutdownTimeout bounds the graceful stop.
	ShutdownTimeout time.Duration
	// TerritoriesFile replaces intake's embedded territories; empty keeps them.
	TerritoriesFile string
	// RetentionMonths is how long after a learner's last exit (or its
	// registration, when it never entered) intake's retention policy erases
	// its personal data; 0 means intake's default (24).
	RetentionMonths int
	// MaxEntryBackdateDays bounds how far back a pathway entry may be dated;
	// 0 means pathway's default (30).
	MaxEntryBackdateDays int
	// ReadyMaxLag is the consumer lag past which /readyz answers not
	// ready; 0 means platform.DefaultMaxLag.
	ReadyMaxLag uint64
	// HandoverGraceDays is how long a referent still reads a learner handed
	// over to another; 0 means referent's default (30).
	HandoverGraceDays int
	// QualifWeightPercent is what a learner followed in Qualif weighs in a
	// referent's capacity, in percent of an active learner; 0 means
	// referent's default (50).
	QualifWeightPercent int
	// MasterKeyFile holds the master key that wraps the learners' data keys
	// (64 hex characters, mode 0600); MasterKey is the same key given in
	// the environment (AVENIR_MASTER_KEY). One of them is required without
	// --dev; in dev mode, when neither is given, <data dir>/master.key is
	// used, created at the first start.
	MasterKeyFile string
	MasterKey     string
	// master is the master key Run loaded.
	master privacy.MasterKey
	// Console configures the web console (service "console").
	Console ConsoleConfig
	// Notify configures the notification service (service "notify").
	Notify NotifyConfig
	// Version is reported in telemetry.
	Version string
	// Now is the clock (tests set it); default time.Now.
	Now func() time.Time
	// DemoClock, in dev mode, is the services' clock instead of Now, moved
	// by avenir demo (in process, or with PUT /demo/clock?date=YYYY-MM-DD on
	// the admin address).
	DemoClock *DemoClock
	// Out receives the human-readable "listening on" lines.
	Out io.Writer
}

// constructor builds one service from the shared dependencies and the
// server's configuration.
type constructor func(platform.Deps, Config) (platform.Service, error)

// registry lists every service the binary can run, in start order, with
// the streams each owns.
var registry = []struct {
	name    string
	new     constructor
	streams func() []natsx.StreamSpec
}{
	{intake.Name, func(d platform.Deps, c Config) (platform.Service, error) {
		return intake.New(d, intake.Config{TerritoriesFile: c.TerritoriesFile, RetentionMonths: c.RetentionMonths})
	}, intake.Streams},
	{pathway.Name, func(d platform.Deps, c Config) (platform.Service, error) {
		return pathway.New(d, pathway.Config{MaxEntryBackdateDays: c.MaxEntryBackdateDays})
	}, pathway.Streams},
	{needs.Name, func(d platform.Deps, _ Config) (platform.Service, error) {
		return needs.New(d, needs.Config{})
	}, needs.Streams},
	{referent.Name, func(d platform.Deps, c Config) (platform.Service, error) {
		return referent.New(d, referent.Config{HandoverGraceDays: c.HandoverGraceDays, QualifWeightPercent: c.QualifWeightPercent})
	}, referent.Streams},
	{immersion.Name, func(d platform.Deps, _ Config) (platform.Service, error) {
		return immersion.New(d, immersion.Config{})
	}, immersion.Streams},
	{funding.Name, func(d platform.Deps, _ Config) (platform.Service, error) {
		return funding.New(d, funding.Config{})
	}, funding.Streams},
	{notify.Name, func(d platform.Deps, c Config) (platform.Service, error) {
		nc, err := c.notifyConfig()
		if err != nil {
			return nil, err
		}
		return notify.New(d, nc)
	}, notify.Streams},
}

// Catalog lists every stream the binary's services use: each context's
// streams, the dead-letter stream and the key store. The admin identity
// creates and updates them (`avenir streams ensure`; the dev server before
// its services start); the services only wait for them.
func Catalog() []natsx.StreamSpec {
	var specs []natsx.StreamSpec
	for _, r := range registry {
		specs = append(specs, r.streams()...)
	}
	return append(specs, consumer.DLQSpec(), privacy.StreamSpec())
}

// ServiceNames lists the services this binary can run.
func ServiceNames() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.name
	}
	return names
}

// Validate reports every configuration problem at once.
func (c *Config) Validate() error {
	var p config.Problems
	known := append(ServiceNames(), ConsoleService)
	backend := len(c.backendServices()) > 0
	if len(c.Services) == 0 {
		p.Add("services", "no service selected (known: %s)", strings.Join(known, ","))
	}
	for _, s := range c.Services {
		if !slices.Contains(known, s) {
			p.Add("services", "unknown service %q (known: %s)", s, strings.Join(known, ","))
		}
	}
	if !c.Dev && c.NATSURL == "" && backend {
		p.Add("nats-url", "required without --dev (the dev mode embeds a NATS server)")
	}
	if c.Dev && c.NATSURL == "" && c.DataDir == "" {
		p.Add("data-dir", "required for the embedded NATS server")
	}
	for name, addr := range map[string]string{"grpc-addr": c.GRPCAddr, "admin-addr": c.AdminAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			p.Add(name, "%q is not host:port", addr)
		}
	}
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		p.Add("replicas", "must be 1, 3 or 5, got %d", c.Replicas)
	}
	if c.Dev && c.NATSURL == "" && c.Replicas != 1 {
		p.Add("replicas", "the embedded single-node NATS server holds one replica")
	}
	if c.NATSURL == "" && (c.NATSCreds != "" || c.NATSNKey != "") {
		p.Add("nats-url", "required with --nats-creds or --nats-nkey (the embedded server's identities are in --data-dir)")
	}
	if c.NATSCreds != "" && c.NATSNKey != "" {
		p.Add("nats-nkey", "a credentials file (--nats-creds) or an NKey seed file (--nats-nkey), not both")
	}
	if c.DemoClock != nil && !c.Dev {
		p.Add("demo-clock", "only in --dev mode: a demonstration's clock is not for real data")
	}
	switch {
	case c.MasterKeyFile != "" && c.MasterKey != "":
		p.Add("master-key-file", "the master key comes from a file or from %s, not both", privacy.MasterKeyEnv)
	case c.MasterKeyFile == "" && c.MasterKey == "" && !c.Dev && backend:
		p.Add("master-key-file", "required without --dev, or the key in %s: it wraps the learners' data keys (64 hex characters, e.g. openssl rand -hex 32)", privacy.MasterKeyEnv)
	case c.MasterKeyFile == "" && c.MasterKey == "" && c.DataDir == "":
		p.Add("data-dir", "required for the dev master key")
	}
	if c.StreamMaxBytes != 0 && c.StreamMaxBytes < 1<<20 {
		p.Add("stream-max-bytes", "must be at least 1 MiB, got %d", c.StreamMaxBytes)
	}
	switch {
	case c.InsecureNoAuth && c.OIDCIssuer != "":
		p.Add("insecure-no-auth", "cannot be combined with --oidc-issuer")
	case c.InsecureNoAuth:
		if host, _, err := net.SplitHostPort(c.GRPCAddr); err == nil && !natsx.IsLoopback(host) {
			p.Add("insecure-no-auth", "refused: the gRPC address %q is not loopback; authentication is only off for local experiments", c.GRPCAddr)
		}
	case !c.Dev && c.OIDCIssuer == "":
		p.Add("oidc-issuer", "required without --dev (the dev mode verifies tokens minted with its dev key)")
	case c.OIDCIssuer == "" && c.DataDir == "":
		p.Add("data-dir", "required for the dev signing key")
	}
	if c.RetentionMonths < 0 || c.RetentionMonths > intake.MaxRetentionMonths {
		p.Add("retention-months", "must be between 1 and %d, got %d", intake.MaxRetentionMonths, c.RetentionMonths)
	}
	if c.HandoverGraceDays < 0 || c.HandoverGraceDays > 3660 {
		p.Add("handover-grace-days", "must be between 0 and 3660, got %d", c.HandoverGraceDays)
	}
	if c.QualifWeightPercent < 0 || c.QualifWeightPercent > 100 {
		p.Add("qualif-weight-percent", "must be between 1 and 100, got %d", c.QualifWeightPercent)
	}
	if c.MaxEntryBackdateDays < 0 || c.MaxEntryBackdateDays > 3660 {
		p.Add("max-entry-backdate-days", "must be between 0 and 3660, got %d", c.MaxEntryBackdateDays)
	}
	if c.Audience == "" {
		p.Add("audience", "must not be empty")
	}
	c.validateConsole(&p)
	c.validateNotify(&p)
	if _, err := parseLevel(c.LogLevel); err != nil {
		p.Add("log-level", "%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		p.Add("log-format", "must be text or json, got %q", c.LogFormat)
	}
	return p.Err()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// Run starts the configured services and blocks until ctx ends, then stops
// them gracefully. ready, when not nil, is called once everything serves,
// with the addresses actually bound.
func Run(ctx context.Context, cfg Config, ready func(Addrs)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DemoClock != nil {
		cfg.Now = cfg.DemoClock.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	level, _ := parseLevel(cfg.LogLevel)
	log := telemetry.NewLogger(os.Stderr, level, cfg.LogFormat)

	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "avenir", Version: cfg.Version})
	if err != nil {
		return err
	}
	defer shutdownWith(cfg.ShutdownTimeout, "telemetry", log, tel.Shutdown)

	// The admin port answers /healthz at once and /readyz once serving.
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	var serving atomic.Pointer[platform.Running]
	// consoleReady is set once a console-only process serves.
	var consoleReady atomic.Bool
	// waitingFor are the streams the services wait for while starting.
	var waitingFor atomic.Pointer[[]string]
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	adminDone := make(chan error, 1)
	go func() {
		var admin http.Handler = telemetry.AdminHandler(tel.Registry(), func(ctx context.Context) []telemetry.Check {
			running := serving.Load()
			if running == nil && consoleReady.Load() {
				return nil
			}
			if running == nil {
				if missing := waitingFor.Load(); missing != nil && len(*missing) > 0 {
					return []telemetry.Check{{Name: "serving", Detail: "waiting for streams " + strings.Join(*missing, ", ") +
						" (created by the admin identity: avenir streams ensure)"}}
				}
				return []telemetry.Check{{Name: "serving", Detail: "starting or stopping"}}
			}
			return running.Ready(ctx, platform.ReadyOptions{MaxLag: cfg.ReadyMaxLag})
		})
		if cfg.DemoClock != nil {
			mux := http.NewServeMux()
			mux.Handle("/demo/clock", cfg.DemoClock.Handler())
			mux.Handle("/", admin)
			admin = mux
		}
		adminDone <- telemetry.ServeAdmin(adminCtx, adminLis, admin)
	}()
	defer func() { stopAdmin(); <-adminDone }()

	addrs := Addrs{Admin: adminLis.Addr().String()}
	if len(cfg.backendServices()) == 0 {
		return runConsoleOnly(ctx, cfg, log, addrs, &consoleReady, ready)
	}
	master, err := cfg.loadMasterKey()
	if err != nil {
		return err
	}
	cfg.master = master
	topology := natsx.Topology{Replicas: cfg.Replicas, StreamMaxBytes: cfg.StreamMaxBytes}
	nb := connectExternal(cfg, log)
	if cfg.NATSURL == "" {
		if nb, err = startEmbedded(ctx, cfg, topology, log); err != nil {
			return err
		}
	}
	defer nb.close()

	var store projection.Store
	if cfg.RedisURL != "" {
		store, err = projection.NewRedis(ctx, projection.RedisOptions{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix})
		if err != nil {
			return err
		}
	} else {
		store = projection.NewMemory()
	}
	defer store.Close()

	if slices.Contains(cfg.Services, notify.Name) {
		cfg.Notify.contacts = &notify.IntakeContacts{}
	}
	// Each service connects with its own NATS identity.
	base := platform.Deps{Logger: log, Projections: store, Topology: topology, Now: cfg.Now}
	units, err := build(base, cfg, nb.connect)
	if err != nil {
		return err
	}
	defer func() {
		for _, u := range units {
			if u.Deps.Keys != nil {
				u.Deps.Keys.Close()
			}
		}
	}()
	services := make([]platform.Service, len(units))
	for i, u := range units {
		services[i] = u.Service
	}
	addrs.NATS = nb.URL()

	authz, verifier, howToMint, err := authorizer(ctx, cfg, services, log)
	if err != nil {
		return err
	}
	grpcSrv := grpcx.NewServer(grpcx.ServerOptions{
		Logger:             log,
		UnaryInterceptors:  []grpc.UnaryServerInterceptor{authz.Unary()},
		StreamInterceptors: []grpc.StreamServerInterceptor{authz.Stream()},
	})
	var policies []auth.Policy
	for _, svc := range services {
		svc.Register(grpcSrv)
		policies = append(policies, svc.Policy())
	}
	if missing := auth.Merge(policies...).Uncovered(grpcSrv); len(missing) > 0 {
		return fmt.Errorf("methods without an access policy entry (nobody could call them): %s", strings.Join(missing, ", "))
	}
	log.Info("starting services", "services", cfg.Services)
	running, err := platform.StartUnits(ctx, units, platform.StartOptions{
		Waiting: func(missing []string) { waitingFor.Store(&missing) },
	})
	if err != nil {
		return err
	}
	defer shutdownWith(cfg.ShutdownTimeout, "services", log, running.Stop)

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	addrs.GRPC = grpcLis.Addr().String()
	serveDone := make(chan error, 1)
	go func() { serveDone <- grpcSrv.Serve(grpcLis) }()
	serving.Store(running)
	closeNotify, err := connectNotify(cfg, addrs.GRPC, log)
	if err != nil {
		return err
	}
	defer closeNotify()
	if cfg.runsConsole() {
		consoleAddr, stopConsole, err := startConsole(ctx, cfg, addrs.GRPC, verifier, log)
		if err != nil {
			return err
		}
		defer shutdownWith(cfg.ShutdownTimeout, "console", log, stopConsole)
		addrs.Console = consoleAddr
	}

	fmt.Fprintf(cfg.Out, "avenir serving %s\n", strings.Join(cfg.Services, ", "))
	if addrs.Console != "" {
		fmt.Fprintf(cfg.Out, "  console:    %s (web console, in French)\n", consoleURL(cfg, addrs.Console))
	}
	fmt.Fprintf(cfg.Out, "  gRPC:       %s\n  admin HTTP: http://%s (/metrics /healthz /readyz)\n  NATS:       %s\n",
		addrs.GRPC, addrs.Admin, addrs.NATS)
	if nb.embedded != nil {
		fmt.Fprintf(cfg.Out, "  data dir:   %s\n", cfg.DataDir)
		fmt.Fprintf(cfg.Out, "  nats CLI:   nats --server %s --nkey %s stream ls\n", addrs.NATS, natsx.NKeyFile(filepath.Join(cfg.DataDir, natsx.IdentitiesDir), natsx.IdentityOps))
	}
	if howToMint != "" {
		fmt.Fprintf(cfg.Out, "  tokens:     %s\n", howToMint)
	}
	log.Info("serving", "grpc", addrs.GRPC, "admin", addrs.Admin, "nats", addrs.NATS, "console", addrs.Console, "services", cfg.Services)
	if ready != nil {
		ready(addrs)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveDone:
		return fmt.Errorf("gRPC server stopped: %w", err)
	}
	serving.Store(nil)
	shutdownWith(cfg.ShutdownTimeout, "gRPC", log, func(ctx context.Context) error { grpcSrv.Shutdown(ctx); return nil })
	return nil
}

// authorizer builds the authentication of gRPC calls: OIDC, the dev key
// (created under the data dir), or none. It also says how to get a token.
func authorizer(ctx context.Context, cfg Config, services []platform.Service, log *slog.Logger) (*auth.Authorizer, auth.Verifier, string, error) {
	var policies []auth.Policy
	for _, svc := range services {
		policies = append(policies, svc.Policy())
	}
	opts := auth.Options{Policy: auth.Merge(policies...), Logger: log}
	var how string
	switch {
	case cfg.InsecureNoAuth:
		opts.Insecure = true
		how = "none needed: authentication is OFF (--insecure-no-auth), every call acts as an admin"
		log.Warn("authentication is off: every call acts as an admin (--insecure-no-auth)")
	case cfg.OIDCIssuer != "":
		how = "issued by " + cfg.OIDCIssuer
	default:
		how = fmt.Sprintf("export AVENIR_TOKEN=$(avenir auth token --data-dir %s --role admin --subject me)", cfg.DataDir)
	}
	if !cfg.InsecureNoAuth {
		v, err := verifierFor(ctx, cfg)
		if err != nil {
			return nil, nil, "", err
		}
		opts.Verifier = v
	}
	a, err := auth.NewAuthorizer(opts)
	return a, opts.Verifier, how, err
}

// verifierFor is the verifier of tokens: the OIDC issuer's keys, or the
// dev key (created under the data dir).
func verifierFor(ctx context.Context, cfg Config) (auth.Verifier, error) {
	if cfg.OIDCIssuer != "" {
		return auth.NewOIDC(ctx, auth.OIDCOptions{Issuer: cfg.OIDCIssuer, Audience: cfg.Audience})
	}
	key, err := auth.LoadOrCreateDevKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return auth.NewStaticVerifier(auth.DevIssuer, cfg.Audience, cfg.Now, key.Public())
}

// Addrs are the addresses a running server is bound to.
type Addrs struct {
	GRPC, Admin, NATS string
	// Console is the web console's HTTP address, when it runs.
	Console string
}

// build builds the configured services, each with base and its own NATS
// connection, made by connect.
func build(base platform.Deps, cfg Config, connect func(service string) (*nats.Conn, error)) ([]platform.Unit, error) {
	var out []platform.Unit
	for _, r := range registry {
		if !slices.Contains(cfg.Services, r.name) {
			continue
		}
		nc, err := connect(r.name)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", r.name, err)
		}
		deps := base
		deps.NC = nc
		if deps.JS, err = jetstream.New(nc); err != nil {
			return nil, fmt.Errorf("build %s: jetstream: %w", r.name, err)
		}
		// The service's own key store client, under its own identity.
		if deps.Keys, err = privacy.New(deps.JS, privacy.Options{Master: cfg.master, Logger: base.Logger}); err != nil {
			return nil, fmt.Errorf("build %s: %w", r.name, err)
		}
		svc, err := r.new(deps, cfg)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", r.name, err)
		}
		out = append(out, platform.Unit{Service: svc, Deps: deps})
	}
	return out, nil
}

// loadMasterKey reads the master key: from MasterKeyFile, from MasterKey
// (AVENIR_MASTER_KEY), or, in dev mode, from <data dir>/master.key,
// creating it.
func (c *Config) loadMasterKey() (privacy.MasterKey, error) {
	switch {
	case c.MasterKeyFile != "":
		return privacy.LoadMasterKeyFile(c.MasterKeyFile)
	case c.MasterKey != "":
		m, err := privacy.ParseMasterKey(c.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", privacy.MasterKeyEnv, err)
		}
		return m, nil
	default:
		return privacy.LoadOrCreateDevMasterKey(c.DataDir)
	}
}

func shutdownWith(timeout time.Duration, what string, log *slog.Logger, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("shutdown", "component", what, "error", err)
	}
}
