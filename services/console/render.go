package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// renderer renders the pages: each template of web/templates with the
// layout, and the French formatting functions (funcs.go).
type renderer struct {
	pages map[string]*template.Template
	demo  bool
}

func newRenderer(demo bool, places *territories) (*renderer, error) {
	fm := funcs()
	fm["territory"] = places.label
	base, err := template.New("layout.html").Funcs(fm).ParseFS(webFS, "web/templates/layout.html", "web/templates/partials.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &renderer{pages: map[string]*template.Template{}, demo: demo}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(webFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// view is what every page template receives: the page's data and what the
// layout shows around it.
type view struct {
	Title   string
	Person  *personView // nil on pages without a session
	Nav     []navItem
	Demo    bool
	Flash   string
	Current string // the request path, for aria-current
	Data    any
}

// personView is the signed-in person as the layout shows it.
type personView struct {
	Name, Role string
	CSRF       string
}

type navItem struct {
	Href, Label string
	Current     bool
}

// render writes a page; data's "Title" (when a map) names the page.
func (r *renderer) render(w http.ResponseWriter, req *http.Request, s *session, status int, name string, data any) {
	t := r.pages[name]
	if t == nil {
		http.Error(w, "page inconnue : "+name, http.StatusInternalServerError)
		return
	}
	v := view{Demo: r.demo, Current: req.URL.Path, Data: data}
	if m, ok := data.(map[string]any); ok {
		v.Title, _ = m["Title"].(string)
	}
	if s != nil {
		v.Person = &personView{Name: s.principal.Name, Role: roleLabel(s.principal), CSRF: s.csrf}
		v.Nav = navFor(s.principal, req.URL.Path)
		v.Flash = s.takeFlash()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		http.Error(w, "erreur d'affichage de la page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// error renders an error page in French.
func (r *renderer) error(w http.ResponseWriter, req *http.Request, s *session, status int, title, message string) {
	r.render(w, req, s, status, "error", map[string]any{"Title": title, "Message": message, "Status": status})
}

// roleLabel is how the layout names a person's role.
func roleLabel(p auth.Principal) string {
	switch p.Role {
	case auth.RoleAdmin:
		return "Administration"
	case auth.RoleReferent:
		if p.Coordinator {
			return "Coordination"
		}
		return "Référent"
	case auth.RoleOperator:
		return "Organisme de formation"
	case auth.RoleFunder:
		return "Financeur"
	}
	return string(p.Role)
}

// navFor is the main navigation of a person.
func navFor(p auth.Principal, current string) []navItem {
	items := []navItem{{Href: "/", Label: "Accueil"}}
	switch p.Role {
	case auth.RoleReferent, auth.RoleAdmin:
		items = append(items, navItem{Href: "/personnes", Label: "Personnes"}, navItem{Href: "/personnes/nouvelle", Label: "Inscrire une personne"})
		if p.Role == auth.RoleAdmin || p.Coordinator {
			items = append(items, navItem{Href: "/territoires", Label: "Territoires"}, navItem{Href: "/referents", Label: "Référents"}, navItem{Href: "/offres", Label: "Offres #Action"})
		}
		if p.Role == auth.RoleAdmin {
			items = append(items, navItem{Href: "/releves", Label: "Relevés"}, navItem{Href: "/programmes", Label: "Programmes"})
		}
	case auth.RoleOperator:
		items = append(items, navItem{Href: "/declarations", Label: "Déclarer"}, navItem{Href: "/releves", Label: "Relevés"})
	case auth.RoleFunder:
		items = append(items, navItem{Href: "/releves", Label: "Relevés"}, navItem{Href: "/programmes", Label: "Programmes"})
	}
	for i := range items {
		items[i].Current = items[i].Href == current || (items[i].Href != "/" && strings.HasPrefix(current, items[i].Href+"/") && items[i].Href != "/personnes")
	}
	return items
}
