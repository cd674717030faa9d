package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// PATHWAY is pathway's; the tests publish its events themselves, as
// pathway would.
var pathwayStream = natsx.StreamSpec{Name: "PATHWAY", Subjects: []string{"avenir.pathway.>"}}

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

func start(t testing.TB, opts servicetest.Options) *env {
	t.Helper()
	opts.Streams = append(opts.Streams, pathwayStream)
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

// publish appends events of a learner's pathway, as pathway would, in one
// batch.
func publish(t testing.TB, e *env, learner string, evs map[string]proto.Message, order ...string) {
	t.Helper()
	store, err := eventstore.New(e.JS, eventstore.Options{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.pathway.pathway." + learner + ".>"
	var drafts []event.Draft
	for _, name := range order {
		drafts = append(drafts, event.Draft{Subject: "avenir.pathway.pathway." + learner + "." + name, AggregateID: learner, Data: evs[name]})
	}
	for range 20 {
		h, err := store.Load(context.Background(), "PATHWAY", filter)
		if err != nil {
			t.Fatal(err)
		}
		if _, err = store.Append(context.Background(), "PATHWAY", filter, h.LastSeq,
			eventstore.Command{RequestID: event.NewID(), Actor: "test", Time: e.Now()}, drafts...); err == nil {
			return
		}
	}
	t.Fatalf("publish %v of %s: still conflicting", order, learner)
}

// learner publishes pathway's entry of a new learner on entry.
func learner(t testing.TB, e *env, entry civil.Date) string {
	t.Helper()
	id := event.NewID()
	publish(t, e, id, map[string]proto.Message{"entered": &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), TerritoryCode: "T05",
	}}, "entered")
	return id
}

// exit publishes pathway's exit of the learner on exitDay, recorded today:
// with its ExitBackdated in the same batch when exitDay is in the past.
func exit(t *testing.T, e *env, id string, entry, exitDay civil.Date, reason pathwayv1.ExitReason) {
	t.Helper()
	evs := map[string]proto.Message{
		"exited": &pathwayv1.PathwayExited{LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(entry), ExitDate: civilpb.FromDate(exitDay), Reason: reason, TerritoryCode: "T05"},
		"exit_backdated": &pathwayv1.ExitBackdated{
			LearnerId: id, EpisodeNumber: 1, ExitDate: civilpb.FromDate(exitDay), RecordedOn: civilpb.FromDate(today), TerritoryCode: "T05",
		},
	}
	if exitDay.Before(today) {
		publish(t, e, id, evs, "exited", "exit_backdated")
	} else {
		publish(t, e, id, evs, "exited")
	}
}

// caughtUp waits until the read models have applied every event stored.
func caughtUp(t testing.TB, e *env) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, func() error {
		for stream, name := range map[string]string{"PATHWAY": "funding-learners", "FUNDING": "funding-books"} {
			c, err := e.JS.Consumer(ctx(t), stream, name)
			if err != nil {
				return err
			}
			info, err := c.Info(ctx(t))
			if err != nil {
				return err
			}
			if info.NumPending > 0 || info.NumAckPending > 0 {
				return fmt.Errorf("%s: %d pending", name, info.NumPending+uint64(info.NumAckPending))
			}
		}
		return nil
	})
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

// refused checks the code of err, its reason code (FailedPrecondition) or
// the fields named (InvalidArgument).
func refused(t *testing.T, err error, code codes.Code, reasonOrFields ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	switch code {
	case codes.InvalidArgument:
		var got []string
		for _, f := range grpcx.FieldViolations(err) {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, reasonOrFields) {
			t.Fatalf("violations on %v, want %v (%v)", got, reasonOrFields, err)
		}
	case codes.FailedPrecondition:
		if len(reasonOrFields) > 0 && grpcx.Metadata(err)["reason"] != reasonOrFields[0] {
			t.Fatalf("reason %q, want %q (%v)", grpcx.Metadata(err)["reason"], reasonOrFields[0], err)
		}
	}
}

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
