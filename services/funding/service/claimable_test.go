package service_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// claimable lists every claimable fee of a contract, page by page.
func claimable(t *testing.T, c fundingv1.FundingServiceClient, contract string, size int32) []*fundingv1.ClaimableFee {
	t.Helper()
	var out []*fundingv1.ClaimableFee
	token := ""
	for {
		resp, err := c.ListClaimableFees(ctx(t), &fundingv1.ListClaimableFeesRequest{ContractId: contract, PageSize: size, PageToken: token})
		if err != nil {
			t.Fatalf("ListClaimableFees: %v", err)
		}
		out = append(out, resp.GetFees()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// feeOf returns the listed fee of a learner's fact, nil if none.
func feeOf(fees []*fundingv1.ClaimableFee, learner, ref string) *fundingv1.ClaimableFee {
	for _, f := range fees {
		if f.GetLearnerId() == learner && f.GetFactRef() == ref {
			return f
		}
	}
	return nil
}

func analysed(t *testing.T, e *env, learner, analysis string, on civil.Date) {
	t.Helper()
	e.Publish(t, "avenir.pathway.pathway."+learner+".needs_analysis_noted",
		&pathwayv1.NeedsAnalysisNoted{LearnerId: learner, EpisodeNumber: 1, AnalysisId: analysis, CompletedOn: civilpb.FromDate(on), TerritoryCode: "T05"})
}

// The listing says what ClaimFlatFee then decides: a fact claimable, then
// paid here once claimed; the same fact paid elsewhere under a second
// operator's contract (which is not named), where a claim is refused; a
// fact dated before the learner's enrolment not eligible, with the reason a
// claim gets. Only the contract's learners are listed; another operator's
// contract is not found, referents are refused.
func TestClaimableFeesAgreeWithClaims(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, op6 := e.as(t, operator5), e.as(t, operator6)
	c5 := createContract(t, e, terms("op-5"))
	c6 := createContract(t, e, terms("op-6"))
	entry := day(time.September, 1)
	a := learner(t, e, entry, c5, c6)
	analysed(t, e, a, "an-a", day(time.September, 20))
	b := learner(t, e, entry)
	e.enrol(t, b, "T05", c5, day(time.October, 1))
	analysed(t, e, b, "an-b", day(time.September, 10))
	other := learner(t, e, entry, c6)
	analysed(t, e, other, "an-o", day(time.September, 12))
	e.CaughtUp(t)

	fees := claimable(t, op5, c5, 0)
	if len(fees) != 2 || feeOf(fees, other, "an-o") != nil {
		t.Fatalf("contract 5 lists %v, want the facts of its two learners", fees)
	}
	fa := feeOf(fees, a, "an-a")
	if fa.GetState() != fundingv1.FeeClaimState_FEE_CLAIM_STATE_CLAIMABLE || !fa.GetNextToClaim() || fa.GetRateCents() != 20000 ||
		fa.GetFeeType() != fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED || civilpb.Date(fa.GetFactDate()) != day(time.September, 20) {
		t.Fatalf("a's analysis %v", fa)
	}
	fb := feeOf(fees, b, "an-b")
	if fb.GetState() != fundingv1.FeeClaimState_FEE_CLAIM_STATE_NOT_ELIGIBLE || fb.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED || fb.GetNextToClaim() {
		t.Fatalf("b's analysis before its enrolment %v", fb)
	}
	claim := func(c fundingv1.FundingServiceClient, contract, learner, lineID string) *fundingv1.LineResult {
		t.Helper()
		resp, err := c.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: learner,
			FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: lineID})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetResult()
	}
	if r := claim(op5, c5, b, "fee-b"); r.GetReason() != fb.GetReason() {
		t.Fatalf("b's claim %v, the listing said %v", r, fb.GetReason())
	}
	if r := claim(op5, c5, a, "fee-a"); !r.GetAccepted() || r.GetAmountCents() != fa.GetRateCents() {
		t.Fatalf("a's claim %v", r)
	}
	// The claim's answer waited for the books: the listing shows it at once.
	if fa := feeOf(claimable(t, op5, c5, 0), a, "an-a"); fa.GetState() != fundingv1.FeeClaimState_FEE_CLAIM_STATE_ALREADY_PAID_HERE ||
		fa.GetClaimLineId() != "fee-a" || fa.GetNextToClaim() {
		t.Fatalf("a's analysis after the claim %v", fa)
	}
	six := claimable(t, op6, c6, 0)
	if f := feeOf(six, a, "an-a"); f.GetState() != fundingv1.FeeClaimState_FEE_CLAIM_STATE_PAID_ELSEWHERE || f.GetClaimLineId() != "" {
		t.Fatalf("a's analysis under contract 6 %v", f)
	}
	if f := feeOf(six, other, "an-o"); f.GetState() != fundingv1.FeeClaimState_FEE_CLAIM_STATE_CLAIMABLE {
		t.Fatalf("the other learner's analysis under contract 6 %v", f)
	}
	if r := claim(op6, c6, a, "fee-a6"); r.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID {
		t.Fatalf("claim of a fact paid elsewhere %v", r)
	}

	// Pages never split a learner; every fact is listed once.
	if paged := claimable(t, e.as(t, funder), c5, 1); len(paged) != 2 {
		t.Fatalf("paged by one: %v", paged)
	}
	only, err := op5.ListClaimableFees(ctx(t), &fundingv1.ListClaimableFeesRequest{ContractId: c5, LearnerId: b})
	if err != nil || len(only.GetFees()) != 1 || only.GetFees()[0].GetLearnerId() != b {
		t.Fatalf("b's facts only: %v %v", only, err)
	}
	_, err = op6.ListClaimableFees(ctx(t), &fundingv1.ListClaimableFeesRequest{ContractId: c5})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("another operator's contract: %v, want NotFound as GetContract", err)
	}
	if _, gerr := op6.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: c5}); status.Code(gerr) != status.Code(err) {
		t.Fatalf("GetContract answers %v, ListClaimableFees %v", gerr, err)
	}
	_, err = e.as(t, referent).ListClaimableFees(ctx(t), &fundingv1.ListClaimableFeesRequest{ContractId: c5})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("referent: %v", err)
	}
	_, err = op5.ListClaimableFees(ctx(t), &fundingv1.ListClaimableFeesRequest{ContractId: c5, PageSize: 1001})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_size")
}
