package grpcx

import (
	"context"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial returns a client connection to target, created lazily by
// grpc.NewClient. Calls are traced and measured with OpenTelemetry through
// the global providers, and every call without a deadline gets one of
// DefaultTimeout, streams included: a long-lived stream needs a context with
// its own, longer deadline. The connection is insecure unless opts bring
// transport credentials; opts are applied after the defaults and so
// override them.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	defaults := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithChainUnaryInterceptor(clientDeadlineUnary(DefaultTimeout)),
		grpc.WithChainStreamInterceptor(clientDeadlineStream(DefaultTimeout)),
	}
	return grpc.NewClient(target, append(defaults, opts...)...)
}

// clientDeadlineUnary gives calls without a deadline one of timeout.
func clientDeadlineUnary(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// clientDeadlineStream gives streams without a deadline one of timeout. The
// timer is released as soon as the stream ends.
func clientDeadlineStream(timeout time.Duration) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if _, ok := ctx.Deadline(); ok {
			return streamer(ctx, desc, cc, method, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			cancel()
			return nil, err
		}
		return &cancelOnEndStream{ClientStream: cs, cancel: cancel, serverStreams: desc.ServerStreams}, nil
	}
}

// cancelOnEndStream cancels its context once the stream has ended, that is
// when receiving fails (io.EOF included) or, for streams whose server sends
// a single message, once that message has been received.
type cancelOnEndStream struct {
	grpc.ClientStream
	cancel        context.CancelFunc
	serverStreams bool
}

// RecvMsg receives a message and releases the stream's context when the
// stream is over.
func (s *cancelOnEndStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.cancel()
	}
	return err
}
