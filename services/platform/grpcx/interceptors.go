package grpcx

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// recoverUnary turns a panic in the rest of the chain into an Internal
// error, logged with its stack, so that one bad request cannot bring the
// server down.
func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ctx, logger, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream is the streaming counterpart of recoverUnary.
func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ss.Context(), logger, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}

// recovered logs a recovered panic and returns the error sent to the client.
func recovered(ctx context.Context, logger *slog.Logger, method string, p any) error {
	logger.ErrorContext(ctx, "grpc handler panicked",
		slog.String("grpc.method", method),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())),
	)
	return status.Error(codes.Internal, internalMessage)
}

// deadlineUnary gives calls that arrive without a deadline one of timeout.
// Calls with a deadline, however long, keep it.
func deadlineUnary(timeout time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); ok {
			return handler(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return handler(ctx, req)
	}
}

// deadlineStream is the streaming counterpart of deadlineUnary. Health
// watches are exempt: they are meant to last as long as the client watches.
func deadlineStream(timeout time.Duration) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if _, ok := ss.Context().Deadline(); ok || info.FullMethod == healthpb.Health_Watch_FullMethodName {
			return handler(srv, ss)
		}
		ctx, cancel := context.WithTimeout(ss.Context(), timeout)
		defer cancel()
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream is a server stream whose context has been replaced.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the replacement context.
func (s *contextStream) Context() context.Context { return s.ctx }

// errorsUnary translates the errors of the rest of the chain with Status,
// logging those that are internal to the server.
func errorsUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, mapError(ctx, logger, info.FullMethod, err)
		}
		return resp, nil
	}
}

// errorsStream is the streaming counterpart of errorsUnary.
func errorsStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return mapError(ss.Context(), logger, info.FullMethod, err)
		}
		return nil
	}
}

// mapError returns the status error for err, logging err when it is
// internal: its detail is hidden from the client, so the log is the only
// place where it can be found.
func mapError(ctx context.Context, logger *slog.Logger, method string, err error) error {
	st := Status(err)
	switch st.Code() {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		logger.ErrorContext(ctx, "grpc call failed",
			slog.String("grpc.method", method),
			slog.String("grpc.code", st.Code().String()),
			slog.Any("error", err),
		)
	}
	return st.Err()
}
