package domain_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// What Standings says of a learner's facts is what a claim then decides:
// the first claimable fact is the one a claim takes; with none, the claim
// is refused as already paid when every fact is paid, else with the first
// not eligible fact's reason. Tried over learners, fact dates, payments,
// closed periods and today.
func TestStandingsAgreeWithDecideFee(t *testing.T) {
	learners := enrolled()
	dates := []civil.Date{day(time.January, 2), day(time.February, 10), day(time.April, 15), day(time.June, 1)}
	payments := []map[string]domain.Payment{
		nil,
		{"f0": {ContractID: "c-1", OperatorID: "op-1", LineID: "x"}},
		{"f1": {ContractID: "c-2", OperatorID: "op-2", LineID: "y"}},
		{"f0": {ContractID: "c-2", OperatorID: "op-2", LineID: "y"}, "f1": {ContractID: "c-1", OperatorID: "op-1", LineID: "z"}},
	}
	closed := []domain.Closed{nil, {month(time.February): true}, {}}
	for m := time.April; m <= time.December; m++ {
		closed[2][month(m)] = true // April onwards: nothing can bill them
	}
	days := []civil.Date{today, day(time.March, 1)}
	n := 0
	for _, id := range []string{"l-1", "l-2", "l-3", "l-4", "l-9"} {
		for i, d0 := range dates {
			for _, d1 := range dates[i:] {
				facts := []domain.Fact{{Type: domain.FeeNeedsAnalysisCompleted, Ref: "f0", Date: d0}, {Type: domain.FeeNeedsAnalysisCompleted, Ref: "f1", Date: d1}}
				for _, paid := range payments {
					for _, cl := range closed {
						for _, now := range days {
							n++
							c := domain.ClaimFee{
								LedgerID: "fl", ContractID: "c-1", LearnerID: id, RequestID: "r", LineID: "L", Type: domain.FeeNeedsAnalysisCompleted,
								Terms: terms(), Facts: facts, Learner: learners.Get(id), Closed: cl, Today: now,
								Paid: func(x domain.Fact) (domain.Payment, bool) { p, ok := paid[x.Ref]; return p, ok },
							}
							sts := domain.Standings(nil, c)
							_, r, err := domain.DecideFee(nil, c)
							if err != nil {
								t.Fatal(err)
							}
							want := expected(sts)
							if r.Reason != want {
								t.Fatalf("%s facts %v paid %v closed %v today %s: standings %+v, claim %+v", id, facts, paid, cl, now, sts, r)
							}
						}
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}

// expected is the claim's outcome the standings announce.
func expected(sts []domain.Standing) domain.Rejection {
	if len(sts) == 0 {
		return domain.RejectFactNotFound
	}
	var first *domain.Standing
	for i, st := range sts {
		switch st.State {
		case domain.FactClaimable:
			return domain.RejectNone
		case domain.FactNotEligible:
			if first == nil {
				first = &sts[i]
			}
		}
	}
	if first == nil {
		return domain.RejectFactAlreadyPaid
	}
	return first.Reason
}
