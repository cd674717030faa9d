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

// FactFeeClaimed: the uniqueness claim appended with a standard fee's
// FlatFeeClaimed: the fee of one type for one fact of a learner is paid
// once, whatever the contract.
type FactFeeClaimed struct {
	LearnerID  string
	Type       FeeType
	FactRef    string
	ContractID string
	OperatorID string
	LineID     string
}

// Payment is where a fact's fee was paid: the contract, its operator and
// the claim's line id.
type Payment struct {
	ContractID, OperatorID, LineID string
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
	Facts []Fact
	// Learner is what the service knows of the learner: its enrolments and
	// territory on the fact's date.
	Learner Learner
	// Paid reports where a standard fact's fee of this type was already
	// paid under another contract (its uniqueness claim); nil: nowhere.
	Paid           func(Fact) (Payment, bool)
	Closed         Closed
	TakenElsewhere func(id string) bool
	Budget         *Budget
	Today          civil.Date
}

// DecideFee decides a flat-fee claim. A standard fee is matched to the
// learner's first fact of its type, dated in the contract's period, whose
// fee was not paid yet under any contract (FACT_ALREADY_PAID when every
// such fact's was, naming the contract paid), on whose day the learner was
// enrolled with the contract in a territory of its lot; its FlatFeeClaimed
// comes with the fact's uniqueness claim (FactFeeClaimed). A custom fee's
// fact is its evidence reference, today, claimed once in the contract. An
// evidence reference unfit for a single line is invalid input (an error
// naming the field); a claim the rules refuse is a rejected Result. A nil
// ledger is the empty one.
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
		if r, detail := c.Learner.Placement(c.ContractID, c.Terms, fact.Date); r != RejectNone {
			return nil, reject(0, c.LineID, r, detail), nil
		}
	} else {
		var r Result
		if fact, r = c.match(f); !r.Accepted {
			return nil, r, nil
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
	evs := []Event{FlatFeeClaimed{
		LedgerID: c.LedgerID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, LearnerID: c.LearnerID,
		Type: c.Type, CustomCode: c.CustomCode, FactRef: fact.Ref, FactDate: fact.Date, Evidence: evidence,
		LineID: c.LineID, Period: p, Late: late, Amount: rate.AmountCents, RequestID: c.RequestID,
	}}
	if c.Type != FeeCustom {
		evs = append(evs, FactFeeClaimed{LearnerID: c.LearnerID, Type: c.Type, FactRef: fact.Ref, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, LineID: c.LineID})
	}
	return evs, Result{LineID: c.LineID, Accepted: true, Period: p, Late: late, AmountCts: rate.AmountCents}, nil
}

// match finds the fact a standard fee pays (an accepted Result), or says
// why none (a rejected one): no fact of the type in the contract's period;
// every such fact's fee already paid, here or under another contract; the
// first fact still unpaid dated after today, or on a day the learner was
// not placed with the contract.
func (c ClaimFee) match(f *FeesLedger) (Fact, Result) {
	var candidates []Fact
	for _, x := range c.Facts {
		if x.Type == c.Type && c.Terms.Covers(x.Date) {
			candidates = append(candidates, x)
		}
	}
	if len(candidates) == 0 {
		return Fact{}, reject(0, c.LineID, RejectFactNotFound, "no triggering fact for this fee in the contract period")
	}
	var unpaid []Fact
	for _, x := range candidates {
		if _, here := f.Claims[FeeKey{c.Type, "", x.Ref}]; here {
			continue
		}
		if _, paid := c.paid(x); paid {
			continue
		}
		unpaid = append(unpaid, x)
	}
	if len(unpaid) == 0 {
		first := candidates[0]
		where := "under this contract"
		if claim, here := f.Claims[FeeKey{c.Type, "", first.Ref}]; here {
			where += " (claim " + claim.LineID + ")"
		} else if pay, paid := c.paid(first); paid {
			where = fmt.Sprintf("under contract %s (operator %s, claim %s)", pay.ContractID, pay.OperatorID, pay.LineID)
		}
		return Fact{}, reject(0, c.LineID, RejectFactAlreadyPaid, fmt.Sprintf("the fee of fact %s (%s) was already paid %s: a fact pays its fee once", first.Ref, first.Date, where))
	}
	for _, x := range unpaid {
		if !x.Date.After(c.Today) {
			if r, _ := c.Learner.Placement(c.ContractID, c.Terms, x.Date); r == RejectNone {
				return x, Result{Accepted: true}
			}
		}
	}
	first := unpaid[0]
	if first.Date.After(c.Today) {
		return Fact{}, reject(0, c.LineID, RejectDateInFuture, inFuture("the fact's date", first.Date, c.Today))
	}
	r, detail := c.Learner.Placement(c.ContractID, c.Terms, first.Date)
	return Fact{}, reject(0, c.LineID, r, fmt.Sprintf("fact %s of %s: %s", first.Ref, first.Date, detail))
}

func (c ClaimFee) paid(x Fact) (Payment, bool) {
	if c.Paid == nil {
		return Payment{}, false
	}
	return c.Paid(x)
}
