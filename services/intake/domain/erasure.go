package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Erasure of a learner's personal data (GDPR art. 17): intake decides it
// and records LearnerErased; the caller then releases the learner's
// uniqueness claims and destroys its data key, so that no stored copy of
// its personal fields can be read again. The id, the territory and the
// registration day stay: billing lines, statements and statistics are keyed
// by them and do not change.

// ErasureGround is why a learner's personal data is erased. The values
// have the numbers of avenir.intake.v1.ErasureGround.
type ErasureGround int

// Erasure grounds.
const (
	GroundUnspecified ErasureGround = iota
	// GroundRequest: the person asked for it.
	GroundRequest
	// GroundRetention: the retention period is over.
	GroundRetention
	// GroundUnlawful: the data was processed unlawfully.
	GroundUnlawful
	// GroundLegalObligation: a legal obligation requires it.
	GroundLegalObligation
)

// Valid reports whether g is one of the grounds (not unspecified).
func (g ErasureGround) Valid() bool { return g >= GroundRequest && g <= GroundLegalObligation }

// referenceRule is the rule of an erasure's case reference: one line of 1
// to 100 characters (a ticket, a letter's number), with no personal data.
var referenceRule = text.Rule{Kind: text.Line, Max: 100, Required: true}

// Reasons of the FailedPrecondition refusals (meta "reason").
const (
	// ReasonErased: the learner's personal data was erased; nothing about
	// the person can change any more.
	ReasonErased = "LEARNER_ERASED"
	// ReasonInEpisode: the learner is in an open episode of the pathway.
	ReasonInEpisode = "LEARNER_IN_EPISODE"
	// ReasonOpenStatement: the learner has lines on statements not closed.
	ReasonOpenStatement = "LINES_ON_OPEN_STATEMENT"
	// ReasonStatisticsNotFrozen: the learner counts in statistics of a
	// month not frozen yet.
	ReasonStatisticsNotFrozen = "STATISTICS_NOT_FROZEN"
)

// ErrErased refuses a change of an erased learner.
func ErrErased() *apperr.Error {
	return apperr.FailedPrecondition("the learner's personal data was erased").WithMeta("reason", ReasonErased)
}

// EraseLearner erases the learner's personal data on Today. Blocker is why
// the erasure must wait, from the facts of other contexts the caller
// gathered (see ErasureBlocker); nil when nothing holds it.
type EraseLearner struct {
	Ground    ErasureGround
	Reference string
	Today     civil.Date
	Blocker   error
}

// decideErase: bad input, then an unknown learner, then an erased one
// (nothing more to record: the erasure answers as recorded), then what
// holds the erasure back.
func decideErase(l Learner, c EraseLearner) ([]Event, error) {
	var v apperr.Violations
	if !c.Ground.Valid() {
		v.Add("ground", "is required: request, retention, unlawful or legal obligation")
	}
	reference := NormalizeSpaces(c.Reference)
	if problem := text.Problem(c.Reference, referenceRule); problem != "" {
		v.Add("reference", problem)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch {
	case !l.Exists():
		return nil, apperr.NotFound("learner not found")
	case l.Erased:
		return nil, nil
	case c.Blocker != nil:
		return nil, c.Blocker
	}
	return []Event{LearnerErased{LearnerID: l.ID, Territory: l.Territory, ErasedOn: c.Today, Ground: c.Ground, Reference: reference}}, nil
}

// Episode is one episode of a learner in the pathway, as intake reads it
// from the pathway's events.
type Episode struct {
	Number int
	Entry  civil.Date
	// Exit is the last day in the scheme; zero while the episode is open.
	Exit civil.Date
}

// Open reports whether the episode has no exit yet.
func (e Episode) Open() bool { return e.Exit.IsZero() }

// StatementPeriod is the statement of one contract for one month.
type StatementPeriod struct {
	Contract string
	Period   civil.Month
}

// ErasureFacts are what other contexts recorded about a learner that may
// hold its erasure back.
type ErasureFacts struct {
	// Episodes are the learner's episodes, in any order.
	Episodes []Episode
	// OpenStatements are the statements, not closed yet, that bill lines
	// of the learner.
	OpenStatements []StatementPeriod
	// UnfrozenEntryMonths are the months of the learner's entries whose
	// pathway breakdowns are not frozen yet.
	UnfrozenEntryMonths []civil.Month
	// UnfrozenCompletionMonths are the months of the learner's completed
	// needs analyses whose needs summary is not frozen yet.
	UnfrozenCompletionMonths []civil.Month
}

// FreezeDay is the first day the statistics of month m are frozen (pathway
// breakdowns, needs summary): the first day of the month after next.
func FreezeDay(m civil.Month) civil.Date { return m.Next().Next().First() }

// ErasureBlocker returns why the learner cannot be erased on today, nil
// when nothing holds it: an open episode (the person is being followed),
// lines on statements not closed (the funder has not decided yet), or
// counts in statistics of months not frozen (erasing would change them);
// each a FailedPrecondition with its reason, in that order.
func ErasureBlocker(learnerID string, f ErasureFacts, today civil.Date) error {
	for _, e := range f.Episodes {
		if e.Open() {
			return apperr.FailedPrecondition("learner %s is in an open episode of the pathway (episode %d, entered on %s): record the exit before erasing",
				learnerID, e.Number, e.Entry).WithMeta("reason", ReasonInEpisode)
		}
	}
	if len(f.OpenStatements) > 0 {
		open := slices.Clone(f.OpenStatements)
		slices.SortFunc(open, func(a, b StatementPeriod) int {
			if c := strings.Compare(a.Contract, b.Contract); c != 0 {
				return c
			}
			return a.Period.Compare(b.Period)
		})
		open = slices.Compact(open)
		parts := make([]string, len(open))
		for i, s := range open {
			parts[i] = fmt.Sprintf("contract %s %s", s.Contract, s.Period)
		}
		return apperr.FailedPrecondition("learner %s has lines on statements not closed yet (%s): erasure is possible once the funder has closed them",
			learnerID, strings.Join(parts, ", ")).WithMeta("reason", ReasonOpenStatement)
	}
	var (
		which []string
		last  civil.Month
	)
	for _, s := range []struct {
		what   string
		months []civil.Month
	}{{"pathway breakdowns", f.UnfrozenEntryMonths}, {"needs summary", f.UnfrozenCompletionMonths}} {
		if len(s.months) == 0 {
			continue
		}
		months := slices.Clone(s.months)
		slices.SortFunc(months, civil.Month.Compare)
		months = slices.Compact(months)
		names := make([]string, len(months))
		for i, m := range months {
			names[i] = m.String()
			if m.Compare(last) > 0 {
				last = m
			}
		}
		which = append(which, s.what+" of "+strings.Join(names, ", "))
	}
	if len(which) == 0 {
		return nil
	}
	from := FreezeDay(last)
	when := fmt.Sprintf("erasure is possible from %s", from)
	if !from.After(today) {
		when = fmt.Sprintf("they are due to be frozen since %s: try again once they are", from)
	}
	return apperr.FailedPrecondition("learner %s counts in statistics not frozen yet (%s): %s",
		learnerID, strings.Join(which, "; "), when).WithMeta("reason", ReasonStatisticsNotFrozen)
}

// RetentionBasis is the day from which the retention period of a learner
// runs: its last exit, or its registration when it never entered the
// pathway. lastExit is zero for a learner who never exited. ok is false for
// a learner whose only episodes are open: it has no basis yet. A learner
// that exited and entered again has the basis of its last exit: the open
// episode then holds its erasure back (ErasureBlocker), and its next exit
// moves the basis.
func RetentionBasis(registeredOn civil.Date, episodes []Episode) (basis, lastExit civil.Date, ok bool) {
	if len(episodes) == 0 {
		return registeredOn, civil.Date{}, true
	}
	for _, e := range episodes {
		if !e.Open() && e.Exit.After(lastExit) {
			lastExit = e.Exit
		}
	}
	return lastExit, lastExit, !lastExit.IsZero()
}

// AddMonths returns d moved by n calendar months, the day clamped to the
// length of the month reached (31 January + 1 month is 28 or 29 February).
func AddMonths(d civil.Date, n int) civil.Date {
	index := d.Year*12 + int(d.Month) - 1 + n
	m := civil.Month{Year: index / 12, Month: time.Month(index%12 + 1)}
	return civil.Date{Year: m.Year, Month: m.Month, Day: min(d.Day, m.Last().Day)}
}
