package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// feesContract creates a contract of an operator paying 150 € per needs
// analysis completed, and a custom fee, for groups of two at most.
func (e *env) feesContract(t *testing.T, operatorID, operatorName, reference string, territories ...string) string {
	t.Helper()
	terms := contractTerms(operatorID, operatorName, reference, territories...)
	terms.MaxGroupSize = 2
	terms.FlatFees = []*fundingv1.FlatFeeRate{
		{FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, AmountCents: 15000},
		{FeeType: fundingv1.FeeType_FEE_TYPE_CUSTOM, CustomCode: "MOBILITE", AmountCents: 5000, Label: "Aide à la mobilité"},
	}
	return e.contractWith(t, terms)
}

// feesAnalyse starts, drafts and completes the needs analysis of a learner
// in the pathway (completed today, the services' day).
func (e *env) feesAnalyse(t *testing.T, learner string) {
	t.Helper()
	var started *needsv1.StartAnalysisResponse
	eventually(t, "the analysis starts", func() bool {
		var err error
		started, err = e.Admin.Needs.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: "start-" + learner, LearnerId: learner})
		return err == nil
	})
	id := started.GetAnalysis().GetAnalysisId()
	if _, err := e.Admin.Needs.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{
		RequestId: uuid.NewString(), AnalysisId: id, Content: &needsv1.AnalysisContent{
			Barriers: []*needsv1.Barrier{{Kind: needsv1.BarrierKind_BARRIER_KIND_MOBILITY, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_LOW}},
			Project:  &needsv1.ProfessionalProject{TargetRomeCodes: []string{"D1102"}, Maturity: needsv1.ProjectMaturity_PROJECT_MATURITY_EMERGING},
			RecommendedSteps: []*needsv1.RecommendedStep{
				{Step: &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: 2}}},
			},
		},
	}); err != nil {
		t.Fatalf("draft analysis: %v", err)
	}
	if _, err := e.Admin.Needs.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: uuid.NewString(), AnalysisId: id}); err != nil {
		t.Fatalf("complete analysis: %v", err)
	}
}

var feesClaimForm = regexp.MustCompile(`(?s)<form method="post" action="/declarations/forfaits">(.*?)</form>`)

// feesFormValues are the hidden fields of the first « Demander » form of
// the page holding want.
func feesFormValues(t *testing.T, page, want string) url.Values {
	t.Helper()
	hidden := regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)
	for _, m := range feesClaimForm.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], want) {
			continue
		}
		v := url.Values{}
		for _, h := range hidden.FindAllStringSubmatch(m[1], -1) {
			v.Set(h[1], h[2])
		}
		return v
	}
	t.Fatalf("no claim form naming %q in the page:\n%s", want, page)
	return nil
}

// An operator sees a completed needs analysis of a learner enrolled with
// it as a fee to claim, by name, with its date and amount; claims it (a
// double submit is one claim); the fee then reads paid here, and paid
// elsewhere for a second operator the learner is enrolled with. A learner
// of another operator is never listed; a referent is refused the page.
func TestOperatorClaimsFlatFees(t *testing.T) {
	e := start(t)
	c1 := e.feesContract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")
	c2 := e.feesContract(t, "op-2", "GRETA Caen", "AV-2026-T01-B", "T01")
	ines := e.learner(t, "Lefèvre", "Inès", "T01")
	e.enter(t, ines, today())
	e.enrol(t, ines, c1, today())
	e.enrol(t, ines, c2, today())
	marc := e.learner(t, "Durand", "Marc", "T01")
	e.enter(t, marc, today())
	e.enrol(t, marc, c2, today())
	e.feesAnalyse(t, ines)
	e.feesAnalyse(t, marc)

	u := e.login(t, "operator:op-1")
	path := "/declarations/forfaits?contrat=" + c1
	var page string
	eventually(t, "the analysis is claimable", func() bool {
		page = u.get(path)
		return strings.Contains(page, "À demander")
	})
	for _, want := range []string{"LEFÈVRE Inès", "Analyse des besoins réalisée", fr.CivilDate(today()), "150,00\u00a0€", ">Demander</button>", "Aide à la mobilité"} {
		if !strings.Contains(page, want) {
			t.Errorf("the fee page lacks %q", want)
		}
	}
	if strings.Contains(page, "DURAND Marc") {
		t.Fatal("op-1 sees a learner of op-2's only")
	}
	form := feesFormValues(t, page, ines)
	if form.Get("fee_type") != "1" || form.Get("contract") != c1 || form.Get("request_id") == "" {
		t.Fatalf("claim form %v", form)
	}
	res := u.post("/declarations/forfaits", form)
	if res.status != 200 || !strings.Contains(res.body, "accepté pour LEFÈVRE Inès : 150,00\u00a0€") {
		t.Fatalf("claim: %d\n%s", res.status, res.body)
	}
	if !strings.Contains(res.body, "Déjà payé sur ce marché") || strings.Contains(res.body, ">Demander</button>") {
		t.Fatalf("after the claim the fee is not paid here:\n%s", res.body)
	}
	// The same form again (a double submit): one claim.
	if again := u.post("/declarations/forfaits", form); !strings.Contains(again.body, "150,00\u00a0€") {
		t.Fatalf("double submit: %d\n%s", again.status, again.body)
	}
	st, err := e.stmtOperator(t, "op-1").GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: c1, Period: civilpb.FromMonth(civil.MonthOf(today())), PageSize: 100})
	if err != nil || st.GetStatement().GetTotals().GetFlatFeeCount() != 1 || st.GetStatement().GetTotals().GetFlatFeeAmountCents() != 15000 {
		t.Fatalf("statement after a double submit: %v %v", st.GetStatement().GetTotals(), err)
	}

	// The second operator: Inès's analysis is paid elsewhere, Marc's to claim.
	u2 := e.login(t, "operator:op-2")
	page2 := u2.get("/declarations/forfaits?contrat=" + c2)
	if !strings.Contains(page2, "Déjà payé à un autre organisme") || !strings.Contains(page2, "DURAND Marc") || strings.Contains(page2, "AFPA") {
		t.Fatalf("op-2's fee page:\n%s", page2)
	}
	// A claim refused is explained in French.
	refused := u2.post("/declarations/forfaits", url.Values{"contract": {c2}, "learner": {ines}, "fee_type": {"1"}, "fact": {"x"}, "request_id": {uuid.NewString()}})
	if refused.status != 422 || !strings.Contains(refused.body, "refusé pour LEFÈVRE Inès : forfait déjà payé pour ce fait") {
		t.Fatalf("claim of a fee paid elsewhere: %d\n%s", refused.status, refused.body)
	}
	// Another operator's contract is not found; a referent is refused.
	if r := u2.getResponse(path); r.status != 404 {
		t.Fatalf("op-2 on op-1's contract: %d", r.status)
	}
	ref := e.referent(t, "Claire Martin", "T01", 10)
	if r := e.login(t, "referent:"+ref).getResponse("/declarations/forfaits"); r.status != 403 {
		t.Fatalf("referent: %d", r.status)
	}
}
