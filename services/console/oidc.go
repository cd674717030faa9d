package console

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// OIDCConfig is the identity provider people sign in with: the same issuer
// whose tokens the gRPC API trusts. The console is an OAuth client of it
// (authorization code flow with PKCE, S256); the access token it receives
// is what it calls the API with.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer + "/.well-known/openid-configuration").
	Issuer string
	// ClientID and ClientSecret identify the console at the provider;
	// the secret is empty for a public client (PKCE alone).
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback address, registered at the
	// provider: https://<console>/connexion/retour.
	RedirectURL string
	// Scopes requested besides openid; default "profile".
	Scopes []string
	// HTTPClient talks to the provider; a client with a 10 s timeout when
	// nil.
	HTTPClient *http.Client
}

// oidcClient runs the authorization code flow.
type oidcClient struct {
	cfg           OIDCConfig
	authEndpoint  string
	tokenEndpoint string
	endSession    string
	http          *http.Client

	mu      sync.Mutex
	pending map[string]pendingLogin // by state
}

// pendingLogin is a login started and not finished yet.
type pendingLogin struct {
	verifier string
	ret      string
	started  time.Time
}

func newOIDCClient(ctx context.Context, cfg OIDCConfig) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("console: OIDC needs an issuer, a client id and a redirect URL")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile"}
	}
	o := &oidcClient{cfg: cfg, http: cfg.HTTPClient, pending: map[string]pendingLogin{}}
	var doc struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		EndSession    string `json:"end_session_endpoint"`
	}
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	if err := o.getJSON(ctx, issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, fmt.Errorf("console: OIDC discovery: %w", err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != issuer {
		return nil, fmt.Errorf("console: OIDC discovery announces issuer %q, expected %q", doc.Issuer, cfg.Issuer)
	}
	if doc.Authorization == "" || doc.Token == "" {
		return nil, errors.New("console: OIDC discovery lacks the authorization or token endpoint")
	}
	o.authEndpoint, o.tokenEndpoint, o.endSession = doc.Authorization, doc.Token, doc.EndSession
	return o, nil
}

func (o *oidcClient) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := o.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", u, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// begin records a new login and returns the provider's authorization URL
// and the state binding the browser to it.
func (o *oidcClient) begin(ret string, now time.Time) (authURL, state string) {
	state, verifier := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(verifier))
	o.mu.Lock()
	for k, p := range o.pending {
		if now.Sub(p.started) > loginTimeout {
			delete(o.pending, k)
		}
	}
	o.pending[state] = pendingLogin{verifier: verifier, ret: ret, started: now}
	o.mu.Unlock()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.cfg.ClientID},
		"redirect_uri":          {o.cfg.RedirectURL},
		"scope":                 {strings.Join(append([]string{"openid"}, o.cfg.Scopes...), " ")},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(o.authEndpoint, "?") {
		sep = "&"
	}
	return o.authEndpoint + sep + q.Encode(), state
}

// finish takes the pending login of state (once) and exchanges the code
// for tokens.
func (o *oidcClient) finish(ctx context.Context, state, code string, now time.Time) (token string, expires time.Time, ret string, err error) {
	o.mu.Lock()
	p, ok := o.pending[state]
	delete(o.pending, state)
	o.mu.Unlock()
	if !ok || now.Sub(p.started) > loginTimeout {
		return "", time.Time{}, "", errors.New("unknown or expired login")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {o.cfg.RedirectURL},
		"client_id":     {o.cfg.ClientID},
		"code_verifier": {p.verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	}
	res, err := o.http.Do(req)
	if err != nil {
		return "", time.Time{}, "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil {
		return "", time.Time{}, "", fmt.Errorf("token endpoint answered %s, unreadable", res.Status)
	}
	if res.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", time.Time{}, "", fmt.Errorf("token endpoint answered %s: %s %s", res.Status, body.Error, body.Description)
	}
	if !strings.EqualFold(body.TokenType, "bearer") {
		return "", time.Time{}, "", fmt.Errorf("token endpoint answered a %q token, not a bearer token", body.TokenType)
	}
	if body.ExpiresIn > 0 {
		expires = now.Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return body.AccessToken, expires, p.ret, nil
}

// oidcStart sends the person to the identity provider.
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request, ret string) {
	authURL, state := c.oidc.begin(ret, time.Now())
	c.cookies.set(w, loginCookie, state, loginTimeout)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// oidcCallback finishes a login at the provider's redirection: the state
// must be the one this browser started with (its cookie), the code is
// exchanged with the PKCE verifier, and the access token verified like the
// API verifies it.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		c.log.Info("console: login refused by the identity provider", "error", e, "description", q.Get("error_description"))
		c.pages.error(w, r, nil, http.StatusUnauthorized, "Connexion refusée",
			"Le fournisseur d'identité a refusé la connexion. Recommencez ou contactez votre administrateur.")
		return
	}
	state := q.Get("state")
	if state == "" || !sameToken(state, c.cookies.get(r, loginCookie)) {
		c.pages.error(w, r, nil, http.StatusBadRequest, "Connexion interrompue",
			"Cette connexion n'a pas été commencée dans ce navigateur, ou elle a expiré. Recommencez.")
		return
	}
	token, expires, ret, err := c.oidc.finish(r.Context(), state, q.Get("code"), time.Now())
	if err != nil {
		c.log.Warn("console: login failed", "error", err)
		c.pages.error(w, r, nil, http.StatusBadGateway, "Connexion impossible",
			"La connexion n'a pas pu aboutir auprès du fournisseur d'identité. Recommencez.")
		return
	}
	end := ""
	if c.oidc.endSession != "" {
		// Back to the console's signed-out page (an address to register
		// at the provider beside the redirect URI).
		back := strings.TrimSuffix(c.oidc.cfg.RedirectURL, "/connexion/retour") + "/connexion?sortie=1"
		q := url.Values{"client_id": {c.oidc.cfg.ClientID}, "post_logout_redirect_uri": {back}}
		end = c.oidc.endSession + "?" + q.Encode()
	}
	c.start(w, r, token, expires, end, ret)
}
