package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/console/geo"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// The #Action pages: a referent looks for an immersion session for one
// learner (by trade, dates, free places, accessibility and distance from
// the learner's commune), books a place or a waitlist entry, and, on the
// booking's page, cancels it with a reason; an administrator records the
// outcome there (the service lets the session's operator and
// administrators record outcomes, not referents).

const (
	// maxImmersionSessions bounds the sessions one search reads (pages of
	// immersionPageSize) before sorting them by distance.
	maxImmersionSessions = 1000
	immersionPageSize    = 200
	// maxImmersionTrades bounds the trades offered when a typed trade matches
	// several ROME fiches.
	maxImmersionTrades = 20
	// maxImmersionReason and maxImmersionComment are the service's bounds
	// (immersion/domain): checked here to answer in French.
	maxImmersionReason  = 500
	maxImmersionComment = 1000
)

// immersionDistances are the distances a search may be limited to, in km
// ("" is any distance).
var immersionDistances = []string{"10", "20", "30", "50"}

func (c *Console) immersionRoutes() {
	c.mux.HandleFunc("GET /personnes/{id}/immersions", c.staff(c.immersionSearch))
	c.mux.HandleFunc("POST /personnes/{id}/immersions", c.staff(c.bookImmersion))
	c.mux.HandleFunc("GET /reservations/{session}/{learner}", c.staff(c.immersionBookingPage))
	c.mux.HandleFunc("POST /reservations/{session}/{learner}/annulation", c.staff(c.cancelImmersionBooking))
	c.mux.HandleFunc("POST /reservations/{session}/{learner}/resultat", c.staff(c.recordImmersionOutcome))
}

// immersionCriteria is what the search form holds, read from the query string.
type immersionCriteria struct {
	Trade      string // what was typed in "métier"
	ROME       string // the ROME code chosen or found
	From, To   string // as typed (JJ/MM/AAAA)
	Free       bool
	Accessible bool
	MaxKm      string // "" or one of immersionDistances
	Submitted  bool
}

func immersionCriteriaOf(q url.Values) immersionCriteria {
	return immersionCriteria{
		Trade: strings.TrimSpace(q.Get("metier")), ROME: strings.ToUpper(strings.TrimSpace(q.Get("rome"))),
		From: strings.TrimSpace(q.Get("du")), To: strings.TrimSpace(q.Get("au")),
		Free: q.Get("libres") != "", Accessible: q.Get("accessible") != "",
		MaxKm: q.Get("distance"), Submitted: q.Has("metier") || q.Has("rome"),
	}
}

// query is the criteria as a query string, to search again after a
// booking is refused.
func (f immersionCriteria) query() string {
	q := url.Values{"metier": {f.Trade}}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("rome", f.ROME)
	set("du", f.From)
	set("au", f.To)
	set("distance", f.MaxKm)
	if f.Free {
		q.Set("libres", "1")
	}
	if f.Accessible {
		q.Set("accessible", "1")
	}
	return q.Encode()
}

// immersionRow is one session of the results.
type immersionRow struct {
	S                *immersionv1.Session
	Platform         string
	Commune          string
	Km               int
	KmKnown          bool
	Full             bool
	Mine             *immersionv1.Booking // the learner's booking of it, if any
	RequestID        string
	DescriptionShort string // the session in a few words, for the buttons' accessible names
}

// immersionLearnerView is the learner of an immersion page.
type immersionLearnerView struct {
	ID, Name    string
	Commune     string // INSEE code
	CommuneName string // from the geo reference, "" when unknown
	Erased      bool
}

func (c *Console) immersionLearner(ctx context.Context, id string) (immersionLearnerView, error) {
	res, err := c.api.Intake.GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		return immersionLearnerView{}, err
	}
	l := res.GetLearner()
	lp := immersionLearnerView{ID: id, Name: displayName(l), Commune: l.GetContact().GetCommuneCode(), Erased: l.GetErased()}
	lp.CommuneName, _ = geo.Commune(lp.Commune)
	return lp, nil
}

// immersionSearch is a learner's #Action page: the search form, the
// sessions found (closest first) and the learner's bookings.
func (c *Console) immersionSearch(w http.ResponseWriter, r *http.Request, s *session) {
	f := immersionCriteriaOf(r.URL.Query())
	c.renderImmersionSearch(w, r, s, r.PathValue("id"), f, problems{})
}

// renderImmersionSearch runs the search of f (when submitted) and renders the page;
// a refusal p (a booking refused) is shown above the results.
func (c *Console) renderImmersionSearch(w http.ResponseWriter, r *http.Request, s *session, id string, f immersionCriteria, p problems) {
	ctx := c.call(r, s)
	learner, err := c.immersionLearner(ctx, id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	data := map[string]any{
		"Title": "Immersions #Action de " + learner.Name, "Learner": learner,
		"Distances": immersionDistances, "SearchProblems": problems{},
	}
	bookings, err := c.immersionBookings(ctx, id)
	if err != nil && !isNotFound(err) {
		c.log.Warn("console: bookings unavailable", "learner", id, "error", err)
	}
	data["Bookings"] = bookings
	status := http.StatusOK
	if f.Submitted {
		var sp problems
		req := c.immersionSearchRequest(&f, &sp, data)
		if sp.any() {
			status = http.StatusUnprocessableEntity
			if sp.General == "" {
				sp.General = "Corrigez les critères signalés."
			}
		} else if req != nil {
			rows, more, note, err := c.immersionSessions(ctx, req, learner, f, bookings)
			if err != nil {
				if isUnauthenticated(err) {
					c.failed(w, r, s, err)
					return
				}
				sp = fromAPI(err, map[string]string{"rome_code": "metier", "from_date": "du", "to_date": "au"})
				sp.Fields = immersionFields(sp.Fields, immersionSearchMessages)
				status = http.StatusUnprocessableEntity
			}
			data["Rows"], data["More"], data["DistanceNote"], data["Searched"] = rows, more, note, true
		}
		data["SearchProblems"] = sp
	}
	if p.any() {
		status = http.StatusUnprocessableEntity
	}
	data["Problems"] = p
	data["Form"] = f
	data["Criteria"] = f.query()
	c.pages.render(w, r, s, status, "immersion_search", data)
}

var immersionSearchMessages = map[string]string{
	"metier": "Code ROME refusé : une lettre et quatre chiffres, par exemple D1102.",
	"du":     "Date refusée.",
	"au":     "La date de fin ne peut pas précéder la date de début (aujourd'hui par défaut).",
}

// immersionSearchRequest reads the criteria into a SearchSessions request; problems
// go to p. A typed trade matching several ROME fiches puts them in data's
// "TradeChoices"; until one is chosen (f.ROME among them) there is nothing
// to search and the request is nil.
func (c *Console) immersionSearchRequest(f *immersionCriteria, p *problems, data map[string]any) *immersionv1.SearchSessionsRequest {
	req := &immersionv1.SearchSessionsRequest{OnlyWithFreePlaces: f.Free, AccessibleOnly: f.Accessible, PageSize: immersionPageSize}
	waiting := false
	if f.Trade == "" {
		if _, ok := fr.ROMELabel(f.ROME); f.ROME != "" && !ok {
			p.add("metier", "Code ROME inconnu : « "+f.ROME+" ». Tapez un métier ou un code, par exemple D1102.")
		}
	} else {
		found := fr.SearchROME(f.Trade, maxImmersionTrades)
		switch len(found) {
		case 0:
			p.add("metier", "Aucun métier ne correspond à « "+f.Trade+" ». Essayez un autre mot, ou un code ROME (par exemple D1102).")
			f.ROME = ""
		case 1:
			f.ROME = found[0].Code
		default:
			data["TradeChoices"] = found
			if !slices.ContainsFunc(found, func(r fr.ROME) bool { return r.Code == f.ROME }) {
				// The choice (if any) was for another text: choose again.
				f.ROME = ""
				waiting = true
			}
		}
	}
	req.RomeCode = f.ROME
	if f.ROME != "" {
		data["TradeLabel"], _ = fr.ROMELabel(f.ROME)
	}
	for _, d := range []struct {
		field, value string
		set          func(*commonv1.Date)
	}{
		{"du", f.From, func(d *commonv1.Date) { req.FromDate = d }},
		{"au", f.To, func(d *commonv1.Date) { req.ToDate = d }},
	} {
		if d.value == "" {
			continue
		}
		day, err := fr.ParseDate(d.value)
		if err != nil {
			p.add(d.field, err.Error())
			continue
		}
		d.set(civilpb.FromDate(day))
	}
	if req.FromDate != nil && req.ToDate != nil && civilpb.Date(req.ToDate).Before(civilpb.Date(req.FromDate)) {
		p.add("au", "La date de fin ne peut pas précéder la date de début.")
	}
	if f.MaxKm != "" && !slices.Contains(immersionDistances, f.MaxKm) {
		p.add("distance", "Choisissez une distance de la liste.")
	}
	if p.any() || waiting {
		return nil
	}
	return req
}

// immersionSessions reads the sessions of req (up to maxImmersionSessions),
// with their platforms, and sorts them by distance from the learner's
// commune, then by first day. more reports sessions left unread; note
// explains distances that could not be computed.
func (c *Console) immersionSessions(ctx context.Context, req *immersionv1.SearchSessionsRequest, learner immersionLearnerView, f immersionCriteria, bookings []*immersionv1.Booking) (rows []immersionRow, more bool, note string, err error) {
	var sessions []*immersionv1.Session
	for {
		res, err := c.api.Immersion.SearchSessions(ctx, req)
		if err != nil {
			return nil, false, "", err
		}
		sessions = append(sessions, res.GetSessions()...)
		req.PageToken = res.GetNextPageToken()
		if req.PageToken == "" {
			break
		}
		if len(sessions) >= maxImmersionSessions {
			more = true
			break
		}
	}
	offerIDs := make([]string, 0, len(sessions))
	for _, ss := range sessions {
		offerIDs = append(offerIDs, ss.GetOfferId())
	}
	offers := c.immersionOffers(ctx, offerIDs)
	mine := map[string]*immersionv1.Booking{}
	for _, b := range bookings {
		if b.GetStatus() == immersionv1.BookingStatus_BOOKING_STATUS_BOOKED || b.GetStatus() == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED {
			mine[b.GetSessionId()] = b
		}
	}
	maxKm, _ := strconv.Atoi(f.MaxKm)
	_, learnerKnown := geo.Commune(learner.Commune)
	if !learnerKnown {
		note = "La commune de la personne n'est pas dans la table de référence : les distances sont inconnues."
		if learner.Commune == "" {
			note = "La commune de la personne n'est pas renseignée : les distances sont inconnues."
		}
		if maxKm > 0 {
			note += " La distance maximale n'a pas été appliquée."
			maxKm = 0
		}
	}
	unknownLeftOut := 0
	for _, ss := range sessions {
		row := immersionRow{S: ss, Full: ss.GetFreePlaces() <= 0, Mine: mine[ss.GetSessionId()]}
		if o := offers[ss.GetOfferId()]; o != nil {
			pf := o.GetProfile().GetPlatform()
			row.Platform = pf.GetName()
			row.Commune = pf.GetCommuneCode()
			if name, ok := geo.Commune(pf.GetCommuneCode()); ok {
				row.Commune = name
			}
			row.Km, row.KmKnown = geo.DistanceKm(learner.Commune, pf.GetCommuneCode())
		}
		if maxKm > 0 {
			if !row.KmKnown {
				unknownLeftOut++
				continue
			}
			if row.Km > maxKm {
				continue
			}
		}
		row.RequestID = randomToken()
		row.DescriptionShort = "du " + fr.Date(ss.GetFromDate()) + " au " + fr.Date(ss.GetToDate())
		if row.Platform != "" {
			row.DescriptionShort += ", " + row.Platform
		}
		rows = append(rows, row)
	}
	if unknownLeftOut > 0 {
		note = fmt.Sprintf("%s session(s) dont la distance est inconnue (commune du plateau technique absente de la table de référence) ne sont pas affichées avec une distance maximale.", fr.Int(unknownLeftOut))
	}
	slices.SortStableFunc(rows, func(a, b immersionRow) int {
		if a.KmKnown != b.KmKnown {
			if a.KmKnown {
				return -1
			}
			return 1
		}
		if a.KmKnown && a.Km != b.Km {
			return cmp.Compare(a.Km, b.Km)
		}
		if d := civilpb.Date(a.S.GetFromDate()).Compare(civilpb.Date(b.S.GetFromDate())); d != 0 {
			return d
		}
		return cmp.Compare(a.S.GetSessionId(), b.S.GetSessionId())
	})
	return rows, more, note, nil
}

// immersionOffers reads the offers of ids (lookups at once); an offer that cannot be
// read is missing from the map.
func (c *Console) immersionOffers(ctx context.Context, ids []string) map[string]*immersionv1.Offer {
	ids = uniq(ids)
	out := make(map[string]*immersionv1.Offer, len(ids))
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan string)
	)
	for range min(lookups, len(ids)) {
		wg.Go(func() {
			for id := range next {
				res, err := c.api.Immersion.GetOffer(ctx, &immersionv1.GetOfferRequest{OfferId: id})
				if err != nil {
					c.log.Debug("console: offer unavailable", "offer", id, "error", err)
					continue
				}
				mu.Lock()
				out[id] = res.GetOffer()
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		if id != "" {
			next <- id
		}
	}
	close(next)
	wg.Wait()
	return out
}

// immersionBookings lists every booking of a learner (all pages).
func (c *Console) immersionBookings(ctx context.Context, id string) ([]*immersionv1.Booking, error) {
	return paging.All(func(token string) ([]*immersionv1.Booking, string, error) {
		res, err := c.api.Immersion.ListBookings(ctx, &immersionv1.ListBookingsRequest{LearnerId: id, PageSize: immersionPageSize, PageToken: token})
		return res.GetBookings(), res.GetNextPageToken(), err
	})
}

// bookImmersion books a place, or a waitlist entry when the session is
// full, and goes back to the learner's record.
func (c *Console) bookImmersion(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	q, _ := url.ParseQuery(r.PostFormValue("criteres"))
	f := immersionCriteriaOf(q)
	session := strings.TrimSpace(r.PostFormValue("session"))
	if session == "" {
		c.renderImmersionSearch(w, r, s, id, f, problems{General: "Choisissez une session dans les résultats."})
		return
	}
	res, err := c.api.Immersion.BookPlace(c.call(r, s), &immersionv1.BookPlaceRequest{
		RequestId: r.PostFormValue("request_id"), SessionId: session, LearnerId: id,
	})
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		c.renderImmersionSearch(w, r, s, id, f, problems{General: immersionRefusal(err, "book")})
		return
	}
	b := res.GetBooking()
	when := " — session du " + fr.Date(b.GetFromDate()) + " au " + fr.Date(b.GetToDate()) + "."
	if b.GetStatus() == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED {
		s.setFlash(fmt.Sprintf("Inscrite en liste d'attente (rang %d)%s", b.GetWaitlistPosition(), when))
	} else {
		s.setFlash("Place réservée" + when)
	}
	http.Redirect(w, r, "/personnes/"+id, http.StatusSeeOther)
}

// immersionBookingView is a learner's booking of a session as its page shows it.
type immersionBookingView struct {
	Session        *immersionv1.Session
	Offer          *immersionv1.Offer
	Commune        string // the platform's commune, by name when known
	LearnerID      string
	LearnerName    string
	Status         immersionv1.BookingStatus
	Rank           int32 // current rank when waitlisted
	Promoted       bool
	Outcome        *immersionv1.Outcome
	Booking        *immersionv1.Booking // the read model's, for a cancellation's details
	Scheduled      int32                // minutes scheduled over the session
	Started, Ended bool                 // today is after the first day / on or after the last day
	CanCancel      bool
	CanRecord      bool // the person may record the outcome now
	MayRecord      bool // the person's role may record outcomes
}

// immersionOutcomeForm is what the outcome form holds, to show it again.
type immersionOutcomeForm struct {
	Status, LastDay, Minutes, Fit, Comment string
}

// immersionBookingPage shows a learner's booking of a session, with the forms to
// cancel it and to record its outcome.
func (c *Console) immersionBookingPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderImmersionBooking(w, r, s, http.StatusOK, "", immersionOutcomeForm{}, problems{}, problems{})
}

// loadImmersionBooking reads the session, its offer and the learner's booking. A
// learner with neither a place nor a waitlist entry nor a past booking of
// the session is NotFound.
func (c *Console) loadImmersionBooking(ctx context.Context, p auth.Principal, sessionID, learnerID string) (immersionBookingView, error) {
	v := immersionBookingView{LearnerID: learnerID}
	res, err := c.api.Immersion.GetSession(ctx, &immersionv1.GetSessionRequest{SessionId: sessionID})
	if err != nil {
		return v, err
	}
	ss := res.GetSession()
	v.Session = ss
	if v.LearnerName, err = c.learnerName(ctx, learnerID); err != nil {
		return v, err
	}
	if o := c.immersionOffers(ctx, []string{ss.GetOfferId()})[ss.GetOfferId()]; o != nil {
		v.Offer = o
		v.Commune = o.GetProfile().GetPlatform().GetCommuneCode()
		if n, ok := geo.Commune(v.Commune); ok {
			v.Commune = n
		}
	}
	for _, pl := range ss.GetPlaces() {
		if pl.GetLearnerId() == learnerID {
			v.Status, v.Promoted, v.Outcome = immersionv1.BookingStatus_BOOKING_STATUS_BOOKED, pl.GetPromotedFromWaitlist(), pl.GetOutcome()
		}
	}
	for _, wl := range ss.GetWaitlist() {
		if wl.GetLearnerId() == learnerID {
			v.Status, v.Rank = immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED, wl.GetRank()
		}
	}
	// The read model holds the cancellations and their reasons; the session
	// (just read) is the authority on places and ranks.
	if bs, err := c.immersionBookings(ctx, learnerID); err == nil {
		for _, b := range bs {
			if b.GetSessionId() == sessionID {
				v.Booking = b
			}
		}
	}
	if v.Status == immersionv1.BookingStatus_BOOKING_STATUS_UNSPECIFIED {
		if v.Booking == nil {
			return v, status.Error(codes.NotFound, "no booking")
		}
		v.Status = v.Booking.GetStatus()
		if v.Status == immersionv1.BookingStatus_BOOKING_STATUS_BOOKED || v.Status == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED {
			// Not in the session any more: the read model has not seen
			// the cancellation yet.
			v.Status = immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED
		}
		if v.Outcome == nil {
			v.Outcome = v.Booking.GetOutcome()
		}
	}
	from, to := civilpb.Date(ss.GetFromDate()), civilpb.Date(ss.GetToDate())
	today := c.today()
	v.Started, v.Ended = today.After(from), !today.Before(to)
	v.Scheduled = int32(from.DaysUntil(to)+1) * ss.GetDailyMinutes()
	active := v.Status == immersionv1.BookingStatus_BOOKING_STATUS_BOOKED || v.Status == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED
	v.CanCancel = active && v.Outcome == nil && !v.Started && !ss.GetCancelled()
	// Staff record outcomes (administrators, and the referents who act for
	// the learner: the service decides).
	v.MayRecord = p.Role == auth.RoleAdmin || p.Role == auth.RoleReferent
	v.CanRecord = v.MayRecord && v.Status == immersionv1.BookingStatus_BOOKING_STATUS_BOOKED && v.Outcome == nil && v.Ended && !ss.GetCancelled()
	return v, nil
}

func (c *Console) renderImmersionBooking(w http.ResponseWriter, r *http.Request, s *session, status int, reason string, of immersionOutcomeForm, cancelP, outcomeP problems) {
	v, err := c.loadImmersionBooking(c.call(r, s), s.principal, r.PathValue("session"), r.PathValue("learner"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.pages.render(w, r, s, status, "immersion_booking", map[string]any{
		"Title": "Immersion de " + v.LearnerName, "B": v, "Reason": reason, "Outcome": of,
		"CancelProblems": cancelP, "OutcomeProblems": outcomeP, "RequestID": randomToken(),
		"Statuses":  fr.Options(immersionv1.OutcomeStatus(0).Descriptor()),
		"Fits":      fr.Options(immersionv1.TradeFit(0).Descriptor()),
		"MaxReason": maxImmersionReason,
	})
}

// cancelImmersionBooking cancels a place or a waitlist entry, with a
// reason; a freed place goes to the first waitlisted learner still
// eligible (the service decides).
func (c *Console) cancelImmersionBooking(w http.ResponseWriter, r *http.Request, s *session) {
	sessionID, learnerID := r.PathValue("session"), r.PathValue("learner")
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	var p problems
	switch n := utf8.RuneCountInString(reason); {
	case reason == "":
		p.add("motif", "Indiquez le motif de l'annulation.")
	case n > maxImmersionReason:
		p.add("motif", fmt.Sprintf("Le motif compte %s caractères : %d au plus.", fr.Int(n), maxImmersionReason))
	}
	if p.any() {
		p.General = "Rien n'a été annulé : corrigez le champ signalé."
		c.renderImmersionBooking(w, r, s, http.StatusUnprocessableEntity, reason, immersionOutcomeForm{}, p, problems{})
		return
	}
	res, err := c.api.Immersion.CancelBooking(c.call(r, s), &immersionv1.CancelBookingRequest{
		RequestId: r.PostFormValue("request_id"), SessionId: sessionID, LearnerId: learnerID, Reason: reason,
	})
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		p = problems{General: immersionRefusal(err, "cancel")}
		if f := immersionViolations(err); slices.Contains(f, "reason") {
			p.add("motif", "Motif refusé : 500 caractères au plus, sans caractères de contrôle.")
		}
		c.renderImmersionBooking(w, r, s, http.StatusUnprocessableEntity, reason, immersionOutcomeForm{}, p, problems{})
		return
	}
	if res.GetBooking().GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED {
		// The service answers CANCELLED; anything else is unexpected.
		c.log.Warn("console: cancellation answered", "session", sessionID, "status", res.GetBooking().GetStatus())
	}
	s.setFlash("Réservation annulée.")
	http.Redirect(w, r, "/reservations/"+sessionID+"/"+learnerID, http.StatusSeeOther)
}

// recordImmersionOutcome records what became of a booked learner.
func (c *Console) recordImmersionOutcome(w http.ResponseWriter, r *http.Request, s *session) {
	sessionID, learnerID := r.PathValue("session"), r.PathValue("learner")
	ctx := c.call(r, s)
	of := immersionOutcomeForm{
		Status: r.PostFormValue("statut"), LastDay: strings.TrimSpace(r.PostFormValue("dernier_jour")),
		Minutes: strings.TrimSpace(r.PostFormValue("minutes")), Fit: r.PostFormValue("adequation"),
		Comment: strings.TrimSpace(r.PostFormValue("commentaire")),
	}
	res, err := c.api.Immersion.GetSession(ctx, &immersionv1.GetSessionRequest{SessionId: sessionID})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	ss := res.GetSession()
	from, to := civilpb.Date(ss.GetFromDate()), civilpb.Date(ss.GetToDate())
	req := &immersionv1.RecordOutcomeRequest{RequestId: r.PostFormValue("request_id"), SessionId: sessionID, LearnerId: learnerID, Comment: of.Comment}
	var p problems
	st, ok := enumValue(of.Status, immersionv1.OutcomeStatus_value)
	if !ok {
		p.add("statut", "Choisissez le résultat de l'immersion.")
	}
	req.Status = immersionv1.OutcomeStatus(st)
	if req.Status == immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED {
		var last civil.Date
		switch d, err := fr.ParseDate(of.LastDay); {
		case of.LastDay == "":
			p.add("dernier_jour", "Indiquez le dernier jour de présence (immersion réalisée partiellement).")
		case err != nil:
			p.add("dernier_jour", err.Error())
		case d.Before(from) || d.After(to):
			p.add("dernier_jour", "Le dernier jour de présence doit être compris dans la session, du "+fr.CivilDate(from)+" au "+fr.CivilDate(to)+".")
		default:
			last = d
			req.LastDayPresent = civilpb.FromDate(d)
		}
		switch m, err := fr.ParseMinutes(of.Minutes); {
		case of.Minutes == "":
			p.add("minutes", "Indiquez la durée réalisée (immersion réalisée partiellement).")
		case err != nil:
			p.add("minutes", strings.ToUpper(err.Error()[:1])+err.Error()[1:]+".")
		case m < 1:
			p.add("minutes", "La durée réalisée doit être d'au moins 1 minute.")
		default:
			if !last.IsZero() {
				most := int32(from.DaysUntil(last)+1) * ss.GetDailyMinutes()
				if m > most {
					p.add("minutes", fmt.Sprintf("Au plus %s : %s prévus du %s au %s.", fr.Minutes(most), fr.PluralDays(from.DaysUntil(last)+1), fr.CivilDate(from), fr.CivilDate(last)))
				}
			}
			req.MinutesDone = m
		}
	}
	if req.Status == immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED || req.Status == immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED {
		fit, ok := enumValue(of.Fit, immersionv1.TradeFit_value)
		if !ok {
			p.add("adequation", "Indiquez ce que la personne retient du métier.")
		}
		req.TradeFit = immersionv1.TradeFit(fit)
	}
	if n := utf8.RuneCountInString(of.Comment); n > maxImmersionComment {
		p.add("commentaire", fmt.Sprintf("Le commentaire compte %s caractères : %s au plus.", fr.Int(n), fr.Int(maxImmersionComment)))
	}
	if p.any() {
		p.General = "Rien n'a été enregistré : corrigez les champs signalés."
		c.renderImmersionBooking(w, r, s, http.StatusUnprocessableEntity, "", of, problems{}, p)
		return
	}
	if _, err := c.api.Immersion.RecordOutcome(ctx, req); err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		p = problems{General: immersionRefusal(err, "outcome")}
		for _, f := range immersionViolations(err) {
			if name, ok := immersionOutcomeFields[f]; ok {
				p.add(name, immersionOutcomeMessages[name])
			}
		}
		c.renderImmersionBooking(w, r, s, http.StatusUnprocessableEntity, "", of, problems{}, p)
		return
	}
	s.setFlash("Bilan de l'immersion enregistré.")
	http.Redirect(w, r, "/reservations/"+sessionID+"/"+learnerID, http.StatusSeeOther)
}

var immersionOutcomeFields = map[string]string{
	"status": "statut", "last_day_present": "dernier_jour", "minutes_done": "minutes", "trade_fit": "adequation", "comment": "commentaire",
}

var immersionOutcomeMessages = map[string]string{
	"statut":       "Résultat refusé.",
	"dernier_jour": "Le dernier jour de présence doit être compris dans la session.",
	"minutes":      "Durée refusée : au plus les minutes prévues jusqu'au dernier jour de présence.",
	"adequation":   "Indiquez ce que la personne retient du métier.",
	"commentaire":  "Commentaire refusé : 1 000 caractères au plus, sans caractères de contrôle.",
}

// immersionFields replaces the API's descriptions of the fields by French
// messages.
func immersionFields(fields map[string]string, messages map[string]string) map[string]string {
	for f := range fields {
		if m, ok := messages[f]; ok {
			fields[f] = m
		}
	}
	return fields
}

// immersionViolations lists the fields of the API's field violations.
func immersionViolations(err error) []string {
	var out []string
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// immersionReasons are the immersion service's refusals in French.
var immersionReasons = map[string]string{
	"OFFER_WITHDRAWN":         "L'offre de cette session a été retirée.",
	"ACCREDITATION_EXPIRED":   "L'habilitation du plateau technique a expiré.",
	"SESSION_CANCELLED":       "Cette session a été annulée.",
	"SESSION_STARTED":         "La session a commencé : l'annulation n'est plus possible, l'organisme saisira le bilan (absence ou immersion partielle).",
	"SESSION_NOT_OVER":        "Le bilan se saisit à partir du dernier jour de la session.",
	"BOOKING_DEADLINE_PASSED": "Les réservations de cette session sont closes : la date limite est dépassée.",
	"LEARNER_NOT_IN_PATHWAY":  "La personne n'est pas dans le parcours pendant toute la session. Si son entrée vient d'être enregistrée, réessayez dans un instant.",
	"LEARNER_UNKNOWN":         "La personne n'est pas encore connue du service des immersions : réessayez dans un instant.",
	"LEARNER_TOO_YOUNG":       "La personne aura moins de 16 ans au début de la session.",
	"OVERLAPPING_BOOKING":     "La personne a déjà une place sur une session aux mêmes dates.",
	"WAITLIST_FULL":           "La session est complète, et sa liste d'attente aussi.",
	"NOT_BOOKED":              "La personne n'a pas de place sur cette session.",
	"OUTCOME_RECORDED":        "Le bilan de cette immersion est enregistré : elle ne peut plus être annulée.",
}

// immersionRefusal is the French sentence of a refused booking ("book"),
// cancellation ("cancel") or outcome ("outcome").
func immersionRefusal(err error, action string) string {
	reason, booked := errorMeta(err, "reason"), errorMeta(err, "status")
	if m, ok := immersionReasons[reason]; ok {
		return m
	}
	switch {
	case isCode(err, codes.AlreadyExists) && action == "book" && booked == "waitlisted":
		return "La personne est déjà en liste d'attente de cette session."
	case isCode(err, codes.AlreadyExists) && action == "book":
		return "La personne a déjà une place sur cette session."
	case isCode(err, codes.AlreadyExists) && action == "outcome":
		return "Le bilan de cette immersion est déjà enregistré."
	case isCode(err, codes.PermissionDenied) && action == "outcome":
		return "Le bilan est saisi par l'organisme de la session, le référent de la personne ou un administrateur."
	case isCode(err, codes.NotFound) && action == "cancel":
		return "La personne n'a ni place ni inscription en liste d'attente sur cette session."
	case isCode(err, codes.InvalidArgument):
		return "Certaines valeurs sont refusées : corrigez les champs signalés."
	}
	return fromAPI(err, nil).General
}
