package grpcx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// ServerOptions configures NewServer. The zero value is usable.
type ServerOptions struct {
	// Logger receives panics and internal errors. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// MaxRecvMsgSize is the largest message, in bytes, the server accepts;
	// larger ones fail with ResourceExhausted. Defaults to
	// DefaultMaxRecvMsgSize.
	MaxRecvMsgSize int
	// DefaultTimeout is the deadline applied to incoming calls, unary and
	// streaming, that do not carry one; calls with a deadline, even a
	// longer one, keep theirs, and so do health watches, which have none.
	// Defaults to DefaultTimeout.
	DefaultTimeout time.Duration
	// UnaryInterceptors run after the built-in interceptors, in order, so
	// that their panics are recovered and their errors mapped.
	UnaryInterceptors []grpc.UnaryServerInterceptor
	// StreamInterceptors run after the built-in stream interceptors, in
	// order.
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Server is a gRPC server with the avenir defaults. Services are registered
// on it directly, as on a *grpc.Server:
//
//	srv := grpcx.NewServer(grpcx.ServerOptions{Logger: logger})
//	intakev1.RegisterIntakeServiceServer(srv, handler)
//	go srv.Serve(lis)
type Server struct {
	*grpc.Server
	// Health is the server's gRPC health service. The overall status ("")
	// starts SERVING; see SetServing.
	Health *health.Server

	logger *slog.Logger
}

// NewServer returns a server configured by opts. Every call goes through, in
// order: panic recovery (a panic becomes Internal "internal error" and is
// logged with its stack), the refusal of requests that do not decode
// (InvalidArgument naming the field with invalid UTF-8, where gRPC would
// answer Internal), the default deadline, error mapping (errors are
// translated by Status and internal ones logged), then opts' interceptors.
// Calls are traced and measured with OpenTelemetry through the global
// providers, health checks excepted. The health and reflection services are
// registered.
func NewServer(opts ServerOptions) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	maxRecv := opts.MaxRecvMsgSize
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}
	timeout := opts.DefaultTimeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	codec := newRequestCodec()
	unary := append([]grpc.UnaryServerInterceptor{
		recoverUnary(logger),
		codec.unary(),
		deadlineUnary(timeout),
		errorsUnary(logger),
	}, opts.UnaryInterceptors...)
	stream := append([]grpc.StreamServerInterceptor{
		recoverStream(logger),
		codec.stream(),
		deadlineStream(timeout),
		errorsStream(logger),
	}, opts.StreamInterceptors...)

	gs := grpc.NewServer(
		grpc.ForceServerCodecV2(codec),
		grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		)),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(maxRecv),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	return &Server{Server: gs, Health: hs, logger: logger}
}

// Serve accepts connections on lis until the server is shut down, in which
// case it returns nil.
func (s *Server) Serve(lis net.Listener) error {
	s.logger.Info("grpc server listening", slog.String("addr", lis.Addr().String()))
	err := s.Server.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// SetServing sets the health status of service, "" being the server as a
// whole. It has no effect once Shutdown has been called.
func (s *Server) SetServing(service string, serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.Health.SetServingStatus(service, st)
}

// Shutdown marks every service NOT_SERVING, then stops the server
// gracefully: it stops accepting connections and waits for running calls to
// finish. If ctx ends first, the remaining calls are cancelled and
// connections closed. Shutdown returns once the server has stopped.
func (s *Server) Shutdown(ctx context.Context) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.logger.Warn("grpc graceful stop interrupted, closing remaining connections",
			slog.Any("reason", context.Cause(ctx)))
		s.Stop()
		<-done
	}
}
