// Package natsx runs an embedded NATS server or connects to an external one, and
// declares JetStream streams from code with the project's defaults.
package natsx

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// EmbeddedOptions configures an in-process NATS server with JetStream.
type EmbeddedOptions struct {
	// DataDir holds the JetStream file store. Required.
	DataDir string
	// Listen is the client address, host:port. Default 127.0.0.1:4223 (the
	// machine-wide NATS usually owns 4222). Port 0 picks a free port.
	Listen string
	// AllowNonLoopback must be set to listen on anything but a loopback address.
	AllowNonLoopback bool
	// SyncInterval is the JetStream fsync interval. Zero means sync on every
	// write (SyncAlways), the only safe choice for a single node: an R1
	// stream has no replica to recover acknowledged writes from.
	SyncInterval time.Duration
	// MaxStore bounds the JetStream file store in bytes. JetStream reserves
	// each stream's MaxBytes against it, so it must exceed their sum.
	// Default 1 TiB: the streams' own bounds are what protect the disk.
	MaxStore int64
	// ServerName names the node. Default "avenir-dev".
	ServerName string
	// Logger receives the server's log lines. Default slog.Default().
	Logger *slog.Logger
	// Users are the identities the server accepts, each authenticated by
	// its NKey and held to its permissions; a client without credentials is
	// refused. None: any client is accepted, with every right (tests only:
	// `avenir server --dev` always gives its identities).
	Users []User
}

// User is an identity an embedded server accepts.
type User struct {
	Identity Identity
	// NKey is the identity's public NKey (see LoadOrCreateNKeys).
	NKey string
}

// Embedded is a running in-process NATS server.
type Embedded struct {
	srv *server.Server
}

// DefaultEmbeddedListen is the default client address of the embedded server.
const DefaultEmbeddedListen = "127.0.0.1:4223"

// StartEmbedded starts a NATS server with JetStream in this process and waits
// until it accepts connections.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.DataDir == "" {
		return nil, errors.New("natsx: embedded server needs a data dir")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultEmbeddedListen
	}
	host, portStr, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsx: listen address %q: %w", opts.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("natsx: listen address %q: bad port", opts.Listen)
	}
	if !opts.AllowNonLoopback && !IsLoopback(host) {
		return nil, fmt.Errorf("natsx: refusing to listen on non-loopback address %q without AllowNonLoopback", opts.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if opts.MaxStore == 0 {
		opts.MaxStore = 1 << 40
	}
	if opts.ServerName == "" {
		opts.ServerName = "avenir-dev"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("natsx: data dir: %w", err)
	}
	sopts := &server.Options{
		ServerName:         opts.ServerName,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           opts.DataDir,
		JetStreamMaxStore:  opts.MaxStore,
		JetStreamMaxMemory: 256 << 20,
		SyncInterval:       opts.SyncInterval,
		SyncAlways:         opts.SyncInterval == 0,
		NoSigs:             true,
		MaxPayload:         4 << 20,
	}
	// Users go to the global account, which holds the JetStream store
	// written before the server required authentication.
	for _, u := range opts.Users {
		if !nkeys.IsValidPublicUserKey(u.NKey) {
			return nil, fmt.Errorf("natsx: identity %s: %q is not a public user NKey", u.Identity.Name, u.NKey)
		}
		sopts.Nkeys = append(sopts.Nkeys, &server.NkeyUser{Nkey: u.NKey, Permissions: u.Identity.ServerPermissions()})
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("natsx: new server: %w", err)
	}
	srv.SetLoggerV2(slogAdapter{opts.Logger.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("natsx: embedded server not ready after 30s")
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is the nats:// URL clients use.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Server gives access to the underlying server (for in-process connections).
func (e *Embedded) Server() *server.Server { return e.srv }

// Connect opens an in-process client connection (no TCP hop).
func (e *Embedded) Connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	o := append([]nats.Option{nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1)}, extra...)
	nc, err := nats.Connect(e.srv.ClientURL(), o...)
	if err != nil {
		return nil, fmt.Errorf("natsx: connect in-process: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server and waits until it is down, so the data dir can be
// reused at once.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// IsLoopback reports whether host names only the loopback interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// slogAdapter routes nats-server logs to slog.
type slogAdapter struct{ l *slog.Logger }

// Noticef lines (the start-up banner, "server is ready") are debug output:
// avenir prints its own summary of where it listens.
func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
