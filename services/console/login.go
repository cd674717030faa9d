package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"google.golang.org/grpc/metadata"
)

// devTokenTTL is how long a token of the dev login is valid.
const devTokenTTL = 8 * time.Hour

// loginPage starts a login: with an identity provider, a redirection to it;
// in dev mode, a page to pick who to be.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	ret := safeReturn(r.URL.Query().Get("retour"))
	if r.URL.Query().Get("sortie") != "" && c.oidc != nil {
		// Signed out: not straight back to the provider, whose own session
		// would sign the person in again at once.
		c.pages.render(w, r, nil, http.StatusOK, "logged_out", map[string]any{"Title": "Déconnexion"})
		return
	}
	if c.oidc != nil {
		c.oidcStart(w, r, ret)
		return
	}
	c.devLoginPage(w, r, ret, "")
}

// devChoice is one person the dev login page offers.
type devChoice struct {
	Value string // role:id
	Label string
	Hint  string
	Name  string // the person's or organisation's name
}

func (c *Console) devLoginPage(w http.ResponseWriter, r *http.Request, ret, problem string) {
	csrf := c.cookies.get(r, loginCookie)
	if csrf == "" {
		csrf = randomToken()
		c.cookies.set(w, loginCookie, csrf, loginTimeout)
	}
	referents, coordinators, err := c.devReferents(r)
	if err != nil {
		c.log.Warn("console: dev login cannot list referents", "error", err)
	}
	operators, err := c.devOperators(r)
	if err != nil {
		c.log.Warn("console: dev login cannot list operators", "error", err)
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	c.pages.render(w, r, nil, status, "login", map[string]any{
		"Title":        "Connexion",
		"CSRF":         csrf,
		"Return":       ret,
		"Problem":      problem,
		"Referents":    referents,
		"Coordinators": coordinators,
		"Operators":    operators,
	})
}

// devAdminContext is the context of the dev login's own calls (listing
// whom one can be), as an administrator.
func (c *Console) devAdminContext(r *http.Request) (context.Context, error) {
	tok, err := auth.Mint(c.cfg.DevKey, c.devClaims(auth.Principal{Subject: "console-dev-login", Role: auth.RoleAdmin, Name: "Console"}, c.cfg.Now()))
	if err != nil {
		return nil, err
	}
	return metadata.AppendToOutgoingContext(r.Context(), "authorization", "Bearer "+tok), nil
}

func (c *Console) devClaims(p auth.Principal, now time.Time) auth.Claims {
	cl := auth.DevClaims(p, devTokenTTL, now)
	cl.Audience = []string{c.cfg.Audience}
	return cl
}

func (c *Console) devReferents(r *http.Request) (referents, coordinators []devChoice, err error) {
	ctx, err := c.devAdminContext(r)
	if err != nil {
		return nil, nil, err
	}
	refs, err := c.referents(ctx, "", false)
	for _, ref := range refs {
		p := ref.GetProfile()
		hint := strings.Join(p.GetTerritoryCodes(), ", ")
		if p.GetOrganisation() != "" {
			hint = p.GetOrganisation() + " — " + hint
		}
		referents = append(referents, devChoice{Value: "referent:" + ref.GetReferentId(), Label: p.GetName(), Hint: hint})
		coordinators = append(coordinators, devChoice{Value: "coordinator:" + ref.GetReferentId(), Label: p.GetName(), Hint: hint})
	}
	byLabel := func(a, b devChoice) int { return strings.Compare(a.Label, b.Label) }
	slices.SortFunc(referents, byLabel)
	slices.SortFunc(coordinators, byLabel)
	return referents, coordinators, err
}

// devLogin signs in as the person picked on the dev login page.
func (c *Console) devLogin(w http.ResponseWriter, r *http.Request) {
	if c.cfg.DevKey == nil {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.devLoginPage(w, r, "", "Le formulaire envoyé est illisible.")
		return
	}
	ret := safeReturn(r.PostFormValue("retour"))
	if !sameToken(r.PostFormValue(csrfField), c.cookies.get(r, loginCookie)) {
		c.devLoginPage(w, r, ret, "Ce formulaire a expiré : recommencez.")
		return
	}
	choice := r.PostFormValue("qui")
	switch choice {
	case "referent", "coordinator", "operator":
		// The person is the one picked in the list of that role.
		if picked := r.PostFormValue("qui_" + choice); strings.HasPrefix(picked, choice+":") {
			choice = picked
		}
	}
	p, problem := c.devPrincipal(r, choice)
	if problem != "" {
		c.devLoginPage(w, r, ret, problem)
		return
	}
	now := c.cfg.Now()
	token, err := auth.Mint(c.cfg.DevKey, c.devClaims(p, now))
	if err != nil {
		c.pages.error(w, r, nil, http.StatusInternalServerError, "Connexion impossible", "Le jeton n'a pas pu être signé.")
		return
	}
	c.start(w, r, token, time.Now().Add(devTokenTTL), "", ret)
}

// devPrincipal is the person of a dev login choice ("admin", "funder",
// "referent:<id>", "coordinator:<id>", "operator:<id>"), looked up in the
// directory so the token carries what a real issuer would.
func (c *Console) devPrincipal(r *http.Request, choice string) (auth.Principal, string) {
	kind, id, _ := strings.Cut(choice, ":")
	switch kind {
	case "admin":
		return auth.Principal{Subject: "admin-demo", Name: "Administratrice de démonstration", Role: auth.RoleAdmin}, ""
	case "funder":
		return auth.Principal{Subject: "funder-demo", Name: "Financeur de démonstration", Role: auth.RoleFunder}, ""
	case "operator":
		if id == "" {
			return auth.Principal{}, "Choisissez un organisme."
		}
		name := "Organisme " + id
		ops, _ := c.devOperators(r)
		for _, o := range ops {
			if o.Value == "operator:"+id {
				name = o.Name
			}
		}
		return auth.Principal{Subject: "operator-" + id, Name: name, Role: auth.RoleOperator, OperatorID: id}, ""
	case "referent", "coordinator":
		ctx, err := c.devAdminContext(r)
		if err != nil {
			return auth.Principal{}, "Le jeton n'a pas pu être signé."
		}
		ref, err := c.findReferent(ctx, id)
		if err != nil || ref == nil {
			return auth.Principal{}, "Ce référent n'existe pas dans l'annuaire."
		}
		return auth.Principal{
			Subject: "referent-" + id, Name: ref.GetProfile().GetName(), Role: auth.RoleReferent,
			ReferentID: id, Territories: ref.GetProfile().GetTerritoryCodes(), Coordinator: kind == "coordinator",
		}, ""
	}
	return auth.Principal{}, "Choisissez qui vous êtes."
}

// start opens a session for a token and sends the person on.
func (c *Console) start(w http.ResponseWriter, r *http.Request, token string, expires time.Time, endSession, ret string) {
	p, err := c.cfg.Verifier.Verify(r.Context(), token)
	if err != nil {
		c.log.Warn("console: login token refused", "error", err)
		c.pages.error(w, r, nil, http.StatusUnauthorized, "Connexion refusée",
			"Votre identité n'a pas pu être vérifiée. Recommencez ou contactez votre administrateur.")
		return
	}
	s := c.sessions.create(token, p, expires)
	s.endSession = endSession
	c.cookies.set(w, sessionCookie, s.id, MaxSessionAge)
	c.cookies.clear(w, loginCookie)
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// logout ends the session, and the identity provider's when there is one.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s.id)
	c.cookies.clear(w, sessionCookie)
	if s.endSession != "" {
		http.Redirect(w, r, s.endSession, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/connexion?sortie=1", http.StatusSeeOther)
}

// safeReturn keeps a return address only when it is a path of this site.
func safeReturn(ret string) string {
	u, err := url.Parse(ret)
	if ret == "" || err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(ret, "/") ||
		strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") || strings.HasPrefix(u.Path, "/connexion") {
		return "/"
	}
	return ret
}

// devOperators lists the operators of the contracts, to sign in as one.
func (c *Console) devOperators(r *http.Request) ([]devChoice, error) {
	ctx, err := c.devAdminContext(r)
	if err != nil {
		return nil, err
	}
	contracts, err := c.contracts(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []devChoice
	for _, k := range contracts {
		t := k.GetTerms()
		if seen[t.GetOperatorId()] {
			continue
		}
		seen[t.GetOperatorId()] = true
		label, name := t.GetOperatorId(), "Organisme "+t.GetOperatorId()
		if n := t.GetOperatorName(); n != "" {
			label, name = n+" ("+t.GetOperatorId()+")", n
		}
		out = append(out, devChoice{Value: "operator:" + t.GetOperatorId(), Label: label, Name: name})
	}
	slices.SortFunc(out, func(a, b devChoice) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}
