package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const (
	// readyTimeout bounds a readiness check.
	readyTimeout = 2 * time.Second
	// readHeaderTimeout bounds how long the admin server waits for request
	// headers.
	readHeaderTimeout = 5 * time.Second
	// adminShutdownTimeout bounds how long the admin server waits for
	// running requests when it stops.
	adminShutdownTimeout = 5 * time.Second
)

// AdminHandler returns the handler of the admin HTTP endpoints:
//
//   - /metrics serves the metrics of reg in the Prometheus formats (it is
//     absent when reg is nil);
//   - /healthz answers 200 "ok" as long as the process runs (liveness);
//   - /readyz answers 200 "ready" when ready returns nil within 2 seconds,
//     and 503 with the error text otherwise (readiness). A nil ready
//     function means always ready.
func AdminHandler(reg *prometheus.Registry, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	if reg != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := checkReady(r.Context(), ready); err != nil {
			writeText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	return mux
}

// checkReady runs ready with a deadline of readyTimeout, and gives up at
// the deadline even if ready ignores its context.
func checkReady(ctx context.Context, ready func(context.Context) error) error {
	if ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- ready(ctx) }()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return fmt.Errorf("readiness check: %w", ctx.Err())
	}
}

// writeText writes a plain-text response.
func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// ServeAdmin serves h on lis until ctx ends, then shuts the server down
// gracefully, giving running requests a few seconds to finish. It returns
// nil after a shutdown caused by ctx, and the serving error otherwise.
func ServeAdmin(ctx context.Context, lis net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
