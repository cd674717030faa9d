package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Episode is one stay of a learner in the scheme, from the PATHWAY events.
type Episode struct {
	Number int
	Entry  civil.Date
	Exit   civil.Date // zero while open
}

// Covers reports whether the learner was in the scheme on day.
func (e Episode) Covers(day civil.Date) bool {
	return !day.Before(e.Entry) && (e.Exit.IsZero() || !day.After(e.Exit))
}

// Enrolment is a dated placement of a learner with an operator's contract,
// from the PATHWAY events (LearnerEnrolled, EnrolmentEnded): the operator
// may bill for the learner under that contract on the days it covers.
type Enrolment struct {
	Number     int
	Episode    int
	ContractID string
	OperatorID string
	From       civil.Date
	To         civil.Date // last day; zero while open
}

// Covers reports whether the enrolment covers day.
func (e Enrolment) Covers(day civil.Date) bool {
	return !day.Before(e.From) && (e.To.IsZero() || !day.After(e.To))
}

// Learner is what funding knows of a learner from the other contexts when
// deciding: its territory, its episodes in the scheme, its enrolments and
// the days of its #Action immersions whose outcome is recorded.
type Learner struct {
	ID         string
	Territory  string
	Episodes   []Episode
	Enrolments []Enrolment
	// Immersion is the minutes of immersion on each day (outcome recorded:
	// every scheduled day of a completed immersion, the days up to the
	// last day present of a partially completed one).
	Immersion map[civil.Date]int
}

// InScheme reports whether the learner was in an episode on day.
func (l Learner) InScheme(day civil.Date) bool {
	return slices.ContainsFunc(l.Episodes, func(e Episode) bool { return e.Covers(day) })
}

// EnrolledWith reports whether an enrolment with the contract covers day.
func (l Learner) EnrolledWith(contractID string, day civil.Date) bool {
	return slices.ContainsFunc(l.Enrolments, func(e Enrolment) bool { return e.ContractID == contractID && e.Covers(day) })
}

// ContractsOn returns the contracts the learner was enrolled with on day,
// sorted, each once.
func (l Learner) ContractsOn(day civil.Date) []string {
	var out []string
	for _, e := range l.Enrolments {
		if e.Covers(day) && !slices.Contains(out, e.ContractID) {
			out = append(out, e.ContractID)
		}
	}
	slices.Sort(out)
	return out
}

// Learners are the learners known to the service, by id.
type Learners map[string]Learner

// Get returns the learner with that id; an unknown learner has no episode,
// no enrolment and no territory.
func (ls Learners) Get(id string) Learner {
	l, ok := ls[id]
	if !ok {
		return Learner{ID: id}
	}
	l.ID = id
	return l
}

// Placement says whether the learner may be billed under a contract on
// day: enrolled with the contract (LEARNER_NOT_ENROLLED otherwise, naming
// the contracts it was enrolled with that day, if any), and living in a
// territory of the contract's lot (TERRITORY_NOT_IN_LOT). RejectNone when
// it may.
func (l Learner) Placement(contractID string, t Terms, day civil.Date) (Rejection, string) {
	if !l.EnrolledWith(contractID, day) {
		return RejectNotEnrolled, notEnrolled(l, contractID, day)
	}
	if !slices.Contains(t.Territories, l.Territory) {
		return RejectTerritoryNotInLot, notInLot(l, contractID, t)
	}
	return RejectNone, ""
}

func notEnrolled(l Learner, contractID string, day civil.Date) string {
	detail := fmt.Sprintf("learner %s had no enrolment with contract %s on %s", l.ID, contractID, day)
	if others := l.ContractsOn(day); len(others) > 0 {
		return detail + ": enrolled with contract " + strings.Join(others, ", ") + " that day"
	}
	return detail + " (as far as funding knows the pathway's enrolments)"
}

func notInLot(l Learner, contractID string, t Terms) string {
	where := "an unknown territory"
	if l.Territory != "" {
		where = "territory " + l.Territory
	}
	return fmt.Sprintf("learner %s lives in %s, not in the lot of contract %s (%s)", l.ID, where, contractID, strings.Join(t.Territories, ", "))
}

// ImmersionDays returns the minutes of immersion each day of an #Action
// session whose outcome is recorded: daily minutes on each day from..to
// for a completed one, from..lastDay for a partially completed one, none
// for a no-show.
func ImmersionDays(from, to civil.Date, daily int, completed bool, lastDay civil.Date) map[civil.Date]int {
	out := map[civil.Date]int{}
	end := to
	if !completed {
		if lastDay.IsZero() || lastDay.Before(from) {
			return out
		}
		if lastDay.Before(end) {
			end = lastDay
		}
	}
	if daily <= 0 || !from.Valid() || !end.Valid() {
		return out
	}
	for d := from; !d.After(end); d = d.AddDays(1) {
		out[d] += daily
	}
	return out
}
