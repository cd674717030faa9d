package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Dev mode token settings.
const (
	// DevIssuer is the issuer of tokens minted with the dev key.
	DevIssuer = "avenir-dev"
	// DefaultAudience is the audience avenir expects unless configured.
	DefaultAudience = "avenir"
	// DevKeyFile is where the dev signing key lives, under the data dir.
	DevKeyFile = "auth/dev-signing-key.pem"
)

// LoadOrCreateDevKey reads the Ed25519 dev signing key under dataDir, or
// creates it (readable by its owner only) on first use.
func LoadOrCreateDevKey(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, DevKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read dev key: %w", err)
	}
	return parseDevKey(path, b)
}

// LoadDevKey reads an existing dev signing key (for minting tokens).
func LoadDevKey(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, DevKeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: no dev key at %s (start `avenir server --dev --data-dir %s` once to create it): %w", path, dataDir, err)
	}
	return parseDevKey(path, b)
}

func parseDevKey(path string, b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: %s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s is not an Ed25519 key", path)
	}
	return key, nil
}

func createDevKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: dev key dir: %w", err)
	}
	// Write a complete file aside, then link it into place: a process
	// starting at the same time either wins the link or reads a whole key,
	// and a failed write leaves nothing behind.
	tmp, err := os.CreateTemp(dir, ".dev-signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create dev key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, rerr
		}
		return parseDevKey(path, b)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: create dev key: %w", err)
	}
	return key, nil
}

// KeyID is the key id of a public key: the first 128 bits of the SHA-256
// digest of its PKIX encoding, base64url.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// Mint signs claims with an Ed25519 key (kid = KeyID of its public key).
func Mint(key ed25519.PrivateKey, c Claims) (string, error) {
	kid, err := KeyID(key.Public())
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// DevClaims are the claims of a dev token valid for ttl from now.
func DevClaims(p Principal, ttl time.Duration, now time.Time) Claims {
	return Claims{
		Claims: jwt.Claims{
			Issuer:    DevIssuer,
			Subject:   p.Subject,
			Audience:  jwt.Audience{DefaultAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
		},
		Name: p.Name, Role: p.Role, ReferentID: p.ReferentID, OperatorID: p.OperatorID, Territories: p.Territories,
		Coordinator: p.Coordinator,
	}
}

// StaticVerifier verifies tokens signed by a fixed set of keys (the dev key).
type StaticVerifier struct {
	keys     map[string]crypto.PublicKey
	issuer   string
	audience string
	now      func() time.Time
}

// NewStaticVerifier trusts keys (indexed by KeyID) for tokens of issuer
// and audience.
func NewStaticVerifier(issuer, audience string, now func() time.Time, keys ...crypto.PublicKey) (*StaticVerifier, error) {
	v := &StaticVerifier{keys: map[string]crypto.PublicKey{}, issuer: issuer, audience: audience, now: now}
	if v.now == nil {
		v.now = time.Now
	}
	for _, k := range keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		v.keys[kid] = k
	}
	return v, nil
}

// Verify implements Verifier.
func (v *StaticVerifier) Verify(_ context.Context, token string) (Principal, error) {
	return Verify(token, func(kid string) (crypto.PublicKey, error) {
		if k, ok := v.keys[kid]; ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}, v.issuer, v.audience, v.now())
}
