package demo

import (
	"slices"
	"sync"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// books is what the simulation knows the funding service accepted: lines
// per contract and billing period (to wait for the statements' read model
// before reviewing them) and each learner's trainee-hour lines (to know
// which a late exit turns into anomalies).
type books struct {
	mu        sync.Mutex
	lines     map[stmtKey]int
	anomalies map[stmtKey]int
	hours     map[string][]hourLine // learner id -> accepted trainee-hour lines
	trainee   map[stmtKey][]string  // accepted trainee-hour line ids
	closed    map[stmtKey]bool
	billed    map[stmtKey]int64 // statements' billed amounts: closed, and open at the end
}

type stmtKey struct {
	contract string
	period   civil.Month
}

type hourLine struct {
	contract string
	id       string
	date     civil.Date
	period   civil.Month
}

func newBooks() *books {
	return &books{
		lines: map[stmtKey]int{}, anomalies: map[stmtKey]int{}, hours: map[string][]hourLine{},
		trainee: map[stmtKey][]string{}, closed: map[stmtKey]bool{}, billed: map[stmtKey]int64{},
	}
}

func monthOf(p *commonv1.Month) civil.Month {
	return civil.Month{Year: int(p.GetYear()), Month: timeMonth(p.GetMonth())}
}

// accepted records an accepted line (not one answered again).
func (b *books) accepted(contract string, r *fundingv1.LineResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines[stmtKey{contract, monthOf(r.GetBillingPeriod())}]++
}

func (b *books) acceptedHour(contract, learner string, date civil.Date, r *fundingv1.LineResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := stmtKey{contract, monthOf(r.GetBillingPeriod())}
	b.lines[k]++
	b.trainee[k] = append(b.trainee[k], r.GetOperatorLineId())
	b.hours[learner] = append(b.hours[learner], hourLine{contract: contract, id: r.GetOperatorLineId(), date: date, period: k.period})
}

// exitedLate counts the accepted lines of learner dated after exit: the
// funding service flags them as anomalies.
func (b *books) exitedLate(learner string, exit civil.Date) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range b.hours[learner] {
		if h.date.After(exit) {
			b.anomalies[stmtKey{h.contract, h.period}]++
		}
	}
}

func (b *books) expect(k stmtKey) (lines, anomalies int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines[k], b.anomalies[k]
}

func (b *books) traineeLines(k stmtKey) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.trainee[k]...)
}

func (b *books) isClosed(k stmtKey) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed[k]
}

// close records a statement closed with its billed amount.
func (b *books) close(k stmtKey, billed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed[k] = true
	b.billed[k] = billed
}

// open records the billed amount of a statement still open at the end.
func (b *books) open(k stmtKey, billed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.billed[k] = billed
}

// billedIn sums the billed amounts of the statements of contracts whose
// period is month m (in every month of year when m.Month is 0).
func (b *books) billedIn(contracts []string, year int, month time.Month) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for k, v := range b.billed {
		if k.period.Year == year && (month == 0 || k.period.Month == month) && slices.Contains(contracts, k.contract) {
			n += v
		}
	}
	return n
}
