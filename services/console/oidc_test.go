package console_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"google.golang.org/grpc"

	"github.com/avenir-normandie/avenir/services/console"
	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// idp is an identity provider outside the project (a stand-in for the
// Region's): discovery, an authorization endpoint that signs the person in
// at once, a token endpoint that checks the PKCE verifier, a JWKS, and an
// end-session endpoint.
type idp struct {
	srv  *httptest.Server
	key  ed25519.PrivateKey
	kid  string
	mu   sync.Mutex
	code map[string]string // code -> PKCE challenge
	// tokenCalls counts the code exchanges.
	tokenCalls int
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	p := &idp{key: key, kid: "k1", code: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{
			"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks", "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "end_session_endpoint": p.srv.URL + "/logout",
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: p.kid, Algorithm: string(jose.EdDSA), Use: "sig"}}})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("client_id") != "console" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		p.mu.Lock()
		p.code[code] = q.Get("code_challenge")
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		p.mu.Lock()
		p.tokenCalls++
		challenge, ok := p.code[r.PostFormValue("code")]
		delete(p.code, r.PostFormValue("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.PostFormValue("grant_type") != "authorization_code" {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		writeJSON(w, map[string]any{"access_token": p.token(t), "token_type": "Bearer", "expires_in": 3600})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// token is an access token for an administrator, as the provider issues.
func (p *idp) token(t *testing.T) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(auth.Claims{
		Claims: jwt.Claims{Issuer: p.srv.URL, Subject: "amelie", Audience: jwt.Audience{auth.DefaultAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
		Name: "Amélie Durand", Role: auth.RoleAdmin,
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// consoleWithOIDC serves a console signing people in at p.
func consoleWithOIDC(t *testing.T, p *idp, idle time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	verifier, err := auth.NewOIDC(t.Context(), auth.OIDCOptions{Issuer: p.srv.URL, Audience: auth.DefaultAudience})
	if err != nil {
		t.Fatal(err)
	}
	// The services are not needed by these pages: the clients dial an
	// address nobody answers.
	conn, err := grpcx.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := console.New(t.Context(), console.Config{
		Clients:  console.NewClients(func(string) grpc.ClientConnInterface { return conn }),
		Verifier: verifier, IdleTimeout: idle,
		OIDC: &console.OIDCConfig{Issuer: p.srv.URL, ClientID: "console", RedirectURL: "http://" + srv.Listener.Addr().String() + "/connexion/retour"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = c
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// A person signs in at the identity provider (authorization code flow with
// PKCE), lands on the page she asked for, and signs out there too.
func TestOIDCSignInAndOut(t *testing.T) {
	p := newIDP(t)
	srv := consoleWithOIDC(t, p, time.Minute)
	client := browserClient()

	// The page asked for comes back after the provider's redirection.
	res, err := client.Get(srv.URL + "/personnes/nouvelle")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, res); res.Request.URL.Path != "/personnes/nouvelle" || !strings.Contains(page, "Amélie Durand") {
		t.Fatalf("after the provider's redirection, landed on %s (%d):\n%s", res.Request.URL, res.StatusCode, page)
	}
	home, _ := client.Get(srv.URL + "/")
	if page := body(t, home); home.StatusCode != http.StatusOK || !strings.Contains(page, "Amélie Durand") {
		t.Fatalf("home after login: %d\n%s", home.StatusCode, page)
	}

	// Logout goes through the provider's end-session endpoint, and the
	// session is gone.
	csrf := csrfInput.FindStringSubmatch(body(t, mustGet(t, client, srv.URL+"/")))[1]
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/deconnexion", strings.NewReader(url.Values{"_csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	out, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	loc := out.Header.Get("Location")
	if !strings.HasPrefix(loc, p.srv.URL+"/logout") || !strings.Contains(loc, url.QueryEscape(srv.URL+"/connexion?sortie=1")) {
		t.Fatalf("logout redirects to %q", loc)
	}
	// Back from the provider: a signed-out page, not straight into a new
	// login.
	if r := mustGet(t, &noFollow, srv.URL+"/connexion?sortie=1"); r.StatusCode != http.StatusOK || !strings.Contains(body(t, r), "Vous êtes déconnecté") {
		t.Fatalf("the signed-out page: %d", r.StatusCode)
	}
	again, _ := noFollow.Get(srv.URL + "/")
	if again.StatusCode != http.StatusSeeOther || !strings.HasPrefix(again.Header.Get("Location"), "/connexion") {
		t.Fatalf("after logout, / answered %d %s", again.StatusCode, again.Header.Get("Location"))
	}
}

// A callback whose state this browser did not start, or replayed, opens no
// session; a code exchanged without the right verifier neither.
func TestOIDCRefusesForeignAndReplayedCallbacks(t *testing.T) {
	p := newIDP(t)
	srv := consoleWithOIDC(t, p, time.Minute)
	noFollow := browserClient()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// The login starts: the provider is asked with a S256 challenge.
	res, err := noFollow.Get(srv.URL + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := url.Parse(res.Header.Get("Location"))
	state := auth.Query().Get("state")
	if auth.Query().Get("code_challenge_method") != "S256" || state == "" {
		t.Fatalf("authorization request: %s", auth)
	}
	// An attacker's browser presents the callback: no login cookie, refused.
	attacker := browserClient()
	cb := srv.URL + "/connexion/retour?" + url.Values{"code": {"code-" + state[:8]}, "state": {state}}.Encode()
	if r, _ := attacker.Get(cb); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback from another browser: %d, want 400", r.StatusCode)
	}
	// The provider signs the person in; the callback in her browser works
	// once.
	idpRes, err := noFollow.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	cb = idpRes.Header.Get("Location")
	first, _ := noFollow.Get(cb)
	if first.StatusCode != http.StatusSeeOther || first.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d → %s", first.StatusCode, first.Header.Get("Location"))
	}
	if r, _ := noFollow.Get(cb); r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/" {
		t.Fatal("a replayed callback opened a second session")
	}
	if p.tokenCalls != 1 {
		t.Fatalf("the code was exchanged %d times, want once", p.tokenCalls)
	}
}

// A session ends after the idle timeout.
func TestSessionsExpireWhenIdle(t *testing.T) {
	p := newIDP(t)
	srv := consoleWithOIDC(t, p, 300*time.Millisecond)
	client := browserClient()
	mustGet(t, client, srv.URL+"/connexion")
	if r := mustGet(t, client, srv.URL+"/"); r.Request.URL.Path != "/" {
		t.Fatalf("not signed in: at %s", r.Request.URL)
	}
	time.Sleep(400 * time.Millisecond)
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, err := noFollow.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/connexion") {
		t.Fatalf("an idle session still served / (%d %s)", r.StatusCode, r.Header.Get("Location"))
	}
}

func mustGet(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	r, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The signed-out page passes the accessibility check.
func TestBrowserSignedOutPage(t *testing.T) {
	p := newIDP(t)
	srv := consoleWithOIDC(t, p, time.Minute)
	tab := bt.Browser(t)
	bt.Navigate(t, tab, srv.URL+"/connexion?sortie=1")
	if got := bt.Text(t, tab, "h1"); got != "Vous êtes déconnecté(e)" {
		t.Fatalf("h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)
}
