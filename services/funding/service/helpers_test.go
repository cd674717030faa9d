package service_test

import (
	"context"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The services' clock is servicetest's default: 2026-11-26, 10:00 in Paris.
var today = civil.Date{Year: 2026, Month: time.November, Day: 26}

func day(m time.Month, d int) civil.Date { return civil.Date{Year: 2026, Month: m, Day: d} }

var (
	october  = &commonv1.Month{Year: 2026, Month: 10}
	november = &commonv1.Month{Year: 2026, Month: 11}
)

var (
	operator5 = auth.Principal{Subject: "u-op5", Role: auth.RoleOperator, OperatorID: "op-5", Territories: []string{"T05"}}
	operator6 = auth.Principal{Subject: "u-op6", Role: auth.RoleOperator, OperatorID: "op-6", Territories: []string{"T05"}}
	funder    = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
	referent  = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05"}}
)

const rate = 1333 // cents per trainee hour: amounts round

type env struct {
	*servicetest.Env
	admin fundingv1.FundingServiceClient
}

// start runs funding; PATHWAY, which the tests publish to as pathway
// would, is created by servicetest's convention.
func start(t testing.TB, opts servicetest.Options) *env {
	t.Helper()
	e := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	return &env{Env: e, admin: fundingv1.NewFundingServiceClient(e.Conn)}
}

func (e *env) as(t *testing.T, p auth.Principal) fundingv1.FundingServiceClient {
	return fundingv1.NewFundingServiceClient(e.ConnAs(t, p))
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return c
}

// learner publishes pathway's entry of a new learner on entry.
func learner(t testing.TB, e *env, entry civil.Date) string {
	t.Helper()
	id := event.NewID()
	e.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), TerritoryCode: "T05",
	})
	return id
}

// exit publishes pathway's exit of the learner on exitDay, recorded today,
// followed by its ExitBackdated when exitDay is in the past, and waits until
// funding handled them: the exit consumer flagged the lines after the exit
// and the books applied the flags.
func exit(t *testing.T, e *env, id string, entry, exitDay civil.Date, reason pathwayv1.ExitReason) {
	t.Helper()
	e.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), ExitDate: civilpb.FromDate(exitDay), Reason: reason, TerritoryCode: "T05",
	})
	if exitDay.Before(today) {
		e.Publish(t, "avenir.pathway.pathway."+id+".exit_backdated", &pathwayv1.ExitBackdated{
			LearnerId: id, EpisodeNumber: 1, ExitDate: civilpb.FromDate(exitDay), RecordedOn: civilpb.FromDate(today), TerritoryCode: "T05",
		})
	}
	e.CaughtUp(t)
}

// terms of a 2026 contract of the operator, in T05.
func terms(operator string) *fundingv1.ContractTerms {
	return &fundingv1.ContractTerms{
		OperatorId: operator, Reference: "AVENIR-2026-LOT5", TerritoryCodes: []string{"T05"},
		PeriodFrom: civilpb.FromDate(day(time.January, 1)), PeriodTo: civilpb.FromDate(day(time.December, 31)),
		TraineeHourRateCents: rate, GroupHourRateCents: 4000,
		FlatFees: []*fundingv1.FlatFeeRate{
			{FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, AmountCents: 20000},
			{FeeType: fundingv1.FeeType_FEE_TYPE_IMMERSION_COMPLETED, AmountCents: 15000},
			{FeeType: fundingv1.FeeType_FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED, AmountCents: 7500},
			{FeeType: fundingv1.FeeType_FEE_TYPE_EXIT_TO_EMPLOYMENT, AmountCents: 50000},
		},
		AnnualEnvelopeCents: 100_000_000, MaxGroupSize: 12,
	}
}

func createContract(t testing.TB, e *env, tm *fundingv1.ContractTerms) string {
	t.Helper()
	resp, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: tm})
	if err != nil {
		t.Fatalf("CreateContract: %v", err)
	}
	return resp.GetContract().GetContractId()
}

func line(id, learner string, d civil.Date, minutes int) *fundingv1.ReportedLine {
	return &fundingv1.ReportedLine{OperatorLineId: id, LearnerId: learner, Date: civilpb.FromDate(d), Minutes: int32(minutes), Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE}
}

func report(t *testing.T, c fundingv1.FundingServiceClient, contract string, lines ...*fundingv1.ReportedLine) *fundingv1.ReportTraineeHoursResponse {
	t.Helper()
	resp, err := c.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: contract, Lines: lines})
	if err != nil {
		t.Fatalf("ReportTraineeHours: %v", err)
	}
	return resp
}

func statement(t *testing.T, c fundingv1.FundingServiceClient, contract string, p *commonv1.Month) *fundingv1.Statement {
	t.Helper()
	resp, err := c.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: contract, Period: p, PageSize: 5000})
	if err != nil {
		t.Fatalf("GetStatement: %v", err)
	}
	return resp.GetStatement()
}

// amount is the rounding rule of events.proto.
func amount(minutes int, ratePerHour int64) int64 { return (int64(minutes)*ratePerHour + 29) / 60 }

// lineStatus returns the status of the statement's line id (not a
// reversal).
func lineStatus(st *fundingv1.Statement, id string) fundingv1.LineStatus {
	for _, l := range st.GetLines() {
		if l.GetOperatorLineId() == id && !l.GetReversal() {
			return l.GetStatus()
		}
	}
	return fundingv1.LineStatus_LINE_STATUS_UNSPECIFIED
}
