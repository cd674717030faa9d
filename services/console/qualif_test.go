package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// A referent exits a learner to qualifying training from the record page:
// the open Savoirs referral needs a choice (asked in French), the referent
// keeps following the learner in Qualif, records the certification after
// the exit, then, six months after the exit, the follow-up the home page
// announces.
func TestReferentFollowsThroughQualifAndSixMonthsAfter(t *testing.T) {
	e := startWithClock(t)
	refID := e.referent(t, "Odile Renard", "T01", 10)
	id := e.learner(t, "Marchand", "Sacha", "T01")
	day := today()
	e.enter(t, id, day)
	eventually(t, "the learner is assigned", func() bool {
		res, err := e.Admin.Referent.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: id})
		return err == nil && res.GetAssignment().GetReferentId() == refID
	})
	for _, p := range []pathwayv1.Programme{pathwayv1.Programme_PROGRAMME_QUALIF, pathwayv1.Programme_PROGRAMME_SAVOIRS} {
		if _, err := e.Admin.Pathway.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
			RequestId: uuid.NewString(), LearnerId: id, Programme: p, ReferralDate: date(day), Organisation: "AFPA Caen",
		}); err != nil {
			t.Fatal(err)
		}
	}
	u := e.login(t, "referent:"+refID)
	path := "/personnes/" + id
	exit := url.Values{"request_id": {"exit-1"}, "date": {fr.Date(date(day))}, "motif": {"EXIT_REASON_QUALIFYING_TRAINING"}}
	refused := u.post(path+"/sortie", exit)
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, "Une orientation Savoirs est encore en cours") {
		t.Fatalf("exit without a choice: %d\n%s", refused.status, refused.body)
	}
	exit.Set("orientations", "PENDING_REFERRALS_CLOSE")
	exited := u.post(path+"/sortie", exit)
	if exited.status != http.StatusOK || !strings.Contains(exited.body, "Sortie du parcours enregistrée") {
		t.Fatalf("exit: %d\n%s", exited.status, exited.body)
	}
	eventually(t, "the record shows the follow-up in Qualif", func() bool {
		page := u.get(path)
		return strings.Contains(page, "Orientations suivies après la sortie") && strings.Contains(page, "suivi en Qualif depuis le "+fr.Date(date(day))) &&
			strings.Contains(page, "Suivi en Qualif par Odile Renard")
	})

	certified := u.post(path+"/orientations/1/resultat", url.Values{
		"request_id": {"qualif-1"}, "resultat": {"REFERRAL_OUTCOME_COMPLETED_CERTIFIED"}, "date": {fr.Date(date(day))},
		"rncp": {"rncp35467"}, "certification": {fr.Date(date(day))},
	})
	if certified.status != http.StatusOK || !strings.Contains(certified.body, "orientation enregistré") {
		t.Fatalf("certification after the exit: %d\n%s", certified.status, certified.body)
	}
	eventually(t, "the timeline tells the certification and the end of the follow-up", func() bool {
		page := u.get(path)
		return strings.Contains(page, "certification RNCP35467 obtenue le "+fr.Date(date(day))) && strings.Contains(page, "Fin du suivi en Qualif")
	})
	eventually(t, "the referent's follow-up ends", func() bool {
		res, err := e.Admin.Referent.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: id})
		return err == nil && res.GetAssignment().GetReferentId() == "" && !res.GetAssignment().GetFollowingInQualif()
	})

	got, err := e.Admin.Pathway.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	due := civilpb.Date(got.GetPathway().GetEpisodes()[0].GetFollowUpDueOn())
	if !due.After(day.AddDays(180)) || due.After(day.AddDays(185)) {
		t.Fatalf("follow-up due on %s for an exit on %s", due, day)
	}
	if page := u.get(path); !strings.Contains(page, "sera à faire à partir du "+fr.Date(date(due))) {
		t.Fatalf("the record does not announce the six-month follow-up on %s:\n%s", due, page)
	}
	e.moveTo(t, due)
	u = e.login(t, "referent:"+refID)
	if home := u.get("/"); !strings.Contains(home, "Suivi à 6 mois de la sortie à enregistrer") {
		t.Fatalf("the home page does not list the follow-up due:\n%s", home)
	}
	recorded := u.post(path+"/suivi-6-mois", url.Values{
		"request_id": {"suivi-1"}, "situation": {"FOLLOW_UP_SITUATION_EMPLOYMENT"}, "emploi": {"EMPLOYMENT_TYPE_SUBSIDISED"},
	})
	if recorded.status != http.StatusOK || !strings.Contains(recorded.body, "Suivi à 6 mois enregistré") ||
		!strings.Contains(recorded.body, "En emploi (Contrat aidé)") {
		t.Fatalf("follow-up: %d\n%s", recorded.status, recorded.body)
	}
	if home := u.get("/"); strings.Contains(home, "Suivi à 6 mois de la sortie à enregistrer") {
		t.Fatalf("the home page still lists the follow-up recorded")
	}
}
