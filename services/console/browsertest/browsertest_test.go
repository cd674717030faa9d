package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/console/browsertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Shutdown()
	os.Exit(code)
}

const layout = `<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<header><a href="#contenu" id="evitement">Aller au contenu</a></header>
<main id="contenu">
{{.Body}}
</main>
</body>
</html>`

var pageTmpl = template.Must(template.New("page").Parse(layout))

// site serves the pages of the self-test.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	page := func(w http.ResponseWriter, title string, body template.HTML) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pageTmpl.Execute(w, struct {
			Title string
			Body  template.HTML
		}{title, body}); err != nil {
			t.Errorf("rendering %s: %v", title, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Accueil — test", `<h1>Accueil</h1>
<form method="post" action="/bonjour">
  <p><label for="nom">Nom</label> <input id="nom" name="nom" type="text" required></p>
  <p><label for="ville">Ville</label> <input id="ville" name="ville" type="text"></p>
  <p><button id="envoyer" type="submit" name="action" value="envoyer">Envoyer</button></p>
</form>`)
	})
	greeting := template.Must(template.New("g").Parse(
		`<h1>Réponse</h1><p id="greeting">Bonjour {{.Nom}} de {{.Ville}}</p><p id="action">[{{.Action}}]</p>`))
	mux.HandleFunc("POST /bonjour", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := greeting.Execute(&b, map[string]string{
			"Nom": r.PostFormValue("nom"), "Ville": r.PostFormValue("ville"), "Action": r.PostFormValue("action"),
		}); err != nil {
			t.Errorf("greeting: %v", err)
		}
		page(w, "Réponse — test", template.HTML(b.String()))
	})
	mux.HandleFunc("GET /mauvais", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Mauvais — test", `<h1>Page fautive</h1>
<p id="pale" style="color:#c8c8c8;background:#ffffff">Texte trop pâle pour être lu.</p>
<form><input id="sans-etiquette" type="text" name="x"></form>`)
	})
	mux.HandleFunc("GET /clavier", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Clavier — test", `<h1>Clavier</h1>
<p><a id="premier" href="#fin">Premier lien</a></p>
<p><label for="champ">Champ</label> <input id="champ" type="text"></p>
<div id="inerte" onclick="void 0">Zone cliquable mais pas focalisable</div>
<p><button id="go" type="button" onclick="document.getElementById('sortie').textContent = 'Cliqué'">Agir</button></p>
<p id="sortie">Pas encore</p>
<p id="fin">Fin</p>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestAccessiblePagePasses(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	if got := browsertest.Navigate(t, ctx, srv.URL+"/"); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	vs, err := browsertest.Violations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("violations on an accessible page: %v", vs)
	}
	browsertest.CheckAccessibility(t, ctx)
}

func TestViolationsAreReported(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	browsertest.Navigate(t, ctx, srv.URL+"/mauvais")
	vs, err := browsertest.Violations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]browsertest.Violation{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	for id, target := range map[string]string{"label": "#sans-etiquette", "color-contrast": "#pale"} {
		v, ok := byID[id]
		if !ok {
			t.Errorf("no %q violation among %v", id, vs)
			continue
		}
		if v.Impact == "" || v.Help == "" || !strings.HasPrefix(v.HelpURL, "https://") {
			t.Errorf("%s: incomplete violation %+v", id, v)
		}
		if len(v.Nodes) != 1 || !slices.Equal(v.Nodes[0].Target, []string{target}) || !strings.Contains(v.Nodes[0].HTML, target[1:]) {
			t.Errorf("%s: nodes %+v, want the one element %s", id, v.Nodes, target)
		}
	}

	// CheckAccessibility fails the test and names each violation.
	rec := record(t, func(tb testing.TB) { browsertest.CheckAccessibility(tb, ctx) })
	if !rec.failed || rec.fatal {
		t.Fatalf("CheckAccessibility on a faulty page: failed=%v fatal=%v, want a non-fatal failure", rec.failed, rec.fatal)
	}
	for _, want := range []string{"label (critical)", "color-contrast (serious)", "#pale", "#sans-etiquette",
		"<input", srv.URL + "/mauvais", "insufficient color contrast"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("CheckAccessibility message lacks %q:\n%s", want, rec.msg)
		}
	}
}

func TestFormRoundTrip(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	browsertest.Navigate(t, ctx, srv.URL+"/")
	if got := browsertest.Title(t, ctx); got != "Accueil — test" {
		t.Errorf("title %q", got)
	}
	browsertest.Type(t, ctx, "#nom", "texte à remplacer")
	browsertest.Type(t, ctx, "#nom", "Élodie <Martin>")
	browsertest.SetValue(t, ctx, "#ville", "Caen")
	if got := browsertest.ClickAndWait(t, ctx, "#envoyer"); got != http.StatusOK {
		t.Fatalf("status %d after submit", got)
	}
	if got := browsertest.Text(t, ctx, "#greeting"); got != "Bonjour Élodie <Martin> de Caen" {
		t.Errorf("greeting %q", got)
	}
	if got := browsertest.Text(t, ctx, "#action"); got != "[envoyer]" {
		t.Errorf("submitter %q, want the clicked button's value", got)
	}
	if got := browsertest.Location(t, ctx); got != srv.URL+"/bonjour" {
		t.Errorf("location %q", got)
	}

	// SubmitForm on the form itself: no submitter.
	browsertest.Navigate(t, ctx, srv.URL+"/")
	browsertest.Type(t, ctx, "#nom", "Yann")
	if got := browsertest.SubmitForm(t, ctx, "form"); got != http.StatusOK {
		t.Fatalf("status %d after SubmitForm", got)
	}
	if got := browsertest.Text(t, ctx, "#greeting"); got != "Bonjour Yann de" {
		t.Errorf("greeting %q after SubmitForm", got)
	}
	if got := browsertest.Text(t, ctx, "#action"); got != "[]" {
		t.Errorf("submitter %q after SubmitForm on the form, want none", got)
	}
	// SubmitForm on the button sends it as the submitter.
	browsertest.Navigate(t, ctx, srv.URL+"/")
	browsertest.Type(t, ctx, "#nom", "Yann")
	browsertest.SubmitForm(t, ctx, "#envoyer")
	if got := browsertest.Text(t, ctx, "#action"); got != "[envoyer]" {
		t.Errorf("submitter %q after SubmitForm on the button", got)
	}

	// A plain Click runs the page's script.
	browsertest.Navigate(t, ctx, srv.URL+"/clavier")
	browsertest.Click(t, ctx, "#go")
	if got := browsertest.Text(t, ctx, "#sortie"); got != "Cliqué" {
		t.Errorf("after click: %q", got)
	}
}

func TestKeyboardReach(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	browsertest.Navigate(t, ctx, srv.URL+"/clavier")
	// Focus order: skip link, #premier, #champ, #go.
	if !browsertest.KeyboardReach(t, ctx, "#go", 10) {
		t.Error("#go not reached with Tab")
	}
	if browsertest.KeyboardReach(t, ctx, "#go", 3) {
		t.Error("#go reached in 3 Tabs, want 4")
	}
	if browsertest.KeyboardReach(t, ctx, "#inerte", 10) {
		t.Error("a div without tabindex got the focus")
	}
	// The count starts from the top even after a click moved the focus.
	browsertest.Click(t, ctx, "#go")
	if !browsertest.KeyboardReach(t, ctx, "#evitement", 1) {
		t.Error("the skip link is not the first Tab stop")
	}
}

func TestScreenshot(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	browsertest.Navigate(t, ctx, srv.URL+"/")
	path := filepath.Join(t.TempDir(), "a", "b", "accueil.png")
	browsertest.Screenshot(t, ctx, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 1000 {
		t.Errorf("not a PNG screenshot: %d bytes, starts %q", len(b), b[:min(len(b), 8)])
	}
}

func TestFailureExplainsItself(t *testing.T) {
	srv := site(t)
	ctx := browsertest.Browser(t)
	browsertest.Navigate(t, ctx, srv.URL+"/")
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	rec := record(t, func(tb testing.TB) { browsertest.Click(tb, short, "#absent") })
	if !rec.fatal {
		t.Fatalf("Click on a missing element did not stop the test: %+v", rec)
	}
	for _, want := range []string{`click "#absent"`, srv.URL + "/", `title "Accueil — test"`, "<main> text:", "Nom", "Envoyer"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, rec.msg)
		}
	}
}

// recorder is a testing.TB that keeps the failures of a helper under test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	msg    string
	failed bool
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) { r.fail(false, fmt.Sprint(args...)) }

func (r *recorder) Errorf(format string, args ...any) { r.fail(false, fmt.Sprintf(format, args...)) }

func (r *recorder) Fatal(args ...any) { r.fail(true, fmt.Sprint(args...)); runtime.Goexit() }

func (r *recorder) Fatalf(format string, args ...any) {
	r.fail(true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) fail(fatal bool, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed, r.fatal = true, r.fatal || fatal
	r.msg += msg + "\n"
}

// record runs f with a recorder on its own goroutine, so that Fatal ends
// only f, and returns what f reported.
func record(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	t.Logf("recorded failure:\n%s", r.msg)
	return r
}
