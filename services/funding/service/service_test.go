package service_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestContractsAndAccess(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, op6, fund, ref := e.as(t, operator5), e.as(t, operator6), e.as(t, funder), e.as(t, referent)

	// Bad input names the fields and appends nothing.
	bad := terms("op 5")
	bad.PeriodTo = civilpb.FromDate(day(time.January, 1).AddDays(-1))
	_, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: bad})
	servicetest.Refused(t, err, codes.InvalidArgument, "terms.operator_id", "terms.period_to")
	if n := len(e.Events(t, "FUNDING", "avenir.funding.>")); n != 0 {
		t.Fatalf("%d events appended", n)
	}

	// Creation is idempotent, and applies the default caps.
	req := &fundingv1.CreateContractRequest{RequestId: "create-lot5", Terms: terms("op-5")}
	first, err := e.admin.CreateContract(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.admin.CreateContract(ctx(t), req)
	if err != nil || !proto.Equal(first, again) {
		t.Fatalf("retried creation: %v, %v", again, err)
	}
	c5 := first.GetContract()
	if c5.GetTerms().GetDailyCapMinutes() != 420 || c5.GetTerms().GetWeeklyCapMinutes() != 2100 {
		t.Fatalf("caps %v", c5.GetTerms())
	}
	other := terms("op-6")
	other.TerritoryCodes = []string{"T01"}
	c6 := createContract(t, e, other)
	if _, err := op5.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: terms("op-5")}); err == nil {
		t.Fatal("an operator created a contract")
	}

	// Operators see their own contracts only; another's reads as unknown.
	if _, err := op5.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: c5.GetContractId()}); err != nil {
		t.Fatal(err)
	}
	_, err = op6.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: c5.GetContractId()})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = ref.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: c5.GetContractId()})
	servicetest.Refused(t, err, codes.PermissionDenied)
	if _, err := fund.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: c5.GetContractId()}); err != nil {
		t.Fatal(err)
	}
	e.CaughtUp(t)
	list := func(c fundingv1.FundingServiceClient, req *fundingv1.ListContractsRequest) []string {
		t.Helper()
		resp, err := c.ListContracts(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range resp.GetContracts() {
			ids = append(ids, c.GetContractId())
		}
		return ids
	}
	if got := list(op5, &fundingv1.ListContractsRequest{}); len(got) != 1 || got[0] != c5.GetContractId() {
		t.Fatalf("op-5 lists %v", got)
	}
	if got := list(op5, &fundingv1.ListContractsRequest{OperatorId: "op-6"}); len(got) != 0 {
		t.Fatalf("op-5 lists op-6's %v", got)
	}
	if got := list(fund, &fundingv1.ListContractsRequest{}); len(got) != 2 {
		t.Fatalf("funder lists %v", got)
	}
	if got := list(fund, &fundingv1.ListContractsRequest{TerritoryCode: "T01"}); len(got) != 1 || got[0] != c6 {
		t.Fatalf("T01 lists %v", got)
	}
	if got := list(e.admin, &fundingv1.ListContractsRequest{ActiveOn: civilpb.FromDate(day(time.December, 31).AddDays(1))}); len(got) != 0 {
		t.Fatalf("active in 2027: %v", got)
	}
	_, err = ref.ListContracts(ctx(t), &fundingv1.ListContractsRequest{})
	servicetest.Refused(t, err, codes.PermissionDenied)
	// Filters follow the one rule of each code: territories are T and two
	// digits, operators letters, digits, dashes and underscores.
	_, err = fund.ListContracts(ctx(t), &fundingv1.ListContractsRequest{TerritoryCode: "5", OperatorId: "op 5"})
	servicetest.Refused(t, err, codes.InvalidArgument, "operator_id", "territory_code")
	_, err = fund.ListContracts(ctx(t), &fundingv1.ListContractsRequest{TerritoryCode: "T1"})
	servicetest.Refused(t, err, codes.InvalidArgument, "territory_code")

	// Updates: the envelope needs a reason, the operator is fixed.
	up := terms("op-5")
	up.AnnualEnvelopeCents = 200_000_000
	_, err = e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Terms: up})
	servicetest.Refused(t, err, codes.FailedPrecondition, "REASON_REQUIRED")
	resp, err := e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Terms: up, Reason: "avenant 1"})
	if err != nil || resp.GetContract().GetTerms().GetAnnualEnvelopeCents() != 200_000_000 {
		t.Fatalf("update: %v %v", resp, err)
	}
	_, err = e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Terms: terms("op-6"), Reason: "x"})
	servicetest.Refused(t, err, codes.FailedPrecondition, "OPERATOR_CHANGED")

	// Only the contract's operator reports; referents see nothing of billing.
	a := learner(t, e, day(time.September, 1), c5.GetContractId())
	_, err = op6.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Lines: []*fundingv1.ReportedLine{line("L1", a, day(time.October, 5), 60)}})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = ref.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Lines: []*fundingv1.ReportedLine{line("L1", a, day(time.October, 5), 60)}})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = fund.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Lines: []*fundingv1.ReportedLine{line("L1", a, day(time.October, 5), 60)}})
	servicetest.Refused(t, err, codes.PermissionDenied)
	for _, c := range []fundingv1.FundingServiceClient{op6} {
		_, err := c.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: c5.GetContractId(), Period: october})
		servicetest.Refused(t, err, codes.NotFound)
		_, err = c.GetBudget(ctx(t), &fundingv1.GetBudgetRequest{ContractId: c5.GetContractId()})
		servicetest.Refused(t, err, codes.NotFound)
		_, err = c.ExportStatement(ctx(t), &fundingv1.ExportStatementRequest{ContractId: c5.GetContractId(), Period: october})
		servicetest.Refused(t, err, codes.NotFound)
	}
	_, err = ref.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: c5.GetContractId(), Period: october})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = ref.GetBudget(ctx(t), &fundingv1.GetBudgetRequest{ContractId: c5.GetContractId()})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = op5.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Period: october})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = op5.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: c5.GetContractId(), Period: october})
	servicetest.Refused(t, err, codes.PermissionDenied)
}

func TestReportAcceptsAndRejectsLinesIdempotently(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5 := e.as(t, operator5)
	contract := createContract(t, e, terms("op-5"))
	a := learner(t, e, day(time.September, 1), contract)
	b := event.NewID() // never enrolled
	e.CaughtUp(t)

	// Week 41 of 2026: Monday 5 to Sunday 11 October.
	lines := []*fundingv1.ReportedLine{
		line("L1", a, day(time.October, 5), 250),
		line("L2", a, day(time.October, 5), 200),             // 450 minutes that day
		line("L3", b, day(time.October, 5), 60),              // not enrolled
		line("L4", a, civil2025(), 60),                       // before the contract
		line("L1", a, day(time.October, 6), 60),              // the id again
		line("L5", a, day(time.October, 6), 420),             //
		line("L6", a, day(time.October, 7), 420),             //
		line("L7", a, day(time.October, 8), 420),             //
		line("L8", a, day(time.October, 9), 420),             // 1,930 minutes in the week
		line("L9", a, day(time.October, 10), 180),            // 2,110
		line("L10", a, day(time.October, 10), 0),             // invalid
		line("L11", "not-a-uuid", day(time.October, 10), 60), // invalid
	}
	want := []fundingv1.RejectionReason{
		0, fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED, fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED,
		fundingv1.RejectionReason_REJECTION_REASON_OUTSIDE_CONTRACT_PERIOD, fundingv1.RejectionReason_REJECTION_REASON_DUPLICATE_LINE_ID,
		0, 0, 0, 0, fundingv1.RejectionReason_REJECTION_REASON_WEEKLY_CAP_EXCEEDED,
		fundingv1.RejectionReason_REJECTION_REASON_INVALID_LINE, fundingv1.RejectionReason_REJECTION_REASON_INVALID_LINE,
	}
	req := &fundingv1.ReportTraineeHoursRequest{RequestId: "report-week-41", ContractId: contract, Lines: lines}
	resp, err := op5.ReportTraineeHours(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	wantAmount := amount(250, rate) + 4*amount(420, rate)
	if resp.GetAccepted() != 5 || resp.GetRejected() != 7 || resp.GetAcceptedAmountCents() != wantAmount || resp.GetBudgetWarning() {
		t.Fatalf("report: %d accepted, %d rejected, %d cents, warning %v", resp.GetAccepted(), resp.GetRejected(), resp.GetAcceptedAmountCents(), resp.GetBudgetWarning())
	}
	for i, r := range resp.GetResults() {
		if int(r.GetIndex()) != i || r.GetReason() != want[i] || r.GetAccepted() != (want[i] == 0) {
			t.Fatalf("line %d: %v, want reason %v", i, r, want[i])
		}
		if r.GetAccepted() && (r.GetBillingPeriod().GetMonth() != 10 || r.GetLate() || r.GetAmountCents() != amount(int(lines[i].GetMinutes()), rate)) {
			t.Fatalf("accepted line %d: %v", i, r)
		}
	}
	events := len(e.Events(t, "FUNDING", "avenir.funding.hours.>"))
	if events != 1 {
		t.Fatalf("%d hours events, want one ledger's", events)
	}

	// The same request again answers the same and appends nothing.
	again, err := op5.ReportTraineeHours(ctx(t), req)
	if err != nil || !proto.Equal(resp, again) {
		t.Fatalf("replayed report:\n%v\nfirst:\n%v (%v)", again, resp, err)
	}
	if n := len(e.Events(t, "FUNDING", "avenir.funding.hours.>")); n != events {
		t.Fatalf("the replay appended %d events", n-events)
	}

	// The statement bills the accepted lines at their rate, in cents.
	e.CaughtUp(t)
	st := statement(t, op5, contract, october)
	if st.GetLineCount() != 5 || st.GetTotals().GetTraineeMinutes() != 1930 || st.GetTotals().GetAmountCents() != wantAmount || st.GetTotals().GetTraineeAmountCents() != wantAmount {
		t.Fatalf("statement %v", st)
	}
	// Pages of two lines.
	var paged []string
	token := ""
	for {
		resp, err := op5.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: contract, Period: october, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range resp.GetStatement().GetLines() {
			paged = append(paged, l.GetOperatorLineId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if strings.Join(paged, ",") != "L1,L5,L6,L7,L8" {
		t.Fatalf("pages %v", paged)
	}

	// A line reported again by another request: the same content is a
	// no-op, other content a duplicate, the id in another ledger too.
	r := report(t, op5, contract, line("L1", a, day(time.October, 5), 250), line("L5", a, day(time.October, 6), 400),
		line("L6", a, day(time.October, 12), 60))
	if x := r.GetResults()[0]; !x.GetAccepted() || !x.GetAlreadyReported() || x.GetAmountCents() != amount(250, rate) {
		t.Fatalf("same line again: %v", x)
	}
	for _, x := range r.GetResults()[1:] {
		if x.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_DUPLICATE_LINE_ID {
			t.Fatalf("reused id: %v", x)
		}
	}
	if r.GetAcceptedAmountCents() != 0 {
		t.Fatalf("nothing new billed: %v", r)
	}

	// A correction is a new line referencing the corrected one.
	corr, err := op5.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{
		RequestId: event.NewID(), ContractId: contract, LearnerId: a, Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "L1",
		OperatorLineId: "L1-fix", Minutes: 120, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, Reason: "left early",
	})
	if err != nil || corr.GetAmountDeltaCents() != amount(120, rate)-amount(250, rate) || !corr.GetResult().GetAccepted() {
		t.Fatalf("correction: %v %v", corr, err)
	}
	_, err = op5.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{
		RequestId: event.NewID(), ContractId: contract, LearnerId: a, Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "nope",
		OperatorLineId: "nope-fix", Minutes: 120, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, Reason: "x",
	})
	servicetest.Refused(t, err, codes.NotFound)
	e.CaughtUp(t)
	st = statement(t, op5, contract, october)
	if st.GetTotals().GetAmountCents() != wantAmount+corr.GetAmountDeltaCents() || st.GetTotals().GetTraineeMinutes() != 1930-130 || st.GetLineCount() != 6 {
		t.Fatalf("statement after the correction %v", st.GetTotals())
	}
	if st.GetLines()[0].GetCorrectedByLineId() != "L1-fix" || st.GetLines()[0].GetAmountCents() != amount(250, rate) {
		t.Fatalf("the corrected line keeps its amount: %v", st.GetLines()[0])
	}

	// Bad requests are violations, not results.
	_, err = op5.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: "x y", ContractId: "c"})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "contract_id", "lines")
}

func civil2025() civil.Date { return civil.Date{Year: 2025, Month: time.December, Day: 29} }

func TestBackdatedExitTurnsLaterLinesIntoAnomalies(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, fund := e.as(t, operator5), e.as(t, funder)
	contract := createContract(t, e, terms("op-5"))
	entry := day(time.September, 1)
	a := learner(t, e, entry, contract)
	e.CaughtUp(t)
	r := report(t, op5, contract,
		line("before", a, day(time.October, 9), 120), line("exit-day", a, day(time.October, 10), 120),
		line("after-1", a, day(time.October, 11), 120), line("after-2", a, day(time.October, 20), 120), line("after-3", a, day(time.October, 21), 60))
	if r.GetAccepted() != 5 {
		t.Fatalf("report %v", r)
	}
	e.CaughtUp(t)

	// The exit on 10 October is recorded today.
	exit(t, e, a, entry, day(time.October, 10), pathwayv1.ExitReason_EXIT_REASON_RELOCATION)
	if n := len(e.Events(t, "FUNDING", "avenir.funding.hours.*.flagged")); n != 2 {
		t.Fatalf("%d flagged events, want one per ledger after the exit: 2", n)
	}
	st := statement(t, fund, contract, october)
	for id, want := range map[string]fundingv1.LineStatus{
		"before": fundingv1.LineStatus_LINE_STATUS_BILLED, "exit-day": fundingv1.LineStatus_LINE_STATUS_BILLED,
		"after-1": fundingv1.LineStatus_LINE_STATUS_ANOMALY, "after-2": fundingv1.LineStatus_LINE_STATUS_ANOMALY, "after-3": fundingv1.LineStatus_LINE_STATUS_ANOMALY,
	} {
		if got := lineStatus(st, id); got != want {
			t.Fatalf("%s is %v, want %v", id, got, want)
		}
	}
	if st.GetLineCount() != 5 || st.GetTotals().GetAnomalyCount() != 3 || st.GetTotals().GetAmountCents() != 2*amount(120, rate) ||
		st.GetTotals().GetAnomalyAmountCents() != 2*amount(120, rate)+amount(60, rate) {
		t.Fatalf("statement %v", st.GetTotals())
	}
	// The lines are kept in the ledgers, never deleted.
	if n := len(e.Events(t, "FUNDING", "avenir.funding.hours.*.reported")); n != 2 {
		t.Fatalf("%d reported events", n)
	}
	// Lines after the exit are refused now.
	late := report(t, op5, contract, line("after-4", a, day(time.October, 22), 60))
	if late.GetResults()[0].GetReason() != fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED {
		t.Fatalf("line after the exit: %v", late.GetResults()[0])
	}

	// The funder approves one anomaly and rejects another.
	rev, err := fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october, Reviews: []*fundingv1.LineReview{
		{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "after-1", Approved: true},
		{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "after-2", Reason: "not in the scheme"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tot := rev.GetStatement().GetTotals(); tot.GetAmountCents() != 3*amount(120, rate) || tot.GetAnomalyCount() != 1 {
		t.Fatalf("reviewed statement %v", tot)
	}
	st = statement(t, fund, contract, october)
	if lineStatus(st, "after-2") != fundingv1.LineStatus_LINE_STATUS_REJECTED || lineStatus(st, "after-1") != fundingv1.LineStatus_LINE_STATUS_BILLED {
		t.Fatalf("reviewed lines %v", st.GetLines())
	}
	_, err = fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october, Reviews: []*fundingv1.LineReview{
		{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "unknown", Approved: true},
	}})
	servicetest.Refused(t, err, codes.FailedPrecondition, "LINE_NOT_ON_STATEMENT")
	_, err = fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october, Reviews: []*fundingv1.LineReview{
		{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "after-3"},
	}})
	servicetest.Refused(t, err, codes.InvalidArgument, "reviews[0].reason")
}

func TestFlatFeesAreMatchedToTheirFactOnce(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5 := e.as(t, operator5)
	contract := createContract(t, e, terms("op-5"))
	entry := day(time.September, 1)
	a := learner(t, e, entry, contract)
	e.Publish(t, "avenir.pathway.pathway."+a+".needs_analysis_noted",
		&pathwayv1.NeedsAnalysisNoted{LearnerId: a, EpisodeNumber: 1, AnalysisId: "an-1", CompletedOn: civilpb.FromDate(day(time.September, 20)), TerritoryCode: "T05"})
	e.Publish(t, "avenir.pathway.pathway."+a+".immersion_noted",
		&pathwayv1.ImmersionNoted{LearnerId: a, EpisodeNumber: 1, SessionId: "s-1", Completed: true, RecordedOn: civilpb.FromDate(day(time.October, 15)), TerritoryCode: "T05"})
	e.CaughtUp(t)
	claim := func(requestID, lineID string, typ fundingv1.FeeType) *fundingv1.ClaimFlatFeeResponse {
		t.Helper()
		resp, err := op5.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: requestID, ContractId: contract, LearnerId: a, FeeType: typ, OperatorLineId: lineID})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := claim("claim-needs", "F1", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED)
	if !first.GetResult().GetAccepted() || first.GetFactRef() != "an-1" || first.GetResult().GetAmountCents() != 20000 || first.GetResult().GetBillingPeriod().GetMonth() != 9 {
		t.Fatalf("claim %v", first)
	}
	if again := claim("claim-needs", "F1", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED); !proto.Equal(first, again) {
		t.Fatalf("replayed claim %v", again)
	}
	for _, c := range []struct {
		line string
		typ  fundingv1.FeeType
		want fundingv1.RejectionReason
	}{
		{"F2", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID},
		{"F3", fundingv1.FeeType_FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED, fundingv1.RejectionReason_REJECTION_REASON_FACT_NOT_FOUND},
		{"F4", fundingv1.FeeType_FEE_TYPE_EXIT_TO_QUALIFYING_TRAINING, fundingv1.RejectionReason_REJECTION_REASON_UNIT_NOT_IN_CONTRACT},
		{"F5", fundingv1.FeeType_FEE_TYPE_EXIT_TO_EMPLOYMENT, fundingv1.RejectionReason_REJECTION_REASON_FACT_NOT_FOUND},
	} {
		if r := claim(event.NewID(), c.line, c.typ).GetResult(); r.GetReason() != c.want {
			t.Fatalf("%s: %v, want %v", c.line, r, c.want)
		}
	}
	imm := claim(event.NewID(), "F6", fundingv1.FeeType_FEE_TYPE_IMMERSION_COMPLETED)
	if !imm.GetResult().GetAccepted() || imm.GetFactRef() != "s-1" || imm.GetResult().GetBillingPeriod().GetMonth() != 10 {
		t.Fatalf("immersion claim %v", imm)
	}
	// An exit to employment is a fact too.
	exit(t, e, a, entry, day(time.November, 20), pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT)
	e.CaughtUp(t)
	if r := claim(event.NewID(), "F7", fundingv1.FeeType_FEE_TYPE_EXIT_TO_EMPLOYMENT); !r.GetResult().GetAccepted() || r.GetFactRef() != "episode-1" {
		t.Fatalf("exit claim %v", r)
	}
	if n := len(e.Events(t, "FUNDING", "avenir.funding.fees.>")); n != 3 {
		t.Fatalf("%d fees events", n)
	}
	e.CaughtUp(t)
	st := statement(t, op5, contract, october)
	if st.GetTotals().GetFlatFeeCount() != 1 || st.GetTotals().GetFlatFeeAmountCents() != 15000 {
		t.Fatalf("october %v", st.GetTotals())
	}
}

func TestClosedStatementSendsLateLinesToTheNextPeriodAndExports(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, fund := e.as(t, operator5), e.as(t, funder)
	contract := createContract(t, e, terms("op-5"))
	a, b := learner(t, e, day(time.September, 1), contract), learner(t, e, day(time.September, 1), contract)
	e.CaughtUp(t)
	report(t, op5, contract, line("O1", a, day(time.October, 5), 95), line("O2", b, day(time.October, 6), 61))
	g, err := op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{
		RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier-cv", OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)),
		Minutes: 90, Trainer: "Mme Durand", AttendeeLearnerIds: []string{a, b},
	})
	if err != nil || !g.GetResult().GetAccepted() || g.GetResult().GetAmountCents() != amount(90, 4000) {
		t.Fatalf("group hours: %v %v", g, err)
	}
	_, err = op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{
		RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier cv", OperatorLineId: "G0", Date: civilpb.FromDate(day(time.October, 7)),
		Minutes: 90, Trainer: "Mme Durand", AttendeeLearnerIds: []string{a, b},
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "group_session_id")
	tooBig := terms("op-5").GetMaxGroupSize() + 1
	ids := make([]string, tooBig)
	for i := range ids {
		ids[i] = event.NewID()
	}
	big, err := op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{
		RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier-cv", OperatorLineId: "G2", Date: civilpb.FromDate(day(time.October, 8)),
		Minutes: 90, Trainer: "Mme Durand", AttendeeLearnerIds: ids,
	})
	if err != nil || big.GetResult().GetReason() != fundingv1.RejectionReason_REJECTION_REASON_GROUP_TOO_LARGE {
		t.Fatalf("group too large: %v %v", big, err)
	}
	e.CaughtUp(t)

	// November is not over; October is.
	_, err = fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: november})
	servicetest.Refused(t, err, codes.FailedPrecondition, "PERIOD_NOT_OVER")
	closed, err := fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october})
	if err != nil || !closed.GetStatement().GetClosed() || closed.GetStatement().GetClosedOn().GetDay() != 26 {
		t.Fatalf("close: %v %v", closed, err)
	}
	total := amount(95, rate) + amount(61, rate) + amount(90, 4000)
	if closed.GetStatement().GetTotals().GetAmountCents() != total {
		t.Fatalf("closed totals %v, want %d", closed.GetStatement().GetTotals(), total)
	}
	c, err := op5.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: contract})
	if err != nil || len(c.GetContract().GetClosedPeriods()) != 1 || c.GetContract().GetClosedPeriods()[0].GetMonth() != 10 {
		t.Fatalf("closed periods %v %v", c, err)
	}

	// A line of October reported now is billed in November, late.
	late := report(t, op5, contract, line("O3", a, day(time.October, 20), 30))
	if r := late.GetResults()[0]; !r.GetAccepted() || !r.GetLate() || r.GetBillingPeriod().GetMonth() != 11 {
		t.Fatalf("late line %v", r)
	}
	e.CaughtUp(t)
	if st := statement(t, fund, contract, october); st.GetTotals().GetAmountCents() != total || st.GetLineCount() != 3 {
		t.Fatalf("the closed statement changed: %v", st.GetTotals())
	}
	nov := statement(t, fund, contract, november)
	if nov.GetLineCount() != 1 || !nov.GetLines()[0].GetLate() || nov.GetTotals().GetAmountCents() != amount(30, rate) {
		t.Fatalf("november %v", nov)
	}

	// The export's total row is the statement's total.
	for _, p := range []*commonv1.Month{october, november} {
		exp, err := op5.ExportStatement(ctx(t), &fundingv1.ExportStatementRequest{ContractId: contract, Period: p})
		if err != nil {
			t.Fatal(err)
		}
		rows := bytes.Split(bytes.TrimSuffix(exp.GetCsv(), []byte("\r\n")), []byte("\r\n"))
		last := strings.Split(string(rows[len(rows)-1]), ";")
		var sum int64
		for _, row := range rows[1 : len(rows)-1] {
			cells := strings.Split(string(row), ";")
			n, _ := strconv.ParseInt(cells[len(cells)-2], 10, 64)
			sum += n
		}
		got, _ := strconv.ParseInt(last[len(last)-2], 10, 64)
		st := statement(t, fund, contract, p)
		if last[2] != "TOTAL" || got != st.GetTotals().GetAmountCents() || sum != got || exp.GetTotals().GetAmountCents() != got {
			t.Fatalf("export of %v: total %d, rows %d, statement %d:\n%s", p, got, sum, st.GetTotals().GetAmountCents(), exp.GetCsv())
		}
		if !strings.HasPrefix(string(rows[0]), "contract_id;period;unit;") || !strings.HasSuffix(exp.GetFilename(), ".csv") {
			t.Fatalf("export header %q, file %q", rows[0], exp.GetFilename())
		}
	}
}

func TestBudgetWarnsAt80PercentAndRefusesAbove100(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5 := e.as(t, operator5)
	tm := terms("op-5")
	tm.TraineeHourRateCents, tm.AnnualEnvelopeCents = 6000, 10_000 // a euro a minute, 100 euros a year
	contract := createContract(t, e, tm)
	a := learner(t, e, day(time.September, 1), contract)
	e.CaughtUp(t)
	budget := func() *fundingv1.Budget {
		t.Helper()
		e.CaughtUp(t)
		resp, err := op5.GetBudget(ctx(t), &fundingv1.GetBudgetRequest{ContractId: contract})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetBudget()
	}
	if r := report(t, op5, contract, line("B1", a, day(time.October, 5), 70)); r.GetBudgetWarning() || r.GetAccepted() != 1 {
		t.Fatalf("70 %%: %v", r)
	}
	e.CaughtUp(t)
	if r := report(t, op5, contract, line("B2", a, day(time.October, 6), 10)); !r.GetBudgetWarning() || r.GetAccepted() != 1 {
		t.Fatalf("80 %%: %v", r)
	}
	if b := budget(); !b.GetWarning() || b.GetExhausted() || b.GetConsumedPercent() != 80 || b.GetConsumedCents() != 8000 || b.GetContractYear() != 1 {
		t.Fatalf("budget at 80 %%: %v", b)
	}
	r := report(t, op5, contract, line("B3", a, day(time.October, 7), 30))
	if r.GetResults()[0].GetReason() != fundingv1.RejectionReason_REJECTION_REASON_BUDGET_EXCEEDED {
		t.Fatalf("over 100 %%: %v", r)
	}
	if r := report(t, op5, contract, line("B4", a, day(time.October, 7), 20)); r.GetAccepted() != 1 {
		t.Fatalf("exactly 100 %%: %v", r)
	}
	// 100 € in eleven months: 109,09 € forecast, 9,09 € over the envelope.
	if b := budget(); !b.GetExhausted() || b.GetConsumedPercent() != 100 || b.GetForecastCents() != 10_909 || b.GetForecastOverCents() != 909 {
		t.Fatalf("budget at 100 %%: %v", b)
	}
	fee, err := op5.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: a,
		FeeType: fundingv1.FeeType_FEE_TYPE_CUSTOM, CustomCode: "X", EvidenceReference: "e", OperatorLineId: "F1"})
	if err != nil || fee.GetResult().GetAccepted() {
		t.Fatalf("claim on an exhausted budget: %v %v", fee, err)
	}
	// An admin raises the envelope: claims are accepted again.
	tm.AnnualEnvelopeCents = 20_000
	if _, err := e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: contract, Terms: tm, Reason: "avenant"}); err != nil {
		t.Fatal(err)
	}
	if r := report(t, op5, contract, line("B5", a, day(time.October, 8), 30)); r.GetAccepted() != 1 || r.GetBudgetWarning() {
		t.Fatalf("after the raise: %v", r)
	}
}

func TestStreamedReportsBatchLinesAcrossChunks(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5 := e.as(t, operator5)
	contract := createContract(t, e, terms("op-5"))
	learners := make([]string, 10)
	for i := range learners {
		learners[i] = learner(t, e, day(time.January, 1), contract)
	}
	e.CaughtUp(t)
	// 12,000 lines of an hour: six a day for every learner from January, until
	// the weekly caps (35 hours) refuse the sixth and seventh days' lines.
	var lines []*fundingv1.ReportedLine
	for d := day(time.January, 5); len(lines) < 12_000; d = d.AddDays(1) {
		for _, l := range learners {
			for h := range 6 {
				lines = append(lines, line(l+"/"+d.String()+"-"+strconv.Itoa(h), l, d, 60))
			}
		}
	}
	lines = lines[:12_000]
	send := func(requestID string) *fundingv1.ReportTraineeHoursStreamResponse {
		t.Helper()
		stream, err := op5.ReportTraineeHoursStream(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(lines); i += 2500 {
			chunk := &fundingv1.ReportTraineeHoursStreamRequest{Lines: lines[i:min(i+2500, len(lines))]}
			if i == 0 {
				chunk.RequestId, chunk.ContractId = requestID, contract
			}
			if err := stream.Send(chunk); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := send("import-2026")
	if resp.GetChunks() != 5 || resp.GetAccepted()+resp.GetRejected() != 12_000 || resp.GetRejected() != int32(len(resp.GetRejectedLines())) || resp.GetRejected() == 0 {
		t.Fatalf("stream: %d chunks, %d accepted, %d rejected (%d listed)", resp.GetChunks(), resp.GetAccepted(), resp.GetRejected(), len(resp.GetRejectedLines()))
	}
	prev := int32(-1)
	for _, r := range resp.GetRejectedLines() {
		l := lines[r.GetIndex()]
		if r.GetIndex() <= prev || r.GetOperatorLineId() != l.GetOperatorLineId() || r.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_WEEKLY_CAP_EXCEEDED {
			t.Fatalf("rejected %v after index %d", r, prev)
		}
		if wd := weekday(civilpb.Date(l.GetDate())); wd != time.Saturday && wd != time.Sunday {
			t.Fatalf("rejected a weekday line: %v", r)
		}
		prev = r.GetIndex()
	}
	if resp.GetAcceptedAmountCents() != int64(resp.GetAccepted())*amount(60, rate) {
		t.Fatalf("amount %d for %d lines", resp.GetAcceptedAmountCents(), resp.GetAccepted())
	}
	// Statements total what was accepted.
	e.CaughtUp(t)
	var billed int64
	for m := 1; m <= 12; m++ {
		billed += statement(t, op5, contract, &commonv1.Month{Year: 2026, Month: int32(m)}).GetTotals().GetAmountCents()
	}
	if billed != resp.GetAcceptedAmountCents() {
		t.Fatalf("statements bill %d, the stream accepted %d", billed, resp.GetAcceptedAmountCents())
	}
	// The same file again replays every batch.
	events := len(e.Events(t, "FUNDING", "avenir.funding.hours.>"))
	if again := send("import-2026"); !proto.Equal(again, resp) {
		t.Fatalf("replayed stream: %d accepted, %d rejected", again.GetAccepted(), again.GetRejected())
	}
	if n := len(e.Events(t, "FUNDING", "avenir.funding.hours.>")); n != events {
		t.Fatalf("the replay appended %d events", n-events)
	}
}

func weekday(d civil.Date) time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}
