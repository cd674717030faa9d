package console_test

import (
	"net/url"
	"strings"
	"testing"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/avenir-normandie/avenir/services/console/fr"
)

// In the browser, an operator claims a needs analysis's fee from the fee
// page, then reports a group session by ticking two attendees; both pages
// pass the accessibility check, before and after.
func TestBrowserFeesAndGroupHours(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short (make test-fast); make test and CI run it")
	}
	e := start(t)
	c1 := e.feesContract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")
	ines := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, ines, today())
	e.enrol(t, ines, c1, today())
	paul := e.learner(t, "Bernard", "Paul", "T01")
	e.enter(t, paul, today())
	e.enrol(t, paul, c1, today())
	e.feesAnalyse(t, ines)
	u := e.login(t, "operator:op-1")
	eventually(t, "the analysis is claimable", func() bool {
		return strings.Contains(u.get("/declarations/forfaits?contrat="+c1), "À demander")
	})

	tab := bt.Browser(t)
	browserLogin(t, e, tab, "operator", "op-1")
	bt.Navigate(t, tab, e.URL+"/declarations/forfaits?contrat="+c1)
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "forfaits")
	if status := bt.SubmitForm(t, tab, `form[action="/declarations/forfaits"] button.btn--sm`); status != 200 {
		t.Fatalf("claim: %d", status)
	}
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "accepté pour LEFÈVRE Inès") || !strings.Contains(got, "Déjà payé sur ce marché") {
		t.Fatalf("after the claim: %q", got)
	}
	bt.CheckAccessibility(t, tab)

	bt.Navigate(t, tab, e.URL+"/declarations/groupe?contrat="+c1+"&date="+url.QueryEscape(fr.CivilDate(today())))
	bt.CheckAccessibility(t, tab)
	// Submitted without attendee: the error is next to the attendees.
	bt.SetValue(t, tab, "#duree", "3,5")
	bt.SetValue(t, tab, "#formateur", "Mme Roux")
	bt.SetValue(t, tab, "#seance", "GRP-B")
	if status := bt.SubmitForm(t, tab, "#seance"); status != 422 {
		t.Fatalf("no attendee: %d", status)
	}
	if got := bt.Text(t, tab, "#stagiaires-error"); !strings.Contains(got, "au moins un stagiaire") {
		t.Fatalf("attendees error: %q", got)
	}
	bt.CheckAccessibility(t, tab)
	bt.Click(t, tab, "#stagiaire-0")
	bt.Click(t, tab, "#stagiaire-1")
	shoot(t, tab, "heures-groupe")
	if status := bt.SubmitForm(t, tab, "#seance"); status != 200 {
		t.Fatalf("group hours: %d", status)
	}
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "avec 2 stagiaires, 157,50") {
		t.Fatalf("after the report: %q", got)
	}
}
