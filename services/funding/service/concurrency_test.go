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
	a := learner(t, e, day(time.September, 1))
	others := make([]string, 8)
	for i := range others {
		others[i] = learner(t, e, day(time.September, 1))
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
