package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

// A person above the scheme's public (education level 4 and up) is
// registered with a justification: the form asks for it, in French, next
// to the field; the record shows it; the programmes page counts the
// entries above the public, under the rule of small counts.
func TestEducationJustificationAboveTheSchemesPublic(t *testing.T) {
	e := start(t)
	refID := e.referent(t, "Claire Martin", "T01", 20)
	u := e.login(t, "referent:"+refID)
	form := func(rid, level, justification string) url.Values {
		return url.Values{
			"request_id": {rid}, "nom": {"Lefèvre"}, "prenom": {"Inès"}, "naissance": {"12/04/1985"},
			"territoire": {"T01"}, "email": {"ines@example.fr"}, "commune": {"14118"},
			"niveau": {level}, "prescripteur": {"REFERRAL_SOURCE_MISSION_LOCALE"}, "justification": {justification},
		}
	}

	page := u.get("/personnes/nouvelle")
	if !strings.Contains(page, "Justification (niveau 4 et plus)") || !strings.Contains(page, `name="justification"`) {
		t.Fatalf("the form has no justification field:\n%s", page)
	}
	for _, tc := range []struct{ level, justification, want string }{
		{"EDUCATION_LEVEL_5", " ", "Une justification est obligatoire à partir du niveau 4"},
		{"EDUCATION_LEVEL_3", "Au cas où", "La justification ne concerne que les niveaux 4 et plus"},
		{"EDUCATION_LEVEL_6", strings.Repeat("é", 501), "500 caractères au plus (501 saisis)."},
	} {
		res := u.post("/personnes", form(uuid.NewString(), tc.level, tc.justification))
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `id="justification-error"`) ||
			!strings.Contains(res.body, tc.want) || !strings.Contains(res.body, `aria-invalid="true">`+strings.TrimSpace(tc.justification)) {
			t.Fatalf("%s with %q: %d, want 422 and %q next to the field\n%s", tc.level, tc.justification, res.status, tc.want, res.body)
		}
	}
	// The server's refusal of a text it does not accept shows next to the
	// field too (a bidirectional override).
	res := u.post("/personnes", form(uuid.NewString(), "EDUCATION_LEVEL_5", "Bac \u202eobtenu"))
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `id="justification-error"`) {
		t.Fatalf("a bidirectional override: %d\n%s", res.status, res.body)
	}

	res = u.post("/personnes", form(uuid.NewString(), "EDUCATION_LEVEL_5", "BTS obtenu en 2005, jamais exercé."))
	if res.status != http.StatusOK || !strings.HasPrefix(res.url, "/personnes/") {
		t.Fatalf("registration with a justification: %d at %s\n%s", res.status, res.url, res.body)
	}
	if !strings.Contains(res.body, "Justification du niveau") || !strings.Contains(res.body, "BTS obtenu en 2005, jamais exercé.") {
		t.Fatalf("the record does not show the justification:\n%s", res.body)
	}
	ines := strings.TrimPrefix(res.url, "/personnes/")

	// Four more above the public, entered today with Inès: five above the
	// public in T01, four of level 4 and one of level 5 (« < 5 » each).
	ids := []string{ines}
	for _, family := range []string{"Bernard", "Dubois", "Moreau", "Laurent"} {
		r, err := e.Admin.Intake.RegisterLearner(ctx(t), &intakev1.RegisterLearnerRequest{
			RequestId: uuid.NewString(), FamilyName: family, GivenName: "Alex",
			BirthDate: date(today().AddDays(-30 * 365)), TerritoryCode: "T01",
			Contact: &intakev1.Contact{Email: strings.ToLower(family) + "@example.fr", CommuneCode: "14118"},
			Situation: &intakev1.Situation{
				EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4, EducationLevelJustification: "Reconversion après un licenciement.",
				ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetLearner().GetLearnerId())
	}
	for _, id := range ids {
		e.enter(t, id, today())
	}
	funder := e.login(t, "funder")
	year := strconv.Itoa(today().Year)
	var levels [][]string
	eventually(t, "the programmes page counts five entries above the public", func() bool {
		levels = progTable(t, funder.get("/programmes?annee="+year), "publics-niveau")
		last := levels[len(levels)-1]
		return len(last) > 0 && last[len(last)-1] == "5"
	})
	header := levels[0]
	if header[len(header)-1] != "Au-dessus du public (niveau 4 et plus)" {
		t.Fatalf("header %q", header)
	}
	progCheckRow(t, "publics-niveau", levels[len(levels)-1], "Ensemble", "<\u00a05", "<\u00a05", "5")
}
