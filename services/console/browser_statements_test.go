package console_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

// A funder reconciles a month in the browser: the year's matrix, a
// statement, a line rejected with its reason, the month closed after its
// confirmation; every page passes the accessibility check. A referent gets
// the page refusing her the statements.
func TestBrowserStatements(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short (make test-fast); make test and CI run it")
	}
	e, sc := stmtStart(t)
	matrix := "/releves?annee=" + strconv.Itoa(sc.last.Year)
	u := e.login(t, "funder")
	eventually(t, "the matrix shows last month's statement", func() bool {
		return strings.Contains(u.get(matrix), `href="`+sc.path+`"`)
	})

	tab := bt.Browser(t)
	browserLogin(t, e, tab, "funder", "")
	bt.CheckAccessibility(t, tab) // the funder's home
	bt.Navigate(t, tab, e.URL+matrix)
	if got := bt.Text(t, tab, "h1"); got != "Relevés mensuels "+strconv.Itoa(sc.last.Year) {
		t.Fatalf("matrix h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "releves")

	bt.ClickAndWait(t, tab, `a[href="`+sc.path+`"]`)
	if got := bt.Text(t, tab, "h1"); got != "Relevé "+strings.ReplaceAll(stmtOf(sc.last), "&#39;", "'")+" — AV-2026-T01" {
		t.Fatalf("statement h1 = %q", got)
	}
	if got := bt.Text(t, tab, "#total-facture"); got != "68,75\u00a0€" {
		t.Errorf("statement total = %q", got)
	}
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "releve")

	bt.Click(t, tab, `input[name="ligne"][value="1:L-INES-2"]`)
	bt.Type(t, tab, "#motif", "Feuille d'émargement absente")
	bt.SubmitForm(t, tab, `button[name="decision"][value="rejeter"]`)
	if flash := bt.Text(t, tab, `[role="status"]`); flash != "1 ligne rejetée." {
		t.Fatalf("after the rejection, flash = %q at %s", flash, bt.Location(t, tab))
	}
	if got := bt.Text(t, tab, "#ligne-1-L-INES-2"); !strings.Contains(strings.ToLower(got), "rejetée") || !strings.Contains(got, "Feuille d'émargement absente") {
		t.Errorf("the rejected line reads %q", got)
	}
	if got := bt.Text(t, tab, "#total-facture"); got != "43,75\u00a0€" {
		t.Errorf("after the rejection, total = %q", got)
	}
	bt.CheckAccessibility(t, tab)

	bt.ClickAndWait(t, tab, `a[href="`+sc.path+`/cloture"]`)
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "releve-cloture")
	bt.Click(t, tab, "#confirme")
	bt.SubmitForm(t, tab, `form[action="`+sc.path+`/cloture"] button[type="submit"]`)
	if got := bt.Text(t, tab, "#statut"); !strings.EqualFold(got, "Clôturé") {
		t.Fatalf("after closing, status = %q at %s", got, bt.Location(t, tab))
	}
	bt.CheckAccessibility(t, tab)

	ref := e.referent(t, "Claire Martin", "T01", 20)
	browserLogin(t, e, tab, "referent", ref)
	if status := bt.Navigate(t, tab, e.URL+"/releves"); status != http.StatusForbidden {
		t.Fatalf("a referent opening /releves: %d", status)
	}
	if got := bt.Text(t, tab, "h1"); got != "Accès réservé" {
		t.Errorf("the referent's page h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)
}
