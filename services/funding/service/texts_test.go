package service_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// A name, label, reference or reason holding a bidirectional override
// (U+202E: "Trojan Source", a line of a statement or an export reading as
// another) or a control character is refused as invalid input naming the
// field, and nothing is appended.
func TestTextsWithControlsOrBidiOverridesAreRefused(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, fund := e.as(t, operator5), e.as(t, funder)
	contract := createContract(t, e, terms("op-5"))
	a := learner(t, e, day(time.September, 1), contract)
	e.CaughtUp(t)
	report(t, op5, contract, line("L1", a, day(time.October, 5), 120))
	e.CaughtUp(t)

	for _, tc := range []struct {
		name  string
		field string
		call  func(ctx context.Context, s string) error
	}{
		{"contract reference", "terms.reference", func(ctx context.Context, s string) error {
			tm := terms("op-5")
			tm.Reference = s
			_, err := e.admin.CreateContract(ctx, &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: tm})
			return err
		}},
		{"fee label", "terms.flat_fees[0].label", func(ctx context.Context, s string) error {
			tm := terms("op-5")
			tm.FlatFees[0].Label = s
			_, err := e.admin.UpdateContract(ctx, &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: contract, Terms: tm})
			return err
		}},
		{"contract update reason", "reason", func(ctx context.Context, s string) error {
			tm := terms("op-5")
			tm.AnnualEnvelopeCents++
			_, err := e.admin.UpdateContract(ctx, &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: contract, Terms: tm, Reason: s})
			return err
		}},
		{"correction reason", "reason", func(ctx context.Context, s string) error {
			_, err := op5.CorrectLine(ctx, &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: a,
				Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "L1", OperatorLineId: "L1-fix", Minutes: 60,
				Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, Reason: s})
			return err
		}},
		{"review reason", "reviews[0].reason", func(ctx context.Context, s string) error {
			_, err := fund.ReviewStatement(ctx, &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october,
				Reviews: []*fundingv1.LineReview{{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "L1", Reason: s}}})
			return err
		}},
		{"trainer", "trainer", func(ctx context.Context, s string) error {
			_, err := op5.ReportGroupHours(ctx, &fundingv1.ReportGroupHoursRequest{RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier-cv",
				OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)), Minutes: 90, Trainer: s, AttendeeLearnerIds: []string{a}})
			return err
		}},
		{"evidence reference", "evidence_reference", func(ctx context.Context, s string) error {
			_, err := op5.ClaimFlatFee(ctx, &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: a,
				FeeType: fundingv1.FeeType_FEE_TYPE_CUSTOM, CustomCode: "BILAN", EvidenceReference: s, OperatorLineId: "F1"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bad := range []string{"Mme Durand \u202Ednaruod", "Mme\x07Durand", "Mme Durand\x1b[2J"} {
				before := len(e.Events(t, "FUNDING", "avenir.funding.>"))
				servicetest.Refused(t, tc.call(ctx(t), bad), codes.InvalidArgument, tc.field)
				if n := len(e.Events(t, "FUNDING", "avenir.funding.>")); n != before {
					t.Fatalf("%q: %d events appended", bad, n-before)
				}
			}
		})
	}

	// The same texts without the controls are taken: the refusals above
	// were for the characters, not the calls.
	resp, err := op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier-cv",
		OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)), Minutes: 90, Trainer: "Mme Durand", AttendeeLearnerIds: []string{a}})
	if err != nil || !resp.GetResult().GetAccepted() {
		t.Fatalf("group hours with a plain trainer: %v %v", resp, err)
	}
	corr, err := op5.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: a,
		Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "L1", OperatorLineId: "L1-fix", Minutes: 60,
		Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, Reason: "parti plus tôt\nsigné par le stagiaire"})
	if err != nil || !corr.GetResult().GetAccepted() {
		t.Fatalf("a correction with a reason on two lines: %v %v", corr, err)
	}
	if c, err := e.admin.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: contract}); err != nil || !proto.Equal(c.GetContract().GetTerms().GetFlatFees()[0], terms("op-5").GetFlatFees()[0]) {
		t.Fatalf("the contract changed: %v %v", c, err)
	}
}
