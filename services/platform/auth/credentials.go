package auth

import (
	"context"

	"google.golang.org/grpc/credentials"
)

// BearerToken is per-RPC credentials sending a bearer token.
type BearerToken string

var _ credentials.PerRPCCredentials = BearerToken("")

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t BearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. It is
// false so that the CLI works against a dev server on loopback; production
// servers sit behind TLS.
func (t BearerToken) RequireTransportSecurity() bool { return false }
