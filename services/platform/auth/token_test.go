package auth_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// testNow is the fixed instant the token tests verify at.
var testNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sign serializes claims as a compact JWS signed by key with alg; kid goes
// in the header unless empty.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// referentClaims are valid claims of a referent, issued at now for an hour.
func referentClaims(issuer, audience string, now time.Time) auth.Claims {
	return auth.Claims{
		Claims: jwt.Claims{
			Issuer:    issuer,
			Subject:   "f3a1c2d4",
			Audience:  jwt.Audience{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Name:        "Camille Lefèvre",
		Role:        auth.RoleReferent,
		ReferentID:  "ref-042",
		Territories: []string{"T14", "T50"},
	}
}

// refused asserts that verifying token failed as the caller's fault, with
// a message containing want and none of the token's segments.
func refused(t *testing.T, p auth.Principal, err error, token, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("token accepted as %v, want refusal %q", p, want)
	}
	if !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("error %q does not wrap ErrUnauthenticated", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	for segment := range strings.SplitSeq(token, ".") {
		if segment != "" && strings.Contains(err.Error(), segment) {
			t.Errorf("error %q leaks the token", err)
		}
	}
}

// trustedKey returns a fresh Ed25519 key and a StaticVerifier trusting
// only it, for DevIssuer and DefaultAudience at testNow.
func trustedKey(t *testing.T) (ed25519.PrivateKey, string, *auth.StaticVerifier) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := auth.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewStaticVerifier(auth.DevIssuer, auth.DefaultAudience, func() time.Time { return testNow }, pub)
	if err != nil {
		t.Fatal(err)
	}
	return key, kid, v
}

func TestVerifyValidToken(t *testing.T) {
	key, kid, v := trustedKey(t)
	for _, tc := range []struct {
		name   string
		claims auth.Claims
		want   auth.Principal
	}{{
		name:   "referent",
		claims: referentClaims(auth.DevIssuer, auth.DefaultAudience, testNow),
		want: auth.Principal{
			Subject: "f3a1c2d4", Name: "Camille Lefèvre", Role: auth.RoleReferent,
			ReferentID: "ref-042", Territories: []string{"T14", "T50"},
		},
	}, {
		name: "operator",
		claims: auth.DevClaims(auth.Principal{
			Subject: "svc-ops", Role: auth.RoleOperator, OperatorID: "op-7", Territories: []string{"T61"},
		}, time.Hour, testNow),
		want: auth.Principal{Subject: "svc-ops", Role: auth.RoleOperator, OperatorID: "op-7", Territories: []string{"T61"}},
	}, {
		name:   "admin",
		claims: auth.DevClaims(auth.Principal{Subject: "root", Role: auth.RoleAdmin}, time.Hour, testNow),
		want:   auth.Principal{Subject: "root", Role: auth.RoleAdmin},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), sign(t, jose.EdDSA, key, kid, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tc.want.Subject || p.Name != tc.want.Name || p.Role != tc.want.Role ||
				p.ReferentID != tc.want.ReferentID || p.OperatorID != tc.want.OperatorID ||
				!slices.Equal(p.Territories, tc.want.Territories) || p.Day != (civil.Date{Year: 2026, Month: 3, Day: 2}) {
				t.Errorf("principal = %+v, want %+v on 2026-03-02", p, tc.want)
			}
		})
	}
}

// The principal's day is the business day of the verifier's clock in
// Paris: 23:30 UTC on 20 December is already the 21st there.
func TestVerifyDatesTheCallInParis(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := auth.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 20, 23, 30, 0, 0, time.UTC)
	v, err := auth.NewStaticVerifier(auth.DevIssuer, auth.DefaultAudience, func() time.Time { return now }, pub)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), sign(t, jose.EdDSA, key, kid, referentClaims(auth.DevIssuer, auth.DefaultAudience, now)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (civil.Date{Year: 2026, Month: 12, Day: 21}); p.Day != want {
		t.Fatalf("day %s, want %s", p.Day, want)
	}
}

func TestVerifyLeeway(t *testing.T) {
	key, kid, v := trustedKey(t)
	c := referentClaims(auth.DevIssuer, auth.DefaultAudience, testNow.Add(-time.Hour))
	c.Expiry = jwt.NewNumericDate(testNow.Add(-30 * time.Second))
	if _, err := v.Verify(context.Background(), sign(t, jose.EdDSA, key, kid, c)); err != nil {
		t.Errorf("token expired 30 s ago refused within the leeway: %v", err)
	}
	c = referentClaims(auth.DevIssuer, auth.DefaultAudience, testNow)
	c.NotBefore = jwt.NewNumericDate(testNow.Add(30 * time.Second))
	c.IssuedAt = c.NotBefore
	if _, err := v.Verify(context.Background(), sign(t, jose.EdDSA, key, kid, c)); err != nil {
		t.Errorf("token valid in 30 s refused within the leeway: %v", err)
	}
}

func TestVerifyRefusals(t *testing.T) {
	key, kid, v := trustedKey(t)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	valid := func(edit func(*auth.Claims)) auth.Claims {
		c := referentClaims(auth.DevIssuer, auth.DefaultAudience, testNow)
		edit(&c)
		return c
	}
	signed := func(edit func(*auth.Claims)) string {
		return sign(t, jose.EdDSA, key, kid, valid(edit))
	}
	for _, tc := range []struct {
		name  string
		token string
		want  string
	}{{
		name: "expired beyond the leeway",
		token: signed(func(c *auth.Claims) {
			c.IssuedAt = jwt.NewNumericDate(testNow.Add(-2 * time.Hour))
			c.NotBefore = c.IssuedAt
			c.Expiry = jwt.NewNumericDate(testNow.Add(-auth.Leeway - time.Second))
		}),
		want: "expired",
	}, {
		name: "not valid before the leeway",
		token: signed(func(c *auth.Claims) {
			c.NotBefore = jwt.NewNumericDate(testNow.Add(2 * time.Minute))
		}),
		want: "not valid yet",
	}, {
		name:  "wrong issuer",
		token: signed(func(c *auth.Claims) { c.Issuer = "https://evil.example" }),
		want:  "wrong token issuer",
	}, {
		name:  "wrong audience",
		token: signed(func(c *auth.Claims) { c.Audience = jwt.Audience{"another-app"} }),
		want:  "wrong token audience",
	}, {
		name:  "signed by another key claiming the trusted kid",
		token: sign(t, jose.EdDSA, otherKey, kid, valid(func(*auth.Claims) {})),
		want:  "bad token signature",
	}, {
		name:  "alg none",
		token: unsigned(t, kid, valid(func(*auth.Claims) {})),
		want:  "unsupported algorithm",
	}, {
		name:  "HS256 keyed with the public key",
		token: sign(t, jose.HS256, publicKeyDER(t, key.Public()), kid, valid(func(*auth.Claims) {})),
		want:  "unsupported algorithm",
	}, {
		name:  "unknown kid",
		token: sign(t, jose.EdDSA, otherKey, "not-a-known-kid", valid(func(*auth.Claims) {})),
		want:  "unknown key",
	}, {
		name:  "no kid",
		token: sign(t, jose.EdDSA, key, "", valid(func(*auth.Claims) {})),
		want:  "unknown key",
	}, {
		name:  "no expiry",
		token: signed(func(c *auth.Claims) { c.Expiry = nil }),
		want:  "without expiry",
	}, {
		name:  "no subject",
		token: signed(func(c *auth.Claims) { c.Subject = "" }),
		want:  "without subject",
	}, {
		name:  "referent without referent id",
		token: signed(func(c *auth.Claims) { c.ReferentID = "" }),
		want:  "referent token without referent id or territories",
	}, {
		name:  "referent without territories",
		token: signed(func(c *auth.Claims) { c.Territories = nil }),
		want:  "referent token without referent id or territories",
	}, {
		name:  "operator without operator id",
		token: signed(func(c *auth.Claims) { c.Role, c.ReferentID = auth.RoleOperator, "" }),
		want:  "operator token without operator id",
	}, {
		name:  "unknown role",
		token: signed(func(c *auth.Claims) { c.Role = "superuser" }),
		want:  "without a known role",
	}, {
		name:  "malformed territory",
		token: signed(func(c *auth.Claims) { c.Territories = []string{"T14", "Calvados"} }),
		want:  "malformed territory",
	}, {
		// Well signed, by the trusted key, but claims of the wrong types: a
		// role that is a number, territories that are a string.
		name: "claims of the wrong types",
		token: sign(t, jose.EdDSA, key, kid, map[string]any{
			"iss": auth.DevIssuer, "aud": auth.DefaultAudience, "sub": "s", "exp": testNow.Add(time.Hour).Unix(),
			"role": 42, "territories": "T05",
		}),
		want: "malformed claims",
	}, {
		name:  "a forged signature on claims of the wrong types",
		token: sign(t, jose.EdDSA, otherKey, kid, map[string]any{"iss": auth.DevIssuer, "role": 42}),
		want:  "bad token signature",
	}, {
		name:  "not a JWT",
		token: "eyJhbGciOiJFZERTQSJ9.garbage",
		want:  "malformed token",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			refused(t, p, err, tc.token, tc.want)
		})
	}
}

func TestVerifyKeysUnavailable(t *testing.T) {
	key, kid, _ := trustedKey(t)
	token := sign(t, jose.EdDSA, key, kid, referentClaims(auth.DevIssuer, auth.DefaultAudience, testNow))
	down := errors.New("key store down")
	_, err := auth.Verify(token, func(string) (crypto.PublicKey, error) { return nil, down },
		auth.DevIssuer, auth.DefaultAudience, testNow)
	if !errors.Is(err, down) || errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("error = %v, want a server-side error wrapping %v", err, down)
	}
}

// unsigned hand-crafts an "alg: none" token: header, claims, no signature.
func unsigned(t *testing.T, kid string, c auth.Claims) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + "."
}

// publicKeyDER is the PKIX encoding of pub, what an attacker would use as
// an HMAC secret in an algorithm confusion attack.
func publicKeyDER(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
