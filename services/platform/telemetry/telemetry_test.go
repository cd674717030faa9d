package telemetry_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/avenir-normandie/avenir/services/platform/telemetry"
)

// clearOTLPEnv makes sure no OTLP endpoint leaks into a test from the
// environment.
func clearOTLPEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_SERVICE_NAME",
	} {
		t.Setenv(name, "")
	}
}

func setup(t *testing.T) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "avenir-test", Version: "1.2.3"})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestSetupExposesOTelMetricsOnPrometheus(t *testing.T) {
	clearOTLPEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	tel := setup(t)

	counter, err := otel.Meter("avenir/test").Int64Counter("avenir.test.requests")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(t.Context(), 3)

	code, body := get(t, telemetry.AdminHandler(tel.Registry(), nil), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		"avenir_test_requests_total",
		`service_name="avenir-test"`,
		`service_version="1.2.3"`,
		`deployment_environment_name="test"`,
		"go_goroutines",
		"process_",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var found bool
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "avenir_test_requests_total{") && strings.HasSuffix(strings.TrimSpace(line), " 3") {
			found = true
		}
	}
	if !found {
		t.Errorf("/metrics has no avenir_test_requests_total sample of 3:\n%s", body)
	}
}

func TestSetupInstallsTracingAndPropagation(t *testing.T) {
	clearOTLPEnv(t)
	setup(t)

	_, span := otel.Tracer("avenir/test").Start(t.Context(), "operation")
	defer span.End()
	if !span.SpanContext().IsValid() {
		t.Error("spans have no valid context without an OTLP endpoint")
	}
	fields := otel.GetTextMapPropagator().Fields()
	for _, want := range []string{"traceparent", "baggage"} {
		if !strings.Contains(strings.Join(fields, " "), want) {
			t.Errorf("propagator fields %v lack %s", fields, want)
		}
	}
}

func TestSetupWithOTLPEndpoint(t *testing.T) {
	clearOTLPEnv(t)
	// Nothing listens there: exporting fails, but setting up must not.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "avenir-test"})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	// The final export fails since no collector listens; only the return
	// matters.
	_ = tel.Shutdown(ctx)
}

func TestSetupRejectsMalformedResourceAttributes(t *testing.T) {
	clearOTLPEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign")
	if _, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "avenir-test"}); err == nil {
		t.Error("Setup succeeded with malformed OTEL_RESOURCE_ATTRIBUTES")
	}
}

func TestHealthz(t *testing.T) {
	h := telemetry.AdminHandler(nil, func(context.Context) []telemetry.Check { return []telemetry.Check{{Name: "nats"}} })
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\"", code, body)
	}
}

// readyz reads /readyz as a probe and an operator would: the code, and the
// JSON naming each check.
func readyz(t *testing.T, h http.Handler) (int, readyBody) {
	t.Helper()
	code, body := get(t, h, "/readyz")
	var b readyBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return code, b
}

type readyBody struct {
	Ready  bool              `json:"ready"`
	Checks []telemetry.Check `json:"checks"`
	Failed []string          `json:"failed"`
}

func TestReadyzNamesEachFailingCheck(t *testing.T) {
	var redisUp atomic.Bool
	h := telemetry.AdminHandler(nil, func(context.Context) []telemetry.Check {
		redis := telemetry.Check{Name: "read-model store", OK: redisUp.Load()}
		if !redis.OK {
			redis.Detail = "connection refused"
		}
		return []telemetry.Check{
			{Name: "nats", OK: true},
			{Name: "stream INTAKE", Detail: "full: 1048000 of 1048576 bytes used"},
			redis,
		}
	})
	code, b := readyz(t, h)
	if code != http.StatusServiceUnavailable || b.Ready || len(b.Checks) != 3 ||
		!slices.Equal(b.Failed, []string{"stream INTAKE", "read-model store"}) || b.Checks[2].Detail != "connection refused" {
		t.Errorf("/readyz = %d %+v, want 503 naming the stream and the store", code, b)
	}
	redisUp.Store(true)
	if code, b := readyz(t, h); code != http.StatusServiceUnavailable || !slices.Equal(b.Failed, []string{"stream INTAKE"}) {
		t.Errorf("/readyz = %d %+v, want 503 naming the stream only", code, b)
	}
}

func TestReadyzFlips(t *testing.T) {
	var ready atomic.Bool
	h := telemetry.AdminHandler(nil, func(context.Context) []telemetry.Check {
		if !ready.Load() {
			return []telemetry.Check{{Name: "nats", Detail: "not connected"}}
		}
		return []telemetry.Check{{Name: "nats", OK: true}}
	})
	if code, b := readyz(t, h); code != http.StatusServiceUnavailable || b.Ready || b.Failed[0] != "nats" {
		t.Errorf("/readyz before ready = %d %+v, want 503 naming nats", code, b)
	}
	ready.Store(true)
	if code, b := readyz(t, h); code != http.StatusOK || !b.Ready || len(b.Failed) != 0 {
		t.Errorf("/readyz when ready = %d %+v, want 200 ready", code, b)
	}
	ready.Store(false)
	if code, _ := readyz(t, h); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after losing readiness = %d, want 503", code)
	}
}

func TestReadyzTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := telemetry.AdminHandler(nil, func(context.Context) []telemetry.Check {
		<-release // ignores its context on purpose
		return nil
	})

	begun := time.Now()
	code, b := readyz(t, h)
	if code != http.StatusServiceUnavailable || len(b.Checks) != 1 || !strings.Contains(b.Checks[0].Detail, "deadline exceeded") {
		t.Errorf("/readyz = %d %+v, want 503 deadline exceeded", code, b)
	}
	if elapsed := time.Since(begun); elapsed > 5*time.Second {
		t.Errorf("/readyz took %v", elapsed)
	}
}

func TestReadyzWithoutCheck(t *testing.T) {
	if code, b := readyz(t, telemetry.AdminHandler(nil, nil)); code != http.StatusOK || !b.Ready {
		t.Errorf("/readyz = %d %+v, want 200", code, b)
	}
}

func TestServeAdmin(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- telemetry.ServeAdmin(ctx, lis, telemetry.AdminHandler(nil, nil)) }()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+lis.Addr().String()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("/healthz = %d %q", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeAdmin() = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeAdmin did not return after its context ended")
	}
}
