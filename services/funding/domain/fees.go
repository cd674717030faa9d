package domain

import (
	"fmt"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Fact is a triggering fact of a flat fee, from another context's events
// (the service keeps them in a read model): an analysis completed, an
// immersion's outcome, an exit and its reason.
type Fact struct {
	Type FeeType
	Ref  string // analysis id, session id, "episode-<n>"
	Date civil.Date
}

// FlatFeeClaimed: a flat fee claimed and matched to its fact.
type FlatFeeClaimed struct {
	LedgerID, ContractID, OperatorID, LearnerID string
	Type                                        FeeType
	CustomCode                                  string
	FactRef                                     string
	FactDate                                    civil.Date
	Evidence                                    string
	LineID                                      string
	Period                                      civil.Month
	Late                                        bool
	Amount                                      int64
	RequestID                                   string
}

// FeeKey is what a fee is claimed once for.
type FeeKey struct {
	Type       FeeType
	CustomCode string
	FactRef    string
}

// FeesLedger is the aggregate of one learner's flat fees under a contract.
type FeesLedger struct {
	ID, ContractID, LearnerID string
	Claims                    map[FeeKey]FlatFeeClaimed
	ByLine                    map[string]FlatFeeClaimed
}

// NewFeesLedger returns an empty ledger.
func NewFeesLedger() *FeesLedger {
	return &FeesLedger{Claims: map[FeeKey]FlatFeeClaimed{}, ByLine: map[string]FlatFeeClaimed{}}
}

// EvolveFees folds an event into a ledger, nil standing for the empty one,
// and returns it: the fees ledger aggregate's Evolve.
func EvolveFees(f *FeesLedger, ev Event) *FeesLedger {
	if f == nil {
		f = NewFeesLedger()
	}
	f.Apply(ev)
	return f
}

// Apply folds an event into the ledger.
func (f *FeesLedger) Apply(ev Event) {
	if e, ok := ev.(FlatFeeClaimed); ok {
		f.ID, f.ContractID, f.LearnerID = e.LedgerID, e.ContractID, e.LearnerID
		f.Claims[FeeKey{e.Type, e.CustomCode, e.FactRef}] = e
		f.ByLine[e.LineID] = e
	}
}

// ClaimFee claims a flat fee for the ledger's learner.
type ClaimFee struct {
	LedgerID, ContractID, LearnerID, RequestID string
	LineID                                     string
	Type                                       FeeType
	CustomCode                                 string
	Evidence                                   string
	Terms                                      Terms
	// Facts are the learner's facts known to the service, in the order they
	// happened.
	Facts          []Fact
	Closed         Closed
	TakenElsewhere func(id string) bool
	Budget         *Budget
	Today          civil.Date
}

// DecideFee decides a flat-fee claim. A standard fee is matched to the
// learner's first fact of its type not yet claimed, dated in the contract's
// period; a custom fee's fact is its evidence reference. A fact is claimed
// once. An evidence reference unfit for a single line is invalid input (an
// error naming the field); a claim the rules refuse is a rejected Result. A
// nil ledger is the empty one.
func DecideFee(f *FeesLedger, c ClaimFee) ([]Event, Result, error) {
	if f == nil {
		f = NewFeesLedger()
	}
	evidence := strings.TrimSpace(c.Evidence)
	var v apperr.Violations
	text.Check(&v, "evidence_reference", evidence, evidenceRule)
	if err := v.Err(); err != nil {
		return nil, Result{}, err
	}
	switch {
	case !ValidLineID(c.LineID):
		return nil, reject(0, c.LineID, RejectInvalid, "operator_line_id: 1 to 64 printable characters without spaces"), nil
	case !c.Type.Valid():
		return nil, reject(0, c.LineID, RejectInvalid, "fee_type: a known fee type is required"), nil
	case c.Type == FeeCustom && !validCustomCode(c.CustomCode):
		return nil, reject(0, c.LineID, RejectInvalid, "custom_code: required for a custom fee"), nil
	case c.Type != FeeCustom && c.CustomCode != "":
		return nil, reject(0, c.LineID, RejectInvalid, "custom_code: for custom fees only"), nil
	case c.Type == FeeCustom && evidence == "":
		return nil, reject(0, c.LineID, RejectInvalid, "evidence_reference: required for a custom fee"), nil
	}
	if old, ok := f.ByLine[c.LineID]; ok {
		if old.Type == c.Type && old.CustomCode == c.CustomCode && old.Evidence == evidence {
			return nil, Result{LineID: c.LineID, Accepted: true, Already: true, Period: old.Period, Late: old.Late, AmountCts: old.Amount}, nil
		}
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" was already used by another claim"), nil
	}
	if c.TakenElsewhere != nil && c.TakenElsewhere(c.LineID) {
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" is already used in the contract"), nil
	}
	rate, ok := c.Terms.Fee(c.Type, c.CustomCode)
	if !ok {
		return nil, reject(0, c.LineID, RejectNotInContract, "the contract does not pay this fee"), nil
	}
	var fact Fact
	if c.Type == FeeCustom {
		fact = Fact{Type: FeeCustom, Ref: evidence, Date: c.Today}
		if _, claimed := f.Claims[FeeKey{FeeCustom, c.CustomCode, evidence}]; claimed {
			return nil, reject(0, c.LineID, RejectAlreadyClaimed, "this evidence was already claimed"), nil
		}
	} else {
		found, free := false, false
		for _, x := range c.Facts {
			if x.Type != c.Type || !c.Terms.Covers(x.Date) {
				continue
			}
			found = true
			if _, claimed := f.Claims[FeeKey{c.Type, "", x.Ref}]; !claimed {
				fact, free = x, true
				break
			}
		}
		switch {
		case !found:
			return nil, reject(0, c.LineID, RejectFactNotFound, "no triggering fact for this fee in the contract period"), nil
		case !free:
			return nil, reject(0, c.LineID, RejectAlreadyClaimed, "every triggering fact of this fee was already claimed"), nil
		}
	}
	day := fact.Date
	if day.After(c.Terms.To) {
		day = c.Terms.To
	}
	if day.Before(c.Terms.From) {
		day = c.Terms.From
	}
	p, late, ok := c.Closed.Billing(c.Terms, day)
	if !ok {
		return nil, reject(0, c.LineID, RejectPeriodClosed, fmt.Sprintf("the statements of %s and later are closed", civil.MonthOf(day))), nil
	}
	if !c.Budget.fits(p, rate.AmountCents) {
		return nil, reject(0, c.LineID, RejectBudgetExceeded, "the contract year's envelope is spent"), nil
	}
	ev := FlatFeeClaimed{
		LedgerID: c.LedgerID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, LearnerID: c.LearnerID,
		Type: c.Type, CustomCode: c.CustomCode, FactRef: fact.Ref, FactDate: fact.Date, Evidence: evidence,
		LineID: c.LineID, Period: p, Late: late, Amount: rate.AmountCents, RequestID: c.RequestID,
	}
	return []Event{ev}, Result{LineID: c.LineID, Accepted: true, Period: p, Late: late, AmountCts: rate.AmountCents}, nil
}
