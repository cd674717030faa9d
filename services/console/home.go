package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// What needs a referent's attention, and when.
const (
	// analysisDueDays: a learner welcomed this long ago without a needs
	// analysis needs one.
	analysisDueDays = 10
	// enrolmentEndingDays: an enrolment ending within this many days is
	// announced.
	enrolmentEndingDays = 30
	// lookups bounds the calls a page makes at once.
	lookups = 8
)

// today is the services' civil date (Europe/Paris).
func (c *Console) today() civil.Date { return civil.Of(c.cfg.Now()) }

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	switch s.principal.Role {
	case auth.RoleReferent:
		c.referentHome(w, r, s)
	case auth.RoleAdmin:
		c.pages.render(w, r, s, http.StatusOK, "home_admin", map[string]any{"Title": "Accueil"})
	case auth.RoleOperator:
		c.operatorHome(w, r, s)
	default:
		c.funderHome(w, r, s)
	}
}

// caseRow is one learner of a caseload, as the home page lists it.
type caseRow struct {
	LearnerID   string
	Name        string
	Territory   string
	Phase       pathwayv1.PathwayPhase
	DaysInPhase int
	Since       civil.Date
	// Interim: followed during a colleague's absence (AbsentReferent).
	Interim        bool
	AbsentReferent string
}

// todo is one thing that needs the referent, about one learner.
type todo struct {
	LearnerID, Name string
	What            string
	When            civil.Date
}

func (c *Console) referentHome(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	entries, ref, err := c.caseload(ctx, s.principal.ReferentID)
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
	today := c.today()
	rows := make([]caseRow, 0, len(entries))
	var todos []todo
	for _, e := range entries {
		since := civilpb.Date(e.GetPhaseSince())
		row := caseRow{
			LearnerID: e.GetLearnerId(), Name: nameOr(names, e.GetLearnerId()), Territory: e.GetTerritoryCode(),
			Phase: e.GetPhase(), Since: since, Interim: e.GetInterim(), AbsentReferent: e.GetAbsentReferentId(),
		}
		if since.Valid() {
			row.DaysInPhase = since.DaysUntil(today)
		}
		rows = append(rows, row)
		if e.GetPathwayStatus() == "following_in_qualif" {
			todos = append(todos, todo{LearnerID: row.LearnerID, Name: row.Name, When: civilpb.Date(e.GetFromDate()),
				What: "Suivi en Qualif : résultat de la formation à enregistrer"})
		}
		if e.GetPhase() == pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED && since.Valid() && row.DaysInPhase > analysisDueDays {
			todos = append(todos, todo{LearnerID: row.LearnerID, Name: row.Name, When: since,
				What: "Entrée sans analyse des besoins depuis " + fr.PluralDays(row.DaysInPhase)})
		}
	}
	slices.SortFunc(rows, func(a, b caseRow) int { return strings.Compare(a.Name, b.Name) })
	todos = append(todos, c.learnerTodos(ctx, rows, today)...)
	todos = append(todos, c.followUpsDue(ctx, s, today, names)...)
	slices.SortFunc(todos, func(a, b todo) int {
		if n := a.When.Compare(b.When); n != 0 {
			return n
		}
		return strings.Compare(a.Name, b.Name)
	})
	c.pages.render(w, r, s, http.StatusOK, "home_referent", map[string]any{
		"Title": "Mon portefeuille", "Referent": ref, "Rows": rows, "Todos": todos, "Today": today,
	})
}

// caseload lists every page of a referent's caseload.
func (c *Console) caseload(ctx context.Context, referentID string) ([]*referentv1.CaseloadEntry, *referentv1.Referent, error) {
	var ref *referentv1.Referent
	out, err := paging.All(func(token string) ([]*referentv1.CaseloadEntry, string, error) {
		res, err := c.api.Referent.ListCaseload(ctx, &referentv1.ListCaseloadRequest{ReferentId: referentID, PageSize: 200, PageToken: token})
		ref = res.GetReferent()
		return res.GetLearners(), res.GetNextPageToken(), err
	})
	return out, ref, err
}

// learnerTodos looks at each learner's pathway and bookings: referrals
// without an outcome, immersions this week, promotions from a waitlist,
// enrolments ending soon.
func (c *Console) learnerTodos(ctx context.Context, rows []caseRow, today civil.Date) []todo {
	var (
		mu  sync.Mutex
		out []todo
		wg  sync.WaitGroup
		sem = make(chan struct{}, lookups)
	)
	weekEnd := today.AddDays(7)
	for _, row := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var mine []todo
			add := func(what string, when civil.Date) {
				mine = append(mine, todo{LearnerID: row.LearnerID, Name: row.Name, What: what, When: when})
			}
			if res, err := c.api.Pathway.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: row.LearnerID}); err == nil {
				if ep := openEpisode(res.GetPathway()); ep != nil {
					for _, ref := range ep.GetReferrals() {
						if ref.GetOutcome() == pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_UNSPECIFIED {
							add("Orientation sans résultat : "+ref.GetOrganisation(), civilpb.Date(ref.GetReferralDate()))
						}
					}
					for _, en := range ep.GetEnrolments() {
						to := civilpb.Date(en.GetToDate())
						if to.Valid() && !to.Before(today) && to.Before(today.AddDays(enrolmentEndingDays+1)) {
							add("Inscription qui se termine bientôt", to)
						}
					}
				}
			}
			if res, err := c.api.Immersion.ListBookings(ctx, &immersionv1.ListBookingsRequest{LearnerId: row.LearnerID, PageSize: 200}); err == nil {
				for _, b := range res.GetBookings() {
					from, to := civilpb.Date(b.GetFromDate()), civilpb.Date(b.GetToDate())
					if b.GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_BOOKED || to.Before(today) {
						continue
					}
					if b.GetPromotedFromWaitlist() {
						add("Place obtenue depuis la liste d'attente", from)
					}
					if from.Before(weekEnd) {
						add("Immersion cette semaine", from)
					}
				}
			}
			mu.Lock()
			out = append(out, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// openEpisode is a pathway's episode in progress, nil when none.
func openEpisode(p *pathwayv1.Pathway) *pathwayv1.Episode {
	eps := p.GetEpisodes()
	if len(eps) == 0 || eps[len(eps)-1].GetExitDate() != nil {
		return nil
	}
	return eps[len(eps)-1]
}

func nameOr(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "Personne " + shortID(id)
}

// shortID is the start of an identifier, for people to tell two apart.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// followUpWindowDays is how long after its due day a six-month follow-up
// still to record is listed.
const followUpWindowDays = 92

// followUpsDue lists the six-month follow-ups due and not recorded of the
// learners whose last referent is the caller, among the pathways of its
// territories exited six months ago or a little more.
func (c *Console) followUpsDue(ctx context.Context, s *session, today civil.Date, names map[string]string) []todo {
	// Six months before today (the month's last day when shorter): exits
	// up to then are due; a few days more for the months' ends, and each
	// pathway's due day decides.
	y, m := today.Year, today.Month-6
	if m < 1 {
		y, m = y-1, m+12
	}
	latest := civil.Month{Year: y, Month: m}.Last()
	if today.Day < latest.Day {
		latest.Day = today.Day
	}
	var out []todo
	for _, t := range s.principal.Territories {
		pathways, err := paging.All(func(token string) ([]*pathwayv1.Pathway, string, error) {
			res, err := c.api.Pathway.ListPathways(ctx, &pathwayv1.ListPathwaysRequest{
				TerritoryCode: t, ExitedFrom: civilpb.FromDate(latest.AddDays(-followUpWindowDays)), ExitedTo: civilpb.FromDate(latest.AddDays(3)),
				PageSize: 200, PageToken: token,
			})
			return res.GetPathways(), res.GetNextPageToken(), err
		})
		if err != nil {
			c.log.Warn("console: follow-ups due unavailable", "territory", t, "error", err)
			continue
		}
		for _, p := range pathways {
			ep := lastEpisode(p)
			due := civilpb.Date(ep.GetFollowUpDueOn())
			if ep.GetExitDate() == nil || ep.GetFollowUp() != nil || !due.Valid() || today.Before(due) {
				continue
			}
			a, err := c.api.Referent.GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: p.GetLearnerId()})
			hist := a.GetAssignment().GetHistory()
			if err != nil || len(hist) == 0 || hist[len(hist)-1].GetReferentId() != s.principal.ReferentID {
				continue
			}
			name := names[p.GetLearnerId()]
			if name == "" {
				if n, err := c.learnerNames(ctx, []string{p.GetLearnerId()}); err == nil {
					name = nameOr(n, p.GetLearnerId())
				}
			}
			out = append(out, todo{LearnerID: p.GetLearnerId(), Name: name, When: due, What: "Suivi à 6 mois de la sortie à enregistrer"})
		}
	}
	return out
}
