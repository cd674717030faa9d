package telemetry

import (
	"context"
	"encoding/json"
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
	// readyMargin is the time left to gather the checks' answers.
	readyMargin = 250 * time.Millisecond
	// readHeaderTimeout bounds how long the admin server waits for request
	// headers.
	readHeaderTimeout = 5 * time.Second
	// adminShutdownTimeout bounds how long the admin server waits for
	// running requests when it stops.
	adminShutdownTimeout = 5 * time.Second
)

// Check is one readiness check: what it checks, whether it passed, and why
// not.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Readiness runs the readiness checks.
type Readiness func(context.Context) []Check

// readyBody is the JSON of /readyz.
type readyBody struct {
	Ready  bool     `json:"ready"`
	Checks []Check  `json:"checks"`
	Failed []string `json:"failed,omitempty"`
}

// AdminHandler returns the handler of the admin HTTP endpoints:
//
//   - /metrics serves the metrics of reg in the Prometheus formats (it is
//     absent when reg is nil);
//   - /healthz answers 200 "ok" as long as the process runs (liveness);
//   - /readyz runs ready within 2 seconds and answers a JSON body listing
//     every check ({"ready": bool, "checks": [{"name", "ok", "detail"}],
//     "failed": [names]}), with 200 when all passed and 503 otherwise
//     (readiness). A nil ready function means always ready.
func AdminHandler(reg *prometheus.Registry, ready Readiness) http.Handler {
	mux := http.NewServeMux()
	if reg != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		body := readyBody{Ready: true, Checks: checkReady(r.Context(), ready)}
		for _, c := range body.Checks {
			if !c.OK {
				body.Ready = false
				body.Failed = append(body.Failed, c.Name)
			}
		}
		code := http.StatusOK
		if !body.Ready {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// checkReady runs ready with a deadline of readyTimeout, and gives up at
// the deadline even if ready ignores its context.
func checkReady(ctx context.Context, ready Readiness) []Check {
	if ready == nil {
		return []Check{}
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// ready gets a little less time than the answer waits for, so that
	// checks honouring their context still answer what they know.
	checksCtx, cancelChecks := context.WithTimeout(ctx, readyTimeout-readyMargin)
	defer cancelChecks()
	result := make(chan []Check, 1)
	go func() { result <- ready(checksCtx) }()
	select {
	case checks := <-result:
		if checks == nil {
			checks = []Check{}
		}
		return checks
	case <-ctx.Done():
		return []Check{{Name: "readiness", Detail: fmt.Sprintf("checks did not finish: %v", ctx.Err())}}
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
