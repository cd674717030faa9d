package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// Funding through the public APIs, across services: the learner's needs
// analysis (needs), noted by pathway, is the fact behind the operator's
// flat fee (funding); the hours of a learner pathway let in are billed; the
// statement and its CSV export agree to the cent.
func TestFundingJourney(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	addrs, _ := servertest.Run(t, cfg)
	learner, _ := journey(t, dialAs(t, addrs.GRPC, cfg.DataDir, referent), "funding-journey")
	id := learner.GetLearnerId()
	today := civil.Of(time.Now())

	adm := fundingv1.NewFundingServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))
	created, err := adm.CreateContract(callCtx(t), &fundingv1.CreateContractRequest{RequestId: "e2e-contract", Terms: &fundingv1.ContractTerms{
		OperatorId: "op-e2e", Reference: "Lot 13 Orne", TerritoryCodes: []string{"T13"}, Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
		PeriodFrom: civilpb.FromDate(today.AddDays(-30)), PeriodTo: civilpb.FromDate(today.AddDays(300)),
		TraineeHourRateCents: 1250, GroupHourRateCents: 4500, AnnualEnvelopeCents: 50_000_000, MaxGroupSize: 12,
		FlatFees: []*fundingv1.FlatFeeRate{{FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, AmountCents: 15000}},
	}})
	if err != nil {
		t.Fatalf("create contract: %v", err)
	}
	contract := created.GetContract().GetContractId()
	// No enrolment, no pay: the learner is enrolled with the operator's
	// contract, once pathway knows the contract.
	pw := pathwayv1.NewPathwayServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))
	servicetest.Eventually(t, 10*time.Second, func() error {
		_, err := pw.Enrol(callCtx(t), &pathwayv1.EnrolRequest{
			RequestId: "e2e-enrol", LearnerId: id, ContractId: contract,
			Kind: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, FromDate: civilpb.FromDate(today),
		})
		if status.Code(err) == codes.FailedPrecondition {
			return err
		}
		if err != nil {
			t.Fatalf("enrol: %v", err)
		}
		return nil
	})

	operator := auth.Principal{Subject: "e2e-operator", Role: auth.RoleOperator, OperatorID: "op-e2e", Territories: []string{"T13"}}
	op := fundingv1.NewFundingServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, operator))
	servicetest.Eventually(t, 10*time.Second, func() error {
		// Funding learns the entry and the noted analysis from PATHWAY.
		resp, err := op.ClaimFlatFee(callCtx(t), &fundingv1.ClaimFlatFeeRequest{
			RequestId: "e2e-fee", ContractId: contract, LearnerId: id, FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "F-1",
		})
		if err != nil {
			return err
		}
		if !resp.GetResult().GetAccepted() {
			return fmt.Errorf("fee %v", resp.GetResult())
		}
		return nil
	})
	hours, err := op.ReportTraineeHours(callCtx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: "e2e-hours", ContractId: contract, Lines: []*fundingv1.ReportedLine{
		{OperatorLineId: "L-1", LearnerId: id, Date: civilpb.FromDate(today), Minutes: 210, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE},
		{OperatorLineId: "L-2", LearnerId: id, Date: civilpb.FromDate(today), Minutes: 300, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE},
	}})
	if err != nil || hours.GetAccepted() != 1 || hours.GetResults()[1].GetReason() != fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED {
		t.Fatalf("hours %v %v", hours, err)
	}

	funder := fundingv1.NewFundingServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, auth.Principal{Subject: "e2e-funder", Role: auth.RoleFunder}))
	period := &commonv1.Month{Year: int32(today.Year), Month: int32(today.Month)}
	want := int64(15000 + (210*1250+29)/60)
	servicetest.Eventually(t, 10*time.Second, func() error {
		st, err := funder.GetStatement(callCtx(t), &fundingv1.GetStatementRequest{ContractId: contract, Period: period})
		if err != nil {
			return err
		}
		if tot := st.GetStatement().GetTotals(); tot.GetAmountCents() != want || tot.GetFlatFeeCount() != 1 || tot.GetTraineeMinutes() != 210 {
			return fmt.Errorf("totals %v, want %d cents", tot, want)
		}
		return nil
	})
	export, err := funder.ExportStatement(callCtx(t), &fundingv1.ExportStatementRequest{ContractId: contract, Period: period})
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(export.GetCsv())), "\r\n")
	if last := rows[len(rows)-1]; len(rows) != 4 || !strings.Contains(last, fmt.Sprintf(";%d;", want)) {
		t.Fatalf("export:\n%s", export.GetCsv())
	}
}
