package domain

import (
	"fmt"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Status is what a statement line is.
type Status int

// The statuses, numbered as on the wire.
const (
	StatusUnspecified Status = iota
	StatusBilled             // counted in the totals
	StatusAnomaly            // shown, not billed until approved
	StatusRejected           // rejected by a funder, not billed
)

// LineKey addresses a line of a contract: its unit and operator line id.
type LineKey struct {
	Unit Unit
	ID   string
}

// Review is a funder's decision on a line.
type Review struct {
	Key      LineKey
	Approved bool
	Reason   string
}

// Totals of a statement.
type Totals struct {
	TraineeMinutes, TraineeAmount int64
	GroupMinutes, GroupAmount     int64
	FeeCount, FeeAmount           int64
	Amount                        int64
	AnomalyCount, AnomalyAmount   int64
}

// Statement events.
type (
	// StatementReviewed: a funder's decisions on lines of an open statement.
	StatementReviewed struct {
		StatementID, ContractID string
		Period                  civil.Month
		Reviews                 []Review
		Reviewer                string
	}
	// StatementClosed: the period locked.
	StatementClosed struct {
		StatementID, ContractID, OperatorID string
		Period                              civil.Month
		ClosedOn                            civil.Date
		Totals                              Totals
		ClosedBy                            string
	}
)

// StatementState is the aggregate of one monthly statement: its reviews and
// closure (its lines live in the ledgers; Books joins them).
type StatementState struct {
	ID, ContractID string
	Period         civil.Month
	Closed         bool
	ClosedOn       civil.Date
}

// Apply folds a statement event.
func (s *StatementState) Apply(ev Event) {
	switch e := ev.(type) {
	case StatementReviewed:
		s.ID, s.ContractID, s.Period = e.StatementID, e.ContractID, e.Period
	case StatementClosed:
		s.ID, s.ContractID, s.Period = e.StatementID, e.ContractID, e.Period
		s.Closed, s.ClosedOn = true, e.ClosedOn
	}
}

// EvolveStatement folds an event into a statement's state: the statement
// aggregate's Evolve.
func EvolveStatement(s StatementState, ev Event) StatementState {
	s.Apply(ev)
	return s
}

// Statement commands.
type (
	// ReviewStatement approves or rejects lines.
	ReviewStatement struct {
		StatementID, ContractID string
		Period                  civil.Month
		Reviews                 []Review
		Reviewer                string
		Terms                   Terms
		// OnStatement reports whether a line is on the statement (from the
		// statement read model: Statement.LineKeys).
		OnStatement func(LineKey) bool
	}
	// CloseStatement locks the period.
	CloseStatement struct {
		StatementID, ContractID string
		Period                  civil.Month
		Today                   civil.Date
		Terms                   Terms
		Totals                  Totals // the statement's totals now
		ClosedBy                string
	}
)

// MaxReviews bounds the decisions of one review.
const MaxReviews = 1000

// checkPeriod refuses a period outside the contract: months from the
// contract's first to one after its last (late lines may land there).
func checkPeriod(t Terms, p civil.Month) error {
	if !p.Valid() {
		return apperr.Invalid(apperr.FieldViolation{Field: "period", Description: "a valid year and month are required"})
	}
	if p.Compare(civil.MonthOf(t.From)) < 0 || p.Compare(civil.MonthOf(t.To).Next()) > 0 {
		return refused(ReasonPeriodOutside, "%s is outside the contract period %s..%s", p, t.From, t.To)
	}
	return nil
}

// DecideStatement decides a statement command.
func DecideStatement(s StatementState, cmd any) ([]Event, error) {
	switch c := cmd.(type) {
	case ReviewStatement:
		var v apperr.Violations
		if len(c.Reviews) == 0 || len(c.Reviews) > MaxReviews {
			v.Addf("reviews", "1 to %d decisions", MaxReviews)
		}
		reviews := make([]Review, len(c.Reviews))
		for i, r := range c.Reviews {
			f := fmt.Sprintf("reviews[%d]", i)
			r.Reason = strings.TrimSpace(r.Reason)
			if r.Key.Unit < UnitTraineeHour || r.Key.Unit > UnitFlatFee {
				v.Add(f+".unit", "a known unit is required")
			}
			if !ValidLineID(r.Key.ID) {
				v.Add(f+".operator_line_id", "1 to 64 printable characters without spaces")
			}
			text.Check(&v, f+".reason", r.Reason, reasonRule(!r.Approved))
			reviews[i] = r
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := checkPeriod(c.Terms, c.Period); err != nil {
			return nil, err
		}
		if s.Closed {
			return nil, refused(ReasonStatementClosed, "the statement of %s was closed on %s", c.Period, s.ClosedOn)
		}
		for _, r := range reviews {
			if c.OnStatement == nil || !c.OnStatement(r.Key) {
				return nil, refused(ReasonLineUnknown, "line %s is not on the statement of %s", r.Key.ID, c.Period)
			}
		}
		return []Event{StatementReviewed{StatementID: c.StatementID, ContractID: c.ContractID, Period: c.Period, Reviews: reviews, Reviewer: c.Reviewer}}, nil
	case CloseStatement:
		if err := checkPeriod(c.Terms, c.Period); err != nil {
			return nil, err
		}
		if s.Closed {
			return nil, nil
		}
		if !c.Today.After(c.Period.Last()) {
			return nil, refused(ReasonPeriodNotOver, "the statement of %s can be closed from %s", c.Period, c.Period.Last().AddDays(1))
		}
		return []Event{StatementClosed{StatementID: c.StatementID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, Period: c.Period, ClosedOn: c.Today, Totals: c.Totals, ClosedBy: c.ClosedBy}}, nil
	}
	return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
}
