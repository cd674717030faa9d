package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A referent signs in, registers a person through the form (a duplicate is
// shown with a link to the existing record), enters her into the pathway
// and finds her, by name, in her caseload.
func TestReferentRegistersEntersAndFollows(t *testing.T) {
	e := start(t)
	refID := e.referent(t, "Claire Martin", "T01", 20)
	u := e.login(t, "referent:"+refID)
	home := u.get("/")
	if !strings.Contains(home, "Claire Martin") || !strings.Contains(home, "Mon portefeuille") {
		t.Fatalf("home page does not greet the referent:\n%s", home)
	}

	form := url.Values{
		"request_id": {"reg-1"}, "nom": {"Lefèvre"}, "prenom": {"Inès"}, "naissance": {"12/04/1995"},
		"territoire": {"T01"}, "email": {"ines@example.fr"}, "commune": {"14118"},
		"niveau": {"EDUCATION_LEVEL_3"}, "prescripteur": {"REFERRAL_SOURCE_MISSION_LOCALE"},
	}
	res := u.post("/personnes", form)
	if res.status != http.StatusOK || !strings.HasPrefix(res.url, "/personnes/") {
		t.Fatalf("registration: %d at %s\n%s", res.status, res.url, res.body)
	}
	learnerPath := res.url
	if !strings.Contains(res.body, "LEFÈVRE Inès") || !strings.Contains(res.body, "12/04/1995") {
		t.Fatalf("the record does not show the name and the French birth date:\n%s", res.body)
	}

	// The same person again: refused, with a link to her record.
	form.Set("request_id", "reg-2")
	form.Set("nom", "LEFEVRE")
	dup := u.post("/personnes", form)
	if dup.status != http.StatusUnprocessableEntity || !strings.Contains(dup.body, `href="`+learnerPath+`"`) {
		t.Fatalf("duplicate registration: %d, want 422 with a link to %s\n%s", dup.status, learnerPath, dup.body)
	}

	// Missing fields are named next to them, in French.
	bad := u.post("/personnes", url.Values{"request_id": {"reg-3"}, "nom": {"Durand"}, "naissance": {"31/02/1990"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Ce champ est obligatoire") ||
		!strings.Contains(bad.body, `id="naissance-error"`) {
		t.Fatalf("invalid registration: %d\n%s", bad.status, bad.body)
	}

	entered := u.post(learnerPath+"/entree", url.Values{"request_id": {"enter-1"}, "date": {today().String()}})
	if entered.status != http.StatusOK || !strings.Contains(entered.body, "Entrée dans le parcours enregistrée") {
		t.Fatalf("entry: %d\n%s", entered.status, entered.body)
	}
	eventually(t, "the learner is in the referent's caseload, by name", func() bool {
		return strings.Contains(u.get("/"), "LEFÈVRE Inès")
	})
}

// Forms without the session's CSRF token are refused, and nothing happens.
func TestFormsNeedTheSessionToken(t *testing.T) {
	e := start(t)
	u := e.login(t, "admin")
	res := u.post("/personnes", url.Values{"_csrf": {"forged"}, "nom": {"Durand"}})
	if res.status != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d, want 403", res.status)
	}
	// A cross-site submission is refused before anything else.
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/personnes", strings.NewReader(url.Values{"_csrf": {u.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := u.do(req); r.status != http.StatusForbidden {
		t.Fatalf("cross-site form: %d, want 403", r.status)
	}
}

// Operators and funders cannot open the referents' pages; logged out, a
// session is gone.
func TestRolesAndLogout(t *testing.T) {
	e := start(t)
	for _, who := range []string{"funder", "operator:op-1"} {
		u := e.login(t, who)
		for _, path := range []string{"/personnes", "/personnes/nouvelle", "/territoires"} {
			if r := u.getResponse(path); r.status != http.StatusForbidden {
				t.Errorf("%s opening %s: %d, want 403", who, path, r.status)
			}
		}
	}
	u := e.login(t, "admin")
	u.get("/personnes")
	if r := u.post("/deconnexion", url.Values{}); r.url != "/connexion" {
		t.Fatalf("logout lands on %s", r.url)
	}
	if r := u.getResponse("/personnes"); r.url != "/connexion" {
		t.Fatalf("after logout, /personnes answered at %s (%d)", r.url, r.status)
	}
}

// A referent enrols a person with an operator's contract, chosen by the
// operator's name (no money shown), and ends the enrolment.
func TestReferentEnrolsWithAnOperator(t *testing.T) {
	e := start(t)
	ref := e.referent(t, "Claire Martin", "T01", 20)
	contract := e.contract(t, "op-afpa", "AFPA Caen", "AV-2026-T01", "T01")
	e.contract(t, "op-greta", "GRETA Rouen", "AV-2026-T12", "T12")
	id := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, id, today())
	u := e.login(t, "referent:"+ref)
	var page string
	eventually(t, "the record offers the T01 contract", func() bool {
		page = u.get("/personnes/" + id)
		return strings.Contains(page, `value="`+contract+`"`)
	})
	if !strings.Contains(page, "AFPA Caen — AV-2026-T01") || strings.Contains(page, "GRETA Rouen") || strings.Contains(page, "12,50") {
		t.Fatalf("enrolment options: only T01's, by name, without money:\n%s", page)
	}
	res := u.post("/personnes/"+id+"/inscriptions", url.Values{
		"request_id": {"enrol-1"}, "contrat": {contract}, "nature": {"ENROLMENT_KIND_ACCOMPANIMENT"}, "date": {today().String()},
	})
	if !strings.Contains(res.body, "Inscription auprès de l&#39;organisme enregistrée") {
		t.Fatalf("enrolment: %d\n%s", res.status, res.body)
	}
	eventually(t, "the enrolment is listed by the operator's name", func() bool {
		page = u.get("/personnes/" + id)
		return strings.Contains(page, "<td>AFPA Caen</td><td>Accompagnement")
	})
	if !strings.Contains(page, `/inscriptions/1/fin"`) {
		t.Fatalf("no way to end the enrolment:\n%s", page)
	}
	if r := u.post("/personnes/"+id+"/inscriptions", url.Values{"request_id": {"enrol-2"}, "contrat": {contract}, "date": {today().String()}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("an enrolment without its kind: %d", r.status)
	}
	res = u.post("/personnes/"+id+"/inscriptions/1/fin", url.Values{"request_id": {"end-1"}, "date": {today().String()}})
	if !strings.Contains(res.body, "Fin d&#39;inscription enregistrée") {
		t.Fatalf("end of enrolment: %d\n%s", res.status, res.body)
	}
}
