package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/avenir-normandie/avenir/services/console"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/config"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// ConsoleService is the name of the web console in --services. It owns no
// stream: it calls the other services' gRPC APIs, like the CLI.
const ConsoleService = "console"

// DefaultConsoleAddr is where the dev server serves the console.
const DefaultConsoleAddr = "127.0.0.1:8080"

// ConsoleConfig configures the web console.
type ConsoleConfig struct {
	// Addr is the console's HTTP listen address.
	Addr string
	// URL is the console's public address (https://... in production): the
	// OIDC redirection goes back to it and cookies are Secure when it is
	// https. Empty: http://<Addr>, loopback only.
	URL string
	// Upstreams are the gRPC addresses the console calls: "host:port" for
	// every service, or "intake=host:port,pathway=host:port,..." per service
	// (a "*=host:port" entry for the others). Empty: this process's gRPC
	// address.
	Upstreams string
	// OIDCClientID identifies the console at the OIDC issuer (with
	// --oidc-issuer); OIDCClientSecret is its secret, from the environment
	// only (AVENIR_CONSOLE_OIDC_CLIENT_SECRET); empty for a public client.
	OIDCClientID     string
	OIDCClientSecret string
	// IdleTimeout ends a session after this long without a request.
	IdleTimeout time.Duration
}

// ConsoleSecretEnv holds the console's OIDC client secret.
const ConsoleSecretEnv = "AVENIR_CONSOLE_OIDC_CLIENT_SECRET"

// backendServices are the selected services besides the console.
func (c *Config) backendServices() []string {
	return slices.DeleteFunc(slices.Clone(c.Services), func(s string) bool { return s == ConsoleService })
}

// runsConsole reports whether the console is selected and can run: it
// needs authentication (never with --insecure-no-auth).
func (c *Config) runsConsole() bool {
	return slices.Contains(c.Services, ConsoleService) && !c.InsecureNoAuth
}

// validateConsole adds the console's configuration problems.
func (c *Config) validateConsole(p *config.Problems) {
	if !c.runsConsole() {
		return
	}
	cc := c.Console
	if _, _, err := net.SplitHostPort(cc.Addr); err != nil {
		p.Add("console-addr", "%q is not host:port", cc.Addr)
	}
	if cc.URL != "" {
		u, err := url.Parse(cc.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.Add("console-url", "%q is not an http(s) URL", cc.URL)
		} else if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
			p.Add("console-url", "%q: plain http only on a loopback address (session cookies must be Secure)", cc.URL)
		}
	} else if host, _, err := net.SplitHostPort(cc.Addr); err == nil && !isLoopbackHost(host) {
		p.Add("console-url", "required when the console listens beyond loopback (%s): its public https address", cc.Addr)
	}
	if c.OIDCIssuer != "" && cc.OIDCClientID == "" {
		p.Add("console-oidc-client-id", "required with --oidc-issuer: the console's client id at the identity provider")
	}
	if c.OIDCIssuer != "" && cc.URL == "" {
		p.Add("console-url", "required with --oidc-issuer: the identity provider sends people back to <console-url>/connexion/retour")
	}
	if _, err := parseUpstreams(cc.Upstreams, ""); err != nil {
		p.Add("console-upstreams", "%v", err)
	}
	if len(c.backendServices()) == 0 && cc.Upstreams == "" {
		p.Add("console-upstreams", "required when the console runs without the other services: their gRPC addresses")
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseUpstreams reads --console-upstreams: the address of each service
// ("*" for the default), self (this process's gRPC address, "" when it
// serves none) when not given.
func parseUpstreams(s, self string) (map[string]string, error) {
	out := map[string]string{}
	if self != "" {
		out["*"] = self
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	if !strings.Contains(s, "=") {
		out["*"] = s
		return out, checkAddrs(out)
	}
	known := ServiceNames()
	for part := range strings.SplitSeq(s, ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || (name != "*" && !slices.Contains(known, name)) {
			return nil, fmt.Errorf("%q: expected service=host:port, service one of *,%s", part, strings.Join(known, ","))
		}
		out[name] = addr
	}
	return out, checkAddrs(out)
}

func checkAddrs(m map[string]string) error {
	for name, addr := range m {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s: %q is not host:port", name, addr)
		}
	}
	return nil
}

// startConsole serves the console on its address, calling the services at
// grpcAddr (this process) or at the configured upstreams. It returns the
// address bound and a function that stops it.
func startConsole(ctx context.Context, cfg Config, grpcAddr string, verifier auth.Verifier, log *slog.Logger) (string, func(context.Context) error, error) {
	cc := cfg.Console
	ups, err := parseUpstreams(cc.Upstreams, grpcAddr)
	if err != nil {
		return "", nil, err
	}
	conns := map[string]*grpc.ClientConn{}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	var dialErr error
	clients := console.NewClients(func(service string) grpc.ClientConnInterface {
		addr, ok := ups[service]
		if !ok {
			addr, ok = ups["*"]
		}
		if !ok {
			// A service not deployed: its pages say it is unavailable.
			return absentService(service)
		}
		if c, ok := conns[addr]; ok {
			return c
		}
		c, err := grpcx.Dial(addr)
		if err != nil {
			dialErr = errors.Join(dialErr, err)
		}
		conns[addr] = c
		return c
	})
	if dialErr != nil {
		closeAll()
		return "", nil, dialErr
	}
	lis, err := net.Listen("tcp", cc.Addr)
	if err != nil {
		closeAll()
		return "", nil, fmt.Errorf("console listener: %w", err)
	}
	publicURL := cc.URL
	if publicURL == "" {
		publicURL = "http://" + lis.Addr().String()
	}
	ccfg := console.Config{
		Clients: clients, Verifier: verifier, Audience: cfg.Audience,
		Secure: strings.HasPrefix(publicURL, "https://"), IdleTimeout: cc.IdleTimeout,
		Now: cfg.Now, Demo: cfg.Dev, Logger: log,
	}
	if cfg.OIDCIssuer != "" {
		ccfg.OIDC = &console.OIDCConfig{
			Issuer: cfg.OIDCIssuer, ClientID: cc.OIDCClientID, ClientSecret: cc.OIDCClientSecret,
			RedirectURL: strings.TrimSuffix(publicURL, "/") + "/connexion/retour",
		}
	} else {
		if ccfg.DevKey, err = auth.LoadOrCreateDevKey(cfg.DataDir); err != nil {
			lis.Close()
			closeAll()
			return "", nil, err
		}
	}
	h, err := console.New(ctx, ccfg)
	if err != nil {
		lis.Close()
		closeAll()
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console stopped", "error", err)
		}
	}()
	stop := func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		closeAll()
		return err
	}
	return lis.Addr().String(), stop, nil
}

// consoleURL is the address people open.
func consoleURL(cfg Config, addr string) string {
	if cfg.Console.URL != "" {
		return cfg.Console.URL
	}
	return "http://" + addr
}

// runConsoleOnly serves the console alone (microservices mode), calling
// the services at their configured addresses, until ctx ends.
func runConsoleOnly(ctx context.Context, cfg Config, log *slog.Logger, addrs Addrs, ready *atomic.Bool, onReady func(Addrs)) error {
	if !cfg.runsConsole() {
		return errors.New("no service to run: the console needs authentication (not with --insecure-no-auth)")
	}
	verifier, err := verifierFor(ctx, cfg)
	if err != nil {
		return err
	}
	addr, stop, err := startConsole(ctx, cfg, "", verifier, log)
	if err != nil {
		return err
	}
	defer shutdownWith(cfg.ShutdownTimeout, "console", log, stop)
	addrs.Console = addr
	ready.Store(true)
	fmt.Fprintf(cfg.Out, "avenir serving console\n  console:    %s (web console, in French)\n  admin HTTP: http://%s (/metrics /healthz /readyz)\n",
		consoleURL(cfg, addr), addrs.Admin)
	log.Info("serving", "console", addr, "admin", addrs.Admin)
	if onReady != nil {
		onReady(addrs)
	}
	<-ctx.Done()
	ready.Store(false)
	return nil
}

// absentService is a service the console has no address for: every call
// answers Unavailable, and the pages that need it say so.
type absentService string

func (a absentService) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Errorf(codes.Unavailable, "the %s service is not deployed (no address in --console-upstreams)", string(a))
}

func (a absentService) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, a.Invoke(context.Background(), "", nil, nil)
}
