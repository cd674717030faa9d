package service_test

import (
	"context"
	"sync"
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

	mu         sync.Mutex
	operators  map[string]string // contract → its operator
	enrolments map[string][]enrolment
}

// enrolment is an enrolment published for a learner, as pathway would.
type enrolment struct {
	number   int
	contract string
	open     bool
}

// start runs funding; PATHWAY and IMMERSION, which the tests publish to as
// pathway and immersion would, are created by servicetest's convention.
func start(t testing.TB, opts servicetest.Options) *env {
	t.Helper()
	e := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	return &env{Env: e, admin: fundingv1.NewFundingServiceClient(e.Conn), operators: map[string]string{}, enrolments: map[string][]enrolment{}}
}

func (e *env) as(t *testing.T, p auth.Principal) fundingv1.FundingServiceClient {
	return fundingv1.NewFundingServiceClient(e.ConnAs(t, p))
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return c
}

// learner publishes pathway's entry of a new learner of T05 on entry, and
// its enrolments with the contracts from entry.
func learner(t testing.TB, e *env, entry civil.Date, contracts ...string) string {
	t.Helper()
	return learnerIn(t, e, "T05", entry, contracts...)
}

// learnerIn publishes pathway's entry of a new learner of a territory on
// entry, and its enrolments with the contracts from entry.
func learnerIn(t testing.TB, e *env, territory string, entry civil.Date, contracts ...string) string {
	t.Helper()
	id := event.NewID()
	e.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), TerritoryCode: territory,
	})
	for _, c := range contracts {
		e.enrol(t, id, territory, c, entry)
	}
	return id
}

// enrol publishes pathway's enrolment of the learner with a contract from
// a day, and returns its number.
func (e *env) enrol(t testing.TB, learner, territory, contract string, from civil.Date) int {
	t.Helper()
	e.mu.Lock()
	n := len(e.enrolments[learner]) + 1
	e.enrolments[learner] = append(e.enrolments[learner], enrolment{number: n, contract: contract, open: true})
	operator := e.operators[contract]
	e.mu.Unlock()
	e.Publish(t, "avenir.pathway.pathway."+learner+".enrolled", &pathwayv1.LearnerEnrolled{
		LearnerId: learner, EpisodeNumber: 1, EnrolmentNumber: int32(n), ContractId: contract, OperatorId: operator,
		Kind: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, FromDate: civilpb.FromDate(from), TerritoryCode: territory,
	})
	return n
}

// endEnrolment publishes the end of the learner's open enrolments with a
// contract ("" for every contract) on their last day, as pathway would.
func (e *env) endEnrolment(t testing.TB, learner, contract string, last civil.Date, reason pathwayv1.EnrolmentEndReason) {
	t.Helper()
	e.mu.Lock()
	var ended []enrolment
	for i, en := range e.enrolments[learner] {
		if en.open && (contract == "" || en.contract == contract) {
			e.enrolments[learner][i].open = false
			ended = append(ended, en)
		}
	}
	e.mu.Unlock()
	for _, en := range ended {
		e.Publish(t, "avenir.pathway.pathway."+learner+".enrolment_ended", &pathwayv1.EnrolmentEnded{
			LearnerId: learner, EpisodeNumber: 1, EnrolmentNumber: int32(en.number), ContractId: en.contract, OperatorId: e.operators[en.contract],
			ToDate: civilpb.FromDate(last), Reason: reason, TerritoryCode: "T05",
		})
	}
}

// exit publishes pathway's exit of the learner on exitDay, recorded today,
// with the end of its enrolments on that day, followed by its ExitBackdated
// when exitDay is in the past, and waits until funding handled them: the
// exit consumer flagged the lines after the exit and the books applied the
// flags.
func exit(t *testing.T, e *env, id string, entry, exitDay civil.Date, reason pathwayv1.ExitReason) {
	t.Helper()
	e.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), ExitDate: civilpb.FromDate(exitDay), Reason: reason, TerritoryCode: "T05",
	})
	e.endEnrolment(t, id, "", exitDay, pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT)
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
		AnnualEnvelopeCents: 100_000_000, MaxGroupSize: 12, Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
	}
}

func createContract(t testing.TB, e *env, tm *fundingv1.ContractTerms) string {
	t.Helper()
	resp, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: tm})
	if err != nil {
		t.Fatalf("CreateContract: %v", err)
	}
	id := resp.GetContract().GetContractId()
	e.mu.Lock()
	e.operators[id] = tm.GetOperatorId()
	e.mu.Unlock()
	return id
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

// lineOf returns the statement's line id (not a reversal), nil if none.
func lineOf(st *fundingv1.Statement, id string) *fundingv1.StatementLine {
	for _, l := range st.GetLines() {
		if l.GetOperatorLineId() == id && !l.GetReversal() {
			return l
		}
	}
	return nil
}
