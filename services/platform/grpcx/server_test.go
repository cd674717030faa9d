package grpcx_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// testService answers UnaryCall and StreamingOutputCall according to the
// payload it receives, and blocks in FullDuplexCall until its call ends.
type testService struct {
	testpb.UnimplementedTestServiceServer
	duplexStarted chan struct{}
}

const secret = "password=hunter2"

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "invalid":
		var v apperr.Violations
		v.Add("name", "must not be empty")
		v.Add("email", "is malformed")
		return nil, v.Err()
	case "exists":
		return nil, apperr.AlreadyExists("learner already exists").WithMeta("existing_id", "l-42")
	case "panic":
		panic(secret)
	case "unknown":
		return nil, errors.New(secret)
	case "deadline":
		return payload(deadlineOf(ctx)), nil
	}
	return payload("ok"), nil
}

func (s *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	switch string(req.GetPayload().GetBody()) {
	case "panic":
		panic(secret)
	case "unknown":
		return errors.New(secret)
	case "invalid":
		return apperr.Invalid(apperr.FieldViolation{Field: "f", Description: "bad"})
	}
	for range 2 {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(deadlineOf(stream.Context()))}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := 0
	for {
		if _, err := stream.Recv(); err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		} else if err != nil {
			return err
		}
		n++
	}
}

func (s *testService) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	close(s.duplexStarted)
	<-stream.Context().Done()
	return stream.Context().Err()
}

func payload(body string) *testpb.SimpleResponse {
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: []byte(body)}}
}

// deadlineOf describes the time left before the deadline of ctx, rounded to
// the second so that tests can compare it.
func deadlineOf(ctx context.Context) string {
	d, ok := ctx.Deadline()
	if !ok {
		return "none"
	}
	return time.Until(d).Round(time.Second).String()
}

// syncBuffer is a bytes.Buffer safe for concurrent use by a logger and a
// test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	srv     *grpcx.Server
	svc     *testService
	lis     *bufconn.Listener
	logs    *syncBuffer
	served  chan error
	conn    *grpc.ClientConn
	client  testpb.TestServiceClient
	stopped bool
}

// start serves a testService over an in-memory listener and returns a plain
// client connection to it, one that adds no deadline of its own.
func start(t *testing.T, opts grpcx.ServerOptions) *harness {
	t.Helper()
	h := &harness{
		svc:    &testService{duplexStarted: make(chan struct{})},
		lis:    bufconn.Listen(1 << 20),
		logs:   &syncBuffer{},
		served: make(chan error, 1),
	}
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, nil))
	h.srv = grpcx.NewServer(opts)
	testpb.RegisterTestServiceServer(h.srv, h.svc)
	go func() { h.served <- h.srv.Serve(h.lis) }()

	h.conn = h.dial(t, grpc.NewClient, grpc.WithTransportCredentials(insecure.NewCredentials()))
	h.client = testpb.NewTestServiceClient(h.conn)
	t.Cleanup(func() {
		if !h.stopped {
			h.srv.Stop()
		}
	})
	return h
}

// dial connects to the harness's listener with newClient.
func (h *harness) dial(t *testing.T, newClient func(string, ...grpc.DialOption) (*grpc.ClientConn, error), opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return h.lis.DialContext(ctx)
	}))
	conn, err := newClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (h *harness) unary(t *testing.T, body string) (*testpb.SimpleResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return h.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(body)}})
}

func TestInvalidArgumentCarriesFieldViolations(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	_, err := h.unary(t, "invalid")

	if got := status.Code(err); got != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument (err %v)", got, err)
	}
	want := []apperr.FieldViolation{
		{Field: "name", Description: "must not be empty"},
		{Field: "email", Description: "is malformed"},
	}
	if got := grpcx.FieldViolations(err); !reflect.DeepEqual(got, want) {
		t.Errorf("FieldViolations() = %v, want %v", got, want)
	}
}

func TestAlreadyExistsCarriesMetadata(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	_, err := h.unary(t, "exists")

	st := status.Convert(err)
	if st.Code() != codes.AlreadyExists || st.Message() != "learner already exists" {
		t.Fatalf("status = %v %q, want AlreadyExists", st.Code(), st.Message())
	}
	if got := grpcx.Metadata(err)["existing_id"]; got != "l-42" {
		t.Errorf("existing_id = %q, want l-42", got)
	}
}

func TestPanicBecomesInternalAndServerKeepsServing(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	_, err := h.unary(t, "panic")

	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("status = %v %q, want Internal \"internal error\"", st.Code(), st.Message())
	}
	logs := h.logs.String()
	for _, want := range []string{"panicked", "/grpc.testing.TestService/UnaryCall", secret, "stack="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if resp, err := h.unary(t, "hello"); err != nil || string(resp.GetPayload().GetBody()) != "ok" {
		t.Errorf("call after panic = %v, %v; want ok", resp, err)
	}
}

func TestStreamPanicBecomesInternal(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	stream, err := h.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("status = %v %q, want Internal \"internal error\"", st.Code(), st.Message())
	}
}

func TestUnknownErrorDoesNotLeak(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	_, err := h.unary(t, "unknown")

	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("status = %v %q, want Internal \"internal error\"", st.Code(), st.Message())
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("client error %q leaks the cause", err)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, secret) || !strings.Contains(logs, "/grpc.testing.TestService/UnaryCall") || !strings.Contains(logs, "level=ERROR") {
		t.Errorf("logs lack the error, its method or its level:\n%s", logs)
	}
}

func TestStreamErrorsAreMapped(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	tests := []struct {
		body string
		want codes.Code
	}{
		{"unknown", codes.Internal},
		{"invalid", codes.InvalidArgument},
	}
	for _, tt := range tests {
		stream, err := h.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(tt.body)}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: code = %v, want %v", tt.body, got, tt.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: client error %q leaks the cause", tt.body, err)
		}
	}
}

func TestDefaultDeadline(t *testing.T) {
	h := start(t, grpcx.ServerOptions{DefaultTimeout: 5 * time.Minute})

	t.Run("applied without deadline", func(t *testing.T) {
		resp, err := h.client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("deadline")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.GetPayload().GetBody()); got != "5m0s" {
			t.Errorf("server deadline = %s, want 5m0s", got)
		}
	})

	t.Run("longer deadline kept", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		resp, err := h.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("deadline")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.GetPayload().GetBody()); got != "1h0m0s" {
			t.Errorf("server deadline = %s, want 1h0m0s", got)
		}
	})

	t.Run("applied to streams", func(t *testing.T) {
		stream, err := h.client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.GetPayload().GetBody()); got != "5m0s" {
			t.Errorf("server deadline = %s, want 5m0s", got)
		}
	})
}

func TestMaxRecvMsgSize(t *testing.T) {
	h := start(t, grpcx.ServerOptions{MaxRecvMsgSize: 1024})

	if _, err := h.unary(t, strings.Repeat("x", 512)); err != nil {
		t.Fatalf("small message: %v", err)
	}
	_, err := h.unary(t, strings.Repeat("x", 2048))
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Errorf("code = %v, want ResourceExhausted (err %v)", got, err)
	}
}

func TestExtraInterceptorsRunAfterBuiltIns(t *testing.T) {
	deny := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("deny")) > 0 {
			return nil, apperr.Unauthenticated("no token")
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no default deadline before the extra interceptor")
		}
		return handler(ctx, req)
	}
	h := start(t, grpcx.ServerOptions{UnaryInterceptors: []grpc.UnaryServerInterceptor{deny}})

	if _, err := h.unary(t, "hello"); err != nil {
		t.Errorf("allowed call: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(t.Context(), "deny", "1")
	_, err := h.client.UnaryCall(ctx, &testpb.SimpleRequest{})
	if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "no token" {
		t.Errorf("status = %v %q, want Unauthenticated \"no token\"", st.Code(), st.Message())
	}
}

func TestHealth(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	health := healthpb.NewHealthClient(h.conn)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("Check(%q): %v", service, err)
		}
		return resp.GetStatus()
	}

	if got := check(""); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("overall status = %v, want SERVING", got)
	}
	h.srv.SetServing("avenir.intake.v1.IntakeService", true)
	if got := check("avenir.intake.v1.IntakeService"); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("service status = %v, want SERVING", got)
	}
	h.srv.SetServing("avenir.intake.v1.IntakeService", false)
	if got := check("avenir.intake.v1.IntakeService"); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("service status = %v, want NOT_SERVING", got)
	}
}

func TestReflectionListsServices(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	stream, err := reflectionpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.testing.TestService"} {
		if !slices.Contains(names, want) {
			t.Errorf("services %v lack %s", names, want)
		}
	}
}

func TestShutdownStopsServer(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	if _, err := h.unary(t, "hello"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	h.stopped = true

	select {
	case err := <-h.served:
		if err != nil {
			t.Errorf("Serve() = %v, want nil after Shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	if _, err := h.unary(t, "hello"); status.Code(err) != codes.Unavailable {
		t.Errorf("call after Shutdown: %v, want Unavailable", err)
	}
	h.srv.SetServing("", true)
	resp, err := h.srv.Health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health after Shutdown = %v, %v; want NOT_SERVING", resp, err)
	}
}

func TestShutdownForcesStopWhenContextEnds(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	stream, err := h.client.FullDuplexCall(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.svc.duplexStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("stream handler did not start")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	begun := time.Now()
	h.srv.Shutdown(ctx)
	h.stopped = true
	if elapsed := time.Since(begun); elapsed > 5*time.Second {
		t.Errorf("Shutdown took %v despite its context ending", elapsed)
	}
	if _, err := stream.Recv(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Recv() on a stream cut by Shutdown = %v, want an error", err)
	}
	if err := <-h.served; err != nil {
		t.Errorf("Serve() = %v, want nil", err)
	}
}

func TestDialAddsDefaultDeadline(t *testing.T) {
	h := start(t, grpcx.ServerOptions{DefaultTimeout: time.Hour})
	client := testpb.NewTestServiceClient(h.dial(t, grpcx.Dial))

	resp, err := client.UnaryCall(t.Context(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("deadline")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.GetPayload().GetBody()); got != "30s" {
		t.Errorf("server saw a deadline of %s, want 30s", got)
	}

	stream, err := client.StreamingOutputCall(t.Context(), &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(resp.GetPayload().GetBody()))
	}
	if want := []string{"30s", "30s"}; !slices.Equal(got, want) {
		t.Errorf("stream deadlines = %v, want %v", got, want)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
	defer cancel()
	resp, err = client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("deadline")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.GetPayload().GetBody()); got != "2h0m0s" {
		t.Errorf("server saw a deadline of %s, want the caller's 2h0m0s", got)
	}
}

func TestHealthWatchOutlivesDefaultTimeout(t *testing.T) {
	h := start(t, grpcx.ServerOptions{DefaultTimeout: 50 * time.Millisecond})
	watch, err := healthpb.NewHealthClient(h.conn).Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(200 * time.Millisecond)
	h.srv.SetServing("svc", false)
	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch ended after the default timeout: %v", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			return
		}
	}
}
