package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 60 * time.Second

// Algorithms are the only signature algorithms accepted ("none" never is).
var Algorithms = []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256, jose.ES256, jose.PS256}

// Claims is the token payload avenir reads.
type Claims struct {
	jwt.Claims
	Name        string   `json:"name,omitempty"`
	Role        Role     `json:"role"`
	ReferentID  string   `json:"referent_id,omitempty"`
	OperatorID  string   `json:"operator_id,omitempty"`
	Territories []string `json:"territories,omitempty"`
	// Coordinator: the referent coordinates its territories, and acts for
	// every learner of them.
	Coordinator bool `json:"coordinator,omitempty"`
}

// ErrUnauthenticated wraps every verification failure; the message says
// why, without the token.
var ErrUnauthenticated = errors.New("unauthenticated")

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, fmt.Sprintf(format, args...))
}

// KeyFunc returns the verification key for a key id ("" when the token has
// none); an unknown kid is an error wrapping ErrUnknownKey.
type KeyFunc func(kid string) (crypto.PublicKey, error)

// ErrUnknownKey reports a token signed with a key the verifier does not know.
var ErrUnknownKey = errors.New("unknown signing key")

// Verify checks a compact JWS token: an accepted algorithm, the signature
// with the key of its kid, exp and nbf (with Leeway) at now, the issuer and
// the audience; then maps its claims to a principal.
func Verify(token string, keyFor KeyFunc, issuer, audience string, now time.Time) (Principal, error) {
	if issuer == "" || audience == "" {
		// go-jose skips the check of an empty expectation.
		return Principal{}, errors.New("auth: verifier needs an issuer and an audience")
	}
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil {
		return Principal{}, unauthenticated("malformed token or unsupported algorithm")
	}
	if len(tok.Headers) != 1 {
		return Principal{}, unauthenticated("token must have exactly one signature")
	}
	key, err := keyFor(tok.Headers[0].KeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return Principal{}, unauthenticated("token signed with an unknown key")
		}
		return Principal{}, fmt.Errorf("auth: signing keys unavailable: %w", err)
	}
	// The signature first, alone: a well-signed token whose claims have the
	// wrong types is malformed, not forged, and the caller is told so.
	if err := tok.Claims(key); err != nil {
		return Principal{}, unauthenticated("bad token signature")
	}
	var c Claims
	if err := tok.Claims(key, &c); err != nil {
		return Principal{}, unauthenticated("malformed claims: a claim has the wrong type")
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: now}, Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return Principal{}, unauthenticated("token expired")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return Principal{}, unauthenticated("token not valid yet")
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return Principal{}, unauthenticated("wrong token issuer")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return Principal{}, unauthenticated("wrong token audience")
	case err != nil:
		return Principal{}, unauthenticated("invalid token claims")
	}
	if c.Expiry == nil {
		return Principal{}, unauthenticated("token without expiry")
	}
	p, err := c.principal()
	if err != nil {
		return Principal{}, err
	}
	p.Day = civil.Of(now)
	return p, nil
}

// principal maps verified claims to a principal, refusing incoherent ones.
func (c Claims) principal() (Principal, error) {
	if c.Subject == "" {
		return Principal{}, unauthenticated("token without subject")
	}
	if !c.Role.Valid() {
		return Principal{}, unauthenticated("token without a known role")
	}
	for _, t := range c.Territories {
		if ident.CheckTerritory(t) != "" {
			return Principal{}, unauthenticated("token with a malformed territory")
		}
	}
	switch c.Role {
	case RoleReferent:
		if c.ReferentID == "" || len(c.Territories) == 0 {
			return Principal{}, unauthenticated("referent token without referent id or territories")
		}
	case RoleOperator:
		if c.OperatorID == "" {
			return Principal{}, unauthenticated("operator token without operator id")
		}
	case RoleService:
		if c.ReferentID != "" || c.OperatorID != "" || len(c.Territories) > 0 || c.Coordinator {
			return Principal{}, unauthenticated("service token with a person's scope")
		}
	}
	return Principal{
		Subject: c.Subject, Name: c.Name, Role: c.Role,
		ReferentID: c.ReferentID, OperatorID: c.OperatorID, Territories: c.Territories,
		Coordinator: c.Role == RoleReferent && c.Coordinator,
	}, nil
}

// Verifier verifies bearer tokens. Errors wrapping ErrUnauthenticated are
// the caller's fault; others (keys unavailable) are the server's.
type Verifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}
