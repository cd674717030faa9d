package service_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The operators: op-a holds C1 (T05), op-b C2 (T01) and, for the
// cases where a learner of T05 is placed with both, C3 (T05).
var (
	opA = auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}
	opB = auth.Principal{Subject: "u-op-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05"}}
)

func termsIn(operator string, territories ...string) *fundingv1.ContractTerms {
	tm := terms(operator)
	tm.TerritoryCodes = territories
	return tm
}

// monday2 is Monday 2 November 2026 (ISO week 45).
var monday2 = day(time.November, 2)

func rejected(t *testing.T, r *fundingv1.LineResult, reason fundingv1.RejectionReason, details ...string) {
	t.Helper()
	if r.GetAccepted() || r.GetReason() != reason {
		t.Fatalf("line %v, want rejected %v", r, reason)
	}
	for _, d := range details {
		if !strings.Contains(r.GetDetail(), d) {
			t.Fatalf("detail %q, want it to say %q", r.GetDetail(), d)
		}
	}
}

func claim(t *testing.T, c fundingv1.FundingServiceClient, contract, learner, lineID string, typ fundingv1.FeeType) *fundingv1.ClaimFlatFeeResponse {
	t.Helper()
	resp, err := c.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: contract, LearnerId: learner, FeeType: typ, OperatorLineId: lineID})
	if err != nil {
		t.Fatalf("ClaimFlatFee: %v", err)
	}
	return resp
}

func groupLine(t *testing.T, c fundingv1.FundingServiceClient, contract, lineID string, d civil.Date, attendees ...string) *fundingv1.LineResult {
	t.Helper()
	resp, err := c.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{RequestId: event.NewID(), ContractId: contract, GroupSessionId: "atelier",
		OperatorLineId: lineID, Date: civilpb.FromDate(d), Minutes: 60, Trainer: "Mme Durand", AttendeeLearnerIds: attendees})
	if err != nil {
		t.Fatalf("ReportGroupHours: %v", err)
	}
	return resp.GetResult()
}

func noteAnalysis(t *testing.T, e *env, learner, analysis string, completed civil.Date) {
	t.Helper()
	e.Publish(t, "avenir.pathway.pathway."+learner+".needs_analysis_noted",
		&pathwayv1.NeedsAnalysisNoted{LearnerId: learner, EpisodeNumber: 1, AnalysisId: analysis, CompletedOn: civilpb.FromDate(completed), TerritoryCode: "T05"})
}

// An operator bills only for the learners enrolled with its contract on
// the line's date, living in the contract's lot, for days that happened.
func TestOnlyLearnersEnrolledWithTheContractAreBilled(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	a, b := e.as(t, opA), e.as(t, opB)
	c1, c2 := createContract(t, e, termsIn("op-a", "T05")), createContract(t, e, termsIn("op-b", "T01"))
	l := learner(t, e, day(time.September, 1), c1)
	m := learnerIn(t, e, "T01", day(time.September, 1), c2)
	noteAnalysis(t, e, l, "an-1", day(time.September, 20))
	e.CaughtUp(t)

	// op-b's hours, fee and group line for L on C2: L is op-a's.
	r := report(t, b, c2, line("B1", l, monday2, 60), line("B2", m, monday2, 60))
	rejected(t, r.GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED,
		"no enrolment with contract "+c2+" on 2026-11-02", "enrolled with contract "+c1+" that day")
	if !r.GetResults()[1].GetAccepted() {
		t.Fatalf("M's line on C2: %v", r.GetResults()[1])
	}
	rejected(t, claim(t, b, c2, l, "FB1", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED).GetResult(),
		fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED, "fact an-1 of 2026-09-20", "enrolled with contract "+c1)
	rejected(t, groupLine(t, b, c2, "GB1", monday2, m, l), fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED,
		"1 of 2 attendees had no enrolment with contract "+c2+" on 2026-11-02: "+l)
	// op-a bills L.
	if r := report(t, a, c1, line("A1", l, monday2, 60)); !r.GetResults()[0].GetAccepted() {
		t.Fatalf("op-a's line for L: %v", r.GetResults()[0])
	}

	// An enrolment of L with C2 (whose lot is T01) does not make L billable
	// there: L lives in T05.
	e.enrol(t, l, "T05", c2, day(time.October, 1))
	e.CaughtUp(t)
	rejected(t, report(t, b, c2, line("B3", l, monday2, 60)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_TERRITORY_NOT_IN_LOT,
		"lives in territory T05, not in the lot of contract "+c2+" (T01)")
	rejected(t, groupLine(t, b, c2, "GB2", monday2, m, l), fundingv1.RejectionReason_REJECTION_REASON_TERRITORY_NOT_IN_LOT, l)

	// No day after today (26 November, Europe/Paris): hours and group hours.
	tomorrow := today.AddDays(1)
	rejected(t, report(t, a, c1, line("A2", l, tomorrow, 60), line("A3", l, today, 60)).GetResults()[0],
		fundingv1.RejectionReason_REJECTION_REASON_DATE_IN_FUTURE, "2026-11-27 is after today (2026-11-26)")
	rejected(t, groupLine(t, a, c1, "GA1", tomorrow, l), fundingv1.RejectionReason_REJECTION_REASON_DATE_IN_FUTURE)
	if r := groupLine(t, a, c1, "GA2", today, l); !r.GetAccepted() {
		t.Fatalf("a group line of today: %v", r)
	}
	// A refused line stores nothing: A1, A3, M's B2 and the group line.
	var lines int
	for _, ev := range e.Events(t, "FUNDING", "avenir.funding.hours.>") {
		lines += len(ev.Data.(*fundingv1.TraineeHoursReported).GetLines())
	}
	if lines != 3 {
		t.Fatalf("%d trainee-hour lines stored, want 3", lines)
	}
}

// A learner's minutes are capped across contracts: 420 a day and 2,100 a
// week in total, an immersion day with its outcome recorded counting.
func TestCapsHoldAcrossContractsAndImmersions(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	a, b := e.as(t, opA), e.as(t, opB)
	c1, c3 := createContract(t, e, termsIn("op-a", "T05")), createContract(t, e, termsIn("op-b", "T05"))
	l := learner(t, e, day(time.September, 1), c1, c3)
	e.CaughtUp(t)

	// 300 minutes on C1, then 300 the same day on C3.
	if r := report(t, a, c1, line("A1", l, monday2, 300)); !r.GetResults()[0].GetAccepted() {
		t.Fatalf("C1: %v", r)
	}
	rejected(t, report(t, b, c3, line("B1", l, monday2, 300)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED,
		fmt.Sprintf("600 minutes on 2026-11-02 across contracts %s: over the daily cap of 420", shares(map[string]int{c1: 300, c3: 300})))
	if r := report(t, b, c3, line("B2", l, monday2, 120)); !r.GetResults()[0].GetAccepted() {
		t.Fatalf("C3 up to the cap: %v", r)
	}
	// A correction adding minutes counts the other contract's too.
	corr, err := a.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: c1, LearnerId: l, Date: civilpb.FromDate(monday2),
		CorrectsLineId: "A1", OperatorLineId: "A1-fix", Minutes: 301, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, Reason: "forgot a minute"})
	if err != nil {
		t.Fatal(err)
	}
	rejected(t, corr.GetResult(), fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED, "421 minutes on 2026-11-02 across contracts")

	// An #Action immersion on Tuesday and Wednesday, completed: its 420
	// minutes fill both days. A partially completed one, present on the
	// Thursday only, counts that day. A no-show counts nothing.
	immersion := func(from, to civil.Date, daily int32, status immersionv1.OutcomeStatus, last civil.Date) string {
		session := event.NewID()
		e.Publish(t, "avenir.immersion.session."+session+".scheduled", &immersionv1.SessionScheduled{
			SessionId: session, OfferId: event.NewID(), OperatorId: "op-plateau", TerritoryCode: "T05",
			FromDate: civilpb.FromDate(from), ToDate: civilpb.FromDate(to), DailyMinutes: daily, Capacity: 10,
		})
		e.Publish(t, "avenir.immersion.session."+session+".outcome_recorded", &immersionv1.OutcomeRecorded{
			SessionId: session, LearnerId: l, Status: status, LastDayPresent: civilpb.FromDate(last),
		})
		return session
	}
	immersion(monday2.AddDays(1), monday2.AddDays(2), 420, immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, civil.Date{})
	immersion(monday2.AddDays(3), monday2.AddDays(4), 400, immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED, monday2.AddDays(3))
	immersion(monday2.AddDays(5), monday2.AddDays(5), 420, immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW, civil.Date{})
	e.CaughtUp(t)
	r := report(t, b, c3, line("B3", l, monday2.AddDays(1), 30), line("B4", l, monday2.AddDays(3), 21), line("B5", l, monday2.AddDays(3), 20),
		line("B6", l, monday2.AddDays(5), 420))
	rejected(t, r.GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED,
		fmt.Sprintf("450 minutes on 2026-11-03 across contracts %s (30), immersion (420): over the daily cap of 420", c3))
	rejected(t, r.GetResults()[1], fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED, "immersion (400)")
	if !r.GetResults()[2].GetAccepted() || !r.GetResults()[3].GetAccepted() {
		t.Fatalf("the rest of Thursday and the no-show's Saturday: %v", r.GetResults())
	}
	// The week: 420 on Monday, 840 of immersion on Tuesday and Wednesday,
	// 420 on Thursday (400 of immersion) and 420 on Saturday: 2,100, the
	// cap.
	rejected(t, report(t, a, c1, line("A2", l, monday2.AddDays(4), 1)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_WEEKLY_CAP_EXCEEDED,
		"2101 minutes in week 2026-W45 across contracts", "immersion (1240)", "over the weekly cap of 2100")

	// The learner's ledger of a week is every contract's: two operators
	// may use the same request id, each report is its own.
	for i, r := range []struct {
		c        fundingv1.FundingServiceClient
		contract string
	}{{a, c1}, {b, c3}} {
		resp, err := r.c.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: "week-46", ContractId: r.contract,
			Lines: []*fundingv1.ReportedLine{line(fmt.Sprint("W46-", i), l, monday2.AddDays(7), 60)}})
		if err != nil || !resp.GetResults()[0].GetAccepted() || resp.GetResults()[0].GetAlreadyReported() {
			t.Fatalf("report %d with a request id the other operator used: %v %v", i, resp, err)
		}
	}
	// A cancelled booking never counts.
	cancelled := immersion(monday2.AddDays(8), monday2.AddDays(8), 420, immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, civil.Date{})
	e.Publish(t, "avenir.immersion.session."+cancelled+".booking_cancelled", &immersionv1.BookingCancelled{
		SessionId: cancelled, LearnerId: l, Cause: immersionv1.CancellationCause_CANCELLATION_CAUSE_ADMIN,
	})
	e.CaughtUp(t)
	if r := report(t, b, c3, line("B7", l, monday2.AddDays(8), 420)).GetResults()[0]; !r.GetAccepted() {
		t.Fatalf("a day whose immersion booking was cancelled: %v", r)
	}
}

// shares spells contracts' shares as a cap's detail does: by contract id.
func shares(m map[string]int) string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	if len(ids) == 2 && ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s (%d)", id, m[id])
	}
	return strings.Join(parts, ", ")
}

// A fact pays its fee of a type once, whatever the contract: to the first
// operator the learner was enrolled with that claims it. Two operators
// racing for it: one is paid.
func TestAFactPaysItsFeeOnceAcrossContracts(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	a, b := e.as(t, opA), e.as(t, opB)
	c1, c3 := createContract(t, e, termsIn("op-a", "T05")), createContract(t, e, termsIn("op-b", "T05"))
	l := learner(t, e, day(time.September, 1), c1, c3)
	noteAnalysis(t, e, l, "an-1", day(time.September, 20))
	e.CaughtUp(t)

	first := claim(t, a, c1, l, "FA1", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED)
	if !first.GetResult().GetAccepted() || first.GetFactRef() != "an-1" {
		t.Fatalf("op-a's claim %v", first)
	}
	rejected(t, claim(t, b, c3, l, "FB1", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED).GetResult(), fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID,
		"the fee of fact an-1 (2026-09-20) was already paid under contract "+c1+" (operator op-a, claim FA1)")
	rejected(t, claim(t, a, c1, l, "FA2", fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED).GetResult(), fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID,
		"already paid under this contract (claim FA1)")
	claims := e.Events(t, "FUNDING", "avenir.funding.fact.>")
	if len(claims) != 1 {
		t.Fatalf("%d fact claims", len(claims))
	}
	if m := claims[0].Data.(*fundingv1.FactFeeClaimed); m.GetContractId() != c1 || m.GetFactRef() != "an-1" || m.GetOperatorLineId() != "FA1" {
		t.Fatalf("fact claim %v", m)
	}

	// A second analysis: both operators claim it at once, on two processes.
	noteAnalysis(t, e, l, "an-2", day(time.October, 20))
	e.CaughtUp(t)
	other, err := service.New(e.Deps, service.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []*fundingv1.LineResult
	)
	for i, call := range []func() (*fundingv1.ClaimFlatFeeResponse, error){
		func() (*fundingv1.ClaimFlatFeeResponse, error) {
			return a.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: "race-a", ContractId: c1, LearnerId: l,
				FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "FA3"})
		},
		func() (*fundingv1.ClaimFlatFeeResponse, error) {
			return other.ClaimFlatFee(auth.NewContext(ctx(t), opB), &fundingv1.ClaimFlatFeeRequest{RequestId: "race-b", ContractId: c3, LearnerId: l,
				FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "FB2"})
		},
	} {
		wg.Go(func() {
			var (
				resp *fundingv1.ClaimFlatFeeResponse
				err  error
			)
			for range 20 {
				if resp, err = call(); status.Code(err) != codes.Aborted && apperr.KindOf(err) != apperr.KindAborted {
					break
				}
			}
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			results = append(results, resp.GetResult())
		})
	}
	wg.Wait()
	paid := 0
	for _, r := range results {
		switch {
		case r.GetAccepted():
			paid++
		case r.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID:
			t.Fatalf("racing claim %v", r)
		}
	}
	if paid != 1 || len(e.Events(t, "FUNDING", "avenir.funding.fact.>")) != 2 {
		t.Fatalf("%d racing claims paid of %v", paid, results)
	}
}

// An enrolment ended with a last day before lines already billed turns
// those lines into anomalies; lines of other contracts stay billed, and so
// does an enrolment ended by the pathway's exit (left to the back-dated
// exit, whose anomalies are EXIT_BACKDATED).
func TestAnEnrolmentEndedEarlyTurnsLaterLinesIntoAnomalies(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	a, b, fund := e.as(t, opA), e.as(t, opB), e.as(t, funder)
	c1, c3 := createContract(t, e, termsIn("op-a", "T05")), createContract(t, e, termsIn("op-b", "T05"))
	l := learner(t, e, day(time.September, 1), c1, c3)
	e.CaughtUp(t)
	report(t, a, c1, line("A1", l, day(time.October, 5), 60), line("A2", l, day(time.October, 12), 60), line("A3", l, day(time.October, 20), 60))
	report(t, b, c3, line("B1", l, day(time.October, 12), 60))
	e.CaughtUp(t)

	e.endEnrolment(t, l, c1, day(time.October, 10), pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED)
	e.CaughtUp(t)
	flags := e.Events(t, "FUNDING", "avenir.funding.hours.*.flagged")
	if len(flags) != 2 {
		t.Fatalf("%d flagged events, want one per week after the end: 2", len(flags))
	}
	for _, f := range flags {
		if m := f.Data.(*fundingv1.TraineeLinesFlagged); m.GetReason() != fundingv1.AnomalyReason_ANOMALY_REASON_ENROLMENT_ENDED || m.GetContractId() != c1 {
			t.Fatalf("flagged %v", m)
		}
	}
	st := statement(t, fund, c1, october)
	for id, want := range map[string]fundingv1.LineStatus{
		"A1": fundingv1.LineStatus_LINE_STATUS_BILLED, "A2": fundingv1.LineStatus_LINE_STATUS_ANOMALY, "A3": fundingv1.LineStatus_LINE_STATUS_ANOMALY,
	} {
		if got := lineStatus(st, id); got != want {
			t.Fatalf("%s is %v, want %v", id, got, want)
		}
	}
	if l := lineOf(st, "A2"); l.GetAnomaly() != fundingv1.AnomalyReason_ANOMALY_REASON_ENROLMENT_ENDED {
		t.Fatalf("anomaly %v", l)
	}
	if lineStatus(statement(t, fund, c3, october), "B1") != fundingv1.LineStatus_LINE_STATUS_BILLED {
		t.Fatal("another contract's line was flagged")
	}
	rejected(t, report(t, a, c1, line("A4", l, day(time.October, 13), 60)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED,
		"enrolled with contract "+c3)

	// The exit on 14 October ends C3's enrolment: its later line is the
	// back-dated exit's anomaly.
	report(t, b, c3, line("B2", l, day(time.October, 15), 60))
	e.CaughtUp(t)
	exit(t, e, l, day(time.September, 1), day(time.October, 14), pathwayv1.ExitReason_EXIT_REASON_RELOCATION)
	st = statement(t, fund, c3, october)
	if lineStatus(st, "B1") != fundingv1.LineStatus_LINE_STATUS_BILLED || lineStatus(st, "B2") != fundingv1.LineStatus_LINE_STATUS_ANOMALY ||
		lineOf(st, "B2").GetAnomaly() != fundingv1.AnomalyReason_ANOMALY_REASON_EXIT_BACKDATED {
		t.Fatalf("C3 after the exit %v", st.GetLines())
	}
}

// Lines stored under the former ledgers (one contract's, learner's and
// week's) count against the caps of the learner's ledger of the week, are
// answered again as already reported, are corrected and flagged there, and
// stay on their statements.
func TestLinesOfTheFormerLedgersStillCount(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	a, b, fund := e.as(t, opA), e.as(t, opB), e.as(t, funder)
	c1, c3 := createContract(t, e, termsIn("op-a", "T05")), createContract(t, e, termsIn("op-b", "T05"))
	l := learner(t, e, day(time.September, 1), c1, c3)
	// As funding stored A1 under C1 before the learners' ledgers.
	w := domain.WeekOf(monday2)
	old := service.ContractHoursLedgerID(c1, l, w)
	e.Publish(t, "avenir.funding.hours."+old+".reported", &fundingv1.TraineeHoursReported{
		LedgerId: old, ContractId: c1, OperatorId: "op-a", LearnerId: l, IsoYear: int32(w.Year), IsoWeek: int32(w.Week), RequestId: "before",
		Lines: []*fundingv1.TraineeHourLine{{OperatorLineId: "A1", Date: civilpb.FromDate(monday2), Minutes: 300, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
			BillingPeriod: november, RatePerHourCents: rate, AmountCents: amount(300, rate)}},
	})
	e.CaughtUp(t)

	rejected(t, report(t, b, c3, line("B1", l, monday2, 200)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED,
		"500 minutes on 2026-11-02 across contracts")
	if r := report(t, a, c1, line("A1", l, monday2, 300)).GetResults()[0]; !r.GetAlreadyReported() {
		t.Fatalf("the former line again: %v", r)
	}
	rejected(t, report(t, a, c1, line("A1", l, monday2.AddDays(1), 30)).GetResults()[0], fundingv1.RejectionReason_REJECTION_REASON_DUPLICATE_LINE_ID)
	corr, err := a.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: c1, LearnerId: l, Date: civilpb.FromDate(monday2),
		CorrectsLineId: "A1", OperatorLineId: "A1-fix", Minutes: 100, Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, Reason: "half day"})
	if err != nil || !corr.GetResult().GetAccepted() {
		t.Fatalf("correcting the former line: %v %v", corr, err)
	}
	if r := report(t, b, c3, line("B1", l, monday2, 200)).GetResults()[0]; !r.GetAccepted() {
		t.Fatalf("C3 after the correction: %v", r)
	}
	e.CaughtUp(t)
	st := statement(t, fund, c1, november)
	if st.GetLineCount() != 2 || st.GetTotals().GetTraineeMinutes() != 100 || st.GetLines()[0].GetCorrectedByLineId() != "A1-fix" {
		t.Fatalf("C1's November %v", st)
	}
	// The enrolment with C1 ended on Sunday 1 November: the former line,
	// corrected, becomes an anomaly.
	e.endEnrolment(t, l, c1, monday2.AddDays(-1), pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED)
	e.CaughtUp(t)
	st = statement(t, fund, c1, november)
	if lineStatus(st, "A1") != fundingv1.LineStatus_LINE_STATUS_ANOMALY || lineStatus(st, "A1-fix") != fundingv1.LineStatus_LINE_STATUS_ANOMALY {
		t.Fatalf("C1's November after the enrolment ended %v", st.GetLines())
	}
	if n := len(e.Events(t, "FUNDING", "avenir.funding.hours."+old+".>")); n != 1 {
		t.Fatalf("%d events on the former ledger: it is read, never written", n)
	}
}
