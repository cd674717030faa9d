package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

var groupRequestID = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// An operator ticks the learners enrolled with it that day and reports a
// group session: accepted with its amount, in the statement; too many
// attendees are refused with the maximum; no attendee and a bad duration
// are shown next to their fields. A learner of another operator is never
// offered; a referent is refused the page.
func TestOperatorReportsGroupHours(t *testing.T) {
	e := start(t)
	c1 := e.feesContract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01") // at most 2 attendees
	c2 := e.feesContract(t, "op-2", "GRETA Caen", "AV-2026-T01-B", "T01")
	var ids []string
	for _, n := range [][2]string{{"Lefèvre", "Inès"}, {"Bernard", "Paul"}, {"Petit", "Léa"}} {
		id := e.learner(t, n[0], n[1], "T01")
		e.enter(t, id, today())
		e.enrol(t, id, c1, today())
		ids = append(ids, id)
	}
	marc := e.learner(t, "Durand", "Marc", "T01")
	e.enter(t, marc, today())
	e.enrol(t, marc, c2, today())

	u := e.login(t, "operator:op-1")
	day := fr.CivilDate(today())
	path := "/declarations/groupe?contrat=" + c1 + "&date=" + url.QueryEscape(day)
	var page string
	eventually(t, "the enrolled learners are offered", func() bool {
		page = u.get(path)
		return strings.Count(page, `name="stagiaires"`) == 3
	})
	for _, want := range []string{"LEFÈVRE Inès", "BERNARD Paul", "PETIT Léa", "Séance du " + day} {
		if !strings.Contains(page, want) {
			t.Errorf("the group page lacks %q", want)
		}
	}
	if strings.Contains(page, "DURAND Marc") {
		t.Fatal("op-1 is offered a learner of op-2")
	}
	form := func(attendees ...string) url.Values {
		return url.Values{"contract": {c1}, "date": {day}, "duree": {"3,5"}, "formateur": {"Mme Roux"}, "seance": {"GRP-A"},
			"request_id": {groupRequestID.FindStringSubmatch(page)[1]}, "stagiaires": attendees}
	}
	// No attendee, an unreadable duration: next to their fields.
	bad := form()
	bad.Set("duree", "trois heures")
	res := u.post("/declarations/groupe", bad)
	if res.status != 422 || !strings.Contains(res.body, `id="stagiaires-error"`) || !strings.Contains(res.body, `id="duree-error"`) {
		t.Fatalf("no attendee, bad duration: %d\n%s", res.status, res.body)
	}
	// Three attendees for two at most.
	res = u.post("/declarations/groupe", form(ids...))
	if res.status != 422 || !strings.Contains(res.body, "groupe plus nombreux que le maximum du marché (3\u00a0stagiaires pour 2 au plus)") &&
		!strings.Contains(res.body, "(3 stagiaires pour 2 au plus)") {
		t.Fatalf("too many: %d\n%s", res.status, res.body)
	}
	// Two: accepted, 3 h 30 at 45 €.
	res = u.post("/declarations/groupe", form(ids[0], ids[1]))
	if res.status != 200 || !strings.Contains(res.body, "Heures groupe déclarées") || !strings.Contains(res.body, "3\u00a0h\u00a030 avec 2 stagiaires, 157,50\u00a0€") {
		t.Fatalf("two attendees: %d\n%s", res.status, res.body)
	}
	st, err := e.stmtOperator(t, "op-1").GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: c1, Period: civilpb.FromMonth(civil.MonthOf(today())), PageSize: 100})
	if err != nil || st.GetStatement().GetTotals().GetGroupAmountCents() != 15750 || st.GetStatement().GetTotals().GetGroupMinutes() != 210 {
		t.Fatalf("statement: %v %v", st.GetStatement().GetTotals(), err)
	}
	ref := e.referent(t, "Claire Martin", "T01", 10)
	if r := e.login(t, "referent:"+ref).getResponse("/declarations/groupe"); r.status != 403 {
		t.Fatalf("referent: %d", r.status)
	}
}
