// Package domain holds the rules of the funding units: contracts between the
// Region and training operators, trainee-hour, group-hour and flat-fee lines
// reported by operators, corrections, anomalies, monthly statements and
// budgets. It is pure: no I/O, no proto, integer money only.
//
// Aggregates (each decided alone, appended with an expected sequence):
//   - Contract: its terms.
//   - HoursLedger: the trainee hours of one learner in one ISO week, across
//     every contract, so that the caps — the scheme's across contracts and
//     each contract's own — are exact under concurrency (both fall inside
//     one ISO week) while different learners and weeks are ingested in
//     parallel. Lines stored under the former ledgers of one contract,
//     learner and week are folded in, read-only.
//   - GroupLedger: the lines of one group session of a contract.
//   - FeesLedger: the flat fees of one learner under a contract; each
//     standard fee comes with a uniqueness claim of its fact
//     (FactFeeClaimed), so that a fact pays its fee once across contracts.
//   - StatementState: the reviews and closure of one monthly statement.
//   - ProgrammeYear: a programme's envelope and target for a calendar year.
//
// Books folds every event of a contract, in stream order, into its monthly
// statements: it is what the statement projection stores, and folding the
// same events again gives the same statements.
//
// Rounding: see Amount.
package domain

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Defaults and bounds of a contract.
const (
	DefaultDailyCapMinutes  = 420
	DefaultWeeklyCapMinutes = 2100
	MaxDayMinutes           = 24 * 60
	MaxWeekMinutes          = 7 * 24 * 60
	MaxGroupSizeLimit       = 500
	MaxTerritories          = 18
	MaxReasonLength         = 500
	MaxEvidenceLength       = 200
	MaxTrainerLength        = 200
	MaxLabelLength          = 200
	MaxReferenceLength      = 64
	MaxOperatorNameLength   = 200
	MaxBatchLines           = 10000
	MaxIDLength             = 64
)

// The rules of the texts people type (see platform/text): names, labels
// and references are single lines; reasons are free texts.
var (
	referenceRule    = text.Rule{Kind: text.Line, Max: MaxReferenceLength, Required: true}
	operatorNameRule = text.Rule{Kind: text.Line, Max: MaxOperatorNameLength}
	labelRule        = text.Rule{Kind: text.Line, Max: MaxLabelLength}
	trainerRule      = text.Rule{Kind: text.Line, Max: MaxTrainerLength, Required: true}
	evidenceRule     = text.Rule{Kind: text.Line, Max: MaxEvidenceLength}
)

// reasonRule is the rule of a reason (a correction's, a review's, a
// contract update's), required or not.
func reasonRule(required bool) text.Rule {
	return text.Rule{Kind: text.Block, Max: MaxReasonLength, Required: required}
}

// Reason codes of the FailedPrecondition errors, in the error's "reason"
// metadata.
const (
	ReasonOperatorChanged   = "OPERATOR_CHANGED"
	ReasonPeriodStartMoved  = "PERIOD_START_CHANGED"
	ReasonStatementClosed   = "STATEMENT_CLOSED"
	ReasonPeriodNotOver     = "PERIOD_NOT_OVER"
	ReasonPeriodOutside     = "PERIOD_OUTSIDE_CONTRACT"
	ReasonLineUnknown       = "LINE_NOT_ON_STATEMENT"
	ReasonReasonRequired    = "REASON_REQUIRED"
	ReasonCorrectCorrection = "CORRECTION_OF_CORRECTION"
	// ReasonLearnerErased: the learner's personal data was erased (intake's
	// erasure): a correction's reason, personal, can no longer be sealed
	// with the learner's key.
	ReasonLearnerErased = "LEARNER_ERASED"
)

func refused(code, format string, args ...any) *apperr.Error {
	return apperr.FailedPrecondition(format, args...).WithMeta("reason", code)
}

// ReasonOf returns the reason code of a domain error, "" if none.
func ReasonOf(err error) string {
	if e, ok := err.(*apperr.Error); ok {
		return e.Meta["reason"]
	}
	return ""
}

// FeeType is a kind of flat fee.
type FeeType int

// The fee types, numbered as on the wire.
const (
	FeeUnspecified FeeType = iota
	FeeNeedsAnalysisCompleted
	FeeImmersionCompleted
	FeeImmersionPartiallyCompleted
	FeeExitToEmployment
	FeeExitToQualifyingTraining
	FeeCustom
)

// Valid reports whether t is a known fee type.
func (t FeeType) Valid() bool { return t > FeeUnspecified && t <= FeeCustom }

// Activity is what a reported session was.
type Activity int

// The activities, numbered as on the wire.
const (
	ActivityUnspecified Activity = iota
	ActivityFaceToFace
	ActivityDistance
	ActivityInterview
	ActivityAssessment
	ActivityWorkplace
)

// Valid reports whether a is a known activity.
func (a Activity) Valid() bool { return a > ActivityUnspecified && a <= ActivityWorkplace }

// FeeRate is the price of one kind of flat fee.
type FeeRate struct {
	Type        FeeType
	CustomCode  string // FeeCustom only
	AmountCents int64
	Label       string
}

// Terms are what a contract is; an update replaces them all.
type Terms struct {
	OperatorID          string
	Reference           string
	Territories         []string
	From, To            civil.Date // both included
	TraineeHourCents    int64      // per hour
	GroupHourCents      int64      // per hour
	FlatFees            []FeeRate
	AnnualEnvelopeCents int64
	DailyCapMinutes     int
	WeeklyCapMinutes    int
	MaxGroupSize        int
	// OperatorName is the operator organisation's display name, shown to
	// people; optional. An update without one keeps the contract's.
	OperatorName string
	// Programme pays the contract; ProgrammeUnspecified for the contracts
	// made before programmes existed.
	Programme Programme
}

// WithDefaults fills the caps left at 0 with their defaults.
func (t Terms) WithDefaults() Terms {
	if t.DailyCapMinutes == 0 {
		t.DailyCapMinutes = DefaultDailyCapMinutes
	}
	if t.WeeklyCapMinutes == 0 {
		t.WeeklyCapMinutes = DefaultWeeklyCapMinutes
	}
	return t
}

// Covers reports whether day lies in the contract's period.
func (t Terms) Covers(day civil.Date) bool { return !day.Before(t.From) && !day.After(t.To) }

// Fee returns the rate of a fee type (and custom code).
func (t Terms) Fee(typ FeeType, code string) (FeeRate, bool) {
	i := slices.IndexFunc(t.FlatFees, func(f FeeRate) bool {
		return f.Type == typ && (typ != FeeCustom || f.CustomCode == code)
	})
	if i < 0 {
		return FeeRate{}, false
	}
	return t.FlatFees[i], true
}

// YearOf returns the contract year of day, from 1: a contract year starts on
// From and on each anniversary of it (29 February anniversaries fall on 1
// March).
func (t Terms) YearOf(day civil.Date) int {
	y := 1
	for !day.Before(t.YearStart(y + 1)) {
		y++
	}
	return y
}

// YearStart is the first day of contract year y (from 1).
func (t Terms) YearStart(y int) civil.Date {
	d, ok := civil.New(t.From.Year+y-1, t.From.Month, t.From.Day)
	if !ok {
		d = civil.Date{Year: t.From.Year + y - 1, Month: t.From.Month + 1, Day: 1}
	}
	return d
}

// PeriodYear is the contract year a billing period counts in: the year of
// its first day, or of the contract's first day for the contract's first
// month.
func (t Terms) PeriodYear(p civil.Month) int {
	day := p.First()
	if day.Before(t.From) {
		day = t.From
	}
	return t.YearOf(day)
}

// ValidLineID reports whether s is an operator line id: 1 to 64 printable
// characters, no space.
func ValidLineID(s string) bool {
	if s == "" || len(s) > MaxIDLength {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func validCustomCode(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// CheckTerms records the problems of terms (normalised, defaults applied)
// under field.
func CheckTerms(v *apperr.Violations, field string, t Terms) {
	ident.Code(v, field+".operator_id", t.OperatorID)
	text.Check(v, field+".operator_name", t.OperatorName, operatorNameRule)
	text.Check(v, field+".reference", t.Reference, referenceRule)
	if len(t.Territories) == 0 || len(t.Territories) > MaxTerritories {
		v.Addf(field+".territory_codes", "needs 1 to %d territories", MaxTerritories)
	}
	for i, c := range t.Territories {
		f := fmt.Sprintf("%s.territory_codes[%d]", field, i)
		if problem := ident.CheckTerritory(c); problem != "" {
			v.Add(f, problem)
		} else if slices.Contains(t.Territories[:i], c) {
			v.Addf(f, "%s is listed twice", c)
		}
	}
	switch {
	case !t.From.Valid():
		v.Add(field+".period_from", "is required: a valid date")
	case !t.To.Valid():
		v.Add(field+".period_to", "is required: a valid date")
	case t.To.Before(t.From):
		v.Add(field+".period_to", "must not be before period_from")
	}
	if t.TraineeHourCents < 0 {
		v.Add(field+".trainee_hour_rate_cents", "must not be negative")
	}
	if t.GroupHourCents < 0 {
		v.Add(field+".group_hour_rate_cents", "must not be negative")
	}
	for i, f := range t.FlatFees {
		p := fmt.Sprintf("%s.flat_fees[%d]", field, i)
		switch {
		case !f.Type.Valid():
			v.Add(p+".fee_type", "is required: a known fee type")
		case f.Type == FeeCustom && !validCustomCode(f.CustomCode):
			v.Add(p+".custom_code", "is required for a custom fee: 1 to 32 upper-case letters, digits or underscores")
		case f.Type != FeeCustom && f.CustomCode != "":
			v.Add(p+".custom_code", "is for custom fees only")
		default:
			if slices.ContainsFunc(t.FlatFees[:i], func(o FeeRate) bool { return o.Type == f.Type && o.CustomCode == f.CustomCode }) {
				v.Add(p, "this fee is priced twice")
			}
		}
		if f.AmountCents < 0 {
			v.Add(p+".amount_cents", "must not be negative")
		}
		text.Check(v, p+".label", f.Label, labelRule)
	}
	if t.AnnualEnvelopeCents < 0 {
		v.Add(field+".annual_envelope_cents", "must not be negative")
	}
	if t.DailyCapMinutes < 1 || t.DailyCapMinutes > MaxDayMinutes {
		v.Addf(field+".daily_cap_minutes", "must be 1 to %d minutes", MaxDayMinutes)
	}
	if t.WeeklyCapMinutes < t.DailyCapMinutes || t.WeeklyCapMinutes > MaxWeekMinutes {
		v.Addf(field+".weekly_cap_minutes", "must be between the daily cap and %d minutes", MaxWeekMinutes)
	}
	if t.MaxGroupSize < 1 || t.MaxGroupSize > MaxGroupSizeLimit {
		v.Addf(field+".max_group_size", "must be 1 to %d", MaxGroupSizeLimit)
	}
	if t.Programme != ProgrammeUnspecified && !t.Programme.Valid() {
		v.Add(field+".programme", "is not a known programme: avenir, action or other")
	}
}

// NormalizeTerms trims texts and applies the default caps.
func NormalizeTerms(t Terms) Terms {
	t.OperatorName = strings.TrimSpace(t.OperatorName)
	t.Reference = strings.TrimSpace(t.Reference)
	t.Territories = slices.Clone(t.Territories)
	for i, c := range t.Territories {
		t.Territories[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	t.FlatFees = slices.Clone(t.FlatFees)
	for i := range t.FlatFees {
		t.FlatFees[i].Label = strings.TrimSpace(t.FlatFees[i].Label)
	}
	return t.WithDefaults()
}

// Contract is a contract aggregate.
type Contract struct {
	ID    string
	Terms Terms
}

// Exists reports whether the contract was created.
func (c Contract) Exists() bool { return c.ID != "" }

// Contract events.
type (
	// ContractCreated: a new contract.
	ContractCreated struct {
		ContractID string
		Terms      Terms
	}
	// ContractUpdated: the terms replaced.
	ContractUpdated struct {
		ContractID            string
		Terms                 Terms
		PreviousEnvelopeCents int64
		Reason                string
	}
)

// Contract commands.
type (
	// CreateContract creates a contract.
	CreateContract struct {
		ContractID string
		Terms      Terms
	}
	// UpdateContract replaces a contract's terms.
	UpdateContract struct {
		ContractID string
		Terms      Terms
		Reason     string
	}
)

// Event is any funding event.
type Event interface{ isEvent() }

func (ContractCreated) isEvent()      {}
func (ContractUpdated) isEvent()      {}
func (TraineeHoursReported) isEvent() {}
func (TraineeLineCorrected) isEvent() {}
func (TraineeLinesFlagged) isEvent()  {}
func (GroupHoursReported) isEvent()   {}
func (FlatFeeClaimed) isEvent()       {}
func (StatementReviewed) isEvent()    {}
func (StatementClosed) isEvent()      {}
func (FactFeeClaimed) isEvent()       {}
func (ProgrammeYearSet) isEvent()     {}

// DecideContract decides a contract command.
func DecideContract(c Contract, cmd any) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateContract:
		terms := NormalizeTerms(cmd.Terms)
		var v apperr.Violations
		CheckTerms(&v, "terms", terms)
		if terms.Programme == ProgrammeUnspecified {
			v.Add("terms.programme", "is required: the programme paying the contract (avenir, action or other)")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if c.Exists() {
			return nil, apperr.AlreadyExists("contract %s already exists", c.ID).WithMeta("contract_id", c.ID)
		}
		return []Event{ContractCreated{ContractID: cmd.ContractID, Terms: terms}}, nil
	case UpdateContract:
		terms := NormalizeTerms(cmd.Terms)
		var v apperr.Violations
		CheckTerms(&v, "terms", terms)
		text.Check(&v, "reason", strings.TrimSpace(cmd.Reason), reasonRule(false))
		if err := v.Err(); err != nil {
			return nil, err
		}
		if !c.Exists() {
			return nil, apperr.NotFound("contract %s not found", cmd.ContractID)
		}
		if terms.Programme == ProgrammeUnspecified {
			terms.Programme = c.Terms.Programme // kept
		}
		if terms.OperatorName == "" {
			terms.OperatorName = c.Terms.OperatorName // kept
		}
		if terms.OperatorID != c.Terms.OperatorID {
			return nil, refused(ReasonOperatorChanged, "contract %s belongs to operator %s: create another contract for another operator", c.ID, c.Terms.OperatorID)
		}
		if terms.From != c.Terms.From {
			return nil, refused(ReasonPeriodStartMoved, "contract %s starts on %s: its contract years hang on that day", c.ID, c.Terms.From)
		}
		if terms.AnnualEnvelopeCents != c.Terms.AnnualEnvelopeCents && strings.TrimSpace(cmd.Reason) == "" {
			return nil, refused(ReasonReasonRequired, "changing the envelope needs a reason")
		}
		if sameTerms(terms, c.Terms) {
			return nil, nil
		}
		return []Event{ContractUpdated{ContractID: c.ID, Terms: terms, PreviousEnvelopeCents: c.Terms.AnnualEnvelopeCents, Reason: strings.TrimSpace(cmd.Reason)}}, nil
	}
	return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
}

func sameTerms(a, b Terms) bool {
	return a.OperatorID == b.OperatorID && a.OperatorName == b.OperatorName && a.Reference == b.Reference && slices.Equal(a.Territories, b.Territories) &&
		a.From == b.From && a.To == b.To && a.TraineeHourCents == b.TraineeHourCents && a.GroupHourCents == b.GroupHourCents &&
		slices.Equal(a.FlatFees, b.FlatFees) && a.AnnualEnvelopeCents == b.AnnualEnvelopeCents &&
		a.DailyCapMinutes == b.DailyCapMinutes && a.WeeklyCapMinutes == b.WeeklyCapMinutes && a.MaxGroupSize == b.MaxGroupSize &&
		a.Programme == b.Programme
}

// EvolveContract applies a contract event.
func EvolveContract(c Contract, ev Event) Contract {
	switch e := ev.(type) {
	case ContractCreated:
		c.ID, c.Terms = e.ContractID, e.Terms
	case ContractUpdated:
		c.Terms = e.Terms
	}
	return c
}
