package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	notify "github.com/avenir-normandie/avenir/services/notify/service"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/config"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// NotifyConfig configures the notification service (service "notify").
type NotifyConfig struct {
	// SMTPURL is smtp[s]://user:pass@host:port?from=avenir@example.fr;
	// empty: no e-mail is sent, notifications stay in-app.
	SMTPURL string
	// SMTPPassword, from the environment (AVENIR_SMTP_PASSWORD), replaces
	// the URL's password.
	SMTPPassword string
	// IntakeAddr is the gRPC address of intake, where notify reads a
	// learner's e-mail address at send time; empty: this process.
	IntakeAddr string
	// TokenFile holds notify's own bearer token (role "service", subject
	// "notify") when tokens come from an OIDC issuer: a file the platform
	// renews, read at each call. The dev server mints the token itself.
	TokenFile string

	// contacts is the client of intake the notify service was given.
	contacts *notify.IntakeContacts
}

// validateNotify adds the notification service's configuration problems.
func (c *Config) validateNotify(p *config.Problems) {
	if !slices.Contains(c.Services, notify.Name) {
		return
	}
	if c.Notify.SMTPURL != "" {
		if _, err := notify.ParseSMTPURL(c.Notify.SMTPURL, c.Notify.SMTPPassword); err != nil {
			p.Add("smtp-url", "%v", err)
		}
	}
	if c.Notify.IntakeAddr != "" {
		if _, _, err := net.SplitHostPort(c.Notify.IntakeAddr); err != nil {
			p.Add("notify-intake-addr", "%q is not host:port", c.Notify.IntakeAddr)
		}
	} else if !slices.Contains(c.Services, "intake") {
		p.Add("notify-intake-addr", "required when intake does not run in the same process: notify reads learners' addresses from intake")
	}
}

// notifyConfig is the notify service's configuration.
func (c Config) notifyConfig() (notify.Config, error) {
	out := notify.Config{ConsoleURL: c.Console.URL}
	if out.ConsoleURL == "" && c.runsConsole() {
		out.ConsoleURL = "http://" + c.Console.Addr
	}
	if c.Notify.SMTPURL != "" {
		m, err := notify.ParseSMTPURL(c.Notify.SMTPURL, c.Notify.SMTPPassword)
		if err != nil {
			return out, err
		}
		out.Mailer = m
	}
	if c.Notify.contacts != nil {
		out.Contacts = c.Notify.contacts
	}
	return out, nil
}

// connectNotify gives the notify service its connection to intake, under
// its own identity: a token minted with the dev key, or read from
// --notify-token-file; without either (OIDC without a token file),
// learners get no e-mail and it is logged.
func connectNotify(cfg Config, grpcAddr string, log *slog.Logger) (func(), error) {
	if cfg.Notify.contacts == nil {
		return func() {}, nil
	}
	var creds grpc.DialOption
	switch {
	case cfg.InsecureNoAuth:
	case cfg.Notify.TokenFile != "":
		creds = grpc.WithPerRPCCredentials(tokenFile(cfg.Notify.TokenFile))
	case cfg.OIDCIssuer == "":
		key, err := auth.LoadOrCreateDevKey(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		creds = grpc.WithPerRPCCredentials(&devServiceToken{key: key, now: cfg.Now, audience: cfg.Audience})
	default:
		log.Warn("notify has no token of its own (--notify-token-file): learners get no e-mail")
		return func() {}, nil
	}
	addr := cfg.Notify.IntakeAddr
	if addr == "" {
		addr = grpcAddr
	}
	opts := []grpc.DialOption{}
	if creds != nil {
		opts = append(opts, creds)
	}
	conn, err := grpcx.Dial(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: intake at %s: %w", addr, err)
	}
	cfg.Notify.contacts.Use(conn)
	return func() { _ = conn.Close() }, nil
}

// devServiceToken mints notify's token with the dev key at each call, on
// the services' clock (the verifier's).
type devServiceToken struct {
	key      ed25519.PrivateKey
	now      func() time.Time
	audience string
}

func (t *devServiceToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	c := auth.DevClaims(notify.Principal, 5*time.Minute, t.now())
	c.Audience = []string{t.audience}
	tok, err := auth.Mint(t.key, c)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

func (t *devServiceToken) RequireTransportSecurity() bool { return false }

// tokenFile reads the token from a file at each call.
type tokenFile string

func (f tokenFile) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return nil, fmt.Errorf("notify token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, errors.New("notify token: empty file")
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

func (tokenFile) RequireTransportSecurity() bool { return false }
