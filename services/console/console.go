// Package console is avenir's web console: server-rendered pages in French
// for referents, coordinators and administrators (operators and funders in
// a later part). It is a client of the public gRPC API, like the CLI: every
// page calls the services with the signed-in person's token, so the
// services' access rules decide what a page shows. It never reads streams
// or read models.
package console

import (
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

//go:embed web/static web/templates
var webFS embed.FS

// Clients are the services the console calls.
type Clients struct {
	Intake    intakev1.IntakeServiceClient
	Pathway   pathwayv1.PathwayServiceClient
	Needs     needsv1.NeedsServiceClient
	Referent  referentv1.ReferentServiceClient
	Immersion immersionv1.ImmersionServiceClient
	Funding   fundingv1.FundingServiceClient
}

// NewClients makes the clients from one connection per service; conn is
// called once for each of intake, pathway, needs, referent, immersion and
// funding.
func NewClients(conn func(service string) grpc.ClientConnInterface) Clients {
	return Clients{
		Intake:    intakev1.NewIntakeServiceClient(conn("intake")),
		Pathway:   pathwayv1.NewPathwayServiceClient(conn("pathway")),
		Needs:     needsv1.NewNeedsServiceClient(conn("needs")),
		Referent:  referentv1.NewReferentServiceClient(conn("referent")),
		Immersion: immersionv1.NewImmersionServiceClient(conn("immersion")),
		Funding:   fundingv1.NewFundingServiceClient(conn("funding")),
	}
}

// Config configures a console.
type Config struct {
	Clients Clients
	// Verifier verifies the access tokens sessions call the API with: the
	// same verifier as the gRPC API's (the dev key's, or the OIDC issuer's).
	Verifier auth.Verifier
	// DevKey, in dev mode, signs the tokens of the login page that lets one
	// pick a person (no identity provider).
	DevKey ed25519.PrivateKey
	// OIDC, in production, is the identity provider people sign in with
	// (authorization code flow with PKCE).
	OIDC *OIDCConfig
	// Audience is the audience of the tokens the dev login mints.
	Audience string
	// Secure marks cookies Secure (HTTPS); false only on a loopback HTTP
	// address.
	Secure bool
	// IdleTimeout ends a session after this long without a request
	// (DefaultIdleTimeout when zero).
	IdleTimeout time.Duration
	// Now is the services' clock: "today" on pages and the dev tokens'
	// validity (the demo clock moves it). time.Now when nil.
	Now func() time.Time
	// Demo shows a banner saying the data is not real.
	Demo   bool
	Logger *slog.Logger
}

// Console serves the web console.
type Console struct {
	cfg      Config
	api      Clients
	sessions *sessions
	cookies  cookies
	pages    *renderer
	oidc     *oidcClient
	log      *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler
	// places are the territories, by code (reference data from intake).
	places *territories
	// imports are the hour spreadsheets being reported (reports.go).
	imports *importStore
}

// New builds a console.
func New(ctx context.Context, cfg Config) (*Console, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("console: a token verifier is required")
	}
	if cfg.Clients.Intake == nil || cfg.Clients.Pathway == nil || cfg.Clients.Needs == nil ||
		cfg.Clients.Referent == nil || cfg.Clients.Immersion == nil || cfg.Clients.Funding == nil {
		return nil, errors.New("console: a client of every service is required")
	}
	if (cfg.DevKey == nil) == (cfg.OIDC == nil) {
		return nil, errors.New("console: exactly one of a dev key and an OIDC provider is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audience == "" {
		cfg.Audience = auth.DefaultAudience
	}
	places := &territories{}
	r, err := newRenderer(cfg.Demo, places)
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg: cfg, api: cfg.Clients, pages: r, log: cfg.Logger, places: places,
		sessions: newSessions(cfg.IdleTimeout, time.Now),
		cookies:  cookies{secure: cfg.Secure},
		mux:      http.NewServeMux(),
	}
	if cfg.OIDC != nil {
		if c.oidc, err = newOIDCClient(ctx, *cfg.OIDC); err != nil {
			return nil, err
		}
	}
	c.routes()
	cop := http.NewCrossOriginProtection()
	// Logging out redirects the logout form to the provider's end-session
	// endpoint: form-action must allow its origin.
	formAction := "'self'"
	if c.oidc != nil && c.oidc.endSession != "" {
		if u, err := url.Parse(c.oidc.endSession); err == nil {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	c.handler = securityHeaders(formAction, cop.Handler(c.mux))
	return c, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Console) routes() {
	static, _ := fs.Sub(webFS, "web/static")
	c.mux.Handle("GET /static/", cacheStatic(http.StripPrefix("/static/", http.FileServerFS(static))))
	c.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })

	c.mux.HandleFunc("GET /connexion", c.loginPage)
	c.mux.HandleFunc("POST /connexion", c.devLogin)
	c.mux.HandleFunc("GET /connexion/retour", c.oidcCallback)
	c.mux.HandleFunc("POST /deconnexion", c.withSession(c.logout))

	c.mux.HandleFunc("GET /{$}", c.withSession(c.home))
	c.learnerRoutes()
	c.coordinationRoutes()
	c.analysisRoutes()
	c.immersionRoutes()
	c.reportRoutes()
	c.statementRoutes()
	c.programmeRoutes()
	c.feeRoutes()
	c.groupRoutes()
}

// staff wraps a page for referents, coordinators and administrators.
func (c *Console) staff(h handler) http.HandlerFunc { return c.withSession(c.staffOnly(h)) }

// coordination wraps a page for coordinators and administrators.
func (c *Console) coordination(h handler) http.HandlerFunc {
	return c.withSession(c.coordinatorOnly(h))
}

// operatorPage wraps a page for training operators only: what it shows
// and does is the signed-in operator's own (hour reports, claims).
func (c *Console) operatorPage(h handler) http.HandlerFunc {
	return c.withSession(c.only("Cette page est réservée aux organismes de formation.", h, auth.RoleOperator))
}

// billing wraps a page of statements: funders and administrators see every
// contract, an operator its own (the API decides what each may read).
func (c *Console) billing(h handler) http.HandlerFunc {
	return c.withSession(c.only("Cette page est réservée aux financeurs, aux organismes de formation et aux administrateurs.",
		h, auth.RoleFunder, auth.RoleAdmin, auth.RoleOperator))
}

// funderPage wraps a page for funders and administrators.
func (c *Console) funderPage(h handler) http.HandlerFunc {
	return c.withSession(c.only("Cette page est réservée aux financeurs et aux administrateurs.", h, auth.RoleFunder, auth.RoleAdmin))
}

// only lets in the people of the given roles; others get a 403 page saying
// who the page is for.
func (c *Console) only(message string, h handler, roles ...auth.Role) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !slices.Contains(roles, s.principal.Role) {
			c.pages.error(w, r, s, http.StatusForbidden, "Accès réservé", message)
			return
		}
		h(w, r, s)
	}
}

// handler serves a request of a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// withSession runs h for a signed-in person, checking the CSRF token of
// every form; without a session it sends the person to the login page (or
// answers 401 to a script).
func (c *Console) withSession(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(c.cookies.get(r, sessionCookie))
		if s == nil {
			if r.Method != http.MethodGet {
				c.pages.error(w, r, nil, http.StatusUnauthorized, "Session expirée",
					"Votre session a expiré. Reconnectez-vous puis recommencez.")
				return
			}
			http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			var err error
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				// A form with a file: its body holds the CSRF field too.
				r.Body = http.MaxBytesReader(w, r.Body, maxMultipartBytes)
				err = r.ParseMultipartForm(maxMultipartBytes)
				if r.MultipartForm != nil {
					defer r.MultipartForm.RemoveAll()
				}
			} else {
				err = r.ParseForm()
			}
			if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
				c.pages.error(w, r, s, http.StatusRequestEntityTooLarge, "Fichier trop volumineux",
					"Le fichier envoyé dépasse "+fr.Int(maxMultipartBytes>>20)+"\u00a0Mo : découpez-le en plusieurs fichiers.")
				return
			}
			if err != nil {
				c.pages.error(w, r, s, http.StatusBadRequest, "Formulaire illisible", "Le formulaire envoyé est illisible.")
				return
			}
			if !sameToken(r.PostFormValue(csrfField), s.csrf) {
				c.pages.error(w, r, s, http.StatusForbidden, "Formulaire refusé",
					"Ce formulaire n'a pas été envoyé depuis la console, ou votre session a changé. Rechargez la page puis recommencez.")
				return
			}
		}
		c.places.refresh(c.call(r, s), c.api.Intake)
		h(w, r, s)
	}
}

// loginURL is the login page, coming back to the page asked for.
func loginURL(r *http.Request) string {
	return "/connexion?" + url.Values{"retour": {safeReturn(r.URL.RequestURI())}}.Encode()
}

// staffOnly lets referents and administrators in: the pages about
// learners' pathways. Operators and funders see their own pages.
func (c *Console) staffOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		switch s.principal.Role {
		case auth.RoleReferent, auth.RoleAdmin:
			h(w, r, s)
		default:
			c.pages.error(w, r, s, http.StatusForbidden, "Accès réservé",
				"Cette page est réservée aux référents et aux administrateurs.")
		}
	}
}

// coordinatorOnly lets coordinators and administrators in.
func (c *Console) coordinatorOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if s.principal.Role == auth.RoleAdmin || (s.principal.Role == auth.RoleReferent && s.principal.Coordinator) {
			h(w, r, s)
			return
		}
		c.pages.error(w, r, s, http.StatusForbidden, "Accès réservé",
			"Cette page est réservée aux coordinateurs de territoire et aux administrateurs.")
	}
}

// call is the context of an API call on behalf of the session's person.
func (c *Console) call(r *http.Request, s *session) context.Context {
	return metadata.AppendToOutgoingContext(r.Context(), "authorization", "Bearer "+s.token)
}

const (
	sessionCookie = "avenir_session"
	loginCookie   = "avenir_login"
	csrfField     = "_csrf"
	// maxMultipartBytes bounds a form with a file (an hour spreadsheet,
	// read up to sheet.DefaultMaxBytes): a bigger body is refused (413).
	maxMultipartBytes = 20 << 20
)

// securityHeaders sets the headers every page carries: no framing, no
// sniffing, a strict content security policy (no inline script), no
// referrer beyond the origin.
func securityHeaders(formAction string, next http.Handler) http.Handler {
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}
