package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// GroupLine is an accepted group-hour line.
type GroupLine struct {
	ID        string
	Date      civil.Date
	Minutes   int
	Trainer   string
	Attendees []string
	Period    civil.Month
	Late      bool
	Rate      int64
	Amount    int64
}

// GroupHoursReported: a group-hour line accepted.
type GroupHoursReported struct {
	LedgerID, ContractID, OperatorID, GroupSessionID string
	RequestID                                        string
	Line                                             GroupLine
}

// GroupLedger is the aggregate of one group session of a contract.
type GroupLedger struct {
	ID, ContractID, GroupSessionID string
	Lines                          map[string]GroupLine
}

// NewGroupLedger returns an empty ledger.
func NewGroupLedger() *GroupLedger { return &GroupLedger{Lines: map[string]GroupLine{}} }

// EvolveGroup folds an event into a ledger, nil standing for the empty one,
// and returns it: the group ledger aggregate's Evolve.
func EvolveGroup(g *GroupLedger, ev Event) *GroupLedger {
	if g == nil {
		g = NewGroupLedger()
	}
	g.Apply(ev)
	return g
}

// Apply folds an event into the ledger.
func (g *GroupLedger) Apply(ev Event) {
	if e, ok := ev.(GroupHoursReported); ok {
		g.ID, g.ContractID, g.GroupSessionID = e.LedgerID, e.ContractID, e.GroupSessionID
		g.Lines[e.Line.ID] = e.Line
	}
}

// ReportGroup reports one group-hour line.
type ReportGroup struct {
	LedgerID, ContractID, GroupSessionID, RequestID string
	LineID                                          string
	Date                                            civil.Date
	Minutes                                         int
	Trainer                                         string
	Attendees                                       []string
	Terms                                           Terms
	// Learners are the attendees as the service knows them.
	Learners       Learners
	Closed         Closed
	TakenElsewhere func(id string) bool
	Budget         *Budget
	// CheckLearner validates an attendee's id format ("" when valid); nil:
	// any non-empty id.
	CheckLearner func(id string) string
	Today        civil.Date
}

// DecideGroup decides a group-hour line. A trainer's name unfit for a
// single line is invalid input (an error naming the field); a line the
// rules refuse is a rejected Result. A nil ledger is the empty one.
func DecideGroup(g *GroupLedger, c ReportGroup) ([]Event, Result, error) {
	if g == nil {
		g = NewGroupLedger()
	}
	trainer := strings.TrimSpace(c.Trainer)
	var v apperr.Violations
	text.Check(&v, "trainer", trainer, trainerRule)
	if err := v.Err(); err != nil {
		return nil, Result{}, err
	}
	session := ident.CheckCode(c.GroupSessionID)
	switch {
	case !ValidLineID(c.LineID):
		return nil, reject(0, c.LineID, RejectInvalid, "operator_line_id: 1 to 64 printable characters without spaces"), nil
	case session != "":
		return nil, reject(0, c.LineID, RejectInvalid, "group_session_id "+session), nil
	case !c.Date.Valid():
		return nil, reject(0, c.LineID, RejectInvalid, "date: a valid date is required"), nil
	case c.Minutes < 1 || c.Minutes > MaxDayMinutes:
		return nil, reject(0, c.LineID, RejectInvalid, fmt.Sprintf("minutes: 1 to %d", MaxDayMinutes)), nil
	case len(c.Attendees) == 0:
		return nil, reject(0, c.LineID, RejectInvalid, "attendee_learner_ids: at least one attendee"), nil
	}
	for i, a := range c.Attendees {
		bad := a == ""
		if !bad && c.CheckLearner != nil {
			bad = c.CheckLearner(a) != ""
		}
		if bad {
			return nil, reject(0, c.LineID, RejectInvalid, fmt.Sprintf("attendee_learner_ids[%d]: not a learner id", i)), nil
		}
		if slices.Contains(c.Attendees[:i], a) {
			return nil, reject(0, c.LineID, RejectInvalid, fmt.Sprintf("attendee_learner_ids[%d]: %s is listed twice", i, a)), nil
		}
	}
	if old, ok := g.Lines[c.LineID]; ok {
		if old.Date == c.Date && old.Minutes == c.Minutes && old.Trainer == trainer && slices.Equal(old.Attendees, c.Attendees) {
			return nil, Result{LineID: c.LineID, Accepted: true, Already: true, Period: old.Period, Late: old.Late, AmountCts: old.Amount}, nil
		}
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" was already reported with other content"), nil
	}
	if c.TakenElsewhere != nil && c.TakenElsewhere(c.LineID) {
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" is already used in the contract"), nil
	}
	if len(c.Attendees) > c.Terms.MaxGroupSize {
		return nil, reject(0, c.LineID, RejectGroupTooLarge, fmt.Sprintf("%d attendees, over the maximum group size of %d", len(c.Attendees), c.Terms.MaxGroupSize)), nil
	}
	if c.Date.After(c.Today) {
		return nil, reject(0, c.LineID, RejectDateInFuture, inFuture("the session's date", c.Date, c.Today)), nil
	}
	if !c.Terms.Covers(c.Date) {
		return nil, reject(0, c.LineID, RejectOutsideContract, fmt.Sprintf("%s is outside the contract period %s..%s", c.Date, c.Terms.From, c.Terms.To)), nil
	}
	if r, detail := c.attendeesPlaced(); r != RejectNone {
		return nil, reject(0, c.LineID, r, detail), nil
	}
	p, late, ok := c.Closed.Billing(c.Terms, c.Date)
	if !ok {
		return nil, reject(0, c.LineID, RejectPeriodClosed, fmt.Sprintf("the statements of %s and later are closed", civil.MonthOf(c.Date))), nil
	}
	amount := Amount(c.Minutes, c.Terms.GroupHourCents)
	if !c.Budget.fits(p, amount) {
		return nil, reject(0, c.LineID, RejectBudgetExceeded, "the contract year's envelope is spent"), nil
	}
	line := GroupLine{ID: c.LineID, Date: c.Date, Minutes: c.Minutes, Trainer: trainer, Attendees: slices.Clone(c.Attendees), Period: p, Late: late, Rate: c.Terms.GroupHourCents, Amount: amount}
	return []Event{GroupHoursReported{LedgerID: c.LedgerID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, GroupSessionID: c.GroupSessionID, RequestID: c.RequestID, Line: line}},
		Result{LineID: c.LineID, Accepted: true, Period: p, Late: late, AmountCts: amount}, nil
}

// attendeesPlaced checks every attendee's placement with the contract on
// the line's date: the attendees not enrolled with it are named
// (LEARNER_NOT_ENROLLED), else those living outside the lot
// (TERRITORY_NOT_IN_LOT).
func (c ReportGroup) attendeesPlaced() (Rejection, string) {
	var unenrolled, outside []string
	for _, a := range c.Attendees {
		switch r, _ := c.Learners.Get(a).Placement(c.ContractID, c.Terms, c.Date); r {
		case RejectNotEnrolled:
			unenrolled = append(unenrolled, a)
		case RejectTerritoryNotInLot:
			outside = append(outside, a)
		}
	}
	switch {
	case len(unenrolled) > 0:
		return RejectNotEnrolled, fmt.Sprintf("%d of %d attendees had no enrolment with contract %s on %s: %s",
			len(unenrolled), len(c.Attendees), c.ContractID, c.Date, strings.Join(unenrolled, ", "))
	case len(outside) > 0:
		return RejectTerritoryNotInLot, fmt.Sprintf("%d of %d attendees live outside the lot of contract %s (%s): %s",
			len(outside), len(c.Attendees), c.ContractID, strings.Join(c.Terms.Territories, ", "), strings.Join(outside, ", "))
	}
	return RejectNone, ""
}
