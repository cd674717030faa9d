package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

var (
	analysisIDInput = regexp.MustCompile(`name="analysis_id" value="([^"]+)"`)
	requestIDInput  = regexp.MustCompile(`name="request_id" value="([^"]+)"`)
)

// analysisScene registers a referent of T01 and a learner who entered the
// pathway today, and signs the referent in.
func analysisScene(t *testing.T) (*env, *user, string, string) {
	t.Helper()
	e := start(t)
	refID := e.referent(t, "Claire Martin", "T01", 20)
	learnerID := e.learner(t, "Lefèvre", "Julie", "T01")
	e.enter(t, learnerID, today())
	return e, e.login(t, "referent:"+refID), refID, learnerID
}

// startAnalysis presses « Commencer l'analyse » until needs knows of the
// entry (its read model of the pathway follows within moments), and
// returns the form page.
func startAnalysis(t *testing.T, u *user, page string) response {
	t.Helper()
	var res response
	eventually(t, "the analysis starts", func() bool {
		body := u.get(page)
		m := requestIDInput.FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, "Commencer l'analyse") {
			t.Fatalf("no start button on %s:\n%s", page, body)
		}
		res = u.post(page+"/commencer", url.Values{"request_id": {m[1]}})
		return res.status == http.StatusOK
	})
	return res
}

// draftForm is the form of the page as its hidden fields set it, with the
// values given.
func draftForm(t *testing.T, page string, values map[string]string) url.Values {
	t.Helper()
	a := analysisIDInput.FindStringSubmatch(page)
	r := requestIDInput.FindStringSubmatch(page)
	if a == nil || r == nil {
		t.Fatalf("no analysis form in the page:\n%s", page)
	}
	form := url.Values{
		"analysis_id": {a[1]}, "request_id": {r[1]},
		"nb-diplomes": {"3"}, "nb-experiences": {"3"}, "nb-cibles": {"3"}, "nb-etapes": {"3"},
	}
	for k, v := range values {
		form.Set(k, v)
	}
	return form
}

func mustMatch(t *testing.T, what, pattern, body string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(body) {
		t.Fatalf("%s: no match for %s in\n%s", what, pattern, body)
	}
}

// A referent starts the analysis, saves a draft (a reload shows it),
// is told next to each field what completing lacks and what the service
// refused, completes it; the record lists it as completed; a revision is
// version 2, in draft, with the content of version 1.
func TestAnalysisGuidedForm(t *testing.T) {
	_, u, _, learnerID := analysisScene(t)
	page := "/personnes/" + learnerID + "/analyse"

	first := u.get(page)
	if !strings.Contains(first, "<h1>Analyse des besoins — LEFÈVRE Julie</h1>") ||
		!strings.Contains(first, `href="/personnes/`+learnerID+`"`) {
		t.Fatalf("the page does not name the learner nor lead back to her record:\n%s", first)
	}
	started := startAnalysis(t, u, page)
	if !strings.Contains(started.body, "Analyse des besoins commencée") || !strings.Contains(started.body, "Enregistrer le brouillon") ||
		!strings.Contains(started.body, "Version 1 — Brouillon") {
		t.Fatalf("after the start, no draft form:\n%s", started.body)
	}
	// The seven CléA domains, each level a labelled radio button.
	if n := strings.Count(started.body, `type="radio"`); n != 7*4 {
		t.Fatalf("the grid has %d radio buttons, want 28", n)
	}
	mustMatch(t, "grid", `<span class="visually-hidden">Communiquer en français : À acquérir</span>`, started.body)

	// A draft with two skills, a barrier, a diploma and an experience.
	draft := draftForm(t, started.body, map[string]string{
		"action": "brouillon",
		"competence-SKILL_DOMAIN_FRENCH_COMMUNICATION": "SKILL_LEVEL_IN_PROGRESS",
		"competence-SKILL_DOMAIN_DIGITAL":              "SKILL_LEVEL_TO_ACQUIRE",
		"frein-BARRIER_KIND_MOBILITY":                  "BARRIER_SEVERITY_HIGH",
		"frein-BARRIER_KIND_MOBILITY-accompagnement":   "1",
		"diplome-0-intitule":                           "CAP Boulanger",
		"diplome-0-niveau":                             "3",
		"diplome-0-annee":                              "2012",
		"experience-1-type":                            "EXPERIENCE_KIND_WORK",
		"experience-1-poste":                           "Vendeuse en boulangerie",
		"experience-1-rome":                            "d1106",
		"experience-1-duree":                           "18",
	})
	saved := u.post(page, draft)
	if saved.status != http.StatusOK || !strings.Contains(saved.body, "Brouillon enregistré") {
		t.Fatalf("draft: %d\n%s", saved.status, saved.body)
	}
	reload := u.get(page)
	mustMatch(t, "French level kept", `id="competence-SKILL_DOMAIN_FRENCH_COMMUNICATION-SKILL_LEVEL_IN_PROGRESS"[^>]*checked`, reload)
	mustMatch(t, "digital level kept", `id="competence-SKILL_DOMAIN_DIGITAL-SKILL_LEVEL_TO_ACQUIRE"[^>]*checked`, reload)
	mustMatch(t, "barrier kept", `(?s)<select id="frein-BARRIER_KIND_MOBILITY".*?<option value="BARRIER_SEVERITY_HIGH" selected>`, reload)
	mustMatch(t, "support kept", `id="frein-BARRIER_KIND_MOBILITY-accompagnement"[^>]*checked`, reload)
	mustMatch(t, "diploma kept", `id="diplome-0-intitule" name="diplome-0-intitule" type="text" value="CAP Boulanger"`, reload)
	// The experience of the second row is now the first, its ROME code in
	// upper case with its title.
	mustMatch(t, "experience kept", `id="experience-0-rome" name="experience-0-rome" type="text" value="D1106"`, reload)
	if !strings.Contains(reload, "D1106 : ") {
		t.Fatalf("the ROME code's title is not shown:\n%s", reload)
	}

	// Completing without a project maturity nor a step: refused, each
	// problem next to its part, what was typed kept.
	incomplete := draftForm(t, reload, map[string]string{
		"action": "terminer", "diplome-0-intitule": "CAP Boulanger", "diplome-0-niveau": "3", "diplome-0-annee": "2012",
		"competence-SKILL_DOMAIN_FRENCH_COMMUNICATION": "SKILL_LEVEL_ACQUIRED",
		"cible-0": "boulangerie",
	})
	refused := u.post(page, incomplete)
	if refused.status != http.StatusUnprocessableEntity {
		t.Fatalf("completing an incomplete analysis: %d, want 422\n%s", refused.status, refused.body)
	}
	for _, want := range []string{
		`id="maturite-error"`, `aria-describedby="maturite-error maturite-hint" aria-invalid="true"`, `id="etapes-error"`,
		"Recommandez au moins une étape", `id="cible-0-error"`, "D1102 (Boulangerie - viennoiserie)",
		`value="CAP Boulanger"`, `href="#maturite"`,
	} {
		if !strings.Contains(refused.body, want) {
			t.Errorf("the refusal lacks %q", want)
		}
	}
	mustMatch(t, "typed level kept", `id="competence-SKILL_DOMAIN_FRENCH_COMMUNICATION-SKILL_LEVEL_ACQUIRED"[^>]*checked`, refused.body)

	// What only the service refuses (a bidirectional control in a title)
	// is shown next to its field too.
	bidi := draftForm(t, refused.body, map[string]string{"action": "brouillon", "diplome-1-intitule": "CAP\u202eCuisine", "diplome-1-annee": "2015"})
	rejected := u.post(page, bidi)
	if rejected.status != http.StatusUnprocessableEntity {
		t.Fatalf("a title with a bidirectional control: %d, want 422\n%s", rejected.status, rejected.body)
	}
	mustMatch(t, "service violation next to its field", `<p class="error-text" id="diplome-1-intitule-error">Valeur refusée : `, rejected.body)

	// Complete: a project to confirm, two steps ordered by « Ordre ».
	complete := draftForm(t, rejected.body, map[string]string{
		"action":             "terminer",
		"diplome-0-intitule": "CAP Boulanger", "diplome-0-niveau": "3", "diplome-0-annee": "2012",
		"maturite": "PROJECT_MATURITY_TO_CONFIRM",
		"cible-0":  "D1102", "heures": "35", "km": "30",
		"etape-0-type": "basic_skills_training", "etape-0-ordre": "2",
		"etape-1-type": "trade_discovery", "etape-1-ordre": "1", "etape-1-metiers": "d1102, D1106",
	})
	done := u.post(page, complete)
	if done.status != http.StatusOK || !strings.Contains(done.body, "Analyse des besoins terminée") {
		t.Fatalf("completion: %d\n%s", done.status, done.body)
	}
	for _, want := range []string{"Version 1 — Finalisée", "Projet à confirmer", "D1102 — Boulangerie - viennoiserie", "35\u00a0h par semaine au plus", ">Réviser<", "CAP Boulanger"} {
		if !strings.Contains(done.body, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	discovery := strings.Index(done.body, "Découverte de métiers en immersion")
	basics := strings.Index(done.body, "Formation aux savoirs de base")
	if discovery < 0 || basics < 0 || discovery > basics {
		t.Errorf("steps not in the order asked (discovery at %d, basic skills at %d)", discovery, basics)
	}
	if strings.Contains(done.body, "Enregistrer le brouillon") {
		t.Error("a completed analysis still shows the form")
	}
	eventually(t, "the record lists the analysis as completed", func() bool {
		return strings.Contains(u.get("/personnes/"+learnerID), "Version 1 : Finalisée")
	})

	// Revise: version 2, a draft with the content of version 1.
	a := analysisIDInput.FindStringSubmatch(done.body)
	r := requestIDInput.FindStringSubmatch(done.body)
	if a == nil || r == nil {
		t.Fatalf("no revision form:\n%s", done.body)
	}
	revised := u.post(page+"/reviser", url.Values{"analysis_id": {a[1]}, "request_id": {r[1]}})
	if revised.status != http.StatusOK || !strings.Contains(revised.body, "Version 2 — Brouillon") ||
		!strings.Contains(revised.body, `value="CAP Boulanger"`) || !strings.Contains(revised.body, "Terminer l'analyse") {
		t.Fatalf("revision: %d\n%s", revised.status, revised.body)
	}
	mustMatch(t, "revised steps in order", `(?s)id="etape-0-type".*?value="trade_discovery" selected`, revised.body)
	eventually(t, "the record lists version 2 in draft", func() bool {
		return strings.Contains(u.get("/personnes/"+learnerID), "Version 2 : Brouillon")
	})
}

// Without JavaScript, « Ajouter une ligne » adds a row and the ROME search
// lists codes, keeping what was typed; /metiers answers a page and JSON.
func TestAnalysisRowsAndTradeSearch(t *testing.T) {
	e, u, _, learnerID := analysisScene(t)
	page := "/personnes/" + learnerID + "/analyse"

	// A learner out of the pathway has no analysis to start.
	outside := e.learner(t, "Martin", "Paul", "T01")
	if body := u.get("/personnes/" + outside + "/analyse"); !strings.Contains(body, "La personne n'est pas dans le parcours") ||
		strings.Contains(body, "Commencer l'analyse") {
		t.Fatalf("the page of a learner out of the pathway:\n%s", body)
	}
	if res := u.post("/personnes/"+outside+"/analyse/commencer", url.Values{"request_id": {uuid.NewString()}}); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.body, "pas pu être commencée") || !strings.Contains(res.body, "réessayez dans un instant") {
		t.Fatalf("starting the analysis of a learner out of the pathway: %d\n%s", res.status, res.body)
	}
	// Funders see neither the analyses nor the trade search.
	funder := e.login(t, "funder")
	for _, path := range []string{page, "/metiers?q=boulang"} {
		if r := funder.getResponse(path); r.status != http.StatusForbidden {
			t.Errorf("a funder opening %s: %d, want 403", path, r.status)
		}
	}

	started := startAnalysis(t, u, page)

	more := u.post(page, draftForm(t, started.body, map[string]string{"action": "ajouter-etape", "etape-0-type": "other", "etape-0-description": "Atelier CV"}))
	if more.status != http.StatusOK || !strings.Contains(more.body, `id="etape-3-type"`) || !strings.Contains(more.body, "Atelier CV") ||
		!strings.Contains(more.body, `name="nb-etapes" value="4"`) {
		t.Fatalf("adding a step row: %d\n%s", more.status, more.body)
	}
	found := u.post(page, draftForm(t, more.body, map[string]string{"action": "chercher", "recherche": "boulang", "nb-etapes": "4", "etape-0-type": "other", "etape-0-description": "Atelier CV"}))
	if found.status != http.StatusOK || !strings.Contains(found.body, "D1102") || !strings.Contains(found.body, "Atelier CV") {
		t.Fatalf("searching a ROME code in the form: %d\n%s", found.status, found.body)
	}

	html := u.get("/metiers?q=boulang")
	if !strings.Contains(html, "<h1>Codes ROME des métiers</h1>") || !strings.Contains(html, "D1102") {
		t.Fatalf("/metiers page:\n%s", html)
	}
	req, _ := http.NewRequest(http.MethodGet, u.base+"/metiers?q=boulang", nil)
	req.Header.Set("Accept", "application/json")
	res := u.do(req)
	var got struct {
		Results []struct{ Code, Label string }
	}
	if err := json.Unmarshal([]byte(res.body), &got); err != nil || res.status != http.StatusOK {
		t.Fatalf("/metiers JSON: %d %v\n%s", res.status, err, res.body)
	}
	if len(got.Results) == 0 || got.Results[0].Code != "D1102" || got.Results[0].Label == "" {
		t.Fatalf("/metiers JSON results: %+v", got.Results)
	}
}

// In Chromium: the referent starts the analysis, fills the grid, is told
// what completing lacks, completes it through the form; the form, the
// refusal and the summary pass the accessibility check.
func TestAnalysisInTheBrowser(t *testing.T) {
	e := start(t)
	refID := e.referent(t, "Claire Martin", "T01", 20)
	learnerID := e.learner(t, "Lefèvre", "Julie", "T01")
	e.enter(t, learnerID, today())
	tab := bt.Browser(t)
	browserLogin(t, e, tab, "referent", refID)
	page := e.URL + "/personnes/" + learnerID + "/analyse"

	bt.Navigate(t, tab, page)
	if got := bt.Text(t, tab, "h1"); got != "Analyse des besoins — LEFÈVRE Julie" {
		t.Fatalf("h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status := bt.ClickAndWait(t, tab, "form[action$='/commencer'] button"); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the analysis did not start within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
		bt.Navigate(t, tab, page)
	}
	bt.WaitVisible(t, tab, "table.grid-skills")
	bt.CheckAccessibility(t, tab)

	bt.Click(t, tab, "#competence-SKILL_DOMAIN_FRENCH_COMMUNICATION-SKILL_LEVEL_IN_PROGRESS")
	bt.Click(t, tab, "#competence-SKILL_DOMAIN_CALCULATION-SKILL_LEVEL_ACQUIRED")
	bt.Click(t, tab, "#competence-SKILL_DOMAIN_DIGITAL-SKILL_LEVEL_TO_ACQUIRE")
	bt.SetValue(t, tab, "#frein-BARRIER_KIND_CHILDCARE", "BARRIER_SEVERITY_MODERATE")
	if status := bt.SubmitForm(t, tab, `button[name="action"][value="terminer"]`); status != http.StatusUnprocessableEntity {
		t.Fatalf("completing without project nor step: %d, want 422", status)
	}
	if got := bt.Text(t, tab, "#maturite-error"); !strings.Contains(got, "projet professionnel") {
		t.Fatalf("maturity error = %q", got)
	}
	bt.CheckAccessibility(t, tab)

	bt.SetValue(t, tab, "#maturite", "PROJECT_MATURITY_EMERGING")
	bt.SetValue(t, tab, "#etape-0-type", "project_workshops")
	bt.Type(t, tab, "#etape-0-ateliers", "3") // shown once the kind is chosen
	bt.SetValue(t, tab, "#etape-1-type", "qualifying_training")
	if status := bt.SubmitForm(t, tab, `button[name="action"][value="terminer"]`); status != http.StatusOK {
		t.Fatalf("completion: %d", status)
	}
	if got := bt.Text(t, tab, ".alert--success"); !strings.Contains(got, "terminée") {
		t.Fatalf("flash = %q", got)
	}
	summary := bt.Text(t, tab, "main")
	for _, want := range []string{"Finalisée", "En cours d'acquisition", "Garde d'enfants", "Projet émergent", "3 ateliers", "Formation qualifiante (Qualif)"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, summary)
		}
	}
	bt.CheckAccessibility(t, tab)
}
