package domain

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// What intake recorded of the public a learner belongs to: the facts the
// breakdowns count. Pathway keeps them from intake's events (registration
// and situation changes, with the dates they apply from) and never shows
// them learner by learner.

// EducationLevel is a learner's diploma level in the French nomenclature
// of 2019; EducationUnknown when intake recorded none.
type EducationLevel string

// The education levels.
const (
	EducationUnknown   EducationLevel = ""
	EducationNoDiploma EducationLevel = "no_diploma" // levels 1 and 2
	EducationLevel3    EducationLevel = "3"          // CAP, BEP
	EducationLevel4    EducationLevel = "4"          // baccalauréat
	EducationLevel5    EducationLevel = "5"          // bac + 2
	EducationLevel6    EducationLevel = "6"          // bac + 3 or 4
	EducationLevel7    EducationLevel = "7"          // bac + 5
	EducationLevel8    EducationLevel = "8"          // doctorate
)

// EducationLevels lists the levels a learner may have, in the order
// reports show them.
var EducationLevels = []EducationLevel{
	EducationNoDiploma, EducationLevel3, EducationLevel4, EducationLevel5, EducationLevel6, EducationLevel7, EducationLevel8,
}

// AbovePublic reports whether l is above the scheme's public, people
// without the baccalauréat: level 4 and up.
func (l EducationLevel) AbovePublic() bool {
	switch l {
	case EducationLevel4, EducationLevel5, EducationLevel6, EducationLevel7, EducationLevel8:
		return true
	}
	return false
}

// Situation is what intake recorded of a learner's public from a date on.
type Situation struct {
	// From is the first day the situation applies; zero for the situation
	// of a registration intake recorded without its date.
	From civil.Date
	// RQTH: recognised as a disabled worker (special-category data).
	RQTH bool
	// RSA: receives the minimum income.
	RSA bool
	// QPV: lives in a priority area of city policy.
	QPV bool
	// ZRR: lives in a rural revitalisation area.
	ZRR       bool
	Education EducationLevel
}

// SituationOn is the situation intake recorded of the learner for day d:
// the last one applying on d (situations are recorded in the order of
// their dates, a later one on the same day replacing the earlier), else
// the earliest known (the registration's), else none.
func (l Learner) SituationOn(d civil.Date) Situation {
	if len(l.Situations) == 0 {
		return Situation{}
	}
	on := l.Situations[0]
	for _, s := range l.Situations[1:] {
		if !s.From.After(d) {
			on = s
		}
	}
	return on
}

// AgeBand is an age in the bands of employment policy.
type AgeBand string

// The age bands; AgeUnknown for a learner whose birth date pathway does not
// know.
const (
	AgeUnknown   AgeBand = ""
	AgeUnder26   AgeBand = "under_26"
	Age26To49    AgeBand = "26_to_49"
	Age50AndOver AgeBand = "50_and_over"
)

// AgeBands lists the bands, in order.
var AgeBands = []AgeBand{AgeUnder26, Age26To49, Age50AndOver}

// AgeBandOn is the band of the age on day on of someone born on birth.
func AgeBandOn(birth, on civil.Date) AgeBand {
	if birth.IsZero() {
		return AgeUnknown
	}
	switch age := birth.YearsOn(on); {
	case age < 26:
		return AgeUnder26
	case age < 50:
		return Age26To49
	}
	return Age50AndOver
}

// EntryFact is an episode entered, with what intake recorded of its
// learner on the entry date.
type EntryFact struct {
	// Territory is the learner's territory at the entry.
	Territory string
	Situation Situation
	Band      AgeBand
}

// EntryOf is the fact of learner l entering the pathway in territory on
// day entry.
func EntryOf(l Learner, territory string, entry civil.Date) EntryFact {
	return EntryFact{Territory: territory, Situation: l.SituationOn(entry), Band: AgeBandOn(l.BirthDate, entry)}
}

// BreakdownRow counts the entries of one territory, or of every territory
// reported (Territory empty), by public.
type BreakdownRow struct {
	Territory           string
	Entries             int
	RQTH, QPV, ZRR, RSA int
	// Bands counts the entries by age band; a learner whose birth date is
	// unknown is in none.
	Bands map[AgeBand]int
	// Education counts the entries by the level recorded; a learner
	// without one is in none.
	Education map[EducationLevel]int
}

// AbovePublic counts the entries above the scheme's public, people without
// the baccalauréat: education level 4 and up, welcomed by intake with a
// justification.
func (r BreakdownRow) AbovePublic() int {
	n := 0
	for _, l := range EducationLevels {
		if l.AbovePublic() {
			n += r.Education[l]
		}
	}
	return n
}

func newBreakdownRow(territory string) BreakdownRow {
	return BreakdownRow{Territory: territory, Bands: map[AgeBand]int{}, Education: map[EducationLevel]int{}}
}

func (r *BreakdownRow) add(e EntryFact) {
	r.Entries++
	s := e.Situation
	for _, c := range []struct {
		set bool
		n   *int
	}{{s.RQTH, &r.RQTH}, {s.QPV, &r.QPV}, {s.ZRR, &r.ZRR}, {s.RSA, &r.RSA}} {
		if c.set {
			*c.n++
		}
	}
	if e.Band != AgeUnknown {
		r.Bands[e.Band]++
	}
	if s.Education != EducationUnknown {
		r.Education[s.Education]++
	}
}

// Merge adds the counts of o to r.
func (r *BreakdownRow) Merge(o BreakdownRow) {
	r.Entries += o.Entries
	r.RQTH += o.RQTH
	r.QPV += o.QPV
	r.ZRR += o.ZRR
	r.RSA += o.RSA
	for b, n := range o.Bands {
		r.Bands[b] += n
	}
	for l, n := range o.Education {
		r.Education[l] += n
	}
}

// UnknownBand counts the entries in no age band: their learner's birth
// date is unknown.
func (r BreakdownRow) UnknownBand() int {
	n := r.Entries
	for _, c := range r.Bands {
		n -= c
	}
	return n
}

// UnknownEducation counts the entries without an education level.
func (r BreakdownRow) UnknownEducation() int {
	n := r.Entries
	for _, c := range r.Education {
		n -= c
	}
	return n
}

// BreakdownReport counts entries per territory and in total. The rows are
// those of listed (even without entries) and of every territory with
// entries, in the order of their codes.
func BreakdownReport(entries []EntryFact, listed []string) (rows []BreakdownRow, total BreakdownRow) {
	return BreakdownReportWith(entries, nil, listed)
}

// BreakdownReportWith is BreakdownReport over entries counted live and the
// counts of frozen months (rows of one territory each, several per
// territory when several months are frozen), summed.
func BreakdownReportWith(entries []EntryFact, frozen []BreakdownRow, listed []string) (rows []BreakdownRow, total BreakdownRow) {
	byTerritory := map[string]*BreakdownRow{}
	for _, t := range listed {
		r := newBreakdownRow(t)
		byTerritory[t] = &r
	}
	row := func(territory string) *BreakdownRow {
		r := byTerritory[territory]
		if r == nil {
			nr := newBreakdownRow(territory)
			r = &nr
			byTerritory[territory] = r
		}
		return r
	}
	total = newBreakdownRow("")
	for _, e := range entries {
		row(e.Territory).add(e)
		total.add(e)
	}
	for _, f := range frozen {
		row(f.Territory).Merge(f)
		total.Merge(f)
	}
	for _, t := range sortedKeys(byTerritory) {
		rows = append(rows, *byTerritory[t])
	}
	return rows, total
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// NewBreakdownRow is an empty row of territory, for counts read back.
func NewBreakdownRow(territory string) BreakdownRow { return newBreakdownRow(territory) }

// The breakdowns of a month are frozen, as anonymous counts, once every
// entry of the month is recorded: from the first day of the month after
// next. An entry is dated at most a few weeks before the day it is
// recorded, and never in a month already frozen (see decideEnter), so a
// frozen month's counts are final; erasing a learner afterwards changes
// none of them (docs/adr/0065-erasure-retention-and-access.md).

// FreezeDay is the first day on which the breakdowns of month m are
// frozen: the first day of the month after next.
func FreezeDay(m civil.Month) civil.Date { return m.Next().Next().First() }

// LastFrozenMonth is the last month whose breakdowns are frozen on today.
func LastFrozenMonth(today civil.Date) civil.Month {
	m := civil.MonthOf(today)
	m.Month -= 2
	if m.Month < 1 {
		m.Month += 12
		m.Year--
	}
	return m
}
