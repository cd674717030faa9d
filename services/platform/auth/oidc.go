package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// httpTimeout bounds each request to the identity provider: it is the
	// timeout of the default HTTP client and of background JWKS refreshes.
	httpTimeout = 10 * time.Second
	// defaultMinRefreshInterval is OIDCOptions.MinRefreshInterval's default.
	defaultMinRefreshInterval = 30 * time.Second
	// maxResponseBytes bounds the discovery document and the JWKS.
	maxResponseBytes = 1 << 20
	// minRSABits is the smallest RSA modulus trusted for signatures.
	minRSABits = 2048
)

// OIDCOptions configure an OIDC verifier.
type OIDCOptions struct {
	// Issuer is the identity provider's issuer URL, for instance
	// https://login.example.fr/realms/avenir. Its discovery document is at
	// Issuer + "/.well-known/openid-configuration" and must announce this
	// exact issuer, which tokens must carry as iss. It must be https, unless
	// its host is loopback.
	Issuer string
	// Audience is the aud tokens must contain; required.
	Audience string
	// HTTPClient fetches the discovery document and the JWKS; when nil, a
	// client with a 10 s timeout.
	HTTPClient *http.Client
	// MinRefreshInterval bounds how often an unknown kid triggers a JWKS
	// refetch (30 s when zero or negative), so a flood of tokens with random
	// kids cannot hammer the identity provider.
	MinRefreshInterval time.Duration
	// Now is the clock tokens are checked against and refreshes are paced
	// by; time.Now when nil.
	Now func() time.Time
}

// OIDC verifies tokens signed by an OpenID Connect provider's keys,
// published as a JWKS. Keys are cached by kid; a token with an unknown kid
// triggers a refetch, at most once per MinRefreshInterval, which drops the
// keys the provider no longer publishes. It is safe for concurrent use.
type OIDC struct {
	issuer     string
	audience   string
	jwksURI    string
	client     *http.Client
	minRefresh time.Duration
	now        func() time.Time

	mu   sync.RWMutex
	keys keySet

	refreshMu sync.Mutex
	lastFetch time.Time  // when the last JWKS fetch started
	lastErr   error      // the error of the last finished fetch
	inflight  *jwksFetch // the fetch under way, if any
}

// keySet holds the usable signing keys of a JWKS.
type keySet struct {
	byKID map[string]crypto.PublicKey
	sole  crypto.PublicKey // the only key, when the JWKS has exactly one
}

// jwksFetch is one JWKS fetch, shared by every caller waiting for it.
type jwksFetch struct {
	done chan struct{} // closed when err is set
	err  error
}

// NewOIDC reads the issuer's discovery document, checks that it announces
// opts.Issuer, and fetches its JWKS once.
func NewOIDC(ctx context.Context, opts OIDCOptions) (*OIDC, error) {
	if opts.Issuer == "" {
		return nil, errors.New("auth: OIDC issuer is required")
	}
	if opts.Audience == "" {
		return nil, errors.New("auth: OIDC audience is required")
	}
	issuerURL, err := url.Parse(opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC issuer: %w", err)
	}
	if err := requireHTTPS(issuerURL); err != nil {
		return nil, fmt.Errorf("auth: OIDC issuer: %w", err)
	}
	o := &OIDC{
		issuer:     opts.Issuer,
		audience:   opts.Audience,
		client:     opts.HTTPClient,
		minRefresh: opts.MinRefreshInterval,
		now:        opts.Now,
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: httpTimeout}
	}
	if o.minRefresh <= 0 {
		o.minRefresh = defaultMinRefreshInterval
	}
	if o.now == nil {
		o.now = time.Now
	}

	discovery := strings.TrimSuffix(opts.Issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := o.getJSON(ctx, discovery, &doc); err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: %w", err)
	}
	if doc.Issuer != opts.Issuer {
		return nil, fmt.Errorf("auth: OIDC discovery at %s announces issuer %q, not the configured %q", discovery, doc.Issuer, opts.Issuer)
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("auth: OIDC discovery at %s has no jwks_uri", discovery)
	}
	jwksURL, err := url.Parse(doc.JWKSURI)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC jwks_uri: %w", err)
	}
	if err := requireHTTPS(jwksURL); err != nil {
		return nil, fmt.Errorf("auth: OIDC jwks_uri: %w", err)
	}
	o.jwksURI = doc.JWKSURI

	o.lastFetch = o.now()
	if o.keys, err = o.fetchKeys(ctx); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return o, nil
}

// Verify implements Verifier. Errors wrapping ErrUnauthenticated are the
// token's fault; a JWKS that cannot be fetched when the cached keys do not
// know the token's kid is the server's.
func (o *OIDC) Verify(ctx context.Context, token string) (Principal, error) {
	return Verify(token, func(kid string) (crypto.PublicKey, error) {
		if k, ok := o.lookup(kid); ok {
			return k, nil
		}
		if err := o.refresh(ctx); err != nil {
			return nil, err
		}
		if k, ok := o.lookup(kid); ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}, o.issuer, o.audience, o.now())
}

// lookup returns the cached key of kid; a token without kid may only use
// the sole key of a single-key JWKS.
func (o *OIDC) lookup(kid string) (crypto.PublicKey, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if kid == "" {
		return o.keys.sole, o.keys.sole != nil
	}
	k, ok := o.keys.byKID[kid]
	return k, ok
}

// refresh refetches the JWKS, unless a fetch started less than
// MinRefreshInterval ago: then it returns that fetch's outcome, waiting
// for it if it is still under way. The fetch itself runs detached from
// ctx, so that a caller giving up does not fail the others waiting for it.
func (o *OIDC) refresh(ctx context.Context) error {
	o.refreshMu.Lock()
	f := o.inflight
	if f == nil {
		now := o.now()
		if now.Sub(o.lastFetch) < o.minRefresh {
			err := o.lastErr
			o.refreshMu.Unlock()
			return err
		}
		f = &jwksFetch{done: make(chan struct{})}
		o.inflight, o.lastFetch = f, now
		go o.runFetch(context.WithoutCancel(ctx), f)
	}
	o.refreshMu.Unlock()

	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runFetch performs f, replacing the cached keys when it succeeds.
func (o *OIDC) runFetch(ctx context.Context, f *jwksFetch) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	keys, err := o.fetchKeys(ctx)
	if err == nil {
		o.mu.Lock()
		o.keys = keys
		o.mu.Unlock()
	}
	o.refreshMu.Lock()
	f.err, o.lastErr, o.inflight = err, err, nil
	o.refreshMu.Unlock()
	close(f.done)
}

// fetchKeys fetches the JWKS and keeps its usable signing keys. Keys of an
// unsupported type or curve, encryption keys and keys that do not parse are
// skipped; a JWKS left with no key is an error.
func (o *OIDC) fetchKeys(ctx context.Context) (keySet, error) {
	// Keys are decoded one by one rather than as a jose.JSONWebKeySet, which
	// fails as a whole on a single key it does not support.
	var jwks struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := o.getJSON(ctx, o.jwksURI, &jwks); err != nil {
		return keySet{}, fmt.Errorf("fetch JWKS: %w", err)
	}
	var usable []jose.JSONWebKey
	for _, raw := range jwks.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) == nil && usableSigningKey(&k) {
			usable = append(usable, k)
		}
	}
	if len(usable) == 0 {
		return keySet{}, fmt.Errorf("JWKS at %s has no usable signing key", o.jwksURI)
	}
	ks := keySet{byKID: make(map[string]crypto.PublicKey, len(usable))}
	for _, k := range usable {
		// A JWKS should not repeat a kid; if it does, the first key wins.
		if _, dup := ks.byKID[k.KeyID]; k.KeyID != "" && !dup {
			ks.byKID[k.KeyID] = k.Key
		}
	}
	if len(usable) == 1 {
		ks.sole = usable[0].Key
	}
	return ks, nil
}

// usableSigningKey reports whether k is a public key meant for signatures
// that one of Algorithms can verify: Ed25519, RSA of at least minRSABits,
// or ECDSA on P-256.
func usableSigningKey(k *jose.JSONWebKey) bool {
	if !k.Valid() || (k.Use != "" && k.Use != "sig") {
		return false
	}
	if k.Algorithm != "" && !slices.Contains(Algorithms, jose.SignatureAlgorithm(k.Algorithm)) {
		return false
	}
	switch key := k.Key.(type) {
	case ed25519.PublicKey:
		return true
	case *rsa.PublicKey:
		return key.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return key.Curve == elliptic.P256()
	}
	return false
}

// getJSON decodes the JSON document at rawURL into v, refusing a response
// larger than maxResponseBytes or served, after redirects, over plain HTTP
// from a host other than loopback.
func (o *OIDC) getJSON(ctx context.Context, rawURL string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := requireHTTPS(resp.Request.URL); err != nil {
		return fmt.Errorf("GET %s: redirected: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: unexpected status %s", rawURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if len(body) > maxResponseBytes {
		return fmt.Errorf("GET %s: response larger than %d bytes", rawURL, maxResponseBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}

// requireHTTPS refuses a URL that is not https, unless it is http on a
// loopback host.
func requireHTTPS(u *url.URL) error {
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s is not an https URL (plain http is only allowed on loopback)", u.Redacted())
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
