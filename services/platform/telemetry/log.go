package telemetry

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// NewLogger returns a logger writing records of at least level to w, as
// JSON when format is "json" and as logfmt-style text otherwise. Records
// logged with a context that carries a valid span get trace_id and span_id
// attributes (see WithTraceIDs).
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(WithTraceIDs(h))
}

// WithTraceIDs wraps h so that records logged with a context carrying a
// valid span (the *Context logging methods) get trace_id and span_id
// attributes. Like any attribute added at logging time, they belong to the
// innermost group opened with WithGroup, if any.
func WithTraceIDs(h slog.Handler) slog.Handler {
	return traceHandler{h}
}

// traceHandler is the handler returned by WithTraceIDs.
type traceHandler struct {
	slog.Handler
}

// Handle adds the trace and span ids of ctx, if any, to r and hands it over.
func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the trace ids on the derived handler.
func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the trace ids on the derived handler.
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
