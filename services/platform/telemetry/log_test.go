package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/avenir-normandie/avenir/services/platform/telemetry"
)

func TestLoggerAddsTraceIDsInsideSpan(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("test").Start(t.Context(), "operation")
	defer span.End()
	sc := span.SpanContext()

	var buf bytes.Buffer
	logger := telemetry.NewLogger(&buf, slog.LevelInfo, "json")
	derived := logger.With("component", "test").WithGroup("req")

	tests := []struct {
		name      string
		log       func()
		wantIDs   bool
		idsInside string // group holding the ids, if any
	}{
		{"inside span", func() { logger.InfoContext(ctx, "inside") }, true, ""},
		{"outside span", func() { logger.InfoContext(context.Background(), "outside") }, false, ""},
		{"without context", func() { logger.Info("no context") }, false, ""},
		{"derived logger", func() { derived.InfoContext(ctx, "derived", "id", 1) }, true, "req"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			tt.log()
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("decoding %q: %v", buf.String(), err)
			}
			if tt.idsInside != "" {
				rec, _ = rec[tt.idsInside].(map[string]any)
			}
			traceID, hasTrace := rec["trace_id"]
			spanID, hasSpan := rec["span_id"]
			if !tt.wantIDs {
				if hasTrace || hasSpan {
					t.Errorf("record %s has trace ids, want none", buf.String())
				}
				return
			}
			if traceID != sc.TraceID().String() || spanID != sc.SpanID().String() {
				t.Errorf("trace_id, span_id = %v, %v; want %s, %s", traceID, spanID, sc.TraceID(), sc.SpanID())
			}
		})
	}
}

func TestNewLoggerFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	logger := telemetry.NewLogger(&buf, slog.LevelWarn, "text")
	logger.Info("hidden")
	logger.Warn("shown", "key", "value")

	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("record below the level was written: %q", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "key=value") {
		t.Errorf("output %q is not text with the record", out)
	}
}
