package service_test

import (
	"context"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The read models, in memory or in Redis, are rebuilt from the streams into
// an empty store and answer the same: contracts listed with their closed
// periods, statements with their lines, anomalies, reviews and late lines,
// exports and budgets; and the rebuilt enrolments decide as before.
func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, store)
			opts := servicetest.Options{Store: fresh()}
			e := start(t, opts)
			op5, fund := e.as(t, operator5), e.as(t, funder)
			contract := createContract(t, e, terms("op-5"))
			entry := day(time.September, 1)
			a, b := learner(t, e, entry, contract), learner(t, e, entry, contract)
			e.Publish(t, "avenir.pathway.pathway."+a+".needs_analysis_noted",
				&pathwayv1.NeedsAnalysisNoted{LearnerId: a, EpisodeNumber: 1, AnalysisId: "an-1", CompletedOn: civilpb.FromDate(day(time.October, 2)), TerritoryCode: "T05"})
			e.CaughtUp(t)
			report(t, op5, contract, line("R1", a, day(time.October, 5), 95), line("R2", b, day(time.October, 6), 61),
				line("R3", b, day(time.October, 20), 200), line("R4", b, day(time.October, 21), 45))
			if _, err := op5.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: a,
				FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "F1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{RequestId: event.NewID(), ContractId: contract, GroupSessionId: "g-1",
				OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)), Minutes: 120, Trainer: "M. Leroy", AttendeeLearnerIds: []string{a, b}}); err != nil {
				t.Fatal(err)
			}
			e.CaughtUp(t)
			exit(t, e, b, entry, day(time.October, 15), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT)
			if n := len(e.Events(t, "FUNDING", "avenir.funding.hours.*.flagged")); n != 1 {
				t.Fatalf("%d flagged events, want 1", n)
			}
			if _, err := fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october,
				Reviews: []*fundingv1.LineReview{{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "R4", Approved: true}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: contract, Period: october}); err != nil {
				t.Fatal(err)
			}
			report(t, op5, contract, line("R5", a, day(time.October, 28), 30))
			e.CaughtUp(t)
			before := snapshot(t, auth.NewContext(ctx(t), servicetest.Admin), e.admin, contract)

			// Restart with an empty store: the same durable consumers replay
			// the streams into it.
			deps := e.Deps
			deps.Projections = fresh()
			svc := e.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			// Rebuild returns once the read models replayed the streams.
			admin := auth.NewContext(ctx(t), servicetest.Admin)
			after := snapshot(t, admin, direct{svc}, contract)
			for i := range before {
				if !proto.Equal(before[i], after[i]) {
					t.Fatalf("rebuilt read model %d differs:\nbefore %v\nafter  %v", i, before[i], after[i])
				}
			}
			// The rebuilt enrolments decide: b left on 15 October.
			r, err := svc.ReportTraineeHours(auth.NewContext(ctx(t), operator5), &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: contract,
				Lines: []*fundingv1.ReportedLine{line("R6", b, day(time.November, 2), 30), line("R7", a, day(time.November, 2), 30)}})
			if err != nil || r.GetResults()[0].GetReason() != fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED || !r.GetResults()[1].GetAccepted() {
				t.Fatalf("after the rebuild: %v %v", r, err)
			}
		})
	}
}

// queries are the read-model queries, served over gRPC or called directly.
type queries interface {
	ListContracts(context.Context, *fundingv1.ListContractsRequest, ...grpc.CallOption) (*fundingv1.ListContractsResponse, error)
	GetStatement(context.Context, *fundingv1.GetStatementRequest, ...grpc.CallOption) (*fundingv1.GetStatementResponse, error)
	ExportStatement(context.Context, *fundingv1.ExportStatementRequest, ...grpc.CallOption) (*fundingv1.ExportStatementResponse, error)
	GetBudget(context.Context, *fundingv1.GetBudgetRequest, ...grpc.CallOption) (*fundingv1.GetBudgetResponse, error)
}

// direct calls a service that serves no gRPC.
type direct struct{ svc *service.Service }

func (d direct) ListContracts(c context.Context, r *fundingv1.ListContractsRequest, _ ...grpc.CallOption) (*fundingv1.ListContractsResponse, error) {
	return d.svc.ListContracts(c, r)
}

func (d direct) GetStatement(c context.Context, r *fundingv1.GetStatementRequest, _ ...grpc.CallOption) (*fundingv1.GetStatementResponse, error) {
	return d.svc.GetStatement(c, r)
}

func (d direct) ExportStatement(c context.Context, r *fundingv1.ExportStatementRequest, _ ...grpc.CallOption) (*fundingv1.ExportStatementResponse, error) {
	return d.svc.ExportStatement(c, r)
}

func (d direct) GetBudget(c context.Context, r *fundingv1.GetBudgetRequest, _ ...grpc.CallOption) (*fundingv1.GetBudgetResponse, error) {
	return d.svc.GetBudget(c, r)
}

func snapshot(t *testing.T, c context.Context, q queries, contract string) []proto.Message {
	t.Helper()
	list, err := q.ListContracts(c, &fundingv1.ListContractsRequest{})
	if err != nil || len(list.GetContracts()) != 1 || len(list.GetContracts()[0].GetClosedPeriods()) != 1 {
		t.Fatalf("contracts: %v %v", list, err)
	}
	out := []proto.Message{list}
	for _, p := range []*commonv1.Month{october, november} {
		st, err := q.GetStatement(c, &fundingv1.GetStatementRequest{ContractId: contract, Period: p, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		exp, err := q.ExportStatement(c, &fundingv1.ExportStatementRequest{ContractId: contract, Period: p})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st, exp)
	}
	oct := out[1].(*fundingv1.GetStatementResponse).GetStatement()
	if oct.GetLineCount() != 6 || oct.GetTotals().GetAnomalyCount() != 1 || !oct.GetClosed() {
		t.Fatalf("october: %v", oct)
	}
	budget, err := q.GetBudget(c, &fundingv1.GetBudgetRequest{ContractId: contract})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, budget)
}
