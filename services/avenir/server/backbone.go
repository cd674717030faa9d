package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/config"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// natsBackbone is the NATS the services run on: the embedded server of the
// dev mode, or an external server or cluster. connect opens the
// connection of one service, under its identity.
type natsBackbone struct {
	// url is the client URL, credentials redacted.
	url string
	// embedded is the dev mode's server; nil with an external NATS.
	embedded *natsx.Embedded
	connect  func(service string) (*nats.Conn, error)

	mu    sync.Mutex
	conns []*nats.Conn
}

// track records a connection to close with the backbone.
func (b *natsBackbone) track(nc *nats.Conn, err error) (*nats.Conn, error) {
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns = append(b.conns, nc)
	return nc, nil
}

// close closes the services' connections, then stops the embedded server.
func (b *natsBackbone) close() {
	b.mu.Lock()
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
	}
}

// startEmbedded starts the dev mode's NATS server, which accepts only the
// identities of the permission table (Identities), each authenticated by
// an NKey generated at the first start under <data dir>/nats-identities.
// With the admin identity, it then creates or updates every stream of the
// catalog, before any service starts; each service connects as itself.
func startEmbedded(ctx context.Context, cfg Config, topology natsx.Topology, log *slog.Logger) (*natsBackbone, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ids, err := Identities()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, natsx.IdentitiesDir)
	keys, err := natsx.LoadOrCreateNKeys(dir, natsx.IdentityNames(ids))
	if err != nil {
		return nil, err
	}
	users := make([]natsx.User, len(ids))
	for i, id := range ids {
		users[i] = natsx.User{Identity: id, NKey: keys[id.Name]}
	}
	embedded, err := natsx.StartEmbedded(natsx.EmbeddedOptions{
		DataDir: filepath.Join(dataDir, "nats"), Listen: cfg.NATSListen, Logger: log, Users: users,
	})
	if err != nil {
		return nil, err
	}
	b := &natsBackbone{url: embedded.ClientURL(), embedded: embedded}
	b.connect = func(identity string) (*nats.Conn, error) {
		nk, err := natsx.NKeyOption(natsx.NKeyFile(dir, identity))
		if err != nil {
			return nil, err
		}
		// A denied publication is reported asynchronously: log it.
		logErrors := nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Error("nats async error", "identity", identity, "subject", subj, "error", err)
		})
		return b.track(embedded.Connect("avenir-"+identity, nk, logErrors))
	}
	if err := ensureStreamsAs(ctx, b, topology, log); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// ensureStreamsAs creates or updates the catalog's streams with the admin
// identity's connection, closed afterwards.
func ensureStreamsAs(ctx context.Context, b *natsBackbone, topology natsx.Topology, log *slog.Logger) error {
	nc, err := b.connect(natsx.IdentityAdmin)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return platform.EnsureStreams(ctx, js, topology, Catalog(), func(spec natsx.StreamSpec, change natsx.StreamChange) {
		if change != natsx.StreamUnchanged {
			log.Info("stream "+change.String(), "stream", spec.Name)
		}
	})
}

// connectExternal connects each service to the NATS server or cluster of
// cfg.NATSURL, with the credentials given (a credentials file, an NKey seed
// file, or a user and password in the URL): in microservices mode each
// process runs one service, under that service's identity.
func connectExternal(cfg Config, log *slog.Logger) *natsBackbone {
	b := &natsBackbone{}
	b.connect = func(service string) (*nats.Conn, error) {
		nc, err := b.track(natsx.Connect(natsx.ConnectOptions{
			URL: cfg.NATSURL, Name: "avenir-" + service, CredsFile: cfg.NATSCreds, NKeyFile: cfg.NATSNKey,
			TLSCAFile: cfg.NATSCA, TLSCertFile: cfg.NATSCert, TLSKeyFile: cfg.NATSKey, Logger: log,
		}))
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		if b.url == "" {
			b.url = nc.ConnectedUrlRedacted()
		}
		b.mu.Unlock()
		return nc, nil
	}
	return b
}

// URL is the client URL of the server the services connect to,
// credentials redacted.
func (b *natsBackbone) URL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.url
}

// StreamsConfig says where `avenir streams ensure` administers the
// streams, and how they are placed and sized.
type StreamsConfig struct {
	// NATSURL is the server or cluster; empty: the dev server listening on
	// NATSListen, with the admin seed of DataDir.
	NATSURL string
	// The admin identity's credentials (with NATSURL): a credentials file,
	// an NKey seed file, or a user and password in the URL.
	NATSCreds, NATSNKey string
	// TLS: CA to verify servers, and a client certificate for mutual TLS.
	NATSCA, NATSCert, NATSKey string
	// DataDir and NATSListen locate a dev server (without NATSURL).
	DataDir, NATSListen string
	Replicas            int
	StreamMaxBytes      int64
}

// Validate reports every configuration problem at once.
func (c StreamsConfig) Validate() error {
	var p config.Problems
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		p.Add("replicas", "must be 1, 3 or 5, got %d", c.Replicas)
	}
	if c.StreamMaxBytes != 0 && c.StreamMaxBytes < 1<<20 {
		p.Add("stream-max-bytes", "must be at least 1 MiB, got %d", c.StreamMaxBytes)
	}
	if c.NATSCreds != "" && c.NATSNKey != "" {
		p.Add("nats-nkey", "a credentials file (--nats-creds) or an NKey seed file (--nats-nkey), not both")
	}
	if c.NATSURL == "" && c.DataDir == "" {
		p.Add("data-dir", "required without --nats-url: the dev server's admin identity is there")
	}
	return p.Err()
}

// EnsureStreams connects as the admin identity and creates every stream of
// the catalog, or updates it to its declared configuration; report, when
// set, is told what was done to each.
func EnsureStreams(ctx context.Context, c StreamsConfig, report func(natsx.StreamSpec, natsx.StreamChange)) error {
	if err := c.Validate(); err != nil {
		return err
	}
	opts := natsx.ConnectOptions{
		URL: c.NATSURL, Name: "avenir-streams", CredsFile: c.NATSCreds, NKeyFile: c.NATSNKey,
		TLSCAFile: c.NATSCA, TLSCertFile: c.NATSCert, TLSKeyFile: c.NATSKey,
		Logger: slog.New(slog.DiscardHandler),
	}
	if c.NATSURL == "" {
		listen := c.NATSListen
		if listen == "" {
			listen = natsx.DefaultEmbeddedListen
		}
		dataDir, err := filepath.Abs(c.DataDir)
		if err != nil {
			return err
		}
		opts.URL = "nats://" + listen
		opts.NKeyFile = natsx.NKeyFile(filepath.Join(dataDir, natsx.IdentitiesDir), natsx.IdentityAdmin)
		if _, err := os.Stat(opts.NKeyFile); err != nil {
			return fmt.Errorf("no admin identity in %s (start `avenir server --dev --data-dir %s` once to create it): %w", c.DataDir, c.DataDir, err)
		}
	}
	nc, err := natsx.Connect(opts)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return platform.EnsureStreams(ctx, js, natsx.Topology{Replicas: c.Replicas, StreamMaxBytes: c.StreamMaxBytes}, Catalog(), report)
}
