package service_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, a command whose decision needs no read
// model (creating a contract) is stored and answered from the state it
// decided; every command that needs one (enrolments, closed periods, the
// lines of a statement) answers Unavailable and stores nothing; reads
// answer Unavailable. Once the store is back, the read models catch up by
// themselves, and each refused request, retried with the same request id,
// answers as a first run would. Nothing answers Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	e := start(t, servicetest.Options{Store: store})
	op5, fund := e.as(t, operator5), e.as(t, funder)
	contract := createContract(t, e, terms("op-5"))
	a := learner(t, e, day(time.September, 1), contract)
	e.Publish(t, "avenir.pathway.pathway."+a+".needs_analysis_noted",
		&pathwayv1.NeedsAnalysisNoted{LearnerId: a, EpisodeNumber: 1, AnalysisId: "an-1", CompletedOn: civilpb.FromDate(day(time.October, 2)), TerritoryCode: "T05"})
	e.CaughtUp(t)
	week41 := &fundingv1.ReportTraineeHoursRequest{RequestId: "week-41", ContractId: contract, Lines: []*fundingv1.ReportedLine{line("L1", a, day(time.October, 5), 120)}}
	first, err := op5.ReportTraineeHours(ctx(t), week41)
	if err != nil || first.GetAccepted() != 1 {
		t.Fatalf("report: %v %v", first, err)
	}
	e.CaughtUp(t)

	store.SetDown(true)
	created, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: "lot-6", Terms: terms("op-6")})
	if err != nil {
		t.Fatalf("create with the read models down: %v", err)
	}
	if c := created.GetContract(); c.GetContractId() == "" || c.GetTerms().GetOperatorId() != "op-6" || c.GetTerms().GetDailyCapMinutes() != 420 || len(c.GetClosedPeriods()) != 0 {
		t.Fatalf("create answered %v", c)
	}
	again, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: "lot-6", Terms: terms("op-6")})
	if err != nil || !proto.Equal(again, created) {
		t.Fatalf("retried creation: %v %v", again, err)
	}
	// A report decides its lines from the enrolments: even its retry, which
	// answers its lines not stored by deciding them again, waits for them.
	if _, err := op5.ReportTraineeHours(ctx(t), week41); status.Code(err) != codes.Unavailable {
		t.Fatalf("replayed report with the read models down: %v, want Unavailable", err)
	}

	events := len(e.Events(t, "FUNDING", "avenir.funding.>"))
	update := terms("op-5")
	update.AnnualEnvelopeCents *= 2
	// Each command, and what its first run answers once the store is back.
	commands := []struct {
		name   string
		call   func() (proto.Message, error)
		answer func(proto.Message) bool
	}{
		{"update", func() (proto.Message, error) {
			return e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: "raise", ContractId: contract, Terms: update, Reason: "avenant 1"})
		}, func(m proto.Message) bool {
			return m.(*fundingv1.UpdateContractResponse).GetContract().GetTerms().GetAnnualEnvelopeCents() == update.GetAnnualEnvelopeCents()
		}},
		{"report", func() (proto.Message, error) {
			return op5.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: "week-42", ContractId: contract,
				Lines: []*fundingv1.ReportedLine{line("L2", a, day(time.October, 12), 60)}})
		}, func(m proto.Message) bool {
			r := m.(*fundingv1.ReportTraineeHoursResponse)
			return r.GetAccepted() == 1 && !r.GetResults()[0].GetAlreadyReported() && r.GetAcceptedAmountCents() == amount(60, rate)
		}},
		{"correct", func() (proto.Message, error) {
			return op5.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: "fix-1", ContractId: contract, LearnerId: a,
				Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "L1", OperatorLineId: "L1-fix", Minutes: 60,
				Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, Reason: "left early"})
		}, func(m proto.Message) bool {
			return m.(*fundingv1.CorrectLineResponse).GetAmountDeltaCents() == amount(60, rate)-amount(120, rate)
		}},
		{"group", func() (proto.Message, error) {
			return op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{RequestId: "group-1", ContractId: contract, GroupSessionId: "atelier-cv",
				OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)), Minutes: 90, Trainer: "Mme Durand", AttendeeLearnerIds: []string{a}})
		}, func(m proto.Message) bool {
			r := m.(*fundingv1.ReportGroupHoursResponse).GetResult()
			return r.GetAccepted() && !r.GetAlreadyReported() && r.GetAmountCents() == amount(90, 4000)
		}},
		{"claim", func() (proto.Message, error) {
			return op5.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: "claim-1", ContractId: contract, LearnerId: a,
				FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "F1"})
		}, func(m proto.Message) bool {
			r := m.(*fundingv1.ClaimFlatFeeResponse)
			return r.GetResult().GetAccepted() && r.GetFactRef() == "an-1"
		}},
		{"review", func() (proto.Message, error) {
			return fund.ReviewStatement(ctx(t), &fundingv1.ReviewStatementRequest{RequestId: "review-1", ContractId: contract, Period: october,
				Reviews: []*fundingv1.LineReview{{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: "L1", Reason: "no signature"}}})
		}, func(m proto.Message) bool {
			// L1 rejected; its correction, L2, G1 and F1 billed.
			tot := m.(*fundingv1.ReviewStatementResponse).GetStatement().GetTotals()
			return tot.GetAmountCents() == amount(60, rate)-amount(120, rate)+amount(60, rate)+amount(90, 4000)+20000
		}},
		{"close", func() (proto.Message, error) {
			return fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: "close-1", ContractId: contract, Period: october})
		}, func(m proto.Message) bool {
			st := m.(*fundingv1.CloseStatementResponse).GetStatement()
			return st.GetClosed() && st.GetClosedOn().GetDay() == 26 && st.GetLineCount() == 5
		}},
	}
	for _, c := range commands {
		if _, err := c.call(); status.Code(err) != codes.Unavailable {
			t.Errorf("%s with the read models down: %v, want Unavailable", c.name, err)
		}
	}
	if n := len(e.Events(t, "FUNDING", "avenir.funding.>")); n != events {
		t.Fatalf("refused commands appended %d events", n-events)
	}
	reads := []struct {
		name string
		call func() error
	}{
		{"get contract", func() error {
			_, err := op5.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: contract})
			return err
		}},
		{"list contracts", func() error {
			_, err := fund.ListContracts(ctx(t), &fundingv1.ListContractsRequest{})
			return err
		}},
		{"statement", func() error {
			_, err := op5.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: contract, Period: october, PageSize: 10})
			return err
		}},
		{"export", func() error {
			_, err := fund.ExportStatement(ctx(t), &fundingv1.ExportStatementRequest{ContractId: contract, Period: october})
			return err
		}},
		{"budget", func() error {
			_, err := op5.GetBudget(ctx(t), &fundingv1.GetBudgetRequest{ContractId: contract})
			return err
		}},
	}
	for _, r := range reads {
		if err := r.call(); status.Code(err) != codes.Unavailable {
			t.Errorf("%s with the read models down: %v, want Unavailable", r.name, err)
		}
	}

	// Back up: the contract created while the store was down is listed,
	// and every refused command goes through as a first run.
	store.SetDown(false)
	e.CaughtUp(t)
	list, err := fund.ListContracts(ctx(t), &fundingv1.ListContractsRequest{})
	if err != nil || len(list.GetContracts()) != 2 {
		t.Fatalf("contracts after the store came back: %v %v", list, err)
	}
	for _, c := range commands {
		// A review and a close decide on the lines the statement (the books
		// read model) shows: they come after the reports were applied.
		e.CaughtUp(t)
		m, err := c.call()
		if err != nil || !c.answer(m) {
			t.Errorf("%s retried with the store back: %v %v", c.name, m, err)
		}
	}
	// One event each, and the fee's uniqueness claim of its fact.
	if n := len(e.Events(t, "FUNDING", "avenir.funding.>")) - events; n != len(commands)+1 || len(e.Events(t, "FUNDING", "avenir.funding.fact.>")) != 1 {
		t.Fatalf("the retried commands appended %d events, want one each and the fact's claim (%d)", n, len(commands)+1)
	}
	if again, err := op5.ReportTraineeHours(ctx(t), week41); err != nil || !proto.Equal(again, first) {
		t.Fatalf("the first report retried: %v %v, want %v", again, err, first)
	}
	e.CaughtUp(t)
	st := statement(t, fund, contract, october)
	if !st.GetClosed() || st.GetLineCount() != 5 || lineStatus(st, "L1") != fundingv1.LineStatus_LINE_STATUS_REJECTED {
		t.Fatalf("october after the retries: %v", st)
	}
}
