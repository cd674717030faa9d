// Package grpcx holds the gRPC plumbing shared by every avenir service: a
// server with recovery, default deadlines, error mapping, health checking,
// reflection and OpenTelemetry instrumentation, and a matching client.
//
// It is the one place where application errors (package apperr) are
// translated into gRPC status codes; see Status.
package grpcx

import "time"

const (
	// DefaultTimeout is the deadline given to calls, incoming or outgoing,
	// that do not carry one.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRecvMsgSize is the largest message a server accepts unless
	// configured otherwise.
	DefaultMaxRecvMsgSize = 4 << 20
)
