package service_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/service"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// Report batches racing on the same learner-day, over the real backbone,
// never bill more than the daily cap: the day's minutes are decided by one
// ledger aggregate. Each batch also carries lines of other learners, so
// that the batches' ledgers are decided in parallel; half of the batches
// go through a second process.
func TestRacingReportsNeverExceedTheDailyCap(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5 := e.as(t, operator5)
	contract := createContract(t, e, terms("op-5"))
	a := learner(t, e, day(time.September, 1), contract)
	others := make([]string, 8)
	for i := range others {
		others[i] = learner(t, e, day(time.September, 1), contract)
	}
	e.CaughtUp(t)
	// A second process on the same backbone and read models: its commands
	// conflict with the first's instead of queuing behind them.
	other, err := service.New(e.Deps, service.Config{})
	if err != nil {
		t.Fatal(err)
	}
	asOp5 := auth.NewContext(ctx(t), operator5)

	const batches, perBatch = 16, 3 // 48 lines of 45 minutes on one day: 9 fit in 420
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for b := range batches {
		wg.Go(func() {
			var lines []*fundingv1.ReportedLine
			for i := range perBatch {
				lines = append(lines, line(fmt.Sprintf("race-%d-%d", b, i), a, day(time.October, 5), 45))
			}
			for i, o := range others {
				lines = append(lines, line(fmt.Sprintf("other-%d-%d", b, i), o, day(time.October, 5+b%5), 30))
			}
			req := &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: contract, Lines: lines}
			var (
				resp *fundingv1.ReportTraineeHoursResponse
				err  error
			)
			for range 20 { // Aborted asks the client to retry the same request
				if b%2 == 0 {
					resp, err = op5.ReportTraineeHours(ctx(t), req)
				} else {
					resp, err = other.ReportTraineeHours(asOp5, req)
				}
				if status.Code(err) != codes.Aborted && apperr.KindOf(err) != apperr.KindAborted {
					break
				}
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range resp.GetResults()[:perBatch] {
				switch {
				case r.GetAccepted():
					accepted++
				case r.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED:
					t.Errorf("line %v", r)
				}
			}
		})
	}
	wg.Wait()
	if accepted != 420/45 {
		t.Fatalf("%d lines of 45 minutes accepted on one day, want %d", accepted, 420/45)
	}
	e.CaughtUp(t)
	var minutes int32
	for _, l := range statement(t, op5, contract, october).GetLines() {
		if l.GetLearnerId() == a && l.GetStatus() == fundingv1.LineStatus_LINE_STATUS_BILLED {
			minutes += l.GetMinutes()
		}
	}
	if minutes != 405 {
		t.Fatalf("%d minutes billed on the day, want 405", minutes)
	}
}

// Two operators, each under its own contract and on its own process,
// race many report batches on the same learner-days: together they never
// bill more than the scheme's caps — 420 minutes a day, 2,100 a week —
// nor either more than its contract's own, as the stored events, replayed,
// show; and the week's cap is reached, since every learner-week is decided
// by one aggregate whatever the contract.
func TestTwoOperatorsRacingNeverExceedTheCapsTogether(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	// Each contract caps a learner's day at 225 minutes (five lines): the
	// scheme's 405 a day (nine lines) takes both.
	t1, t3 := termsIn("op-a", "T05"), termsIn("op-b", "T05")
	t1.DailyCapMinutes, t3.DailyCapMinutes = 225, 225
	c1, c3 := createContract(t, e, t1), createContract(t, e, t3)
	learners := make([]string, 3)
	for i := range learners {
		learners[i] = learner(t, e, day(time.September, 1), c1, c3)
	}
	e.CaughtUp(t)
	other, err := service.New(e.Deps, service.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := e.as(t, opA)
	asB := auth.NewContext(ctx(t), opB)
	// Monday 5 to Saturday 10 October (ISO week 41): six days of 45-minute
	// lines, two per learner and day in every batch, 8 batches each.
	days := make([]civil.Date, 6)
	for i := range days {
		days[i] = day(time.October, 5+i)
	}
	const batches = 8
	var wg sync.WaitGroup
	for op := range 2 {
		for b := range batches {
			wg.Go(func() {
				var lines []*fundingv1.ReportedLine
				for _, l := range learners {
					for _, d := range days {
						for k := range 2 {
							lines = append(lines, line(fmt.Sprintf("op%d-%d-%s-%s-%d", op, b, l[len(l)-6:], d, k), l, d, 45))
						}
					}
				}
				req := &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), Lines: lines}
				var err error
				for range 20 { // Aborted asks the client to retry the same request
					if op == 0 {
						req.ContractId = c1
						_, err = a.ReportTraineeHours(ctx(t), req)
					} else {
						req.ContractId = c3
						_, err = other.ReportTraineeHours(asB, req)
					}
					if status.Code(err) != codes.Aborted && apperr.KindOf(err) != apperr.KindAborted {
						break
					}
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()

	// Replay every stored trainee-hour event.
	type learnerDay struct {
		contract, learner string
		day               civil.Date
	}
	perDay := map[learnerDay]int{} // every contract's under contract ""
	perWeek := map[string]int{}
	for _, ev := range e.Events(t, "FUNDING", "avenir.funding.hours.>") {
		m, ok := ev.Data.(*fundingv1.TraineeHoursReported)
		if !ok {
			t.Fatalf("unexpected %s", ev.Subject)
		}
		for _, l := range m.GetLines() {
			d := civilpb.Date(l.GetDate())
			perDay[learnerDay{"", m.GetLearnerId(), d}] += int(l.GetMinutes())
			perDay[learnerDay{m.GetContractId(), m.GetLearnerId(), d}] += int(l.GetMinutes())
			perWeek[m.GetLearnerId()] += int(l.GetMinutes())
		}
	}
	for k, n := range perDay {
		if (k.contract == "" && n > 420) || (k.contract != "" && n > 225) {
			t.Fatalf("%d minutes for %s on %s under %q", n, k.learner, k.day, k.contract)
		}
	}
	for _, l := range learners {
		// 46 lines of 45 minutes fit in 2,100; a week falls short only if
		// each of its six days is full (54 lines), which it cannot be.
		if perWeek[l] != 46*45 {
			t.Fatalf("%d minutes for %s in the week, want %d", perWeek[l], l, 46*45)
		}
	}
}
