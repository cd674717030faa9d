package domain

import (
	"slices"
	"strconv"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// An enrolment is a dated link between a learner in an open episode and an
// operator's contract (funding's): the #Avenir accompaniment itself, a
// Savoirs or Qualif action, a workshop series, an #Action immersion host.
// The operator may bill for the learner, and reads it, on the days the
// enrolment covers. Enrolments are numbered per learner across episodes;
// an exit ends every open enrolment of the episode, in the same decision.

// EnrolmentKind says what the learner is enrolled in.
type EnrolmentKind string

// The enrolment kinds.
const (
	KindAccompaniment EnrolmentKind = "accompaniment" // the #Avenir accompaniment
	KindSavoirs       EnrolmentKind = "savoirs"       // a basic-skills action
	KindQualif        EnrolmentKind = "qualif"        // a qualifying training action
	KindWorkshops     EnrolmentKind = "workshops"     // a series of workshops
	KindImmersionHost EnrolmentKind = "immersion_host"
)

// EnrolmentKinds lists every kind.
var EnrolmentKinds = []EnrolmentKind{KindAccompaniment, KindSavoirs, KindQualif, KindWorkshops, KindImmersionHost}

// Valid reports whether k is one of EnrolmentKinds.
func (k EnrolmentKind) Valid() bool { return slices.Contains(EnrolmentKinds, k) }

// FundingProgramme is the programme paying a contract. Contracts made
// before programmes existed have none ("").
type FundingProgramme string

// The funding programmes.
const (
	FundingUnspecified FundingProgramme = ""
	FundingAvenir      FundingProgramme = "avenir" // the #Avenir accompaniment
	FundingAction      FundingProgramme = "action" // #Action immersions
	FundingOther       FundingProgramme = "other"
)

// EndReason says why an enrolment ended.
type EndReason string

// The end reasons.
const (
	// EndEnded: ended by a referent acting for the learner, a coordinator
	// or an admin.
	EndEnded EndReason = "ended"
	// EndPathwayExit: the learner left the pathway; the enrolment ended on
	// the exit date, with the exit.
	EndPathwayExit EndReason = "pathway_exit"
)

// Limits of enrolments.
const (
	// MaxEnrolmentLeadDays is how many days after today an enrolment may
	// start.
	MaxEnrolmentLeadDays = 90
)

// Reason codes of the FailedPrecondition refusals (the error's "reason"
// metadata).
const (
	ReasonNotInPathway      = "LEARNER_NOT_IN_PATHWAY"
	ReasonContractUnknown   = "CONTRACT_UNKNOWN"
	ReasonTerritoryNotInLot = "TERRITORY_NOT_IN_LOT"
	ReasonEnrolmentEnded    = "ENROLMENT_ENDED"
	ReasonLearnerErased     = "LEARNER_ERASED"
	// ReasonFollowUpNotDue: the six-month follow-up is not due yet (or the
	// learner is in the scheme); ReasonFollowUpRecorded: it was recorded.
	ReasonFollowUpNotDue   = "FOLLOW_UP_NOT_DUE"
	ReasonFollowUpRecorded = "FOLLOW_UP_RECORDED"
)

// Contract is what pathway knows of an operator's contract from funding's
// events (its local read model); Known is false until the contract has
// been seen.
type Contract struct {
	ID         string
	OperatorID string
	// Territories are the territories of the contract's lot.
	Territories []string
	// From and To bound the contract's period, both days included.
	From, To  civil.Date
	Programme FundingProgramme
	Known     bool
}

// Enrolment is a learner's enrolment with an operator's contract.
type Enrolment struct {
	// Number counts the learner's enrolments across episodes, from 1.
	Number     int
	ContractID string
	// OperatorID is the contract's operator when the learner was enrolled.
	OperatorID string
	Kind       EnrolmentKind
	Programme  FundingProgramme
	// From is the first day enrolled.
	From civil.Date
	// To is the last day enrolled, zero while the enrolment is open; the
	// day before From for an enrolment cancelled before it started.
	To        civil.Date
	EndReason EndReason
}

// Open reports whether the enrolment has not ended.
func (e Enrolment) Open() bool { return e.To.IsZero() }

// Covers reports whether the learner is enrolled on day d.
func (e Enrolment) Covers(d civil.Date) bool {
	return !d.Before(e.From) && (e.Open() || !d.After(e.To))
}

// enrolments counts the learner's enrolments across episodes.
func (p Pathway) enrolments() int {
	n := 0
	for _, e := range p.Episodes {
		n += len(e.Enrolments)
	}
	return n
}

// enrolment finds enrolment number n: the index of its episode and its
// index in that episode.
func (p Pathway) enrolment(n int) (int, int, bool) {
	for i, e := range p.Episodes {
		for j, en := range e.Enrolments {
			if en.Number == n {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// LearnerEnrolled: the learner was enrolled with an operator's contract
// during an episode.
type LearnerEnrolled struct {
	LearnerID  string
	Episode    int
	Enrolment  int
	ContractID string
	OperatorID string
	Kind       EnrolmentKind
	From       civil.Date
	Territory  string
	Programme  FundingProgramme
}

// EnrolmentEnded: an enrolment ended, To being its last day.
type EnrolmentEnded struct {
	LearnerID  string
	Episode    int
	Enrolment  int
	ContractID string
	OperatorID string
	To         civil.Date
	Reason     EndReason
	Territory  string
}

func (LearnerEnrolled) pathwayEvent() {}
func (EnrolmentEnded) pathwayEvent()  {}

// Enrol enrols the learner in the open episode with Contract (as pathway
// knows it) from From, decided on Today.
type Enrol struct {
	LearnerID string
	Contract  Contract
	Kind      EnrolmentKind
	From      civil.Date
	Today     civil.Date
}

// EndEnrolment ends enrolment number Number on To, decided on Today.
type EndEnrolment struct {
	LearnerID string
	Number    int
	To        civil.Date
	Today     civil.Date
}

func (Enrol) pathwayCommand()        {}
func (EndEnrolment) pathwayCommand() {}

// evolveEnrolment applies an enrolment event to the state.
func (p Pathway) evolveEnrolment(e Event) Pathway {
	switch e := e.(type) {
	case LearnerEnrolled:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			ep := &p.Episodes[i]
			ep.Enrolments = append(slices.Clip(ep.Enrolments), Enrolment{
				Number: e.Enrolment, ContractID: e.ContractID, OperatorID: e.OperatorID, Kind: e.Kind,
				Programme: e.Programme, From: e.From,
			})
		}
	case EnrolmentEnded:
		if i, j, ok := p.enrolment(e.Enrolment); ok {
			p.Episodes = slices.Clone(p.Episodes)
			ep := &p.Episodes[i]
			ep.Enrolments = slices.Clone(ep.Enrolments)
			ep.Enrolments[j].To, ep.Enrolments[j].EndReason = e.To, e.Reason
		}
	}
	return p
}

func decideEnrol(p Pathway, c Enrol) ([]Event, error) {
	var v apperr.Violations
	last, open := p.last()
	open = open && last.Open()
	ident.ID(&v, "contract_id", c.Contract.ID)
	if !c.Kind.Valid() {
		v.Add("kind", "is required: accompaniment, savoirs, qualif, workshops or immersion host")
	}
	switch {
	case c.From.IsZero():
		v.Add("from_date", "is required")
	case !c.From.Valid():
		v.Add("from_date", "must be a real date between 1900 and 2200")
	default:
		if latest := c.Today.AddDays(MaxEnrolmentLeadDays); c.From.After(latest) {
			v.Addf("from_date", "must not be more than %d days after today (%s at the latest)", MaxEnrolmentLeadDays, latest)
		}
		if open && c.From.Before(last.Entry) {
			v.Addf("from_date", "must not be before the entry of the open episode on %s", last.Entry)
		}
		if k := c.Contract; k.Known && (c.From.Before(k.From) || c.From.After(k.To)) {
			v.Addf("from_date", "must be within the contract's period, %s to %s", k.From, k.To)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !open {
		return nil, noOpenEpisode(c.LearnerID)
	}
	k := c.Contract
	if !k.Known {
		return nil, apperr.FailedPrecondition("contract %s is not known to pathway yet; retry shortly", k.ID).
			WithMeta("reason", ReasonContractUnknown)
	}
	if !slices.Contains(k.Territories, p.Territory) {
		return nil, apperr.FailedPrecondition("the learner's territory %s is not in the lot of contract %s", p.Territory, k.ID).
			WithMeta("reason", ReasonTerritoryNotInLot)
	}
	for _, en := range last.Enrolments {
		if en.Open() && en.ContractID == k.ID {
			return nil, apperr.AlreadyExists("learner %s is already enrolled with contract %s: enrolment %d, from %s", c.LearnerID, k.ID, en.Number, en.From).
				WithMeta("enrolment_number", strconv.Itoa(en.Number))
		}
	}
	return []Event{LearnerEnrolled{
		LearnerID: p.LearnerID, Episode: last.Number, Enrolment: p.enrolments() + 1, ContractID: k.ID,
		OperatorID: k.OperatorID, Kind: c.Kind, From: c.From, Territory: p.Territory, Programme: k.Programme,
	}}, nil
}

func decideEndEnrolment(p Pathway, c EndEnrolment) ([]Event, error) {
	var v apperr.Violations
	if c.Number < 1 {
		v.Add("enrolment_number", "is required: the number of one of the learner's enrolments, from 1")
	}
	i, j, found := p.enrolment(c.Number)
	var en Enrolment
	if found {
		en = p.Episodes[i].Enrolments[j]
	}
	switch {
	case c.To.IsZero():
		v.Add("to_date", "is required")
	case !c.To.Valid():
		v.Add("to_date", "must be a real date between 1900 and 2200")
	case found && c.To.Before(en.From.AddDays(-1)):
		v.Addf("to_date", "must not be before %s, the day before the enrolment's first day (which cancels it)", en.From.AddDays(-1))
	case c.To.After(c.Today) && !(found && c.To == en.From.AddDays(-1)):
		// The day before the first day cancels an enrolment that has not
		// started, even one starting after tomorrow.
		v.Add("to_date", "must not be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, apperr.NotFound("enrolment %d of learner %s not found", c.Number, c.LearnerID)
	}
	if !en.Open() {
		return nil, apperr.FailedPrecondition("enrolment %d ended on %s", en.Number, en.To).
			WithMeta("reason", ReasonEnrolmentEnded)
	}
	return []Event{ended(p, p.Episodes[i].Number, en, c.To, EndEnded)}, nil
}

// endOnExit ends every open enrolment of episode ep on the exit date: an
// enrolment starting after it ends the day before its first day (it never
// started).
func endOnExit(p Pathway, ep Episode, exit civil.Date) []Event {
	var evs []Event
	for _, en := range ep.Enrolments {
		if !en.Open() {
			continue
		}
		to := exit
		if en.From.After(exit) {
			to = en.From.AddDays(-1)
		}
		evs = append(evs, ended(p, ep.Number, en, to, EndPathwayExit))
	}
	return evs
}

func ended(p Pathway, episode int, en Enrolment, to civil.Date, reason EndReason) EnrolmentEnded {
	return EnrolmentEnded{
		LearnerID: p.LearnerID, Episode: episode, Enrolment: en.Number, ContractID: en.ContractID,
		OperatorID: en.OperatorID, To: to, Reason: reason, Territory: p.Territory,
	}
}
