package console_test

import (
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// progScheme sets a scene for the programme pages: an #Avenir contract of
// op-1 on T01; six learners of T01 entered today, one enrolled with op-1
// and billed 300 minutes (62,50 €), five exited to a qualifying training;
// two learners of T02, one exited for abandonment (a count under five).
func progScheme(t *testing.T, e *env) {
	t.Helper()
	contract := e.contract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")
	ines := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, ines, today())
	for i := range 5 {
		id := e.learner(t, "Martin", "Personne "+strconv.Itoa(i), "T01")
		e.enter(t, id, today())
		progExit(t, e, id, pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING)
	}
	for i := range 2 {
		id := e.learner(t, "Durand", "Personne "+strconv.Itoa(i), "T02")
		e.enter(t, id, today())
		if i == 0 {
			progExit(t, e, id, pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT)
		}
	}
	e.enrol(t, ines, contract, today())
	op := e.clients(t, auth.Principal{Subject: "op", Name: "AFPA Caen", Role: auth.RoleOperator, OperatorID: "op-1"})
	eventually(t, "op-1's hours for Inès are accepted", func() bool {
		res, err := op.Funding.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{
			RequestId: uuid.NewString(), ContractId: contract,
			Lines: []*fundingv1.ReportedLine{{
				OperatorLineId: "ines-" + uuid.NewString()[:8], LearnerId: ines, Date: date(today()), Minutes: 300,
				Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
			}},
		})
		if err != nil {
			t.Fatalf("report hours: %v", err)
		}
		return res.GetAccepted() == 1
	})
}

func progExit(t *testing.T, e *env, learnerID string, reason pathwayv1.ExitReason) {
	t.Helper()
	if _, err := e.Admin.Pathway.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
		RequestId: uuid.NewString(), LearnerId: learnerID, ExitDate: date(today()), Reason: reason,
	}); err != nil {
		t.Fatalf("exit %s: %v", learnerID, err)
	}
}

var (
	progRow  = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	progCell = regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`)
	progTag  = regexp.MustCompile(`<[^>]*>`)
)

// progTable is the text of every cell of the table of the page with id,
// row by row (header, body and footer rows alike).
func progTable(t *testing.T, page, id string) [][]string {
	t.Helper()
	start := strings.Index(page, `<table class="table table--compact" id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table #%s in the page", id)
	}
	end := strings.Index(page[start:], "</table>")
	var rows [][]string
	for _, r := range progRow.FindAllStringSubmatch(page[start:start+end], -1) {
		var cells []string
		for _, c := range progCell.FindAllStringSubmatch(r[1], -1) {
			cells = append(cells, strings.TrimSpace(html.UnescapeString(progTag.ReplaceAllString(c[1], ""))))
		}
		rows = append(rows, cells)
	}
	return rows
}

// progRowOf is the row whose first cell is first (nil when none).
func progRowOf(rows [][]string, first string) []string {
	for _, r := range rows {
		if len(r) > 0 && r[0] == first {
			return r
		}
	}
	return nil
}

func progCount(n *commonv1.Count) string {
	if n.GetFewerThanFive() {
		return "<\u00a05"
	}
	return fr.Int(n.GetValue())
}

func progCheckRow(t *testing.T, table string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("table %s: row %q, want %q", table, got, want)
	}
}

// The programmes page shows, for the year, every figure the API gives a
// funder, cell for cell: the budget by month against the envelope, the
// beneficiaries against the target per month and territory, the exits by
// reason per territory and operator, the public of the entries; counts
// under five read « < 5 ».
func TestProgrammesPageMatchesTheAPI(t *testing.T) {
	e := start(t)
	progScheme(t, e)
	funder := e.clients(t, auth.Principal{Subject: "funder", Name: "Région", Role: auth.RoleFunder})
	year := int32(today().Year)

	// The read models follow: wait until the API gives the scene's figures.
	var budget *fundingv1.ProgrammeBudget
	eventually(t, "the #Avenir budget counts Inès's hours", func() bool {
		res, err := funder.Funding.GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, Year: year})
		if err != nil {
			t.Fatal(err)
		}
		budget = res.GetBudget()
		return budget.GetConsumedCents() == 6250
	})
	var targets *pathwayv1.GetProgrammeTargetsResponse
	eventually(t, "eight #Avenir beneficiaries", func() bool {
		var err error
		targets, err = funder.Pathway.GetProgrammeTargets(ctx(t), &pathwayv1.GetProgrammeTargetsRequest{Year: year})
		if err != nil {
			t.Fatal(err)
		}
		return targets.GetTotals()[0].GetBeneficiaries().GetValue() == 8
	})
	months := &pathwayv1.GetOutcomesRequest{FromMonth: &commonv1.Month{Year: year, Month: 1}, ToMonth: &commonv1.Month{Year: year, Month: int32(today().Month)}}
	var outcomes *pathwayv1.GetOutcomesResponse
	eventually(t, "six exits", func() bool {
		var err error
		outcomes, err = funder.Pathway.GetOutcomes(ctx(t), months)
		if err != nil {
			t.Fatal(err)
		}
		return outcomes.GetTotal().GetExits().GetValue() == 6
	})
	breakdowns, err := funder.Pathway.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: months.FromMonth, ToMonth: months.ToMonth})
	if err != nil {
		t.Fatal(err)
	}

	u := e.login(t, "funder")
	page := u.get("/programmes?annee=" + strconv.Itoa(int(year)))

	// Budget: every month's billed amount and the running total, then the
	// year's figures.
	conso := progTable(t, page, "avenir-conso")
	var cumulative int64
	for _, m := range budget.GetMonths() {
		cumulative += m.GetBilledCents()
		progCheckRow(t, "avenir-conso", progRowOf(conso, fr.Month(m.GetMonth())), fr.Month(m.GetMonth()), fr.Money(m.GetBilledCents()), fr.Money(cumulative))
	}
	if len(conso) != len(budget.GetMonths())+4 {
		t.Errorf("avenir-conso has %d rows, want %d months and 4 others", len(conso), len(budget.GetMonths()))
	}
	progCheckRow(t, "avenir-conso", progRowOf(conso, "Consommé"), "Consommé", "62,50\u00a0€")
	progCheckRow(t, "avenir-conso", progRowOf(conso, "Enveloppe"), "Enveloppe", fr.Money(budget.GetProgrammeYear().GetEnvelopeCents()))
	progCheckRow(t, "avenir-conso", progRowOf(conso, "Prévision"), "Prévision", fr.Money(budget.GetForecastCents()))
	if !strings.Contains(page, "33\u00a0000\u00a0000,00\u00a0€") || !strings.Contains(page, "Prévision dans l'enveloppe") {
		t.Errorf("the page does not give the #Avenir envelope of 33 M€ and a forecast within it")
	}

	// Beneficiaries against the target, per month and per territory.
	for _, total := range targets.GetTotals() {
		slug := map[commonv1.FundingProgramme]string{commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR: "avenir", commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION: "action"}[total.GetProgramme()]
		benef := progTable(t, page, slug+"-benef")
		for _, m := range total.GetMonths() {
			progCheckRow(t, slug+"-benef", progRowOf(benef, fr.Month(m.GetMonth())), fr.Month(m.GetMonth()), progCount(m.GetNewBeneficiaries()), progCount(m.GetCumulative()))
		}
		progCheckRow(t, slug+"-benef", progRowOf(benef, "Objectif"), "Objectif", fr.Int(total.GetTarget()))
		terr := progTable(t, page, slug+"-territoires")
		n := 0
		for _, tp := range targets.GetTerritories() {
			if tp.GetProgramme() != total.GetProgramme() {
				continue
			}
			n++
			row := terr[n] // after the header, in the API's order
			if !strings.HasSuffix(row[0], "("+tp.GetTerritoryCode()+")") || row[1] != progCount(tp.GetBeneficiaries()) {
				t.Errorf("%s-territoires row %d = %q, want %s %s", slug, n, row, tp.GetTerritoryCode(), progCount(tp.GetBeneficiaries()))
			}
		}
		progCheckRow(t, slug+"-territoires", terr[len(terr)-1], "Ensemble du dispositif", progCount(total.GetBeneficiaries()))
	}
	terr := progTable(t, page, "avenir-territoires")
	if len(terr) != 4 || terr[1][1] != "6" || terr[2][1] != "<\u00a05" || terr[3][1] != "8" {
		t.Errorf("#Avenir beneficiaries per territory = %q, want T01 6, T02 < 5, 8 in all", terr)
	}

	// Exits by reason per territory (across operators), and the total.
	motifs := progTable(t, page, "sorties-motifs")
	header := motifs[0]
	if len(header) != 4 || header[1] != "Entrée en formation qualifiante (Qualif)" || header[2] != "Abandon" {
		t.Fatalf("sorties-motifs header = %q", header)
	}
	if len(outcomes.GetTerritories()) != 2 || len(motifs) != len(outcomes.GetTerritories())+2 {
		t.Fatalf("sorties-motifs has %d rows for %d territories", len(motifs), len(outcomes.GetTerritories()))
	}
	cells := func(o *pathwayv1.Outcomes) []string {
		out := []string{"0", "0"}
		for _, rc := range o.GetExitsByReason() {
			switch rc.GetReason() {
			case pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING:
				out[0] = progCount(rc.GetCount())
			case pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT:
				out[1] = progCount(rc.GetCount())
			default:
				t.Errorf("unexpected reason %v", rc.GetReason())
			}
		}
		return append(out, progCount(o.GetExits()))
	}
	for i, o := range outcomes.GetTerritories() {
		row := motifs[1+i]
		if !strings.HasSuffix(row[0], "("+o.GetTerritoryCode()+")") {
			t.Errorf("sorties-motifs row %d is %q, want territory %s", i, row, o.GetTerritoryCode())
		}
		progCheckRow(t, "sorties-motifs", row[1:], cells(o)...)
	}
	progCheckRow(t, "sorties-motifs", motifs[len(motifs)-1], append([]string{"Ensemble"}, cells(outcomes.GetTotal())...)...)
	// T02's one abandonment reads "< 5", never 1.
	t02 := motifs[2]
	if !strings.HasSuffix(t02[0], "(T02)") || t02[2] != "<\u00a05" || t02[3] != "<\u00a05" {
		t.Errorf("T02's exits = %q, want « < 5 »", t02)
	}
	// Median days and immersions, row by row.
	duree := progTable(t, page, "sorties-duree")
	for _, o := range append(outcomes.GetOutcomes(), outcomes.GetTotal()) {
		median, percent := "–", "–"
		if m := o.MedianDaysInPathway; m != nil {
			median = strconv.Itoa(int(*m))
		}
		if p := o.ImmersionCompletionPercent; p != nil {
			percent = strconv.Itoa(int(*p)) + "\u00a0%"
		}
		row := duree[len(duree)-1][1:]
		if o.GetTerritoryCode() != "" {
			for _, r := range duree[1 : len(duree)-1] {
				if strings.HasSuffix(r[0], "("+o.GetTerritoryCode()+")") {
					row = r[2:]
				}
			}
		}
		progCheckRow(t, "sorties-duree", row, progCount(o.GetExits()), median, progCount(o.GetImmersionsWithOutcome()),
			progCount(o.GetImmersionsCompleted()), progCount(o.GetImmersionsPartiallyCompleted()), percent)
	}
	if outcomes.GetOutcomes()[0].MedianDaysInPathway == nil {
		t.Errorf("T01's median days in the pathway is not given")
	}

	// The public of the entries.
	situation := progTable(t, page, "publics-situation")
	total := breakdowns.GetTotal()
	wantTotal := []string{"Ensemble", progCount(total.GetEntries()), progCount(total.GetRqth()), progCount(total.GetQpv()), progCount(total.GetZrr()), progCount(total.GetRsa())}
	for _, b := range total.GetAgeBands() {
		wantTotal = append(wantTotal, progCount(b.GetCount()))
	}
	progCheckRow(t, "publics-situation", situation[len(situation)-1], wantTotal...)
	if situation[len(situation)-1][1] != "8" {
		t.Errorf("entries = %q, want 8", situation[len(situation)-1][1])
	}

	// Every chart is an image with a title; a withheld count is not drawn.
	if n := strings.Count(page, `role="img"`); n < 5 {
		t.Errorf("%d charts in the page", n)
	}
	// T02's stack: no exit of the first reason, the abandonment withheld.
	if !strings.Contains(page, ">0 + &lt;\u00a05</text>") {
		t.Errorf("the chart of exits does not mark T02's withheld count")
	}
}

// A referent may not open the programmes; a year out of range or not a
// number gets a French message, not an error of the server.
func TestProgrammesRefusals(t *testing.T) {
	e := start(t)
	ref := e.referent(t, "Claire Martin", "T01", 20)
	r := e.login(t, "referent:"+ref).getResponse("/programmes")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "réservée aux financeurs") {
		t.Fatalf("a referent opening /programmes: %d\n%s", r.status, r.body)
	}
	op := e.login(t, "operator:op-1").getResponse("/programmes")
	if op.status != http.StatusForbidden {
		t.Fatalf("an operator opening /programmes: %d", op.status)
	}
	u := e.login(t, "funder")
	for _, bad := range []string{"1999", "2201", "deux-mille", "2026.5"} {
		r := u.getResponse("/programmes?annee=" + bad)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "n&#39;est pas valable : indiquez une année de 2000 à 2200") {
			t.Errorf("year %q: %d\n%s", bad, r.status, r.body)
		}
		if !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("year %q: the field is not marked invalid", bad)
		}
	}
	// A past year without figures: every month at 0, the charts say so.
	page := u.get("/programmes?annee=2001")
	if !strings.Contains(page, "<h1>Programmes 2001</h1>") || strings.Count(page, "décembre 2001") != 5 {
		t.Errorf("the page of 2001 does not list its twelve months")
	}
	admin := e.login(t, "admin")
	if !strings.Contains(admin.get("/programmes"), "Programmes "+strconv.Itoa(today().Year)) {
		t.Errorf("an admin does not get this year's programmes")
	}
}
