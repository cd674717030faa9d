package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
)

var assignForm = regexp.MustCompile(`name="request_id" value="([^"]+)">\s*<input type="hidden" name="learner_id" value="([^"]+)">`)

// The coordination pages pass the accessibility check.
func TestBrowserCoordinationPages(t *testing.T) {
	e := start(t)
	ref := e.referent(t, "Claire Martin", "T01", 1)
	l1 := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, l1, today())
	l2 := e.learner(t, "Durand", "Marc", "T01")
	e.enter(t, l2, today())
	tab := bt.Browser(t)
	browserLogin(t, e, tab, "admin", "")
	e.immersionOffer(t, "Fournil de Bayeux", "14047", "D1102")
	for _, path := range []string{"/", "/territoires", "/territoires/T01", "/referents", "/referents/" + ref, "/offres"} {
		bt.Navigate(t, tab, e.URL+path)
		bt.CheckAccessibility(t, tab)
	}
}

// A coordinator assigns from her territory's queue, and names an interim
// for her own absence, whose people then show on the interim's home.
func TestCoordinatorAssignsAndNamesAnInterim(t *testing.T) {
	e := startWithClock(t)
	day := today()
	coord := e.referent(t, "Claire Martin", "T01", 1)
	other := e.referent(t, "Paul Roux", "T01", 10)
	// Paul is away today: Inès goes to Claire, who is then full, and Marc
	// waits for a referent.
	if _, err := e.Admin.Referent.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: uuid.NewString(), ReferentId: other, AbsentFrom: date(day), AbsentTo: date(day),
	}); err != nil {
		t.Fatal(err)
	}
	l1 := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, l1, day)
	l2 := e.learner(t, "Durand", "Marc", "T01")
	e.enter(t, l2, day)

	// The next day Paul is back; Claire gives him Marc from the queue.
	// Marc is queued on the day (before the clock moves on).
	admin := e.login(t, "admin")
	eventually(t, "Marc Durand waits in the T01 queue", func() bool {
		return strings.Contains(admin.get("/territoires/T01"), "DURAND Marc")
	})
	e.moveTo(t, day.AddDays(1))
	u := e.login(t, "coordinator:"+coord)

	// In the browser: the queue by name, Paul chosen, « Attribuer ».
	tab := bt.Browser(t)
	browserLogin(t, e, tab, "coordinator", coord)
	bt.Navigate(t, tab, e.URL+"/territoires/T01")
	if q := bt.Text(t, tab, "section[aria-labelledby=file] table"); !strings.Contains(q, "DURAND Marc") {
		t.Fatalf("the queue does not name Marc: %q", q)
	}
	bt.CheckAccessibility(t, tab)
	bt.SetValue(t, tab, "#ref-0", other)
	bt.ClickAndWait(t, tab, `form[action="/territoires/T01/affectations"] button[type="submit"]`)
	if flash := bt.Text(t, tab, `[role="status"]`); !strings.Contains(flash, "Référent attribué") {
		t.Fatalf("assignment from the queue: %q\n%s", flash, bt.Text(t, tab, "main"))
	}
	eventually(t, "Marc is followed by Paul", func() bool { return strings.Contains(u.get("/referents/"+other), "DURAND Marc") })
	// Another territory's queue is not hers.
	if r := u.getResponse("/territoires/T02"); r.status == http.StatusOK {
		t.Fatalf("a T01 coordinator opens the T02 page:\n%s", r.body)
	}

	// The directory names the referents; a referent without the
	// coordinator claim does not open these pages.
	if dir := u.get("/referents"); !strings.Contains(dir, "Claire Martin") || !strings.Contains(dir, "Paul Roux") {
		t.Fatalf("directory:\n%s", dir)
	}
	if r := e.login(t, "referent:"+other).getResponse("/territoires/T01"); r.status != http.StatusForbidden {
		t.Fatalf("a referent opening the territory page: %d", r.status)
	}

	// Claire is away next week; Paul stands in for her people.
	res := u.post("/referents/"+coord+"/absence", url.Values{
		"request_id": {"absence-1"}, "du": {day.AddDays(1).String()}, "au": {day.AddDays(8).String()}, "interim": {other},
	})
	if !strings.Contains(res.body, "Disponibilité enregistrée") || !strings.Contains(res.body, "intérim assuré par Paul Roux") {
		t.Fatalf("absence with an interim: %d\n%s", res.status, res.body)
	}
	paul := e.login(t, "referent:"+other)
	eventually(t, "Inès Lefèvre shows on Paul's home, as an interim", func() bool {
		home := paul.get("/")
		return strings.Contains(home, "LEFÈVRE Inès") && strings.Contains(home, "Intérim")
	})
}

// The offers page highlights accreditations ending within 60 days.
func TestOffersHighlightExpiringAccreditations(t *testing.T) {
	e := start(t)
	e.immersionOffer(t, "Fournil de Bayeux", "14047", "D1102") // accredited for a year
	_, err := e.Admin.Immersion.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{
		RequestId: uuid.NewString(),
		Profile: &immersionv1.OfferProfile{
			OperatorId: "op-1",
			Platform:   &immersionv1.TechnicalPlatform{Name: "Atelier soudure Cherbourg", Address: "2 quai", CommuneCode: "50129", TerritoryCode: "T09"},
			RomeCodes:  []string{"H2913"}, AccreditedFrom: date(today().AddDays(-300)), AccreditedTo: date(today().AddDays(20)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.login(t, "admin")
	var page string
	eventually(t, "both offers are listed", func() bool {
		page = admin.get("/offres")
		return strings.Contains(page, "Fournil de Bayeux") && strings.Contains(page, "Atelier soudure Cherbourg")
	})
	if strings.Count(page, "Expire bientôt") != 1 || !strings.Contains(page, "1 habilitation se termine dans moins de 60 jours") ||
		strings.Index(page, "Atelier soudure Cherbourg") > strings.Index(page, "Fournil de Bayeux") {
		t.Fatalf("the expiring accreditation is not highlighted first:\n%s", page)
	}
	if !strings.Contains(page, "Soudage manuel") || !strings.Contains(page, "Cherbourg-en-Cotentin") {
		t.Fatalf("trades and communes by name:\n%s", page)
	}
}
