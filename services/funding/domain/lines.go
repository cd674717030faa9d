package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Amount is the price of minutes at a rate per hour, in cents: the one
// rounding rule of the funding units. It is computed per line, in int64,
// rounded half down (to the nearest cent, an exact half cent rounding down):
//
//	amount = (minutes × ratePerHour + 29) / 60   (for minutes, rate >= 0)
//
// Totals are the exact sums of their lines' amounts, never a re-rounded
// product of summed minutes. A negative product (never reported, but a
// correction's delta is a difference of two amounts) is not an input.
func Amount(minutes int, ratePerHour int64) int64 {
	p := int64(minutes) * ratePerHour
	if p <= 0 {
		return 0
	}
	return (p + 29) / 60
}

// The scheme's caps: a learner's trainee minutes in total across every
// contract, counting the minutes of #Action immersions whose outcome is
// recorded. Each contract's own caps apply to its own lines besides.
const (
	SchemeDailyCapMinutes  = 420
	SchemeWeeklyCapMinutes = 2100
)

// inFuture is the detail of a date after today.
func inFuture(what string, day, today civil.Date) string {
	return fmt.Sprintf("%s %s is after today (%s): work is reported once done", what, day, today)
}

// Week is an ISO 8601 week.
type Week struct{ Year, Week int }

// WeekOf returns the ISO week of day.
func WeekOf(day civil.Date) Week {
	y, w := time.Date(day.Year, day.Month, day.Day, 12, 0, 0, 0, time.UTC).ISOWeek()
	return Week{y, w}
}

// Unit is the unit of work a line is paid in.
type Unit int

// The units, numbered as on the wire.
const (
	UnitUnspecified Unit = iota
	UnitTraineeHour
	UnitGroupHour
	UnitFlatFee
)

// Rejection is why a line was rejected.
type Rejection int

// The rejection reasons, numbered as on the wire.
const (
	RejectNone Rejection = iota
	RejectInvalid
	RejectNotEnrolled
	RejectOutsideContract
	RejectDailyCap
	RejectWeeklyCap
	RejectDuplicateID
	RejectGroupTooLarge
	RejectFactNotFound
	RejectAlreadyClaimed
	RejectPeriodClosed
	RejectBudgetExceeded
	RejectNotInContract
	RejectDateInFuture
	RejectFactAlreadyPaid
	RejectTerritoryNotInLot
)

var rejectionNames = [...]string{
	RejectNone:              "NONE",
	RejectInvalid:           "INVALID_LINE",
	RejectNotEnrolled:       "LEARNER_NOT_ENROLLED",
	RejectOutsideContract:   "OUTSIDE_CONTRACT_PERIOD",
	RejectDailyCap:          "DAILY_CAP_EXCEEDED",
	RejectWeeklyCap:         "WEEKLY_CAP_EXCEEDED",
	RejectDuplicateID:       "DUPLICATE_LINE_ID",
	RejectGroupTooLarge:     "GROUP_TOO_LARGE",
	RejectFactNotFound:      "FACT_NOT_FOUND",
	RejectAlreadyClaimed:    "ALREADY_CLAIMED",
	RejectPeriodClosed:      "PERIOD_CLOSED",
	RejectBudgetExceeded:    "BUDGET_EXCEEDED",
	RejectNotInContract:     "UNIT_NOT_IN_CONTRACT",
	RejectDateInFuture:      "DATE_IN_FUTURE",
	RejectFactAlreadyPaid:   "FACT_ALREADY_PAID",
	RejectTerritoryNotInLot: "TERRITORY_NOT_IN_LOT",
}

// String returns the reason's code.
func (r Rejection) String() string {
	if int(r) < len(rejectionNames) {
		return rejectionNames[r]
	}
	return "UNKNOWN"
}

// Result is the fate of one reported line.
type Result struct {
	Index    int
	LineID   string
	Accepted bool
	Already  bool // accepted by an earlier report: nothing appended
	Reason   Rejection
	Detail   string
	// Field is the request field an invalid line is refused for (see
	// invalidField), empty otherwise.
	Field     string
	Period    civil.Month
	Late      bool
	AmountCts int64
}

func reject(index int, id string, r Rejection, detail string) Result {
	res := Result{Index: index, LineID: id, Reason: r, Detail: detail}
	if r == RejectInvalid {
		res.Field = invalidField(detail)
	}
	return res
}

// lineFields are the request fields a line's validation may refuse.
var lineFields = []string{
	"operator_line_id", "learner_id", "date", "minutes", "activity", "fee_type", "custom_code",
	"evidence_reference", "group_session_id", "attendee_learner_ids",
}

// invalidField is the request field an invalid line's detail is about: every
// such detail starts with the field's name (then ':', ' ' or an index).
func invalidField(detail string) string {
	end := strings.IndexFunc(detail, func(r rune) bool { return r != '_' && (r < 'a' || r > 'z') })
	if end < 0 {
		end = len(detail)
	}
	if f := detail[:end]; slices.Contains(lineFields, f) {
		return f
	}
	return ""
}

// Closed is the set of periods whose statement is closed, as the service's
// read model knows it when deciding. Books re-applies the rule in stream
// order, so a line decided just before its period closed is still billed on
// an open period.
type Closed map[civil.Month]bool

// Billing returns the period that bills a fact of day: its month, or the
// first later month still open (late), not after the contract's last month;
// ok is false when every such month is closed.
func (cl Closed) Billing(t Terms, day civil.Date) (p civil.Month, late, ok bool) {
	p = civil.MonthOf(day)
	last := civil.MonthOf(t.To)
	for cl[p] {
		p, late = p.Next(), true
	}
	if p.Compare(last) > 0 && late {
		return p, late, false
	}
	return p, late, true
}

// Budget is the room left in the contract years' envelopes, in cents, as the
// service's read model knows it: envelope minus billed amounts, per contract
// year. A year absent from the map has its whole envelope left. Accepting a
// line consumes room; a line that does not fit is refused.
type Budget struct {
	Terms Terms
	Used  map[int]int64 // billed cents per contract year
}

// fits reports whether amount fits in the year's envelope, and consumes it.
func (b *Budget) fits(p civil.Month, amount int64) bool {
	if b == nil || amount <= 0 {
		return true
	}
	if !b.room(p, amount) {
		return false
	}
	if b.Used == nil {
		b.Used = map[int]int64{}
	}
	b.Used[b.Terms.PeriodYear(p)] += amount
	return true
}

// room reports whether amount fits in the year's envelope, consuming
// nothing.
func (b *Budget) room(p civil.Month, amount int64) bool {
	if b == nil || amount <= 0 {
		return true
	}
	return b.Used[b.Terms.PeriodYear(p)]+amount <= b.Terms.AnnualEnvelopeCents
}
