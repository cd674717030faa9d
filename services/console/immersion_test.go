package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// immersionOffer publishes an accredited offer of trades on a platform in commune.
func (e *env) immersionOffer(t *testing.T, platform, commune string, trades ...string) string {
	t.Helper()
	res, err := e.Admin.Immersion.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{
		RequestId: uuid.NewString(),
		Profile: &immersionv1.OfferProfile{
			OperatorId: "op-1",
			Platform:   &immersionv1.TechnicalPlatform{Name: platform, Address: "1 rue du Four", CommuneCode: commune, TerritoryCode: "T01"},
			RomeCodes:  trades, AccreditedFrom: date(today().AddDays(-30)), AccreditedTo: date(today().AddDays(365)),
			Accessible: true, Description: "Découverte du métier",
		},
	})
	if err != nil {
		t.Fatalf("publish offer %s: %v", platform, err)
	}
	return res.GetOffer().GetOfferId()
}

// immersionSession schedules a session of offer from from to to, bookable until
// from.
func (e *env) immersionSession(t *testing.T, offer string, from, to civil.Date, capacity int32) string {
	t.Helper()
	res, err := e.Admin.Immersion.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: uuid.NewString(), OfferId: offer, FromDate: date(from), ToDate: date(to),
		DailyMinutes: 420, Capacity: capacity, BookingDeadline: date(from),
	})
	if err != nil {
		t.Fatalf("schedule session: %v", err)
	}
	return res.GetSession().GetSessionId()
}

// immersionScene is a referent of T01 with four learners of Caen in the
// pathway, and bakery sessions in Bayeux (about 27 km), Rouen (about
// 113 km) and a commune the reference does not know, plus a kitchen
// session.
type immersionScene struct {
	e                           *env
	ref                         string
	learners                    []string // DURAND Alice, MARTIN Bruno, PETIT Chloe, ROUX Denis
	bayeux, rouen, far, cuisine string   // sessions
	today                       string   // session in Bayeux today (outcomes)
}

func newImmersionScene(t *testing.T) *immersionScene {
	e := start(t)
	sc := &immersionScene{e: e, ref: e.referent(t, "Claire Martin", "T01", 20)}
	for _, n := range [][2]string{{"Durand", "Alice"}, {"Martin", "Bruno"}, {"Petit", "Chloe"}, {"Roux", "Denis"}} {
		sc.learners = append(sc.learners, e.learner(t, n[0], n[1], "T01"))
	}
	for _, id := range sc.learners {
		// Pathway learns of the registration within moments.
		eventually(t, "entering "+id, func() bool {
			_, err := e.Admin.Pathway.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
				RequestId: "enter-" + id, LearnerId: id, EntryDate: date(today()),
			})
			return err == nil
		})
	}
	// The dev login finds referents in the directory (a read model).
	eventually(t, "the referent is in the directory", func() bool {
		res, err := e.Admin.Referent.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T01", PageSize: 200})
		return err == nil && slices.ContainsFunc(res.GetReferents(), func(r *referentv1.Referent) bool { return r.GetReferentId() == sc.ref })
	})
	d := today()
	bayeux := e.immersionOffer(t, "Fournil de Bayeux", "14047", "D1102")
	sc.bayeux = e.immersionSession(t, bayeux, d.AddDays(14), d.AddDays(16), 2)
	sc.today = e.immersionSession(t, bayeux, d, d, 1)
	sc.rouen = e.immersionSession(t, e.immersionOffer(t, "Boulangerie école de Rouen", "76540", "D1102", "D1104"), d.AddDays(7), d.AddDays(8), 5)
	sc.far = e.immersionSession(t, e.immersionOffer(t, "Mie câline", "13055", "D1102"), d.AddDays(3), d.AddDays(3), 5)
	sc.cuisine = e.immersionSession(t, e.immersionOffer(t, "Cuisine centrale", "14118", "G1602"), d.AddDays(20), d.AddDays(21), 5)
	return sc
}

// bookImmersion books a session for a learner as u, retrying while the services'
// read models catch up with the entry into the pathway; it returns the page
// the booking lands on.
func bookImmersion(t *testing.T, u *user, learner, session string) response {
	t.Helper()
	form := url.Values{"request_id": {"book-" + learner + "-" + session}, "session": {session}, "criteres": {"metier=boulang"}}
	var res response
	eventually(t, "booking "+session+" for "+learner, func() bool {
		res = u.post("/personnes/"+learner+"/immersions", form)
		return res.status == http.StatusOK && res.url == "/personnes/"+learner
	})
	return res
}

// A referent searches bakery sessions for a learner of Caen: closest
// first, with their French labels and distances; books until the session
// is full and the next learner is waitlisted with her rank; a cancellation
// without a reason is refused next to the field, one with a reason gives
// the place to the waitlisted learner.
func TestReferentSearchesBooksAndCancels(t *testing.T) {
	sc := newImmersionScene(t)
	e, alice, bruno, chloe, denis := sc.e, sc.learners[0], sc.learners[1], sc.learners[2], sc.learners[3]
	u := e.login(t, "referent:"+sc.ref)

	page := u.get("/personnes/" + alice + "/immersions")
	for _, want := range []string{"<h1>Immersions #Action de DURAND Alice</h1>", `href="/personnes/` + alice + `"`, "<strong>Caen</strong>", `name="metier"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the immersion page lacks %q:\n%s", want, page)
		}
	}

	var found string
	eventually(t, "the bakery sessions are found", func() bool {
		found = u.get("/personnes/" + alice + "/immersions?metier=boulang")
		return strings.Contains(found, sc.bayeux) && strings.Contains(found, sc.rouen) && strings.Contains(found, sc.far)
	})
	for _, want := range []string{"Boulangerie - viennoiserie", "Fournil de Bayeux", "Bayeux", "Rouen", "distance inconnue", "7\u00a0h", "2 / 2"} {
		if !strings.Contains(found, want) {
			t.Errorf("the results lack %q", want)
		}
	}
	if strings.Contains(found, sc.cuisine) {
		t.Errorf("a kitchen session is listed for « boulang »")
	}
	km := regexp.MustCompile(`(\d+)&nbsp;km`).FindAllStringSubmatch(found, -1)
	// Bayeux's two sessions (in two weeks, and today's), then Rouen's.
	if len(km) != 3 || km[0][1] < "25" || km[0][1] > "30" || km[1][1] != km[0][1] || len(km[2][1]) != 3 {
		t.Errorf("distances: %v, want Bayeux at 25-30 km twice then Rouen at 100+ km", km)
	}
	// Closest first, then the unknown distance; dates do not reorder them
	// (Rouen's session starts before Bayeux's).
	if i, j, k := strings.Index(found, sc.bayeux), strings.Index(found, sc.rouen), strings.Index(found, sc.far); !(i < j && j < k) {
		t.Errorf("order: Bayeux at %d, Rouen at %d, unknown at %d; want closest first", i, j, k)
	}

	// Within 50 km: Bayeux only, and a word on the distances unknown.
	near := u.get("/personnes/" + alice + "/immersions?metier=boulang&distance=50")
	if !strings.Contains(near, sc.bayeux) || strings.Contains(near, sc.rouen) || strings.Contains(near, sc.far) ||
		!strings.Contains(near, "distance est inconnue") {
		t.Errorf("within 50 km: want Bayeux only, with a note on the unknown distance")
	}

	// Several trades match « cuisin »: pick one, then the search runs.
	choose := u.get("/personnes/" + alice + "/immersions?metier=cuisin")
	if !strings.Contains(choose, `name="rome" value="G1602"`) || !strings.Contains(choose, "Personnel de cuisine") || strings.Contains(choose, sc.cuisine) {
		t.Errorf("« cuisin » should offer the matching trades and search nothing yet")
	}
	eventually(t, "the kitchen session is found once its trade is chosen", func() bool {
		return strings.Contains(u.get("/personnes/"+alice+"/immersions?metier=cuisin&rome=G1602"), sc.cuisine)
	})

	// Bad criteria are explained next to their fields.
	bad := u.getResponse("/personnes/" + alice + "/immersions?metier=zzzqqq&du=31/02/2030")
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="metier-error"`) ||
		!strings.Contains(bad.body, "Aucun métier ne correspond") || !strings.Contains(bad.body, `id="du-error"`) {
		t.Errorf("bad criteria: %d\n%s", bad.status, bad.body)
	}

	// Two places: Alice and Bruno book, Chloé is waitlisted first.
	if res := bookImmersion(t, u, alice, sc.bayeux); !strings.Contains(res.body, "Place réservée") {
		t.Fatalf("Alice's booking: no flash\n%s", res.body)
	}
	bookImmersion(t, u, bruno, sc.bayeux)
	if res := bookImmersion(t, u, chloe, sc.bayeux); !strings.Contains(res.body, "Inscrite en liste d&#39;attente (rang 1)") {
		t.Fatalf("Chloé's booking: want the waitlist rank\n%s", res.body)
	}
	// Booking twice is refused, with the search kept.
	again := u.post("/personnes/"+alice+"/immersions", url.Values{"request_id": {"again"}, "session": {sc.bayeux}, "criteres": {"metier=boulang"}})
	if again.status != http.StatusUnprocessableEntity || !strings.Contains(again.body, "déjà une place") || !strings.Contains(again.body, `value="boulang"`) {
		t.Errorf("double booking: %d\n%s", again.status, again.body)
	}
	// The full session offers the waitlist to the next learner.
	var dp string
	eventually(t, "the full session offers its waitlist", func() bool {
		dp = u.get("/personnes/" + denis + "/immersions?metier=boulang&distance=30")
		return strings.Contains(dp, "Inscrire en liste d'attente")
	})

	booking := "/reservations/" + sc.bayeux + "/" + alice
	if p := u.get(booking); !strings.Contains(p, "Place réservée") || !strings.Contains(p, `name="motif"`) {
		t.Fatalf("Alice's booking page:\n%s", p)
	}
	refused := u.post(booking+"/annulation", url.Values{"request_id": {"cancel-1"}, "motif": {"  "}})
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, `<p class="error-text" id="motif-error">Indiquez le motif de l&#39;annulation.</p>`) ||
		!strings.Contains(refused.body, `aria-invalid="true"`) {
		t.Fatalf("cancellation without a reason: %d\n%s", refused.status, refused.body)
	}
	if p := u.get(booking); !strings.Contains(p, "<strong>Place réservée</strong>") {
		t.Fatalf("a refused cancellation cancelled:\n%s", p)
	}
	done := u.post(booking+"/annulation", url.Values{"request_id": {"cancel-2"}, "motif": {"Reprise d'un emploi"}})
	if done.status != http.StatusOK || done.url != booking || !strings.Contains(done.body, "Réservation annulée.") {
		t.Fatalf("cancellation: %d at %s\n%s", done.status, done.url, done.body)
	}
	eventually(t, "the reason is shown", func() bool {
		return strings.Contains(u.get(booking), "Reprise d&#39;un emploi")
	})
	if p := u.get("/reservations/" + sc.bayeux + "/" + chloe); !strings.Contains(p, "<strong>Place réservée</strong>") ||
		!strings.Contains(p, "place obtenue depuis la liste d'attente") {
		t.Fatalf("Chloé was not promoted:\n%s", p)
	}
	if r := u.getResponse("/reservations/" + sc.rouen + "/" + alice); r.status != http.StatusNotFound {
		t.Errorf("a booking that does not exist: %d, want 404", r.status)
	}
}

// The outcome of a session ending today: the learner's referent records it
// with minutes typed as hours, after refusals shown next to their fields
// with nothing recorded; another referent of the territory may not.
func TestOutcomeOfAnImmersion(t *testing.T) {
	sc := newImmersionScene(t)
	e, bruno := sc.e, sc.learners[1]
	ref := e.login(t, "referent:"+sc.ref)
	bookImmersion(t, ref, bruno, sc.today)
	booking := "/reservations/" + sc.today + "/" + bruno
	if p := ref.get(booking); !strings.Contains(p, `name="statut"`) || !strings.Contains(p, "7\u00a0h par jour") {
		t.Fatalf("the referent is not offered the outcome form:\n%s", p)
	}
	form := url.Values{
		"request_id": {"outcome-1"}, "statut": {"OUTCOME_STATUS_PARTIALLY_COMPLETED"}, "dernier_jour": {immersionDate(today())},
		"minutes": {"3,5"}, "adequation": {"TRADE_FIT_TO_EXPLORE_FURTHER"}, "commentaire": {"Bonne attitude, à revoir"},
	}
	for minutes, want := range map[string]string{"3,5": "précisez l&#39;unité", "8 h": "Au plus 7\u00a0h", "": "Indiquez la durée réalisée"} {
		form.Set("minutes", minutes)
		r := ref.post(booking+"/resultat", form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="minutes-error"`) || !strings.Contains(r.body, want) ||
			!strings.Contains(r.body, `value="`+minutes+`"`) {
			t.Fatalf("minutes %q: %d, want %q next to the field\n%s", minutes, r.status, want, r.body)
		}
	}
	missingFit := url.Values{"request_id": {"outcome-2"}, "statut": {"OUTCOME_STATUS_COMPLETED"}}
	if r := ref.post(booking+"/resultat", missingFit); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="adequation-error"`) {
		t.Fatalf("a completed immersion without trade fit: %d\n%s", r.status, r.body)
	}
	if p := ref.get(booking); strings.Contains(p, "<dt>Bilan</dt>") || !strings.Contains(p, `name="statut"`) {
		t.Fatalf("a refused outcome was recorded:\n%s", p)
	}

	form.Set("minutes", "3,5 h")
	paul := e.login(t, "referent:"+e.referent(t, "Paul Roux", "T01", 10))
	if r := paul.post(booking+"/resultat", form); r.status == http.StatusOK || strings.Contains(r.body, "Bilan de l&#39;immersion enregistré") {
		t.Fatalf("a referent who does not follow Bruno recorded his outcome: %d\n%s", r.status, r.body)
	}
	done := ref.post(booking+"/resultat", form)
	if done.status != http.StatusOK || done.url != booking || !strings.Contains(done.body, "Bilan de l&#39;immersion enregistré.") {
		t.Fatalf("outcome: %d at %s\n%s", done.status, done.url, done.body)
	}
	for _, want := range []string{"<dt>Bilan</dt><dd>Réalisée partiellement</dd>", "3\u00a0h\u00a030 sur 7\u00a0h", "Métier à explorer davantage", "Bonne attitude, à revoir"} {
		if !strings.Contains(done.body, want) {
			t.Errorf("the recorded outcome lacks %q", want)
		}
	}
	if strings.Contains(done.body, `name="statut"`) || strings.Contains(done.body, `name="motif"`) {
		t.Errorf("a recorded outcome still offers its forms")
	}
}

// immersionDate is a date as people type it.
func immersionDate(d civil.Date) string {
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// Through Chromium: a referent searches by trade, books, and lands on the
// record; the search page and the booking page pass the accessibility
// checks.
func TestImmersionInTheBrowser(t *testing.T) {
	sc := newImmersionScene(t)
	e, alice := sc.e, sc.learners[0]
	// The learner must be known to immersion before the browser books.
	warm := e.login(t, "referent:"+sc.ref)
	eventually(t, "the sessions are searchable", func() bool {
		return strings.Contains(warm.get("/personnes/"+alice+"/immersions?metier=boulang"), sc.bayeux)
	})

	b := browsertest.Browser(t)
	browserLogin(t, e, b, "referent", sc.ref)

	browsertest.Navigate(t, b, e.URL+"/personnes/"+alice+"/immersions")
	browsertest.Type(t, b, "#metier", "boulang")
	browsertest.SetValue(t, b, "#distance", "50")
	if st := browsertest.ClickAndWait(t, b, `form[role=search] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("search: %d", st)
	}
	if txt := browsertest.Text(t, b, "section[aria-labelledby=resultats] table"); !strings.Contains(txt, "Fournil de Bayeux") || strings.Contains(txt, "Rouen") {
		t.Fatalf("results within 50 km:\n%s", txt)
	}
	browsertest.CheckAccessibility(t, b)

	if st := browsertest.ClickAndWait(t, b, `form[method=post]:has(input[name=session][value="`+sc.bayeux+`"]) button[type=submit]`); st != http.StatusOK {
		t.Fatalf("booking: %d", st)
	}
	if loc := browsertest.Location(t, b); !strings.HasSuffix(loc, "/personnes/"+alice) {
		t.Fatalf("after booking: at %s", loc)
	}
	if txt := browsertest.Text(t, b, "main"); !strings.Contains(txt, "Place réservée") {
		t.Fatalf("no flash after booking:\n%s", txt)
	}

	browsertest.Navigate(t, b, e.URL+"/reservations/"+sc.bayeux+"/"+alice)
	if txt := browsertest.Text(t, b, "main"); !strings.Contains(txt, "Fournil de Bayeux") || !strings.Contains(txt, "Annuler la réservation") {
		t.Fatalf("booking page:\n%s", txt)
	}
	browsertest.CheckAccessibility(t, b)
}
