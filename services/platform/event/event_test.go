package event_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/avenir-normandie/avenir/services/platform/event"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "cmd")
	defer span.End()

	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	msg, err := event.Codec{}.Encode(ctx, event.Draft{
		Subject: "avenir.test.thing.42.created", AggregateID: "42", Data: wrapperspb.String("hello"),
	}, event.Meta{ID: "id-1", Source: "test", Actor: "user-7", RequestID: "req-1", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Nats-Msg-Id", "ce-id", "ce-type", "ce-source", "ce-subject", "ce-time", "ce-specversion", "ce-datacontenttype", "traceparent"} {
		if _, ok := msg.Header[k]; !ok {
			t.Errorf("header %q missing (headers are case-sensitive): %v", k, msg.Header)
		}
	}
	if got := msg.Header.Get("ce-type"); got != "google.protobuf.StringValue" {
		t.Errorf("ce-type = %q", got)
	}

	ev, err := event.Codec{}.Decode(ctx, msg.Subject, msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "id-1" || ev.AggregateID != "42" || ev.Actor != "user-7" || ev.RequestID != "req-1" || !ev.Time.Equal(at) || ev.Source != "test" {
		t.Errorf("decoded envelope %+v", ev)
	}
	if !proto.Equal(ev.Data, wrapperspb.String("hello")) {
		t.Errorf("payload %v", ev.Data)
	}
	got := trace.SpanContextFromContext(event.Context(context.Background(), ev.Header))
	if got.TraceID() != span.SpanContext().TraceID() {
		t.Errorf("trace id not carried: %s vs %s", got.TraceID(), span.SpanContext().TraceID())
	}
}

func TestDecodeRejectsUndecodable(t *testing.T) {
	cases := map[string]nats.Header{
		"no type":      {},
		"unknown type": {"ce-type": {"avenir.nope.v1.Missing"}},
		"bad time":     {"ce-type": {"google.protobuf.StringValue"}, "ce-time": {"yesterday"}},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := (event.Codec{}).Decode(context.Background(), "a.b", h, nil); !errors.Is(err, event.ErrUndecodable) {
				t.Fatalf("want ErrUndecodable, got %v", err)
			}
		})
	}
	_, err := event.Codec{}.Decode(context.Background(), "a.b", nats.Header{"ce-type": {"google.protobuf.StringValue"}}, []byte{0xff, 0xff})
	if !errors.Is(err, event.ErrUndecodable) {
		t.Fatalf("corrupt payload: want ErrUndecodable, got %v", err)
	}
}

func TestEncodeRejectsBadDrafts(t *testing.T) {
	meta := event.Meta{ID: "x", Source: "s"}
	for name, d := range map[string]event.Draft{
		"no data":  {Subject: "a.b"},
		"wildcard": {Subject: "a.*", Data: wrapperspb.String("")},
		"empty":    {Subject: "a..b", Data: wrapperspb.String("")},
		"space":    {Subject: "a.b c", Data: wrapperspb.String("")},
	} {
		if _, err := (event.Codec{}).Encode(context.Background(), d, meta); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := (event.Codec{}).Encode(context.Background(), event.Draft{Subject: "a.b", Data: wrapperspb.String("")}, event.Meta{}); err == nil {
		t.Error("meta without id accepted")
	}
}

func TestIDsAreDeterministicAndScoped(t *testing.T) {
	a := event.ID("avenir.x.y.1.>", "req", 0)
	if a != event.ID("avenir.x.y.1.>", "req", 0) {
		t.Fatal("same inputs, different ids")
	}
	if a == event.ID("avenir.x.y.1.>", "req", 1) || a == event.ID("avenir.x.y.2.>", "req", 0) || a == event.ID("avenir.x.y.1.>", "req2", 0) {
		t.Fatal("different inputs collide")
	}
	if event.DeriveID("learner", "r1") != event.DeriveID("learner", "r1") || event.DeriveID("learner", "r1") == event.DeriveID("pathway", "r1") {
		t.Fatal("DeriveID not stable or not scoped by kind")
	}
	if event.NewID() == event.NewID() {
		t.Fatal("NewID repeats")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("google.protobuf.StringValue", "2026-01-02T03:04:05Z", []byte{0x0a, 0x01, 'x'})
	f.Add("", "", []byte{})
	f.Add("avenir.unknown.v1.X", "bad", []byte{0xff})
	f.Fuzz(func(t *testing.T, typ, ts string, data []byte) {
		h := nats.Header{}
		if typ != "" {
			h.Set(event.HeaderType, typ)
		}
		if ts != "" {
			h.Set(event.HeaderTime, ts)
		}
		if _, err := (event.Codec{}).Decode(context.Background(), "a.b", h, data); err != nil && !errors.Is(err, event.ErrUndecodable) {
			t.Fatalf("decode error is not ErrUndecodable: %v", err)
		}
	})
}

func TestFoldAppliesTheEventsDecodeRecognisesInOrder(t *testing.T) {
	evs := []event.Event{{Type: "a"}, {Type: "skip"}, {Type: "b"}, {Type: "c"}}
	decode := func(ev event.Event) (string, bool) { return ev.Type, ev.Type != "skip" }
	got := event.Fold(evs, decode, func(s, e string) string { return s + e })
	if got != "abc" {
		t.Fatalf("folded %q, want abc", got)
	}
}
