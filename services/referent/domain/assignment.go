package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Reason is why a learner got a referent.
type Reason string

// The reasons.
const (
	ReasonAutomatic    Reason = "automatic"
	ReasonManual       Reason = "manual"
	ReasonHandover     Reason = "handover"
	ReasonDeactivation Reason = "deactivation"
)

// End is how a period with a referent ended.
type End string

// The ends of a period.
const (
	EndNone     End = ""         // current
	EndHandover End = "handover" // another referent took over, or the referent was deactivated
	EndExit     End = "exit"     // the learner left the pathway
)

// Period is one period of a learner with a referent.
type Period struct {
	ReferentID  string
	Episode     int
	From        civil.Date
	To          civil.Date // zero while current
	Reason      Reason
	Explanation string
	End         End
}

// Assignment is a learner's assignment aggregate, folded from its events.
type Assignment struct {
	LearnerID string
	Territory string
	Episode   int
	// Active: in the pathway (assigned or queued).
	Active bool
	// Current is the current referent, "" when queued or out of the pathway.
	Current      string
	Pending      bool
	PendingSince civil.Date
	Periods      []Period
	// Interim stands in for the current referent, absent, on the days of
	// InterimDays; "" when nobody does.
	Interim     string
	InterimDays Span
	// InQualif: the learner left the pathway for qualifying training and
	// Current follows it there, since InQualifSince, until the outcome.
	InQualif      bool
	InQualifSince civil.Date
}

// Exists reports whether the learner ever had an assignment event.
func (a Assignment) Exists() bool { return a.Episode > 0 }

// LastReferent is the referent of the last period, "" if none.
func (a Assignment) LastReferent() string {
	if len(a.Periods) == 0 {
		return ""
	}
	return a.Periods[len(a.Periods)-1].ReferentID
}

// ReadableBy reports whether referent may still read the learner on day: the
// current referent, and a referent whose period ended by a handover less
// than graceDays ago.
func (a Assignment) ReadableBy(referent string, day civil.Date, graceDays int) bool {
	if referent == "" {
		return false
	}
	if a.Current == referent {
		return true
	}
	for _, p := range a.Periods {
		if p.ReferentID == referent && p.End == EndHandover && !day.After(p.To.AddDays(graceDays)) {
			return true
		}
	}
	return false
}

// StandsIn reports whether referent stands in for the learner's referent on
// day: its interim, on the days it was named for.
func (a Assignment) StandsIn(referent string, day civil.Date) bool {
	return referent != "" && a.Interim == referent && a.InterimDays.Covers(day)
}

// Events of an assignment.
type (
	// ReferentAssigned: the learner got a referent (Previous, for a
	// handover, is the one before).
	ReferentAssigned struct {
		LearnerID   string
		ReferentID  string
		Territory   string
		Episode     int
		From        civil.Date
		Reason      Reason
		Explanation string
		Previous    string
		// ReferentName is the referent's name when assigned.
		ReferentName string
	}
	// AssignmentPending: the learner waits in the territory's queue.
	AssignmentPending struct {
		LearnerID   string
		Territory   string
		Episode     int
		Since       civil.Date
		Explanation string
		Previous    string
	}
	// AssignmentEnded: the learner's episode ended.
	AssignmentEnded struct {
		LearnerID  string
		ReferentID string
		Territory  string
		Episode    int
		To         civil.Date
	}
	// InterimAssigned: Interim stands in for the learner's referent
	// (ReferentID), absent, on the days of Span. The referent stays.
	InterimAssigned struct {
		LearnerID  string
		ReferentID string
		Interim    string
		Territory  string
		Episode    int
		Span       Span
	}
	// InterimCleared: nobody stands in for the learner's referent any more.
	InterimCleared struct {
		LearnerID  string
		ReferentID string
		Interim    string
	}
	// FollowingInQualif: the learner left the pathway for qualifying
	// training on From; its referent follows it until the Qualif outcome.
	FollowingInQualif struct {
		LearnerID  string
		ReferentID string
		Territory  string
		Episode    int
		From       civil.Date
	}
)

func (ReferentAssigned) isEvent()  {}
func (AssignmentPending) isEvent() {}
func (AssignmentEnded) isEvent()   {}
func (InterimAssigned) isEvent()   {}
func (InterimCleared) isEvent()    {}
func (FollowingInQualif) isEvent() {}

// EvolveAssignment applies one event to an assignment; events of other
// aggregates leave it unchanged. A change of referent (or its end) ends any
// interim.
func EvolveAssignment(a Assignment, ev Event) Assignment {
	closeCurrent := func(to civil.Date, end End) {
		if a.Current == "" || len(a.Periods) == 0 {
			return
		}
		a.Periods = slices.Clone(a.Periods)
		p := &a.Periods[len(a.Periods)-1]
		p.To, p.End = to, end
	}
	switch ev.(type) {
	case ReferentAssigned, AssignmentPending, AssignmentEnded, InterimCleared:
		a.Interim, a.InterimDays = "", Span{}
	}
	switch ev.(type) {
	case ReferentAssigned, AssignmentPending, AssignmentEnded:
		a.InQualif, a.InQualifSince = false, civil.Date{}
	}
	switch e := ev.(type) {
	case FollowingInQualif:
		a.Current, a.Active, a.InQualif, a.InQualifSince = e.ReferentID, false, true, e.From
	case InterimAssigned:
		a.Interim, a.InterimDays = e.Interim, e.Span
	case ReferentAssigned:
		closeCurrent(e.From, EndHandover)
		a.LearnerID, a.Territory, a.Episode = e.LearnerID, e.Territory, e.Episode
		a.Periods = append(slices.Clone(a.Periods), Period{ReferentID: e.ReferentID, Episode: e.Episode, From: e.From, Reason: e.Reason, Explanation: e.Explanation})
		a.Current, a.Active, a.Pending, a.PendingSince = e.ReferentID, true, false, civil.Date{}
	case AssignmentPending:
		closeCurrent(e.Since, EndHandover)
		a.LearnerID, a.Territory, a.Episode = e.LearnerID, e.Territory, e.Episode
		a.Current, a.Active, a.Pending, a.PendingSince = "", true, true, e.Since
	case AssignmentEnded:
		closeCurrent(e.To, EndExit)
		a.LearnerID, a.Territory, a.Episode = e.LearnerID, e.Territory, e.Episode
		a.Current, a.Active, a.Pending, a.PendingSince = "", false, false, civil.Date{}
	}
	return a
}

// Learner is what referent knows of a learner from intake's events.
type Learner struct {
	ID         string
	Disability bool // RQTH
	Senior     bool // 50 or older at entry
}

// Assignment commands. Each is decided over the learner's assignment and the
// caseloads it concerns (Decide's referents: the candidates of the
// territory, and the current referent).
type (
	// Enter assigns a learner who entered the pathway.
	Enter struct {
		Learner   Learner
		Territory string
		Episode   int
		Day       civil.Date
	}
	// Exit ends the assignment of a learner who left the pathway, or, with
	// Qualif (an exit to qualifying training with Qualif referrals to
	// follow), keeps its referent following it in Qualif.
	Exit struct {
		LearnerID string
		Episode   int
		Day       civil.Date
		Qualif    bool
	}
	// EndQualif ends the follow-up in Qualif of episode Episode: the Qualif
	// outcome was recorded on Day.
	EndQualif struct {
		LearnerID string
		Episode   int
		Day       civil.Date
	}
	// Retry assigns a queued learner if a referent can take them now.
	Retry struct {
		Learner Learner
		Day     civil.Date
	}
	// Assign gives a learner a chosen referent (an administrator's
	// decision). With Handover, From must be the current referent.
	Assign struct {
		LearnerID  string
		ReferentID string
		Handover   bool
		From       string
		Reason     string
		Day        civil.Date
		Today      civil.Date
	}
	// Reassign hands a learner over from a deactivated referent to the
	// policy's choice, or queues them.
	Reassign struct {
		Learner Learner
		From    string
		Day     civil.Date
	}
)

// MaxReasonLength bounds the reason of a manual assignment or handover.
const MaxReasonLength = 500

// Decide decides an assignment command. The events of the assignment come
// first, then those of the caseloads, then, when the referent taking the
// learner has an interim named for an absence not over on the day, the
// learner's InterimAssigned.
func Decide(a Assignment, referents map[string]Referent, cmd any) ([]Event, error) {
	evs, err := decide(a, referents, cmd)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if t, ok := ev.(LearnerTaken); ok {
			if i, ok := referents[t.ReferentID].interimFor(t.Slot); ok {
				evs = append(evs, i)
			}
		}
	}
	return evs, nil
}

func decide(a Assignment, referents map[string]Referent, cmd any) ([]Event, error) {
	list := make([]Referent, 0, len(referents))
	for _, r := range referents {
		list = append(list, r)
	}
	switch c := cmd.(type) {
	case Enter:
		if a.Episode >= c.Episode {
			return nil, nil // already decided
		}
		var evs []Event
		if a.Active || a.InQualif {
			// An exit never seen, or a follow-up in Qualif: end the older
			// episode first.
			evs = append(evs, end(a, c.Day)...)
		}
		need := Need{Territory: c.Territory, Day: c.Day, Disability: c.Learner.Disability, Senior: c.Learner.Senior, Previous: a.LastReferent()}
		return append(evs, assignOrQueue(c.Learner.ID, c.Territory, c.Episode, need, list, ReasonAutomatic, "")...), nil
	case Exit:
		if !a.Active || a.Episode != c.Episode {
			return nil, nil
		}
		if c.Qualif && a.Current != "" {
			return followInQualif(a.LearnerID, a.Current, a.Territory, a.Episode, c.Day), nil
		}
		return end(a, c.Day), nil
	case EndQualif:
		if !a.InQualif || a.Episode != c.Episode {
			return nil, nil
		}
		return end(a, c.Day), nil
	case Retry:
		if !a.Pending {
			return nil, nil
		}
		need := Need{Territory: a.Territory, Day: c.Day, Disability: c.Learner.Disability, Senior: c.Learner.Senior, Previous: a.LastReferent()}
		choice := Choose(need, list)
		if choice.ReferentID == "" {
			return nil, nil
		}
		return assigned(a.LearnerID, a.Territory, a.Episode, c.Day, choice, ReasonAutomatic, ""), nil
	case Reassign:
		if (!a.Active && !a.InQualif) || a.Current != c.From {
			return nil, nil
		}
		need := Need{Territory: a.Territory, Day: c.Day, Disability: c.Learner.Disability, Senior: c.Learner.Senior, Exclude: c.From}
		if a.InQualif {
			// A learner followed in Qualif is handed over to the policy's
			// choice, still in Qualif; without one, its follow-up ends.
			choice := Choose(need, list)
			if choice.ReferentID == "" {
				return end(a, c.Day), nil
			}
			evs := assigned(a.LearnerID, a.Territory, a.Episode, c.Day, choice, ReasonDeactivation, c.From)
			evs = append(evs[:1:1], LearnerReleased{ReferentID: c.From, LearnerID: a.LearnerID, Territory: a.Territory, To: c.Day, InQualif: true}, evs[1])
			return append(evs, followInQualif(a.LearnerID, choice.ReferentID, a.Territory, a.Episode, a.InQualifSince)...), nil
		}
		evs := assignOrQueue(a.LearnerID, a.Territory, a.Episode, need, list, ReasonDeactivation, c.From)
		return append(evs[:1:1], append([]Event{LearnerReleased{ReferentID: c.From, LearnerID: a.LearnerID, Territory: a.Territory, To: c.Day}}, evs[1:]...)...), nil
	case Assign:
		return decideAssign(a, referents, c)
	}
	return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
}

// end ends the assignment of the current episode, or its follow-up in
// Qualif.
func end(a Assignment, day civil.Date) []Event {
	evs := []Event{AssignmentEnded{LearnerID: a.LearnerID, ReferentID: a.Current, Territory: a.Territory, Episode: a.Episode, To: day}}
	if a.Current != "" {
		evs = append(evs, LearnerReleased{ReferentID: a.Current, LearnerID: a.LearnerID, Territory: a.Territory, To: day, InQualif: a.InQualif})
	}
	return evs
}

// followInQualif keeps referent following a learner who left for
// qualifying training on day: the assignment's event, then the caseload's.
func followInQualif(learner, referent, territory string, episode int, day civil.Date) []Event {
	return []Event{
		FollowingInQualif{LearnerID: learner, ReferentID: referent, Territory: territory, Episode: episode, From: day},
		LearnerFollowedInQualif{ReferentID: referent, LearnerID: learner, Territory: territory, From: day},
	}
}

// assignOrQueue assigns the policy's choice, or queues the learner.
func assignOrQueue(learner, territory string, episode int, need Need, referents []Referent, reason Reason, previous string) []Event {
	choice := Choose(need, referents)
	if choice.ReferentID == "" {
		return []Event{AssignmentPending{LearnerID: learner, Territory: territory, Episode: episode, Since: need.Day, Explanation: choice.Explanation, Previous: previous}}
	}
	return assigned(learner, territory, episode, need.Day, choice, reason, previous)
}

func assigned(learner, territory string, episode int, day civil.Date, choice Choice, reason Reason, previous string) []Event {
	return []Event{
		ReferentAssigned{
			LearnerID: learner, ReferentID: choice.ReferentID, Territory: territory, Episode: episode, From: day, Reason: reason,
			Explanation: choice.Explanation, Previous: previous, ReferentName: choice.Name,
		},
		LearnerTaken{ReferentID: choice.ReferentID, Slot: Slot{LearnerID: learner, Territory: territory, Episode: episode, From: day}},
	}
}

// reasonRule is the rule of the reason of a manual assignment or handover:
// a free text, on several lines if need be, without control or
// bidirectional formatting characters.
var reasonRule = text.Rule{Kind: text.Block, Max: MaxReasonLength}

// Check records the problems of the command's own fields (those that need
// no state): the handlers report them with the request's other fields.
func (c Assign) Check(v *apperr.Violations) {
	if c.Day.After(c.Today) {
		v.Add("effective_date", "cannot be in the future")
	}
	reason := strings.TrimSpace(c.Reason)
	switch {
	case c.Handover && reason == "":
		v.Add("reason", "is required for a handover")
	default:
		text.Check(v, "reason", reason, reasonRule)
	}
	if c.Handover && c.From == c.ReferentID {
		v.Add("to_referent_id", "must differ from from_referent_id")
	}
}

func decideAssign(a Assignment, referents map[string]Referent, c Assign) ([]Event, error) {
	var v apperr.Violations
	c.Check(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(c.Reason)
	if !a.Active && !a.InQualif {
		return nil, apperr.FailedPrecondition("learner %s is not in the pathway (as referent knows it: retry in a moment after an entry)", c.LearnerID)
	}
	if c.Handover && a.Current != c.From {
		return nil, apperr.FailedPrecondition("learner %s is not followed by %s", c.LearnerID, c.From)
	}
	if a.Current == c.ReferentID {
		return nil, nil
	}
	start := a.PendingSince
	if a.Current != "" {
		start = a.Periods[len(a.Periods)-1].From
	}
	if c.Day.Before(start) {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "effective_date", Description: fmt.Sprintf("cannot be before %s, the start of the current period", start)})
	}
	r := referents[c.ReferentID]
	if ok, why := Eligible(r, Need{Territory: a.Territory, Day: c.Day}); !ok {
		if !r.Exists() {
			return nil, apperr.NotFound("referent %s not found", c.ReferentID)
		}
		return nil, apperr.FailedPrecondition("referent %s cannot take learner %s: %s", c.ReferentID, c.LearnerID, why)
	}
	kind := ReasonManual
	if a.Current != "" {
		kind = ReasonHandover
	}
	if reason == "" {
		reason = "assigned by an administrator"
	}
	evs := []Event{ReferentAssigned{
		LearnerID: a.LearnerID, ReferentID: c.ReferentID, Territory: a.Territory, Episode: a.Episode, From: c.Day, Reason: kind,
		Explanation: reason, Previous: a.Current, ReferentName: r.Profile.Name,
	}}
	if a.Current != "" {
		evs = append(evs, LearnerReleased{ReferentID: a.Current, LearnerID: a.LearnerID, Territory: a.Territory, To: c.Day, InQualif: a.InQualif})
	}
	evs = append(evs, LearnerTaken{ReferentID: c.ReferentID, Slot: Slot{LearnerID: a.LearnerID, Territory: a.Territory, Episode: a.Episode, From: c.Day}})
	if a.InQualif {
		// Handed over in Qualif: the new referent follows it there.
		evs = append(evs, followInQualif(a.LearnerID, c.ReferentID, a.Territory, a.Episode, a.InQualifSince)...)
	}
	return evs, nil
}
