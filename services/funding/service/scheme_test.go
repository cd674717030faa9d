package service_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

const (
	avenir = commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR
	action = commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION
	other  = commonv1.FundingProgramme_FUNDING_PROGRAMME_OTHER
)

// Contracts carry their programme: required on creation, kept by an
// update that leaves it out, shown when read and listed.
func TestContractsCarryTheirProgramme(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	tm := terms("op-5")
	tm.Programme = commonv1.FundingProgramme_FUNDING_PROGRAMME_UNSPECIFIED
	_, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: tm})
	servicetest.Refused(t, err, codes.InvalidArgument, "terms.programme")
	tm.Programme = action
	contract := createContract(t, e, tm)
	tm.Programme = commonv1.FundingProgramme_FUNDING_PROGRAMME_UNSPECIFIED
	tm.TraineeHourRateCents++
	up, err := e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: contract, Terms: tm})
	if err != nil || up.GetContract().GetTerms().GetProgramme() != action {
		t.Fatalf("update without a programme: %v %v", up, err)
	}
	e.CaughtUp(t)
	list, err := e.as(t, funder).ListContracts(ctx(t), &fundingv1.ListContractsRequest{})
	if err != nil || len(list.GetContracts()) != 1 || list.GetContracts()[0].GetTerms().GetProgramme() != action {
		t.Fatalf("listed %v %v", list, err)
	}
}

// The funder's month is one call: every contract whose period meets the
// month, empty statements included, filtered by status, operator,
// territory and programme, with the totals of all that match, by pages.
func TestListStatementsIsTheFundersMonth(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	fund, op5, op6 := e.as(t, funder), e.as(t, operator5), e.as(t, operator6)
	t1 := terms("op-5")
	t1.Reference = "B-LOT5"
	c1 := createContract(t, e, t1)
	t2 := termsIn("op-6", "T01")
	t2.Programme, t2.Reference = action, "A-LOT1"
	c2 := createContract(t, e, t2)
	t3 := terms("op-5")
	t3.Reference, t3.Programme = "A-LOT5", other
	c3 := createContract(t, e, t3) // no line: an empty statement
	t4 := terms("op-5")
	t4.Reference, t4.PeriodFrom = "C-LATER", civilpb.FromDate(day(time.December, 1))
	c4 := createContract(t, e, t4) // does not meet October
	a := learner(t, e, day(time.September, 1), c1)
	m := learnerIn(t, e, "T01", day(time.September, 1), c2)
	e.CaughtUp(t)
	report(t, op5, c1, line("A1", a, day(time.October, 5), 60), line("A2", a, day(time.October, 6), 120))
	report(t, op6, c2, line("M1", m, day(time.October, 5), 90))
	e.CaughtUp(t)
	if _, err := fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: c2, Period: october,
		Reviews: []*fundingv1.LineReview{{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "M1", Reason: "no signature"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: c1, Period: october}); err != nil {
		t.Fatal(err)
	}
	e.CaughtUp(t)

	list := func(c fundingv1.FundingServiceClient, req *fundingv1.ListStatementsRequest) *fundingv1.ListStatementsResponse {
		t.Helper()
		if req.Period == nil {
			req.Period = october
		}
		resp, err := c.ListStatements(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ids := func(resp *fundingv1.ListStatementsResponse) []string {
		var out []string
		for _, s := range resp.GetStatements() {
			out = append(out, s.GetContractId())
		}
		return out
	}
	all := list(fund, &fundingv1.ListStatementsRequest{})
	// By operator, then reference: op-5's A-LOT5 and B-LOT5, then op-6's.
	if got := ids(all); len(got) != 3 || got[0] != c3 || got[1] != c1 || got[2] != c2 || all.GetStatementCount() != 3 {
		t.Fatalf("the funder's October: %v", got)
	}
	s1, s2, s3 := all.GetStatements()[1], all.GetStatements()[2], all.GetStatements()[0]
	if s1.GetStatus() != fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED || s1.GetClosedOn().GetDay() != 26 || s1.GetLineCount() != 2 ||
		s1.GetTotals().GetAmountCents() != amount(60, rate)+amount(120, rate) || s1.GetContractReference() != "B-LOT5" || s1.GetProgramme() != avenir {
		t.Fatalf("C1's summary %v", s1)
	}
	if s2.GetStatus() != fundingv1.StatementStatus_STATEMENT_STATUS_REVIEWED || s2.GetRejectedCount() != 1 || s2.GetTotals().GetAmountCents() != 0 ||
		len(s2.GetTerritoryCodes()) != 1 || s2.GetTerritoryCodes()[0] != "T01" {
		t.Fatalf("C2's summary %v", s2)
	}
	if s3.GetStatus() != fundingv1.StatementStatus_STATEMENT_STATUS_OPEN || s3.GetLineCount() != 0 || s3.GetProgramme() != other || s3.GetStatementId() == "" {
		t.Fatalf("C3's empty summary %v", s3)
	}
	if tot := all.GetTotals(); tot.GetAmountCents() != s1.GetTotals().GetAmountCents() || tot.GetTraineeMinutes() != 180 {
		t.Fatalf("totals %v", tot)
	}
	for _, c := range []struct {
		name string
		req  *fundingv1.ListStatementsRequest
		want []string
	}{
		{"closed", &fundingv1.ListStatementsRequest{Status: fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED}, []string{c1}},
		{"reviewed", &fundingv1.ListStatementsRequest{Status: fundingv1.StatementStatus_STATEMENT_STATUS_REVIEWED}, []string{c2}},
		{"open", &fundingv1.ListStatementsRequest{Status: fundingv1.StatementStatus_STATEMENT_STATUS_OPEN}, []string{c3}},
		{"operator", &fundingv1.ListStatementsRequest{OperatorId: "op-6"}, []string{c2}},
		{"territory", &fundingv1.ListStatementsRequest{TerritoryCode: "T05"}, []string{c3, c1}},
		{"programme", &fundingv1.ListStatementsRequest{Programme: action}, []string{c2}},
		{"programme and territory", &fundingv1.ListStatementsRequest{Programme: action, TerritoryCode: "T05"}, nil},
		{"December", &fundingv1.ListStatementsRequest{Period: &commonv1.Month{Year: 2026, Month: 12}}, []string{c3, c1, c4, c2}},
	} {
		if got := ids(list(fund, c.req)); !equal(got, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Operators see their own statements only.
	if got := ids(list(op5, &fundingv1.ListStatementsRequest{})); !equal(got, []string{c3, c1}) {
		t.Fatalf("op-5 lists %v", got)
	}
	if got := list(op5, &fundingv1.ListStatementsRequest{OperatorId: "op-6"}); len(got.GetStatements()) != 0 || got.GetTotals().GetAmountCents() != 0 {
		t.Fatalf("op-5 lists op-6's %v", got)
	}
	// Pages: the totals are every matching statement's on each page.
	var paged []string
	token := ""
	for {
		resp := list(fund, &fundingv1.ListStatementsRequest{PageSize: 2, PageToken: token})
		if !proto.Equal(resp.GetTotals(), all.GetTotals()) || resp.GetStatementCount() != 3 {
			t.Fatalf("page totals %v", resp.GetTotals())
		}
		paged = append(paged, ids(resp)...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if !equal(paged, ids(all)) {
		t.Fatalf("pages %v", paged)
	}
	_, err := fund.ListStatements(ctx(t), &fundingv1.ListStatementsRequest{Period: october, OperatorId: "op-5", PageToken: token + "x"})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	_, err = fund.ListStatements(ctx(t), &fundingv1.ListStatementsRequest{TerritoryCode: "5", Status: 9, Programme: 7})
	servicetest.Refused(t, err, codes.InvalidArgument, "period", "status", "programme", "territory_code")
	_, err = e.as(t, referent).ListStatements(ctx(t), &fundingv1.ListStatementsRequest{Period: october})
	servicetest.Refused(t, err, codes.PermissionDenied)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A programme's budget: the scheme's figures until an admin sets the
// year's, the billed amounts of its contracts' statements in the year,
// month by month, and a forecast that says by how much it goes over.
func TestProgrammeBudgets(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	fund, op5 := e.as(t, funder), e.as(t, operator5)
	tm := terms("op-5")
	tm.TraineeHourRateCents = 6000 // a euro a minute
	contract := createContract(t, e, tm)
	action := termsIn("op-6", "T01")
	action.Programme = commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION
	createContract(t, e, action)
	a := learner(t, e, day(time.September, 1), contract)
	e.CaughtUp(t)
	report(t, op5, contract, line("A1", a, day(time.October, 5), 300), line("A2", a, day(time.November, 2), 250))
	e.CaughtUp(t)

	budget := func(c fundingv1.FundingServiceClient, p commonv1.FundingProgramme, year int32) *fundingv1.ProgrammeBudget {
		t.Helper()
		resp, err := c.GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{Programme: p, Year: year})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetBudget()
	}
	b := budget(fund, avenir, 0)
	if y := b.GetProgrammeYear(); !y.GetSchemeDefault() || y.GetEnvelopeCents() != 3_300_000_000 || y.GetBeneficiariesTarget() != 4500 || y.GetYear() != 2026 {
		t.Fatalf("#Avenir's 2026 %v", y)
	}
	// 550 € in 11 months: 600 € forecast for the year.
	if b.GetConsumedCents() != 55_000 || b.GetForecastCents() != 60_000 || b.GetForecastOverCents() != 0 || b.GetWarning() || b.GetContractCount() != 1 || len(b.GetMonths()) != 11 {
		t.Fatalf("#Avenir's budget %v", b)
	}
	if m := b.GetMonths()[9]; m.GetMonth().GetMonth() != 10 || m.GetBilledCents() != 30_000 {
		t.Fatalf("October %v", m)
	}
	if y := budget(fund, commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION, 2026).GetProgrammeYear(); y.GetEnvelopeCents() != 160_000_000 || y.GetBeneficiariesTarget() != 3000 {
		t.Fatalf("#Action's 2026 %v", y)
	}
	if b := budget(e.admin, other, 2025); b.GetProgrammeYear().GetEnvelopeCents() != 0 || len(b.GetMonths()) != 12 || b.GetConsumedCents() != 0 || b.GetContractCount() != 0 {
		t.Fatalf("another programme's 2025 %v", b)
	}

	// An admin sets #Avenir's 2026 at 500 €: the 600 € forecast is 100 €
	// over, and 550 € is past 80 %.
	set := &fundingv1.SetProgrammeYearRequest{RequestId: event.NewID(), Programme: avenir, Year: 2026, EnvelopeCents: 50_000, BeneficiariesTarget: 12, Reason: "budget rectificatif"}
	_, err := fund.SetProgrammeYear(ctx(t), set)
	servicetest.Refused(t, err, codes.PermissionDenied)
	resp, err := e.admin.SetProgrammeYear(ctx(t), set)
	if y := resp.GetProgrammeYear(); err != nil || y.GetSchemeDefault() || y.GetEnvelopeCents() != 50_000 || y.GetBeneficiariesTarget() != 12 {
		t.Fatalf("set: %v %v", resp, err)
	}
	if again, err := e.admin.SetProgrammeYear(ctx(t), set); err != nil || !proto.Equal(again, resp) {
		t.Fatalf("set again: %v %v", again, err)
	}
	e.CaughtUp(t)
	b = budget(fund, avenir, 2026)
	if b.GetProgrammeYear().GetSchemeDefault() || b.GetProgrammeYear().GetEnvelopeCents() != 50_000 || b.GetForecastOverCents() != 10_000 || !b.GetWarning() || b.GetConsumedPercent() != 110 {
		t.Fatalf("#Avenir after the setting %v", b)
	}
	_, err = e.admin.SetProgrammeYear(ctx(t), &fundingv1.SetProgrammeYearRequest{RequestId: event.NewID(), Year: 1999, EnvelopeCents: -1, BeneficiariesTarget: -1})
	servicetest.Refused(t, err, codes.InvalidArgument, "programme", "year", "envelope_cents", "beneficiaries_target", "reason")
	_, err = fund.GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{})
	servicetest.Refused(t, err, codes.InvalidArgument, "programme")
	_, err = op5.GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{Programme: avenir})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = e.as(t, referent).GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{Programme: avenir})
	servicetest.Refused(t, err, codes.PermissionDenied)
}
