package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

// The referent's journey in Chromium, every page checked for accessibility
// (and photographed for docs/screenshots with make screenshots): she signs
// in, registers a person, enters her, completes the needs analysis through
// the form, books an #Action immersion, and sees both on the timeline;
// then a coordinator opens her territory.
func TestBrowserJourney(t *testing.T) {
	e := start(t)
	ref := e.referent(t, "Claire Martin", "T01", 20)
	for _, n := range [][2]string{{"Durand", "Alice"}, {"Petit", "Bruno"}, {"Moreau", "Chloé"}} {
		e.enter(t, e.learner(t, n[0], n[1], "T01"), today())
	}
	d := today()
	bayeux := e.immersionOffer(t, "Fournil de Bayeux", "14047", "D1102")
	e.immersionSession(t, bayeux, d.AddDays(14), d.AddDays(16), 4)
	e.immersionSession(t, e.immersionOffer(t, "Boulangerie école de Rouen", "76540", "D1102"), d.AddDays(7), d.AddDays(8), 6)

	tab := bt.Browser(t)
	check := func(name string) {
		t.Helper()
		bt.CheckAccessibility(t, tab)
		shoot(t, tab, name)
	}
	browserLogin(t, e, tab, "referent", ref)
	eventually(t, "the caseload shows her three people", func() bool {
		bt.Navigate(t, tab, e.URL+"/")
		return strings.Contains(bt.Text(t, tab, "main"), "MOREAU Chloé")
	})
	check("accueil-referent")

	// Register Inès Lefèvre, enter her.
	bt.Navigate(t, tab, e.URL+"/personnes/nouvelle")
	bt.Type(t, tab, "#nom", "Lefèvre")
	bt.Type(t, tab, "#prenom", "Inès")
	bt.Type(t, tab, "#naissance", "12/04/1995")
	bt.Type(t, tab, "#email", "ines.lefevre@example.fr")
	bt.Type(t, tab, "#commune", "14118")
	bt.SetValue(t, tab, "#niveau", "EDUCATION_LEVEL_3")
	bt.SetValue(t, tab, "#prescripteur", "REFERRAL_SOURCE_MISSION_LOCALE")
	check("inscription")
	bt.ClickAndWait(t, tab, `form[action="/personnes"] button[type="submit"]`)
	record := bt.Location(t, tab)
	if got := bt.Text(t, tab, "h1"); got != "LEFÈVRE Inès" {
		t.Fatalf("after registration, h1 = %q", got)
	}
	eventually(t, "the entry is recorded", func() bool {
		bt.Navigate(t, tab, record)
		bt.ClickAndWait(t, tab, `form[action$="/entree"] button[type="submit"]`)
		return strings.Contains(bt.Text(t, tab, "main"), "Entrée dans le parcours enregistrée")
	})

	// The needs analysis, through the form.
	analysis := record + "/analyse"
	deadline := time.Now().Add(10 * time.Second)
	for {
		bt.Navigate(t, tab, analysis)
		if bt.ClickAndWait(t, tab, "form[action$='/commencer'] button") == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the analysis did not start within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	bt.WaitVisible(t, tab, "table.grid-skills")
	bt.Click(t, tab, "#competence-SKILL_DOMAIN_FRENCH_COMMUNICATION-SKILL_LEVEL_ACQUIRED")
	bt.Click(t, tab, "#competence-SKILL_DOMAIN_CALCULATION-SKILL_LEVEL_IN_PROGRESS")
	bt.Click(t, tab, "#competence-SKILL_DOMAIN_DIGITAL-SKILL_LEVEL_TO_ACQUIRE")
	bt.SetValue(t, tab, "#frein-BARRIER_KIND_CHILDCARE", "BARRIER_SEVERITY_MODERATE")
	bt.SetValue(t, tab, "#maturite", "PROJECT_MATURITY_EMERGING")
	bt.SetValue(t, tab, "#etape-0-type", "project_workshops")
	bt.Type(t, tab, "#etape-0-ateliers", "3")
	bt.SetValue(t, tab, "#etape-1-type", "trade_discovery")
	bt.Type(t, tab, "#etape-1-metiers", "D1102")
	check("analyse")
	if status := bt.SubmitForm(t, tab, `button[name="action"][value="terminer"]`); status != http.StatusOK {
		t.Fatalf("completing the analysis: %d\n%s", status, bt.Text(t, tab, "main"))
	}
	check("analyse-terminee")

	// An #Action immersion in a bakery, the closest first.
	id := record[strings.LastIndex(record, "/")+1:]
	eventually(t, "the bakery sessions are found for her", func() bool {
		bt.Navigate(t, tab, e.URL+"/personnes/"+id+"/immersions?metier=boulang")
		return strings.Contains(bt.Text(t, tab, "main"), "Fournil de Bayeux")
	})
	check("immersions")
	bt.ClickAndWait(t, tab, `form[action$="/immersions"][method="post"] button[type="submit"]`)
	if flash := bt.Text(t, tab, `[role="status"]`); !strings.Contains(flash, "Place réservée") {
		t.Fatalf("booking: flash %q\n%s", flash, bt.Text(t, tab, "main"))
	}
	eventually(t, "the timeline tells the analysis and the booking", func() bool {
		bt.Navigate(t, tab, record)
		tl := bt.Text(t, tab, "ol.timeline")
		return strings.Contains(tl, "Analyse des besoins terminée") && strings.Contains(tl, "Immersion réservée")
	})
	check("dossier")

	// The coordinator's territory.
	e.referent(t, "Paul Roux", "T01", 15)
	browserLogin(t, e, tab, "coordinator", ref)
	bt.Navigate(t, tab, e.URL+"/territoires/T01")
	check("territoire")
}
