// Package domain holds the pathway's business rules: continuous entry into
// the scheme, one open episode at a time. It is pure: no I/O.
package domain

import (
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Episode is one continuous stay in the scheme.
type Episode struct {
	Number int
	Entry  civil.Date
}

// Pathway is a learner's pathway, folded from its events.
type Pathway struct {
	LearnerID string
	Territory string
	Episodes  []Episode
}

// Active reports whether an episode is open.
func (p Pathway) Active() bool { return len(p.Episodes) > 0 }

// Learner is what pathway knows of a learner from intake's events (its local
// read model); Known is false until the registration has been seen.
type Learner struct {
	ID        string
	Territory string
	BirthDate civil.Date
	Known     bool
}

// MinimumAge is the youngest age at which a person can be in the scheme.
const MinimumAge = 16

// Event is a fact about a pathway.
type Event interface{ pathwayEvent() }

// PathwayEntered: the learner entered the scheme (first entry or re-entry).
type PathwayEntered struct {
	LearnerID string
	Episode   int
	EntryDate civil.Date
	Territory string
}

func (PathwayEntered) pathwayEvent() {}

// Command is a request to change a pathway.
type Command interface{ pathwayCommand() }

// EnterPathway opens an episode on EntryDate for Learner, decided on Today.
type EnterPathway struct {
	Learner   Learner
	EntryDate civil.Date
	Today     civil.Date
}

func (EnterPathway) pathwayCommand() {}

// Evolve applies one event to the state.
func Evolve(p Pathway, e Event) Pathway {
	switch e := e.(type) {
	case PathwayEntered:
		p.LearnerID, p.Territory = e.LearnerID, e.Territory
		p.Episodes = append(p.Episodes[:len(p.Episodes):len(p.Episodes)], Episode{Number: e.Episode, Entry: e.EntryDate})
	}
	return p
}

// Decide checks a command against the current state and returns the events
// it produces, or why it is refused.
func Decide(p Pathway, cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case EnterPathway:
		return decideEnter(p, c)
	}
	return nil, apperr.Invalid(apperr.FieldViolation{Field: "command", Description: "unknown command"})
}

func decideEnter(p Pathway, c EnterPathway) ([]Event, error) {
	var v apperr.Violations
	switch {
	case !c.EntryDate.Valid():
		v.Add("entry_date", "must be a real date between 1900 and 2200")
	case c.EntryDate.After(c.Today):
		v.Add("entry_date", "must not be in the future")
	case c.Learner.Known && c.Learner.BirthDate.YearsOn(c.EntryDate) < MinimumAge:
		v.Addf("entry_date", "the learner must be at least %d years old on the entry date", MinimumAge)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !c.Learner.Known {
		return nil, apperr.FailedPrecondition("learner %s is not registered in your scope, or its registration has not reached pathway yet; retry shortly", c.Learner.ID)
	}
	if p.Active() {
		last := p.Episodes[len(p.Episodes)-1]
		return nil, apperr.FailedPrecondition("learner %s is already in the scheme since %s", c.Learner.ID, last.Entry)
	}
	return []Event{PathwayEntered{
		LearnerID: c.Learner.ID, Episode: len(p.Episodes) + 1, EntryDate: c.EntryDate, Territory: c.Learner.Territory,
	}}, nil
}
