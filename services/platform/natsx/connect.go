package natsx

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectOptions configures a connection to an external NATS server or cluster.
type ConnectOptions struct {
	// URL is a comma-separated list of server URLs.
	URL string
	// Name identifies the client in server monitoring.
	Name string
	// CredsFile is a NATS credentials file (user JWT and NKey seed).
	CredsFile string
	// NKeyFile is an NKey seed file (a user of the server configuration
	// authenticated by its public NKey). At most one of CredsFile and
	// NKeyFile; a user and password may also come in URL.
	NKeyFile string
	// TLS: CA to verify servers, and a client certificate for mutual TLS.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// Logger receives connection state changes.
	Logger *slog.Logger
}

// Connect opens a connection that reconnects forever; connection state changes
// are logged.
func Connect(opts ConnectOptions) (*nats.Conn, error) {
	if opts.URL == "" {
		return nil, errors.New("natsx: no NATS URL")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	o := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Error("nats async error", "subject", subj, "error", err)
		}),
	}
	switch {
	case opts.CredsFile != "" && opts.NKeyFile != "":
		return nil, errors.New("natsx: a credentials file or an NKey seed file, not both")
	case opts.CredsFile != "":
		o = append(o, nats.UserCredentials(opts.CredsFile))
	case opts.NKeyFile != "":
		nk, err := NKeyOption(opts.NKeyFile)
		if err != nil {
			return nil, err
		}
		o = append(o, nk)
	}
	if opts.TLSCAFile != "" {
		o = append(o, nats.RootCAs(opts.TLSCAFile))
	}
	if opts.TLSCertFile != "" || opts.TLSKeyFile != "" {
		if opts.TLSCertFile == "" || opts.TLSKeyFile == "" {
			return nil, errors.New("natsx: TLS client certificate needs both a cert and a key file")
		}
		o = append(o, nats.ClientCert(opts.TLSCertFile, opts.TLSKeyFile))
	}
	nc, err := nats.Connect(opts.URL, o...)
	if err != nil {
		return nil, fmt.Errorf("natsx: connect: %w", err)
	}
	return nc, nil
}
