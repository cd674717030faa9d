package console_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

// An operator's home: its contracts with their rates, the learners enrolled
// with it by name, its #Action sessions with their attendees by name; and
// nothing of the learners of other operators.
func TestOperatorHome(t *testing.T) {
	e := start(t)
	contract := e.contract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")
	e.contract(t, "op-2", "GRETA Rouen", "AV-2026-T12", "T12")
	ines := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, ines, today())
	other := e.learner(t, "Durand", "Marc", "T01")
	e.enter(t, other, today())
	e.enrol(t, ines, contract, today())
	session := e.immersionSession(t, e.immersionOffer(t, "Fournil de Bayeux", "14047", "D1102"), today().AddDays(10), today().AddDays(11), 3)
	eventually(t, "Inès has a place", func() bool {
		_, err := e.Admin.Immersion.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: "book-ines-" + uuid.NewString()[:4], SessionId: session, LearnerId: ines})
		return err == nil
	})

	u := e.login(t, "operator:op-1")
	var home string
	eventually(t, "the operator's home names Inès", func() bool {
		home = u.get("/")
		return strings.Count(home, "LEFÈVRE Inès") == 2 // enrolled, and attending the session
	})
	for _, want := range []string{"Accueil — AFPA Caen", "AV-2026-T01", "12,50\u00a0€", "Boulangerie - viennoiserie", "Accompagnement"} {
		if !strings.Contains(home, want) {
			t.Errorf("the operator's home lacks %q", want)
		}
	}
	if strings.Contains(home, "DURAND Marc") || strings.Contains(home, "AV-2026-T12") {
		t.Fatalf("the operator's home shows another operator's learner or contract:\n%s", home)
	}

	tab := bt.Browser(t)
	browserLogin(t, e, tab, "operator", "op-1")
	bt.CheckAccessibility(t, tab)
	shoot(t, tab, "accueil-organisme")
}
