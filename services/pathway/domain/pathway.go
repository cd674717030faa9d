// Package domain holds the pathway's business rules: continuous entry into
// and exit from the scheme, one open episode at a time, re-entry, referrals
// to downstream programmes, enrolments with operators' contracts, the phase
// derived from the facts, and the flow statistics. It is pure: no I/O.
package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Episode is one continuous stay in the scheme.
type Episode struct {
	Number int
	Entry  civil.Date
	// Exit is the last day in the scheme; zero while the episode is open.
	Exit       civil.Date
	ExitReason ExitReason
	ExitDetail string
	Referrals  []Referral
	// NeedsAnalysed: a needs analysis of the episode was completed.
	NeedsAnalysed bool
	// ImmersionsDone counts the #Action immersions done (completed or
	// partially) during the episode.
	ImmersionsDone int
	// Enrolments are the learner's enrolments during the episode, in order.
	Enrolments []Enrolment
	// Followed are the numbers of the Qualif referrals an exit to
	// qualifying training follows; FollowingInQualif holds until the last
	// of them gets a final outcome, on QualifFollowUpEndedOn.
	Followed              []int
	FollowingInQualif     bool
	QualifFollowUpEndedOn civil.Date
	// FollowUp is the six-month follow-up of the exit, once recorded.
	FollowUp FollowUp
}

// FollowUp is where a learner stood six months after an exit; the zero
// value is none recorded.
type FollowUp struct {
	Situation  Situation6
	Employment EmploymentType
	RecordedOn civil.Date
}

// Recorded reports whether the follow-up was recorded.
func (f FollowUp) Recorded() bool { return f.Situation != "" }

// FollowUpDue is the day the six-month follow-up of an exit on exit is
// due: the same day six months later, or the last day of that month when
// it is shorter (31 August: 28 or 29 February).
func FollowUpDue(exit civil.Date) civil.Date {
	m := civil.MonthOf(exit)
	for range 6 {
		m = m.Next()
	}
	if last := m.Last(); exit.Day > last.Day {
		return last
	}
	return civil.Date{Year: m.Year, Month: m.Month, Day: exit.Day}
}

// Open reports whether the episode has not been exited.
func (e Episode) Open() bool { return e.Exit.IsZero() }

// Referral is an orientation of the learner to a downstream programme.
type Referral struct {
	// Number counts the learner's referrals across episodes, from 1.
	Number       int
	Programme    Programme
	Date         civil.Date
	Organisation string
	// Outcome is the latest outcome, OutcomePending until one is recorded.
	Outcome     Outcome
	OutcomeDate civil.Date
	// RNCP and CertifiedOn: the certification of OutcomeCompletedCertified.
	RNCP        string
	CertifiedOn civil.Date
	// CarriedOver: carried over at its episode's exit. FollowedInQualif:
	// followed after an exit to qualifying training. The outcome of either
	// can be recorded after the exit.
	CarriedOver      bool
	FollowedInQualif bool
}

// Final reports whether the referral's outcome is final: nothing may
// follow it.
func (r Referral) Final() bool {
	return r.Outcome != OutcomePending && len(nextOutcomes[r.Outcome]) == 0
}

// recordableAfterExit reports whether the referral's outcome may be
// recorded once its episode is closed.
func (r Referral) recordableAfterExit() bool { return r.CarriedOver || r.FollowedInQualif }

// Pathway is a learner's pathway, folded from its events.
type Pathway struct {
	LearnerID string
	Territory string
	Episodes  []Episode
}

// Active reports whether an episode is open.
func (p Pathway) Active() bool {
	last, ok := p.last()
	return ok && last.Open()
}

// Exited reports whether the learner has left the scheme: there was an
// episode and it is closed.
func (p Pathway) Exited() bool {
	last, ok := p.last()
	return ok && !last.Open()
}

func (p Pathway) last() (Episode, bool) {
	if len(p.Episodes) == 0 {
		return Episode{}, false
	}
	return p.Episodes[len(p.Episodes)-1], true
}

// referrals counts the learner's referrals across episodes.
func (p Pathway) referrals() int {
	n := 0
	for _, e := range p.Episodes {
		n += len(e.Referrals)
	}
	return n
}

// referral finds referral number n: the index of its episode and its index
// in that episode.
func (p Pathway) referral(n int) (int, int, bool) {
	for i, e := range p.Episodes {
		for j, r := range e.Referrals {
			if r.Number == n {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// ActiveOn reports whether the learner was still in the scheme at the end of
// day d: an episode entered on or before d and not exited on or before d.
func (p Pathway) ActiveOn(d civil.Date) bool {
	for _, e := range p.Episodes {
		if !e.Entry.After(d) && (e.Open() || e.Exit.After(d)) {
			return true
		}
	}
	return false
}

// Learner is what pathway knows of a learner from intake's events (its local
// read model); Known is false until the registration has been seen.
type Learner struct {
	ID        string
	Territory string
	BirthDate civil.Date
	// RegisteredOn is the civil day of the registration; zero for
	// registrations recorded before intake stored it.
	RegisteredOn civil.Date
	// Situations are what intake recorded of the learner's public, the
	// registration's first, then each change, in the order of their dates.
	Situations []Situation
	Known      bool
	// Erased: intake erased the learner's personal data (its birth date
	// and situations read empty); nothing more is recorded about it.
	Erased bool
}

// Limits of the pathway's rules.
const (
	// MinimumAge is the youngest age at which a person can be in the scheme.
	MinimumAge = 16
	// DefaultMaxEntryBackdateDays is how many days before today an entry may
	// be dated when the service's configuration does not say.
	DefaultMaxEntryBackdateDays = 30
	// MaxExitDetailLength bounds the free text of an exit, in characters.
	MaxExitDetailLength = 500
	// MaxOrganisationLength bounds the name of a referral's organisation, in
	// characters.
	MaxOrganisationLength = 200
)

// ExitReason says why a learner left the scheme.
type ExitReason string

// The exit reasons. Their values are stable: they key the flow statistics.
const (
	ExitEmploymentPermanent       ExitReason = "employment_permanent"
	ExitEmploymentFixedTermLong   ExitReason = "employment_fixed_term_long"  // six months or more
	ExitEmploymentFixedTermShort  ExitReason = "employment_fixed_term_short" // less than six months
	ExitEmploymentTemporaryAgency ExitReason = "employment_temporary_agency"
	ExitSelfEmployed              ExitReason = "self_employed"
	ExitQualifyingTraining        ExitReason = "qualifying_training" // the "Qualif" programme
	ExitOtherTraining             ExitReason = "other_training"
	ExitAbandonment               ExitReason = "abandonment"
	ExitRelocation                ExitReason = "relocation"
	ExitHealth                    ExitReason = "health"
	ExitOther                     ExitReason = "other" // the detail says what
)

// ExitReasons lists every exit reason, in the order reports show them.
var ExitReasons = []ExitReason{
	ExitEmploymentPermanent, ExitEmploymentFixedTermLong, ExitEmploymentFixedTermShort,
	ExitEmploymentTemporaryAgency, ExitSelfEmployed, ExitQualifyingTraining, ExitOtherTraining,
	ExitAbandonment, ExitRelocation, ExitHealth, ExitOther,
}

// Valid reports whether r is one of ExitReasons.
func (r ExitReason) Valid() bool { return slices.Contains(ExitReasons, r) }

// Programme is a downstream programme a learner can be referred to.
type Programme string

// The programmes.
const (
	ProgrammeSavoirs Programme = "savoirs" // basic skills
	ProgrammeQualif  Programme = "qualif"  // qualifying training
	ProgrammeOther   Programme = "other"
	// ProgrammeESRP is "Parcours croisés / ESRP": people recognised as
	// disabled workers (RQTH) who need medico-social support.
	ProgrammeESRP Programme = "parcours_croises_esrp"
)

// Programmes lists every programme, in the order forms show them.
var Programmes = []Programme{ProgrammeSavoirs, ProgrammeQualif, ProgrammeESRP, ProgrammeOther}

// Valid reports whether p is a known programme.
func (p Programme) Valid() bool { return slices.Contains(Programmes, p) }

// Outcome is what became of a referral.
type Outcome string

// The outcomes; OutcomePending is the state of a referral without one.
const (
	OutcomePending   Outcome = ""
	OutcomeAccepted  Outcome = "accepted"
	OutcomeRefused   Outcome = "refused"
	OutcomeStarted   Outcome = "started"
	OutcomeAbandoned Outcome = "abandoned"
	// OutcomeCompletedCertified and OutcomeCompletedNotCertified end a
	// Qualif referral: the training completed, with the certification
	// obtained (its RNCP code and date recorded) or without.
	OutcomeCompletedCertified    Outcome = "completed_certified"
	OutcomeCompletedNotCertified Outcome = "completed_not_certified"
	// OutcomeClosedAtExit: the exit closed the referral without an outcome
	// (PendingClose). Only an exit records it.
	OutcomeClosedAtExit Outcome = "closed_at_exit"
)

// nextOutcomes says which outcome may follow which: a pending referral may
// get any outcome, an accepted one may start, complete or be abandoned, a
// started one may complete or be abandoned; refusals, abandonments,
// completions and closures at exit are final.
var nextOutcomes = map[Outcome][]Outcome{
	OutcomePending:  {OutcomeAccepted, OutcomeRefused, OutcomeStarted, OutcomeAbandoned, OutcomeCompletedCertified, OutcomeCompletedNotCertified},
	OutcomeAccepted: {OutcomeStarted, OutcomeAbandoned, OutcomeCompletedCertified, OutcomeCompletedNotCertified},
	OutcomeStarted:  {OutcomeAbandoned, OutcomeCompletedCertified, OutcomeCompletedNotCertified},
}

// completion reports whether o completes a training (Qualif referrals only).
func (o Outcome) completion() bool {
	return o == OutcomeCompletedCertified || o == OutcomeCompletedNotCertified
}

// PendingChoice is what an exit does with the referrals still open.
type PendingChoice string

// The choices; PendingUnchosen is none given.
const (
	PendingUnchosen PendingChoice = ""
	PendingClose    PendingChoice = "close"
	PendingCarry    PendingChoice = "carry_over"
)

// Situation6 is where a learner stands six months after the final exit.
type Situation6 string

// The situations of the six-month follow-up.
const (
	SituationEmployment Situation6 = "employment"
	SituationTraining   Situation6 = "training"
	SituationJobSeeking Situation6 = "job_seeking"
	SituationUnknown    Situation6 = "unknown"
)

// Situations6 lists the situations of the follow-up, in report order.
var Situations6 = []Situation6{SituationEmployment, SituationTraining, SituationJobSeeking, SituationUnknown}

// EmploymentType is the kind of employment of a learner in employment at
// the follow-up.
type EmploymentType string

// The employment types.
const (
	EmploymentPermanent       EmploymentType = "permanent"        // CDI
	EmploymentFixedTermLong   EmploymentType = "fixed_term_long"  // CDD of 6 months or more
	EmploymentFixedTermShort  EmploymentType = "fixed_term_short" // CDD of less than 6 months
	EmploymentTemporaryAgency EmploymentType = "temporary_agency" // intérim
	EmploymentSubsidised      EmploymentType = "subsidised"       // contrat aidé
	EmploymentSelfEmployed    EmploymentType = "self_employed"
)

// EmploymentTypes lists the employment types, in report order.
var EmploymentTypes = []EmploymentType{
	EmploymentPermanent, EmploymentFixedTermLong, EmploymentFixedTermShort,
	EmploymentTemporaryAgency, EmploymentSubsidised, EmploymentSelfEmployed,
}

// Valid reports whether o is an outcome that can be recorded.
func (o Outcome) Valid() bool { return slices.Contains(nextOutcomes[OutcomePending], o) }

// Event is a fact about a pathway.
type Event interface{ pathwayEvent() }

// PathwayEntered: the learner entered the scheme (first entry or re-entry).
type PathwayEntered struct {
	LearnerID string
	Episode   int
	EntryDate civil.Date
	Territory string
}

// PathwayExited: the learner left the scheme, closing an episode.
type PathwayExited struct {
	LearnerID string
	Episode   int
	EntryDate civil.Date
	ExitDate  civil.Date
	Reason    ExitReason
	Detail    string
	Territory string
	// Pending is what the exit did with the referrals still open (Carried
	// when carried over; closed ones get their ReferralOutcomeRecorded in
	// the same batch); PendingUnchosen when there were none to decide for.
	Pending PendingChoice
	Carried []int
	// Followed are the Qualif referrals an exit to qualifying training
	// follows until their outcome.
	Followed []int
}

// QualifFollowUpEnded: the last Qualif referral followed after the exit
// of Episode got a final outcome on Date.
type QualifFollowUpEnded struct {
	LearnerID string
	Episode   int
	Referral  int
	Outcome   Outcome
	Date      civil.Date
	Territory string
}

// FollowUpRecorded: the six-month follow-up of Episode's exit.
type FollowUpRecorded struct {
	LearnerID  string
	Episode    int
	ExitDate   civil.Date
	DueOn      civil.Date
	Situation  Situation6
	Employment EmploymentType
	RecordedOn civil.Date
	Territory  string
}

// ExitBackdated: an exit was recorded after its exit date. It comes with its
// PathwayExited and changes nothing in the pathway; other services re-evaluate
// what they recorded after ExitDate.
type ExitBackdated struct {
	LearnerID  string
	Episode    int
	ExitDate   civil.Date
	RecordedOn civil.Date
	Territory  string
}

// ReferralRecorded: the learner was referred to a programme during an episode.
type ReferralRecorded struct {
	LearnerID    string
	Episode      int
	Referral     int
	Programme    Programme
	Date         civil.Date
	Organisation string
}

// ReferralOutcomeRecorded: what became of a referral.
type ReferralOutcomeRecorded struct {
	LearnerID string
	Episode   int
	Referral  int
	Outcome   Outcome
	Date      civil.Date
	// RNCP and CertifiedOn: OutcomeCompletedCertified only.
	RNCP        string
	CertifiedOn civil.Date
}

// NeedsAnalysisNoted: a needs analysis of the episode was completed, a fact
// of the needs context that pathway records for the phase.
type NeedsAnalysisNoted struct {
	LearnerID  string
	Episode    int
	AnalysisID string
	Date       civil.Date
	Territory  string
}

// ImmersionNoted: an #Action immersion of the learner took place during the
// episode (completed, or partially), a fact of the immersion context that
// pathway records for the phase.
type ImmersionNoted struct {
	LearnerID string
	Episode   int
	SessionID string
	RomeCodes []string
	Completed bool
	Date      civil.Date
	Territory string
}

// PhaseChanged: the learner's phase changed. Decide appends it after the
// events that change the phase; it changes nothing itself (the phase is
// derived from the other events).
type PhaseChanged struct {
	LearnerID string
	Episode   int
	From, To  Phase
	Date      civil.Date
	Territory string
}

func (PathwayEntered) pathwayEvent()          {}
func (PathwayExited) pathwayEvent()           {}
func (ExitBackdated) pathwayEvent()           {}
func (ReferralRecorded) pathwayEvent()        {}
func (ReferralOutcomeRecorded) pathwayEvent() {}
func (NeedsAnalysisNoted) pathwayEvent()      {}
func (ImmersionNoted) pathwayEvent()          {}
func (PhaseChanged) pathwayEvent()            {}
func (QualifFollowUpEnded) pathwayEvent()     {}
func (FollowUpRecorded) pathwayEvent()        {}

// Command is a request to change a pathway.
type Command interface{ pathwayCommand() }

// EnterPathway opens an episode on EntryDate for Learner, decided on Today.
// The entry may be dated at most MaxBackdateDays before Today (0 means
// DefaultMaxEntryBackdateDays).
type EnterPathway struct {
	Learner         Learner
	EntryDate       civil.Date
	Today           civil.Date
	MaxBackdateDays int
}

// ExitPathway closes the open episode of LearnerID on ExitDate, and ends
// its open enrolments on that date.
type ExitPathway struct {
	LearnerID string
	ExitDate  civil.Date
	Reason    ExitReason
	Detail    string
	Today     civil.Date
	// Pending is what to do with the episode's referrals still open (but
	// the Qualif referrals a Qualif exit follows): required when one of
	// them is a Savoirs referral.
	Pending PendingChoice
}

// RecordReferral refers the learner to a programme during the open episode.
type RecordReferral struct {
	LearnerID    string
	Programme    Programme
	Date         civil.Date
	Organisation string
	Today        civil.Date
}

// RecordReferralOutcome records the outcome of referral number Referral.
type RecordReferralOutcome struct {
	LearnerID string
	Referral  int
	Outcome   Outcome
	Date      civil.Date
	Today     civil.Date
	// RNCP and CertifiedOn: required with OutcomeCompletedCertified,
	// refused with any other outcome.
	RNCP        string
	CertifiedOn civil.Date
}

// RecordFollowUp records the six-month follow-up of the learner's final
// exit, on Today.
type RecordFollowUp struct {
	LearnerID  string
	Situation  Situation6
	Employment EmploymentType
	Today      civil.Date
}

// NoteNeedsAnalysis records that analysis AnalysisID of the learner's
// episode Episode was completed on Date. Noting it again changes nothing.
type NoteNeedsAnalysis struct {
	LearnerID  string
	Episode    int
	AnalysisID string
	Date       civil.Date
}

// NoteImmersion records that the learner did immersion session SessionID
// (Completed, or partially), as the operator recorded on Date. It belongs to
// the episode open on Date, or else the last one.
type NoteImmersion struct {
	LearnerID string
	SessionID string
	RomeCodes []string
	Completed bool
	Date      civil.Date
}

func (EnterPathway) pathwayCommand()          {}
func (ExitPathway) pathwayCommand()           {}
func (RecordReferral) pathwayCommand()        {}
func (RecordReferralOutcome) pathwayCommand() {}
func (NoteNeedsAnalysis) pathwayCommand()     {}
func (NoteImmersion) pathwayCommand()         {}
func (RecordFollowUp) pathwayCommand()        {}

// Evolve applies one event to the state. It never modifies the slices of p,
// so states folded from a common past do not share their future.
func Evolve(p Pathway, e Event) Pathway {
	switch e := e.(type) {
	case PathwayEntered:
		p.LearnerID, p.Territory = e.LearnerID, e.Territory
		p.Episodes = append(slices.Clip(p.Episodes), Episode{Number: e.Episode, Entry: e.EntryDate})
	case PathwayExited:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			ep := &p.Episodes[i]
			ep.Exit, ep.ExitReason, ep.ExitDetail = e.ExitDate, e.Reason, e.Detail
			ep.Followed, ep.FollowingInQualif = slices.Clone(e.Followed), len(e.Followed) > 0
		}
		for _, n := range e.Carried {
			p = p.withReferral(n, func(r *Referral) { r.CarriedOver = true })
		}
		for _, n := range e.Followed {
			p = p.withReferral(n, func(r *Referral) { r.FollowedInQualif = true })
		}
	case QualifFollowUpEnded:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			p.Episodes[i].FollowingInQualif, p.Episodes[i].QualifFollowUpEndedOn = false, e.Date
		}
	case FollowUpRecorded:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			p.Episodes[i].FollowUp = FollowUp{Situation: e.Situation, Employment: e.Employment, RecordedOn: e.RecordedOn}
		}
	case ReferralRecorded:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			ep := &p.Episodes[i]
			ep.Referrals = append(slices.Clip(ep.Referrals), Referral{
				Number: e.Referral, Programme: e.Programme, Date: e.Date, Organisation: e.Organisation,
			})
		}
	case ReferralOutcomeRecorded:
		p = p.withReferral(e.Referral, func(r *Referral) {
			r.Outcome, r.OutcomeDate, r.RNCP, r.CertifiedOn = e.Outcome, e.Date, e.RNCP, e.CertifiedOn
		})
	case NeedsAnalysisNoted:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			p.Episodes[i].NeedsAnalysed = true
		}
	case ImmersionNoted:
		if i := p.episodeIndex(e.Episode); i >= 0 {
			p.Episodes = slices.Clone(p.Episodes)
			p.Episodes[i].ImmersionsDone++
		}
	case LearnerEnrolled, EnrolmentEnded:
		p = p.evolveEnrolment(e)
	case ExitBackdated:
		// A notice for other services: the exit itself is PathwayExited.
	case PhaseChanged:
		// A notice for other services: the phase is derived.
	}
	return p
}

// withReferral returns p with referral number n changed by change, its
// slices cloned; p itself when there is no such referral.
func (p Pathway) withReferral(n int, change func(*Referral)) Pathway {
	i, j, ok := p.referral(n)
	if !ok {
		return p
	}
	p.Episodes = slices.Clone(p.Episodes)
	ep := &p.Episodes[i]
	ep.Referrals = slices.Clone(ep.Referrals)
	change(&ep.Referrals[j])
	return p
}

func (p Pathway) episodeIndex(number int) int {
	return slices.IndexFunc(p.Episodes, func(e Episode) bool { return e.Number == number })
}

// Decide checks a command against the current state and returns the events
// it produces, or why it is refused. Input problems come first, all at once
// (InvalidArgument with one violation per problem, named by the request's
// field); then the state's preconditions (FailedPrecondition, NotFound).
//
// When the events change the learner's phase, a PhaseChanged dated with the
// command's business date follows them.
func Decide(p Pathway, cmd Command) ([]Event, error) {
	var (
		evs []Event
		err error
		on  civil.Date
	)
	switch c := cmd.(type) {
	case EnterPathway:
		evs, err = decideEnter(p, c)
		on = c.EntryDate
	case ExitPathway:
		evs, err = decideExit(p, c)
		on = c.ExitDate
	case RecordReferral:
		evs, err = decideReferral(p, c)
		on = c.Date
	case RecordReferralOutcome:
		evs, err = decideOutcome(p, c)
		on = c.Date
	case NoteNeedsAnalysis:
		evs, err = decideNoteAnalysis(p, c)
		on = c.Date
	case NoteImmersion:
		evs, err = decideNoteImmersion(p, c)
		on = c.Date
	case Enrol:
		evs, err = decideEnrol(p, c)
		on = c.From
	case EndEnrolment:
		evs, err = decideEndEnrolment(p, c)
		on = c.To
	case RecordFollowUp:
		evs, err = decideFollowUp(p, c)
		on = c.Today
	default:
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "command", Description: "unknown command"})
	}
	if err != nil || len(evs) == 0 {
		return evs, err
	}
	return withPhaseChange(p, evs, on), nil
}

// withPhaseChange appends a PhaseChanged to evs when they change the phase
// of p.
func withPhaseChange(p Pathway, evs []Event, on civil.Date) []Event {
	after := p
	for _, e := range evs {
		after = Evolve(after, e)
	}
	from, to := p.Phase(), after.Phase()
	if from == to {
		return evs
	}
	last, _ := after.last()
	return append(evs, PhaseChanged{
		LearnerID: after.LearnerID, Episode: last.Number, From: from, To: to, Date: on, Territory: after.Territory,
	})
}

// decideNoteImmersion records an immersion done in the episode open on its
// date, or else in the last episode (an outcome recorded after an exit).
func decideNoteImmersion(p Pathway, c NoteImmersion) ([]Event, error) {
	var v apperr.Violations
	if c.SessionID == "" {
		v.Add("session_id", "is required")
	}
	if !c.Date.Valid() {
		v.Add("recorded_on", "must be a real date between 1900 and 2200")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	last, ok := p.last()
	if !ok {
		return nil, apperr.NotFound("pathway of learner %s not found", c.LearnerID)
	}
	episode := last.Number
	for _, e := range p.Episodes {
		if !e.Entry.After(c.Date) && (e.Open() || !e.Exit.Before(c.Date)) {
			episode = e.Number
		}
	}
	return []Event{ImmersionNoted{
		LearnerID: p.LearnerID, Episode: episode, SessionID: c.SessionID, RomeCodes: slices.Clone(c.RomeCodes),
		Completed: c.Completed, Date: c.Date, Territory: p.Territory,
	}}, nil
}

// decideNoteAnalysis records a completed analysis of an episode, once.
func decideNoteAnalysis(p Pathway, c NoteNeedsAnalysis) ([]Event, error) {
	var v apperr.Violations
	if c.Episode < 1 {
		v.Add("episode_number", "must be 1 or more")
	}
	if c.AnalysisID == "" {
		v.Add("analysis_id", "is required")
	}
	if !c.Date.Valid() {
		v.Add("completed_on", "must be a real date between 1900 and 2200")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	i := p.episodeIndex(c.Episode)
	if i < 0 {
		return nil, apperr.NotFound("episode %d of the pathway of learner %s not found", c.Episode, c.LearnerID)
	}
	if p.Episodes[i].NeedsAnalysed {
		return nil, nil
	}
	return []Event{NeedsAnalysisNoted{
		LearnerID: p.LearnerID, Episode: c.Episode, AnalysisID: c.AnalysisID, Date: c.Date, Territory: p.Territory,
	}}, nil
}

// checkDate records the problems of a business date that must be real and
// not after today; it reports whether the date is usable for further checks.
func checkDate(v *apperr.Violations, field string, d, today civil.Date) bool {
	switch {
	case d.IsZero():
		v.Add(field, "is required")
	case !d.Valid():
		v.Add(field, "must be a real date between 1900 and 2200")
	case d.After(today):
		v.Add(field, "must not be in the future")
	default:
		return true
	}
	return false
}

func decideEnter(p Pathway, c EnterPathway) ([]Event, error) {
	maxBackdate := c.MaxBackdateDays
	if maxBackdate <= 0 {
		maxBackdate = DefaultMaxEntryBackdateDays
	}
	var v apperr.Violations
	if checkDate(&v, "entry_date", c.EntryDate, c.Today) {
		if earliest := c.Today.AddDays(-maxBackdate); c.EntryDate.Before(earliest) {
			v.Addf("entry_date", "must not be more than %d days before today (%s at the earliest)", maxBackdate, earliest)
		}
		if frozen := FreezeDay(civil.MonthOf(c.EntryDate)); !c.Today.Before(frozen) {
			v.Addf("entry_date", "must not be in %s: the statistics of that month were frozen on %s", civil.MonthOf(c.EntryDate), frozen)
		}
		// What depends on the learner is only checked for a learner in the
		// caller's scope, so nothing leaks about the others.
		if c.Learner.Known && !c.Learner.Erased {
			if !c.Learner.RegisteredOn.IsZero() && c.EntryDate.Before(c.Learner.RegisteredOn) {
				v.Addf("entry_date", "must not be before the learner's registration on %s", c.Learner.RegisteredOn)
			}
			if c.Learner.BirthDate.YearsOn(c.EntryDate) < MinimumAge {
				v.Addf("entry_date", "the learner must be at least %d years old on the entry date", MinimumAge)
			}
			if last, ok := p.last(); ok && !last.Open() && !c.EntryDate.After(last.Exit) {
				v.Addf("entry_date", "must be after the previous exit on %s: episodes never overlap", last.Exit)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !c.Learner.Known {
		return nil, apperr.FailedPrecondition("learner %s is not registered in your scope, or its registration has not reached pathway yet; retry shortly", c.Learner.ID)
	}
	if c.Learner.Erased {
		return nil, apperr.FailedPrecondition("the learner's personal data was erased: learner %s can no longer enter the pathway", c.Learner.ID).
			WithMeta("reason", ReasonLearnerErased)
	}
	if last, ok := p.last(); ok && last.Open() {
		return nil, apperr.FailedPrecondition("learner %s is already in the scheme since %s", c.Learner.ID, last.Entry)
	}
	return []Event{PathwayEntered{
		LearnerID: c.Learner.ID, Episode: len(p.Episodes) + 1, EntryDate: c.EntryDate, Territory: c.Learner.Territory,
	}}, nil
}

// noOpenEpisode is the refusal of a step for a learner out of the scheme.
func noOpenEpisode(learnerID string) error {
	return apperr.FailedPrecondition("learner %s has no open episode: no step may be recorded outside an episode (enter the pathway first)", learnerID).
		WithMeta("reason", ReasonNotInPathway)
}

// freeText trims s and records on v its problems under rule, with a
// required message of the domain's (why the text is needed) when it is
// empty and required. It returns the trimmed text.
func freeText(v *apperr.Violations, field, s string, rule text.Rule, required string) string {
	s = strings.TrimSpace(s)
	if rule.Required && s == "" {
		v.Add(field, required)
		return s
	}
	text.Check(v, field, s, rule)
	return s
}

// The rules of the texts people type into a pathway: the detail of an exit
// is a free text (it may span lines), an organisation's name is one line.
var (
	exitDetailRule   = text.Rule{Kind: text.Block, Max: MaxExitDetailLength}
	organisationRule = text.Rule{Kind: text.Line, Max: MaxOrganisationLength, Required: true}
)

func decideExit(p Pathway, c ExitPathway) ([]Event, error) {
	var v apperr.Violations
	last, open := p.last()
	open = open && last.Open()
	if checkDate(&v, "exit_date", c.ExitDate, c.Today) && open && c.ExitDate.Before(last.Entry) {
		v.Addf("exit_date", "must not be before the entry on %s", last.Entry)
	}
	if !c.Reason.Valid() {
		v.Add("reason", "is required: one of the coded exit reasons")
	}
	detail := exitDetailRule
	detail.Required = c.Reason == ExitOther
	c.Detail = freeText(&v, "detail", c.Detail, detail, "is required when the reason is other: say what the exit is")
	switch c.Pending {
	case PendingUnchosen, PendingClose, PendingCarry:
	default:
		v.Add("pending_referrals", "must be close or carry_over")
	}
	var followed, others []Referral
	if open {
		followed, others = referralsAtExit(p, last, c.Reason)
		if c.Pending == PendingUnchosen {
			for _, r := range others {
				if r.Programme == ProgrammeSavoirs {
					v.Addf("pending_referrals", "referral %d (Savoirs, %s) is still open: close it or carry it over", r.Number, outcomeWord(r.Outcome))
				}
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !open {
		return nil, noOpenEpisode(c.LearnerID)
	}
	exited := PathwayExited{
		LearnerID: p.LearnerID, Episode: last.Number, EntryDate: last.Entry, ExitDate: c.ExitDate,
		Reason: c.Reason, Detail: c.Detail, Territory: p.Territory,
	}
	for _, r := range followed {
		exited.Followed = append(exited.Followed, r.Number)
	}
	var closed []Event
	if len(others) > 0 && c.Pending != PendingUnchosen {
		exited.Pending = c.Pending
		for _, r := range others {
			if c.Pending == PendingCarry {
				exited.Carried = append(exited.Carried, r.Number)
				continue
			}
			on := c.ExitDate
			if on.Before(r.Date) {
				on = r.Date // referred after a back-dated exit
			}
			closed = append(closed, ReferralOutcomeRecorded{LearnerID: p.LearnerID, Episode: last.Number, Referral: r.Number, Outcome: OutcomeClosedAtExit, Date: on})
		}
	}
	evs := append([]Event{exited}, closed...)
	// No window in which a learner who left is still enrolled: the exit
	// ends the episode's open enrolments in the same decision, and the
	// notice of a late exit comes after them.
	evs = append(evs, endOnExit(p, last, c.ExitDate)...)
	if c.ExitDate.Before(c.Today) {
		evs = append(evs, ExitBackdated{
			LearnerID: p.LearnerID, Episode: last.Number, ExitDate: c.ExitDate, RecordedOn: c.Today, Territory: p.Territory,
		})
	}
	return evs, nil
}

// referralsAtExit sorts the referrals an exit of episode last for reason
// leaves open: those an exit to qualifying training follows (every Qualif
// referral still open, of this episode or carried from an earlier one),
// and the others of the episode, for which the exit's PendingChoice
// decides.
func referralsAtExit(p Pathway, last Episode, reason ExitReason) (followed, others []Referral) {
	for _, e := range p.Episodes {
		for _, r := range e.Referrals {
			if r.Final() {
				continue
			}
			switch {
			case reason == ExitQualifyingTraining && r.Programme == ProgrammeQualif && (e.Number == last.Number || r.recordableAfterExit()):
				followed = append(followed, r)
			case e.Number == last.Number:
				others = append(others, r)
			}
		}
	}
	return followed, others
}

// outcomeWord names a referral's outcome in messages.
func outcomeWord(o Outcome) string {
	if o == OutcomePending {
		return "pending"
	}
	return string(o)
}

func decideReferral(p Pathway, c RecordReferral) ([]Event, error) {
	var v apperr.Violations
	last, open := p.last()
	open = open && last.Open()
	if !c.Programme.Valid() {
		v.Add("programme", "is required: savoirs, qualif, parcours_croises_esrp or other")
	}
	if checkDate(&v, "referral_date", c.Date, c.Today) && open && c.Date.Before(last.Entry) {
		v.Addf("referral_date", "must not be before the entry of the open episode on %s", last.Entry)
	}
	org := freeText(&v, "organisation", c.Organisation, organisationRule, "is required: the organisation's name")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !open {
		return nil, noOpenEpisode(c.LearnerID)
	}
	return []Event{ReferralRecorded{
		LearnerID: p.LearnerID, Episode: last.Number, Referral: p.referrals() + 1,
		Programme: c.Programme, Date: c.Date, Organisation: org,
	}}, nil
}

func decideOutcome(p Pathway, c RecordReferralOutcome) ([]Event, error) {
	var v apperr.Violations
	if c.Referral < 1 {
		v.Add("referral_number", "is required: the number of one of the learner's referrals, from 1")
	}
	if !c.Outcome.Valid() {
		v.Add("outcome", "is required: accepted, refused, started, abandoned, completed_certified or completed_not_certified")
	}
	i, j, found := p.referral(c.Referral)
	var ref Referral
	if found {
		ref = p.Episodes[i].Referrals[j]
		if c.Outcome.completion() && ref.Programme != ProgrammeQualif {
			v.Addf("outcome", "%s is an outcome of a Qualif referral: referral %d is not one", c.Outcome, ref.Number)
		}
	}
	rncp := strings.TrimSpace(c.RNCP)
	if c.Outcome == OutcomeCompletedCertified {
		if problem := checkRNCP(rncp); problem != "" {
			v.Add("rncp_code", problem)
		}
		if checkDate(&v, "certification_date", c.CertifiedOn, c.Today) && found && c.CertifiedOn.Before(ref.Date) {
			v.Addf("certification_date", "must not be before the referral on %s", ref.Date)
		}
	} else {
		if rncp != "" {
			v.Add("rncp_code", "is only for the outcome completed_certified")
		}
		if !c.CertifiedOn.IsZero() {
			v.Add("certification_date", "is only for the outcome completed_certified")
		}
	}
	if checkDate(&v, "outcome_date", c.Date, c.Today) && found {
		switch {
		case c.Date.Before(ref.Date):
			v.Addf("outcome_date", "must not be before the referral on %s", ref.Date)
		case ref.Outcome != OutcomePending && c.Date.Before(ref.OutcomeDate):
			v.Addf("outcome_date", "must not be before the previous outcome (%s on %s)", ref.Outcome, ref.OutcomeDate)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, apperr.NotFound("referral %d of learner %s not found", c.Referral, c.LearnerID)
	}
	if ep := p.Episodes[i]; !ep.Open() && !ref.recordableAfterExit() {
		return nil, apperr.FailedPrecondition("referral %d belongs to episode %d, closed on %s: no step may be recorded in a closed episode (neither carried over nor followed in Qualif)", ref.Number, ep.Number, ep.Exit)
	}
	if !slices.Contains(nextOutcomes[ref.Outcome], c.Outcome) {
		// A pending referral may take any outcome: ref has one here.
		return nil, apperr.FailedPrecondition("referral %d is %s since %s: it cannot become %s", ref.Number, ref.Outcome, ref.OutcomeDate, c.Outcome)
	}
	recorded := ReferralOutcomeRecorded{
		LearnerID: p.LearnerID, Episode: p.Episodes[i].Number, Referral: ref.Number, Outcome: c.Outcome, Date: c.Date,
	}
	if c.Outcome == OutcomeCompletedCertified {
		recorded.RNCP, recorded.CertifiedOn = rncp, c.CertifiedOn
	}
	evs := []Event{recorded}
	after := Evolve(p, recorded)
	// The follow-up in Qualif of an exit ends with the last final outcome
	// of the referrals it follows, in the same batch.
	for _, ep := range after.Episodes {
		if !ep.FollowingInQualif || !slices.Contains(ep.Followed, ref.Number) {
			continue
		}
		done := true
		for _, n := range ep.Followed {
			if a, b, ok := after.referral(n); ok && !after.Episodes[a].Referrals[b].Final() {
				done = false
			}
		}
		if done {
			evs = append(evs, QualifFollowUpEnded{
				LearnerID: p.LearnerID, Episode: ep.Number, Referral: ref.Number, Outcome: c.Outcome, Date: c.Date, Territory: p.Territory,
			})
		}
	}
	return evs, nil
}

// MaxRNCPDigits bounds the digits of an RNCP code.
const MaxRNCPDigits = 6

// checkRNCP returns the problem of an RNCP code, "" when it is one: "RNCP"
// and 1 to MaxRNCPDigits digits.
func checkRNCP(code string) string {
	digits, ok := strings.CutPrefix(code, "RNCP")
	switch {
	case code == "":
		return "is required for completed_certified: the certification's code in the national register (e.g. RNCP35467)"
	case !ok || digits == "" || len(digits) > MaxRNCPDigits || strings.Trim(digits, "0123456789") != "":
		return fmt.Sprintf("must be RNCP followed by 1 to %d digits (e.g. RNCP35467)", MaxRNCPDigits)
	}
	return ""
}

// decideFollowUp records the six-month follow-up of the final exit, once,
// when it is due.
func decideFollowUp(p Pathway, c RecordFollowUp) ([]Event, error) {
	var v apperr.Violations
	if !slices.Contains(Situations6, c.Situation) {
		v.Add("situation", "is required: employment, training, job_seeking or unknown")
	}
	switch {
	case c.Situation == SituationEmployment && !slices.Contains(EmploymentTypes, c.Employment):
		v.Add("employment_type", "is required in employment: permanent, fixed_term_long, fixed_term_short, temporary_agency, subsidised or self_employed")
	case c.Situation != SituationEmployment && c.Employment != "":
		v.Add("employment_type", "is only for the situation employment")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	last, ok := p.last()
	switch {
	case !ok:
		return nil, apperr.NotFound("pathway of learner %s not found", c.LearnerID)
	case last.Open():
		return nil, apperr.FailedPrecondition("learner %s is in the scheme (episode %d): the follow-up comes six months after the final exit", c.LearnerID, last.Number).
			WithMeta("reason", ReasonFollowUpNotDue)
	case last.FollowUp.Recorded():
		return nil, apperr.FailedPrecondition("the six-month follow-up of the exit on %s was recorded on %s", last.Exit, last.FollowUp.RecordedOn).
			WithMeta("reason", ReasonFollowUpRecorded)
	}
	due := FollowUpDue(last.Exit)
	if c.Today.Before(due) {
		return nil, apperr.FailedPrecondition("the six-month follow-up of the exit on %s is due on %s, not before", last.Exit, due).
			WithMeta("reason", ReasonFollowUpNotDue)
	}
	return []Event{FollowUpRecorded{
		LearnerID: p.LearnerID, Episode: last.Number, ExitDate: last.Exit, DueOn: due, Situation: c.Situation,
		Employment: c.Employment, RecordedOn: c.Today, Territory: p.Territory,
	}}, nil
}
