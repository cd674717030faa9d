package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

const testAudience = "avenir-api"

// fakeIdP serves an OIDC discovery document and a JWKS the test rotates.
type fakeIdP struct {
	srv *httptest.Server

	mu             sync.Mutex
	issuer         string        // announced by discovery, when not the server URL
	keys           []any         // JWKS entries: jose.JSONWebKey or raw JSON
	discoveryBytes int           // when positive, discovery is padded to this size
	jwksDelay      time.Duration // how long the JWKS takes to serve
	jwksFailing    bool

	jwksHits atomic.Int32
}

// newFakeIdP starts an identity provider publishing keys; edit, when not
// nil, configures it before it starts.
func newFakeIdP(t *testing.T, edit func(*fakeIdP), keys ...any) *fakeIdP {
	t.Helper()
	idp := &fakeIdP{keys: keys}
	if edit != nil {
		edit(idp)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", idp.serveDiscovery)
	mux.HandleFunc("/jwks", idp.serveJWKS)
	idp.srv = httptest.NewUnstartedServer(mux)
	idp.srv.Start()
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *fakeIdP) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	doc := map[string]string{"issuer": idp.srv.URL, "jwks_uri": idp.srv.URL + "/jwks"}
	if idp.issuer != "" {
		doc["issuer"] = idp.issuer
	}
	if idp.discoveryBytes > 0 {
		doc["padding"] = strings.Repeat("x", idp.discoveryBytes)
	}
	writeJSON(w, doc)
}

func (idp *fakeIdP) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	idp.jwksHits.Add(1)
	time.Sleep(idp.jwksDelay)
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if idp.jwksFailing {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{"keys": idp.keys})
}

func writeJSON(w http.ResponseWriter, doc any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		panic(err)
	}
}

// set replaces the JWKS entries.
func (idp *fakeIdP) set(keys ...any) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.keys = keys
}

// failJWKS makes the JWKS endpoint answer 503.
func (idp *fakeIdP) failJWKS() {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.jwksFailing = true
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// signingKey is a private key, its algorithm and kid, published as jwk.
type signingKey struct {
	alg jose.SignatureAlgorithm
	key any
	kid string
}

func (k signingKey) jwk() jose.JSONWebKey {
	pub := jose.JSONWebKey{Key: k.key, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
	return pub.Public()
}

// token signs valid referent claims for idp at now.
func (k signingKey) token(t *testing.T, idp *fakeIdP, now time.Time) string {
	t.Helper()
	return sign(t, k.alg, k.key, k.kid, referentClaims(idp.srv.URL, testAudience, now))
}

func ed25519Key(t *testing.T, kid string) signingKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{alg: jose.EdDSA, key: key, kid: kid}
}

func ecKey(t *testing.T, curve elliptic.Curve, kid string) signingKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{alg: jose.ES256, key: key, kid: kid}
}

// newOIDC returns a verifier of idp whose clock the test controls.
func newOIDC(t *testing.T, idp *fakeIdP) (*auth.OIDC, *clock) {
	t.Helper()
	clk := &clock{now: testNow}
	o, err := auth.NewOIDC(context.Background(), auth.OIDCOptions{
		Issuer:             idp.srv.URL,
		Audience:           testAudience,
		MinRefreshInterval: time.Minute,
		Now:                clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return o, clk
}

func TestOIDCVerifiesAndFollowsRotation(t *testing.T) {
	a, b := ed25519Key(t, "key-a"), ecKey(t, elliptic.P256(), "key-b")
	idp := newFakeIdP(t, nil, a.jwk())
	o, clk := newOIDC(t, idp)
	ctx := context.Background()

	p, err := o.Verify(ctx, a.token(t, idp, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "f3a1c2d4" || p.Role != auth.RoleReferent || p.ReferentID != "ref-042" {
		t.Errorf("principal = %+v", p)
	}

	idp.set(b.jwk())
	clk.Advance(time.Minute)
	if _, err := o.Verify(ctx, b.token(t, idp, clk.Now())); err != nil {
		t.Fatalf("token of the new key refused after rotation: %v", err)
	}
	if hits := idp.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (start, rotation)", hits)
	}
	tokenA := a.token(t, idp, clk.Now())
	p, err = o.Verify(ctx, tokenA)
	refused(t, p, err, tokenA, "unknown key")
	if hits := idp.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times, want no refetch within MinRefreshInterval", hits)
	}
}

func TestOIDCRefetchIsRateLimited(t *testing.T) {
	a, b := ed25519Key(t, "key-a"), ed25519Key(t, "key-b")
	// A slow JWKS, so that most of a burst arrives while it is fetched.
	idp := newFakeIdP(t, func(idp *fakeIdP) { idp.jwksDelay = 100 * time.Millisecond }, a.jwk())
	o, clk := newOIDC(t, idp)

	// Rotated, but too soon after the start: the new kid stays unknown.
	idp.set(a.jwk(), b.jwk())
	tokenB := b.token(t, idp, clk.Now())
	p, err := o.Verify(context.Background(), tokenB)
	refused(t, p, err, tokenB, "unknown key")
	if hits := idp.jwksHits.Load(); hits != 1 {
		t.Fatalf("JWKS fetched %d times, want only at start", hits)
	}

	// burst verifies concurrently 50 tokens with random kids and 10 of the
	// new key, which all wait for the refetch that brings it, if any.
	burst := func(wantNewKey bool) {
		t.Helper()
		var tokens []string
		for range 50 {
			random := signingKey{alg: a.alg, key: a.key, kid: rand.Text()}
			tokens = append(tokens, random.token(t, idp, clk.Now()))
		}
		for range 10 {
			tokens = append(tokens, b.token(t, idp, clk.Now()))
		}
		errs := make([]error, len(tokens))
		var wg sync.WaitGroup
		for i, token := range tokens {
			wg.Go(func() { _, errs[i] = o.Verify(context.Background(), token) })
		}
		wg.Wait()
		for i, err := range errs {
			switch {
			case i < 50 || !wantNewKey:
				refused(t, auth.Principal{}, err, tokens[i], "unknown key")
			case err != nil:
				t.Errorf("token of the new key refused: %v", err)
			}
		}
	}
	burst(false)
	if hits := idp.jwksHits.Load(); hits != 1 {
		t.Errorf("JWKS fetched %d times, want no refetch within MinRefreshInterval", hits)
	}
	clk.Advance(time.Minute)
	burst(true)
	if hits := idp.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (start, one refetch for the burst)", hits)
	}
}

func TestOIDCFetchFailure(t *testing.T) {
	a := ed25519Key(t, "key-a")
	idp := newFakeIdP(t, nil, a.jwk())
	o, clk := newOIDC(t, idp)
	idp.failJWKS()
	clk.Advance(time.Hour)

	if _, err := o.Verify(context.Background(), a.token(t, idp, clk.Now())); err != nil {
		t.Errorf("token of a cached key refused while the JWKS is down: %v", err)
	}
	unknown := signingKey{alg: a.alg, key: a.key, kid: "key-new"}
	for range 2 { // fetching, then rate limited: the same server-side error
		_, err := o.Verify(context.Background(), unknown.token(t, idp, clk.Now()))
		if err == nil || errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), "503") {
			t.Errorf("error = %v, want a server-side JWKS fetch failure", err)
		}
	}
	if hits := idp.jwksHits.Load(); hits != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (start, one failed refetch)", hits)
	}
}

func TestOIDCTokenWithoutKid(t *testing.T) {
	a, b := ed25519Key(t, "key-a"), ed25519Key(t, "key-b")
	idp := newFakeIdP(t, nil, a.jwk())
	o, clk := newOIDC(t, idp)
	noKid := signingKey{alg: a.alg, key: a.key}

	if _, err := o.Verify(context.Background(), noKid.token(t, idp, clk.Now())); err != nil {
		t.Errorf("token without kid refused with a single-key JWKS: %v", err)
	}
	idp.set(a.jwk(), b.jwk())
	clk.Advance(time.Minute)
	if _, err := o.Verify(context.Background(), b.token(t, idp, clk.Now())); err != nil {
		t.Fatal(err)
	}
	token := noKid.token(t, idp, clk.Now())
	p, err := o.Verify(context.Background(), token)
	refused(t, p, err, token, "unknown key")
}

// unusableKeys are JWKS entries the verifier must skip: keys it cannot
// use for Algorithms, encryption keys, and entries that do not parse.
func unusableKeys(t *testing.T) []any {
	t.Helper()
	p384 := ecKey(t, elliptic.P384(), "p384")
	p384.alg = jose.ES384
	enc := ecKey(t, elliptic.P256(), "enc").jwk()
	enc.Use = "enc"
	hmacAlg := ed25519Key(t, "hs256").jwk()
	hmacAlg.Algorithm = string(jose.HS256)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return []any{
		p384.jwk(), enc, hmacAlg,
		jose.JSONWebKey{Key: &small.PublicKey, KeyID: "rsa-1024", Algorithm: string(jose.RS256), Use: "sig"},
		json.RawMessage(`{"kty":"oct","kid":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`),
		json.RawMessage(`{"kty":"OKP","crv":"X25519","kid":"x25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`),
		json.RawMessage(`{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"}`),
		json.RawMessage(`{"kty":"UNKNOWN","kid":"future"}`),
	}
}

func TestOIDCKeepsOnlyUsableSigningKeys(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := signingKey{alg: jose.RS256, key: priv, kid: "rsa"}
	idp := newFakeIdP(t, nil, append(unusableKeys(t), rsaKey.jwk())...)
	o, clk := newOIDC(t, idp)

	if _, err := o.Verify(context.Background(), rsaKey.token(t, idp, clk.Now())); err != nil {
		t.Errorf("RS256 token refused: %v", err)
	}
	noKid := signingKey{alg: jose.PS256, key: priv}
	if _, err := o.Verify(context.Background(), noKid.token(t, idp, clk.Now())); err != nil {
		t.Errorf("token without kid refused, though the JWKS has one usable key: %v", err)
	}
	// Keys published but unusable, signing with an accepted algorithm.
	enc := ecKey(t, elliptic.P256(), "enc")
	hmacAlg := ed25519Key(t, "hs256")
	for _, k := range []signingKey{enc, hmacAlg} {
		token := k.token(t, idp, clk.Now())
		p, err := o.Verify(context.Background(), token)
		refused(t, p, err, token, "unknown key")
	}
}

func TestNewOIDCErrors(t *testing.T) {
	key := ed25519Key(t, "key-a")
	mismatch := newFakeIdP(t, func(idp *fakeIdP) { idp.issuer = "https://login.example.fr/realms/avenir" }, key.jwk())
	huge := newFakeIdP(t, func(idp *fakeIdP) { idp.discoveryBytes = 2 << 20 }, key.jwk())
	unusable := newFakeIdP(t, nil, unusableKeys(t)...)

	for _, tc := range []struct {
		name string
		opts auth.OIDCOptions
		want string
	}{
		{"no issuer", auth.OIDCOptions{Audience: testAudience}, "issuer is required"},
		{"no audience", auth.OIDCOptions{Issuer: "https://login.example.fr/realms/avenir"}, "audience is required"},
		{"plain http", auth.OIDCOptions{Issuer: "http://login.example.fr/realms/avenir", Audience: testAudience}, "not an https URL"},
		{"no scheme", auth.OIDCOptions{Issuer: "login.example.fr", Audience: testAudience}, "not an https URL"},
		{"issuer mismatch", auth.OIDCOptions{Issuer: mismatch.srv.URL, Audience: testAudience}, "announces issuer"},
		{"no discovery", auth.OIDCOptions{Issuer: mismatch.srv.URL + "/realms/none", Audience: testAudience}, "404"},
		{"oversized discovery", auth.OIDCOptions{Issuer: huge.srv.URL, Audience: testAudience}, "larger than"},
		{"no usable key", auth.OIDCOptions{Issuer: unusable.srv.URL, Audience: testAudience}, "no usable signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewOIDC(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestNewOIDCRefusesRedirectToHTTP checks that a JWKS redirected to plain
// http on a remote host is refused, though the HTTP client follows it.
func TestNewOIDCRefusesRedirectToHTTP(t *testing.T) {
	const remote = "keys.example.fr"
	key := ed25519Key(t, "key-a")
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/redirect"})
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+remote+"/jwks", http.StatusFound)
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk()}})
	})
	srv.Start()
	defer srv.Close()
	// The remote host is served by srv too: nothing leaves the machine.
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != remote {
			return http.DefaultTransport.RoundTrip(r)
		}
		local := r.Clone(r.Context())
		local.URL.Host = srv.Listener.Addr().String()
		resp, err := http.DefaultTransport.RoundTrip(local)
		if resp != nil {
			resp.Request = r
		}
		return resp, err
	})}

	_, err := auth.NewOIDC(context.Background(), auth.OIDCOptions{Issuer: srv.URL, Audience: testAudience, HTTPClient: client})
	if err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Errorf("error = %v, want the redirect to plain http refused", err)
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
