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
		if fact, r = c.match(f, rate.AmountCents); !r.Accepted {
			return nil, r, nil
		}
	}
	p, late, r := c.bill(fact, rate.AmountCents, true)
	if !r.Accepted {
		return nil, r, nil
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

// bill returns the period that bills a fact's fee of amount, or why none
// (a rejected Result): every later period closed, or the contract year's
// envelope spent. With consume, the amount is taken from c.Budget.
func (c ClaimFee) bill(fact Fact, amount int64, consume bool) (civil.Month, bool, Result) {
	day := fact.Date
	if day.After(c.Terms.To) {
		day = c.Terms.To
	}
	if day.Before(c.Terms.From) {
		day = c.Terms.From
	}
	p, late, ok := c.Closed.Billing(c.Terms, day)
	if !ok {
		return p, late, reject(0, c.LineID, RejectPeriodClosed, fmt.Sprintf("the statements of %s and later are closed", civil.MonthOf(day)))
	}
	fits := c.Budget.room(p, amount)
	if consume {
		fits = c.Budget.fits(p, amount)
	}
	if !fits {
		return p, late, reject(0, c.LineID, RejectBudgetExceeded, "the contract year's envelope is spent")
	}
	return p, late, Result{Accepted: true}
}

// FactState is where one triggering fact stands for a claim of its fee
// under a contract.
type FactState int

// The states of a fact.
const (
	FactUnspecified FactState = iota
	// FactClaimable: a claim of the fee may be paid by the fact.
	FactClaimable
	// FactPaidHere: the fact's fee was paid under the contract.
	FactPaidHere
	// FactPaidElsewhere: the fact's fee was paid under another contract.
	FactPaidElsewhere
	// FactNotEligible: the contract may not pay the fact's fee (Reason).
	FactNotEligible
)

// Standing is where one fact stands for a claim of its fee under the
// contract: claimable, paid (where), or not eligible and why, in the
// reason and words a claim would be rejected with.
type Standing struct {
	Fact    Fact
	State   FactState
	Payment Payment // paid here or elsewhere
	Reason  Rejection
	Detail  string
}

// standing is the rule a standard fee's claim applies to each of the
// learner's facts of its type in the contract's period: paid (under this
// contract, per the ledger or the fact's uniqueness claim; or under
// another), else dated after today, else the learner's placement with the
// contract on the fact's day, else a period open to bill its fee of rate
// and room for it in the envelope.
func (c ClaimFee) standing(f *FeesLedger, x Fact, rate int64) Standing {
	if claim, here := f.Claims[FeeKey{c.Type, "", x.Ref}]; here {
		return Standing{Fact: x, State: FactPaidHere, Payment: Payment{ContractID: c.ContractID, OperatorID: claim.OperatorID, LineID: claim.LineID}}
	}
	if pay, paid := c.paid(x); paid {
		if pay.ContractID == c.ContractID {
			return Standing{Fact: x, State: FactPaidHere, Payment: pay}
		}
		return Standing{Fact: x, State: FactPaidElsewhere, Payment: pay}
	}
	if x.Date.After(c.Today) {
		return Standing{Fact: x, State: FactNotEligible, Reason: RejectDateInFuture, Detail: inFuture("the fact's date", x.Date, c.Today)}
	}
	if r, detail := c.Learner.Placement(c.ContractID, c.Terms, x.Date); r != RejectNone {
		return Standing{Fact: x, State: FactNotEligible, Reason: r, Detail: fmt.Sprintf("fact %s of %s: %s", x.Ref, x.Date, detail)}
	}
	if _, _, r := c.bill(x, rate, false); !r.Accepted {
		return Standing{Fact: x, State: FactNotEligible, Reason: r.Reason, Detail: r.Detail}
	}
	return Standing{Fact: x, State: FactClaimable}
}

// candidates are the learner's facts of the claim's type dated in the
// contract's period, in the order they happened.
func (c ClaimFee) candidates() []Fact {
	var out []Fact
	for _, x := range c.Facts {
		if x.Type == c.Type && c.Terms.Covers(x.Date) {
			out = append(out, x)
		}
	}
	return out
}

// Standings says, for a standard fee type, where each of the learner's
// facts of the type in the contract's period stands, in the order they
// happened, by the rule DecideFee applies: a claim of the type now is paid
// by the first claimable fact, rejected with the first not eligible one's
// reason when none is claimable and not all are paid. No fact when the
// contract does not pay the type (or it is custom: a custom fee's fact is
// its evidence).
func Standings(f *FeesLedger, c ClaimFee) []Standing {
	if f == nil {
		f = NewFeesLedger()
	}
	rate, ok := c.Terms.Fee(c.Type, "")
	if !ok || c.Type == FeeCustom || !c.Type.Valid() {
		return nil
	}
	var out []Standing
	for _, x := range c.candidates() {
		out = append(out, c.standing(f, x, rate.AmountCents))
	}
	return out
}

// match finds the fact a standard fee pays (an accepted Result), or says
// why none (a rejected one): no fact of the type in the contract's period;
// every such fact's fee already paid, here or under another contract; the
// first fact still unpaid dated after today, on a day the learner was not
// placed with the contract, or that no open period or the envelope can pay
// (see standing).
func (c ClaimFee) match(f *FeesLedger, rate int64) (Fact, Result) {
	candidates := c.candidates()
	if len(candidates) == 0 {
		return Fact{}, reject(0, c.LineID, RejectFactNotFound, "no triggering fact for this fee in the contract period")
	}
	var unpaid []Standing
	for _, x := range candidates {
		st := c.standing(f, x, rate)
		switch st.State {
		case FactClaimable:
			return x, Result{Accepted: true}
		case FactNotEligible:
			unpaid = append(unpaid, st)
		}
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
	return Fact{}, reject(0, c.LineID, unpaid[0].Reason, unpaid[0].Detail)
}

func (c ClaimFee) paid(x Fact) (Payment, bool) {
	if c.Paid == nil {
		return Payment{}, false
	}
	return c.Paid(x)
}
