// Package domain holds intake's business rules: who may be registered, and
// how a learner's state follows from its events. It is pure: no I/O.
package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// MinimumAge is the youngest age at which a person can be registered.
const MinimumAge = 16

// maxNameLength bounds family and given names, in characters.
const maxNameLength = 100

// Learner is the state of one learner, folded from its events.
type Learner struct {
	ID           string
	FamilyName   string
	GivenName    string
	BirthDate    civil.Date
	Territory    string
	RegisteredOn civil.Date
	// RQTH: recognised disability. Special-category data.
	RQTH bool
}

// Exists reports whether the learner has been registered.
func (l Learner) Exists() bool { return l.ID != "" }

// Event is a fact about a learner.
type Event interface{ learnerEvent() }

// LearnerRegistered: a person was welcomed into the scheme.
type LearnerRegistered struct {
	LearnerID    string
	FamilyName   string
	GivenName    string
	BirthDate    civil.Date
	Territory    string
	RegisteredOn civil.Date
	RQTH         bool
}

func (LearnerRegistered) learnerEvent() {}

// Command is a request to change a learner.
type Command interface{ learnerCommand() }

// RegisterLearner registers a new person on Today.
type RegisterLearner struct {
	LearnerID  string
	FamilyName string
	GivenName  string
	BirthDate  civil.Date
	Territory  string
	RQTH       bool
	Today      civil.Date
}

func (RegisterLearner) learnerCommand() {}

// Evolve applies one event to the state.
func Evolve(l Learner, e Event) Learner {
	switch e := e.(type) {
	case LearnerRegistered:
		return Learner{
			ID: e.LearnerID, FamilyName: e.FamilyName, GivenName: e.GivenName,
			BirthDate: e.BirthDate, Territory: e.Territory, RegisteredOn: e.RegisteredOn, RQTH: e.RQTH,
		}
	}
	return l
}

// Decide checks a command against the current state and returns the events
// it produces, or why it is refused.
func Decide(l Learner, cmd Command, territories *Territories) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterLearner:
		return decideRegister(l, c, territories)
	}
	return nil, apperr.Invalid(apperr.FieldViolation{Field: "command", Description: "unknown command"})
}

func decideRegister(l Learner, c RegisterLearner, territories *Territories) ([]Event, error) {
	var v apperr.Violations
	family := NormalizeSpaces(c.FamilyName)
	given := NormalizeSpaces(c.GivenName)
	checkName(&v, "family_name", family)
	checkName(&v, "given_name", given)
	switch {
	case !c.BirthDate.Valid():
		v.Add("birth_date", "must be a real date between 1900 and 2200")
	case c.BirthDate.After(c.Today):
		v.Add("birth_date", "must not be in the future")
	case c.BirthDate.YearsOn(c.Today) < MinimumAge:
		v.Addf("birth_date", "the person must be at least %d years old on the registration date", MinimumAge)
	}
	if c.Territory == "" {
		v.Add("territory_code", "is required")
	} else if _, ok := territories.Lookup(c.Territory); !ok {
		v.Addf("territory_code", "unknown territory %q", c.Territory)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if l.Exists() {
		return nil, apperr.AlreadyExists("learner %s is already registered", l.ID).WithMeta("learner_id", l.ID)
	}
	return []Event{LearnerRegistered{
		LearnerID: c.LearnerID, FamilyName: family, GivenName: given,
		BirthDate: c.BirthDate, Territory: c.Territory, RegisteredOn: c.Today, RQTH: c.RQTH,
	}}, nil
}

func checkName(v *apperr.Violations, field, name string) {
	switch {
	case name == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(name) > maxNameLength:
		v.Addf(field, "must be at most %d characters", maxNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }):
		v.Add(field, "must not contain control characters")
	case !strings.ContainsFunc(name, unicode.IsLetter):
		v.Add(field, "must contain a letter")
	}
}

// NormalizeSpaces trims a name and folds runs of white space into one space.
func NormalizeSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }
