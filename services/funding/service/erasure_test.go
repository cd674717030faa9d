package service_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// booksProjection is the books read model (service.go).
const booksProjection = "funding-books-v3"

// billing is every figure of the contracts that an erasure must leave as
// it is, to the cent: the statements with their lines, their exports, the
// budgets, the statements listed with their totals, the learners' lines.
func billing(t *testing.T, c context.Context, q interface {
	queries
	ListStatements(context.Context, *fundingv1.ListStatementsRequest, ...grpc.CallOption) (*fundingv1.ListStatementsResponse, error)
	ListLearnerLines(context.Context, *fundingv1.ListLearnerLinesRequest, ...grpc.CallOption) (*fundingv1.ListLearnerLinesResponse, error)
}, contracts []string, learners ...string) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, contract := range contracts {
		for _, p := range []*commonv1.Month{october, november} {
			st, err := q.GetStatement(c, &fundingv1.GetStatementRequest{ContractId: contract, Period: p, PageSize: 5000})
			if err != nil {
				t.Fatal(err)
			}
			exp, err := q.ExportStatement(c, &fundingv1.ExportStatementRequest{ContractId: contract, Period: p})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, st, exp)
		}
		budget, err := q.GetBudget(c, &fundingv1.GetBudgetRequest{ContractId: contract})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, budget)
	}
	for _, p := range []*commonv1.Month{october, november} {
		list, err := q.ListStatements(c, &fundingv1.ListStatementsRequest{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, list)
	}
	for _, l := range learners {
		lines, err := q.ListLearnerLines(c, &fundingv1.ListLearnerLinesRequest{LearnerId: l})
		if err != nil || len(lines.GetLines()) == 0 {
			t.Fatalf("lines of %s: %v, %v", l, lines, err)
		}
		out = append(out, lines)
	}
	return out
}

func sameBilling(t *testing.T, what string, got, want []proto.Message) {
	t.Helper()
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: figure %d differs:\n%v\nwant\n%v", what, i, got[i], want[i])
		}
	}
}

// noCopyOf checks that no event the books log holds carries text.
func noCopyOf(t *testing.T, store projection.Store, contract, text string) {
	t.Helper()
	n, err := store.Get(ctx(t), booksProjection, "books:"+contract)
	if err != nil {
		t.Fatal(err)
	}
	count, _ := strconv.Atoi(string(n))
	if count == 0 {
		t.Fatal("the books log is empty")
	}
	for i := range count {
		b, err := store.Get(ctx(t), booksProjection, "log:"+contract+":"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(text)) {
			t.Fatalf("the books log holds %q in event %d", text, i)
		}
	}
}

// A learner's erasure changes nothing in billing, to the cent, live and
// after a rebuild from the streams, where the correction's reason then
// reads empty; the read models never held the reason; a correction of the
// erased learner's lines is refused.
func TestErasureLeavesBillingUnchanged(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, kind)
			e := start(t, servicetest.Options{Store: fresh()})
			// Funding reads nothing of INTAKE: the stream is the test's.
			if _, err := natsx.EnsureStream(ctx(t), e.JS, natsx.StreamSpec{Name: "INTAKE", Subjects: []string{"avenir.intake.>"}, Description: "intake"},
				natsx.Topology{Replicas: 1}); err != nil {
				t.Fatal(err)
			}
			const reason = "hospitalisée le 5 octobre"
			c1, c2, a, b := billLearners(t, e, reason)
			contracts := []string{c1, c2}
			admin := auth.NewContext(ctx(t), servicetest.Admin)
			before := billing(t, admin, e.admin, contracts, a, b)
			noCopyOf(t, e.Deps.Projections, c1, reason)

			e.Publish(t, "avenir.intake.learner."+a+".erased", &intakev1.LearnerErased{
				LearnerId: a, TerritoryCode: "T05", ErasedOn: civilpb.FromDate(today), Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "case 17",
			})
			if err := e.Keys.Erase(ctx(t), privacy.LearnerKey(a)); err != nil {
				t.Fatal(err)
			}
			e.CaughtUp(t)
			sameBilling(t, "after the erasure", billing(t, admin, e.admin, contracts, a, b), before)
			corrected := e.Events(t, service.Stream, "avenir.funding.hours.*.corrected")
			if len(corrected) != 1 || !corrected[0].Erased || corrected[0].Data.(*fundingv1.TraineeLineCorrected).GetReason() != "" {
				t.Fatalf("the correction still opens: %v", corrected)
			}
			_, err := e.as(t, operator5).CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: c1, LearnerId: a,
				Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "R1", OperatorLineId: "R1-fix2", Minutes: 90,
				Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, Reason: "again"})
			servicetest.Refused(t, err, codes.FailedPrecondition, domain.ReasonLearnerErased)

			store := fresh()
			svc := e.Rebuild(t, store, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			sameBilling(t, "rebuilt", billing(t, admin, direct{svc}, contracts, a, b), before)
			noCopyOf(t, store, c1, reason)
		})
	}
}

// A read model of an earlier version holding data is deleted by the job
// (run here by hand: it runs once at start, then hourly); the current ones
// are left alone.
func TestEarlierReadModelsAreDeleted(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	createContract(t, e, terms("op-5"))
	e.CaughtUp(t)
	store := e.Deps.Projections
	gen, err := store.Generation(ctx(t), "funding-books-v2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(ctx(t), "funding-books-v2", gen, 7, projection.Put("log:c:0", []byte("a reason"))); err != nil {
		t.Fatal(err)
	}
	if err := platform.RetireReadModels(ctx(t), store, e.Services[0].Wiring().Retired, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx(t), "funding-books-v2", "log:c:0"); !errors.Is(err, projection.ErrNotFound) {
		t.Fatalf("the earlier read model is still there: %v", err)
	}
	if cp, err := store.Checkpoint(ctx(t), "funding-books-v2"); err != nil || cp != 0 {
		t.Fatalf("the earlier read model's checkpoint: %d, %v", cp, err)
	}
	if cp, err := store.Checkpoint(ctx(t), booksProjection); err != nil || cp == 0 {
		t.Fatalf("the current books: checkpoint %d, %v", cp, err)
	}
}

func (d direct) ListStatements(c context.Context, r *fundingv1.ListStatementsRequest, _ ...grpc.CallOption) (*fundingv1.ListStatementsResponse, error) {
	return d.svc.ListStatements(c, r)
}

func (d direct) ListLearnerLines(c context.Context, r *fundingv1.ListLearnerLinesRequest, _ ...grpc.CallOption) (*fundingv1.ListLearnerLinesResponse, error) {
	return d.svc.ListLearnerLines(c, r)
}
