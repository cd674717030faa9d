package console

import (
	"net/http"
	"slices"
	"strings"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/console/geo"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// The coordination pages: territory load and queue (assign in one
// action), the referent directory, a referent's caseload with absences
// and handovers. Coordinators (referents with the coordinator claim) and
// administrators; the referent service checks each command's territory.
func (c *Console) coordinationRoutes() {
	c.mux.HandleFunc("GET /territoires", c.coordination(c.territories))
	c.mux.HandleFunc("GET /territoires/{code}", c.coordination(c.territory))
	c.mux.HandleFunc("POST /territoires/{code}/affectations", c.coordination(c.assignFromQueue))
	c.mux.HandleFunc("GET /referents", c.coordination(c.referentDirectory))
	c.mux.HandleFunc("GET /referents/{id}", c.coordination(c.referentPage))
	c.mux.HandleFunc("POST /referents/{id}/absence", c.coordination(c.setAbsence))
	c.mux.HandleFunc("POST /referents/{id}/passation", c.coordination(c.handover))
	c.mux.HandleFunc("GET /offres", c.coordination(c.offers))
}

// accreditationWarningDays: an accreditation ending within this many days
// is highlighted.
const accreditationWarningDays = 60

// offerRow is one #Action offer as the offers page lists it.
type offerRow struct {
	Offer    *immersionv1.Offer
	Commune  string
	Expiring bool // the accreditation ends within accreditationWarningDays
	Expired  bool
}

// offers lists the #Action offers with their accreditation, those ending
// within 60 days first and highlighted.
func (c *Console) offers(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	today := c.today()
	offers, err := paging.All(func(token string) ([]*immersionv1.Offer, string, error) {
		res, err := c.api.Immersion.ListOffers(ctx, &immersionv1.ListOffersRequest{PageSize: 200, PageToken: token})
		return res.GetOffers(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	var rows []offerRow
	for _, o := range offers {
		to := civilpb.Date(o.GetProfile().GetAccreditedTo())
		row := offerRow{Offer: o, Expired: to.Valid() && to.Before(today) || o.GetAccreditationExpired()}
		row.Expiring = !row.Expired && to.Valid() && to.Before(today.AddDays(accreditationWarningDays+1))
		if name, ok := geo.Commune(o.GetProfile().GetPlatform().GetCommuneCode()); ok {
			row.Commune = name
		}
		rows = append(rows, row)
	}
	expiring := 0
	for _, row := range rows {
		if row.Expiring {
			expiring++
		}
	}
	c.pages.render(w, r, s, http.StatusOK, "offers", map[string]any{
		"Title": "Offres #Action", "Rows": rows, "Expiring": expiring, "WarningDays": accreditationWarningDays,
	})
}

// countText shows a count, or "< 5" when the API hides small ones.
func countText(n *commonv1.Count) string {
	if n.GetFewerThanFive() {
		return "<\u00a05"
	}
	return fr.Int(n.GetValue())
}

// territories lists the load of every territory the person reaches.
func (c *Console) territories(w http.ResponseWriter, r *http.Request, s *session) {
	res, err := c.api.Referent.GetTerritoryLoad(c.call(r, s), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: s.principal.Territories})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.pages.render(w, r, s, http.StatusOK, "territories", map[string]any{"Title": "Territoires", "Loads": res.GetTerritories()})
}

// queued is a learner waiting for a referent.
type queued struct {
	LearnerID, Name string
	Since           *commonv1.Date
}

// territory shows one territory: its referents with their load, and its
// queue, each queued learner with a form assigning a referent.
func (c *Console) territory(w http.ResponseWriter, r *http.Request, s *session) {
	code := r.PathValue("code")
	ctx := c.call(r, s)
	load, err := c.api.Referent.GetTerritoryLoad(ctx, &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{code}})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if len(load.GetTerritories()) == 0 {
		c.pages.error(w, r, s, http.StatusNotFound, "Territoire introuvable", "Ce territoire n'existe pas, ou il est hors de votre périmètre.")
		return
	}
	refs, err := c.referents(ctx, code, false)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	slices.SortFunc(refs, byReferentName)
	pending, err := paging.All(func(token string) ([]*referentv1.Assignment, string, error) {
		res, err := c.api.Referent.ListPendingAssignments(ctx, &referentv1.ListPendingAssignmentsRequest{TerritoryCode: code, PageSize: 200, PageToken: token})
		return res.GetPending(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	ids := make([]string, len(pending))
	for i, a := range pending {
		ids[i] = a.GetLearnerId()
	}
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	queue := make([]queued, len(pending))
	for i, a := range pending {
		queue[i] = queued{LearnerID: a.GetLearnerId(), Name: nameOr(names, a.GetLearnerId()), Since: a.GetPendingSince()}
	}
	c.pages.render(w, r, s, http.StatusOK, "territory", map[string]any{
		"Title": "Territoire " + code, "Code": code, "Load": load.GetTerritories()[0], "Referents": refs,
		"Queue": queue, "RequestID": randomToken(), "Today": c.today(),
	})
}

// assignFromQueue assigns the referent chosen to a queued learner.
func (c *Console) assignFromQueue(w http.ResponseWriter, r *http.Request, s *session) {
	code := r.PathValue("code")
	back := "/territoires/" + code
	learner, referent := r.PostFormValue("learner_id"), r.PostFormValue("referent_id")
	if learner == "" || referent == "" {
		c.refusedAt(w, r, s, back, "Choisissez le référent à attribuer.")
		return
	}
	_, err := c.api.Referent.AssignReferent(c.call(r, s), &referentv1.AssignReferentRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: learner, ReferentId: referent,
		EffectiveDate: civilpb.FromDate(c.today()), Reason: strings.TrimSpace(r.PostFormValue("motif")),
	})
	c.afterActionAt(w, r, s, back, err, "Référent attribué.")
}

// referentDirectory lists the referents of the territories the person
// coordinates (every territory for an administrator).
func (c *Console) referentDirectory(w http.ResponseWriter, r *http.Request, s *session) {
	refs, err := c.referents(c.call(r, s), "", true)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	slices.SortFunc(refs, byReferentName)
	c.pages.render(w, r, s, http.StatusOK, "referents", map[string]any{"Title": "Référents", "Referents": refs, "Today": c.today()})
}

// caseRowView is one learner of a referent's caseload on the referent's
// page.
type caseRowView struct {
	LearnerID, Name string
	Territory       string
	From            *commonv1.Date
}

// referentPage shows a referent: profile, load, absence, and the caseload
// with a handover form per learner.
func (c *Console) referentPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx := c.call(r, s)
	entries, ref, err := c.caseload(ctx, id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.GetLearnerId()
	}
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	rows := make([]caseRowView, len(entries))
	for i, e := range entries {
		rows[i] = caseRowView{LearnerID: e.GetLearnerId(), Name: nameOr(names, e.GetLearnerId()), Territory: e.GetTerritoryCode(), From: e.GetFromDate()}
	}
	slices.SortFunc(rows, func(a, b caseRowView) int { return strings.Compare(a.Name, b.Name) })
	// The colleagues who may take over: the same territories, active.
	var others []*referentv1.Referent
	for _, t := range ref.GetProfile().GetTerritoryCodes() {
		rs, err := c.referents(ctx, t, false)
		if err != nil {
			continue
		}
		for _, o := range rs {
			if o.GetReferentId() != id && !slices.ContainsFunc(others, func(x *referentv1.Referent) bool { return x.GetReferentId() == o.GetReferentId() }) {
				others = append(others, o)
			}
		}
	}
	slices.SortFunc(others, byReferentName)
	c.pages.render(w, r, s, http.StatusOK, "referent", map[string]any{
		"Title": ref.GetProfile().GetName(), "Referent": ref, "Rows": rows, "Others": others, "Names": referentNamesOf(others),
		"RequestID": randomToken(), "Today": c.today(),
	})
}

// setAbsence records a referent's absence (from, to), or clears it.
func (c *Console) setAbsence(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	back := "/referents/" + id
	req := &referentv1.SetAvailabilityRequest{RequestId: r.PostFormValue("request_id"), ReferentId: id}
	if r.PostFormValue("effacer") == "" {
		from, err1 := parseFormDate(r.PostFormValue("du"))
		to, err2 := parseFormDate(r.PostFormValue("au"))
		if err1 != nil || err2 != nil {
			c.refusedAt(w, r, s, back, "Indiquez les dates de début et de fin de l'absence au format JJ/MM/AAAA.")
			return
		}
		req.AbsentFrom, req.AbsentTo = from, to
		req.InterimReferentId = r.PostFormValue("interim")
	}
	_, err := c.api.Referent.SetAvailability(c.call(r, s), req)
	c.afterActionAt(w, r, s, back, err, "Disponibilité enregistrée.")
}

// handover moves a learner from this referent to another.
func (c *Console) handover(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	back := "/referents/" + id
	learner, to := r.PostFormValue("learner_id"), r.PostFormValue("vers")
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	if learner == "" || to == "" || reason == "" {
		c.refusedAt(w, r, s, back, "Choisissez le référent qui prend le relais et indiquez le motif.")
		return
	}
	_, err := c.api.Referent.Handover(c.call(r, s), &referentv1.HandoverRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: learner, FromReferentId: id, ToReferentId: to,
		Reason: reason, EffectiveDate: civilpb.FromDate(c.today()),
	})
	c.afterActionAt(w, r, s, back, err, "Passation enregistrée.")
}

func byReferentName(a, b *referentv1.Referent) int {
	return strings.Compare(a.GetProfile().GetName(), b.GetProfile().GetName())
}

// referentNamesOf maps the referents' ids to their names.
func referentNamesOf(refs []*referentv1.Referent) map[string]string {
	out := make(map[string]string, len(refs))
	for _, r := range refs {
		out[r.GetReferentId()] = r.GetProfile().GetName()
	}
	return out
}
