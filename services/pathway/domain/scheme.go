package domain

import (
	"cmp"
	"maps"
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// The scheme seen whole: the figures funders and coordinators follow (the
// distinct beneficiaries of each programme against the year's target, the
// outcomes of the episodes and immersions, the public of the entries),
// computed from facts the service gathers from its read models.

// The scheme's yearly targets of distinct beneficiaries, used for a year
// whose target funding has not set (ProgrammeYearSet). They are the seed's
// figures: the scheme aims at 4,500 #Avenir and 3,000 #Action
// beneficiaries a year.
const (
	SchemeTargetAvenir = 4500
	SchemeTargetAction = 3000
)

// SchemeTarget is the scheme's yearly target of programme p; 0 for a
// programme without one.
func SchemeTarget(p FundingProgramme) int {
	switch p {
	case FundingAvenir:
		return SchemeTargetAvenir
	case FundingAction:
		return SchemeTargetAction
	}
	return 0
}

// PercentOf is n × 100 / target, rounded down; 0 for a target of 0.
func PercentOf(n, target int) int {
	if target <= 0 {
		return 0
	}
	return n * 100 / target
}

// ReportedMonths are the months of year reported on day today: all twelve
// of a past year, January to today's month of the current year, none of a
// year to come.
func ReportedMonths(year int, today civil.Date) []civil.Month {
	last := 12
	switch {
	case year > today.Year:
		return nil
	case year == today.Year:
		last = int(today.Month)
	}
	months := make([]civil.Month, 0, last)
	for m := (civil.Month{Year: year, Month: 1}); len(months) < last; m = m.Next() {
		months = append(months, m)
	}
	return months
}

// FirstDayIn is the first day of year in an episode from entry to exit
// (both included; a zero exit for an open episode), and false when the
// episode has no day in the year.
func FirstDayIn(entry, exit civil.Date, year int) (civil.Date, bool) {
	first := civil.Date{Year: year, Month: 1, Day: 1}
	last := civil.Date{Year: year, Month: 12, Day: 31}
	if entry.After(last) || (!exit.IsZero() && exit.Before(first)) {
		return civil.Date{}, false
	}
	if entry.Before(first) {
		return first, true
	}
	return entry, true
}

// BeneficiaryDay is a day a learner counts as a beneficiary of a
// programme, and the territory it had then: a day in the pathway for
// #Avenir, the first day of an immersion session with a place booked for
// #Action.
type BeneficiaryDay struct {
	Learner   string
	Territory string
	Day       civil.Date
}

// MonthlyCount is the beneficiaries of one month: those counted for the
// first time in it, and all of them since the first month reported.
type MonthlyCount struct {
	Month      civil.Month
	New        int
	Cumulative int
}

// ProgressRow is the progress of a programme in one territory, or in the
// whole scheme (Territory empty).
type ProgressRow struct {
	Territory string
	// Beneficiaries is the cumulative count of the last month reported.
	Beneficiaries int
	Months        []MonthlyCount
}

func newProgressRow(territory string, months []civil.Month) ProgressRow {
	r := ProgressRow{Territory: territory, Months: make([]MonthlyCount, len(months))}
	for i, m := range months {
		r.Months[i].Month = m
	}
	return r
}

func (r *ProgressRow) count(i int) {
	r.Months[i].New++
	for j := i; j < len(r.Months); j++ {
		r.Months[j].Cumulative++
	}
	r.Beneficiaries++
}

// Progress counts the distinct learners of days over months (consecutive,
// in order): each once, in the month of its earliest day among them and in
// the territory it had that day (the smaller code when it had two that
// day). A learner whose days all fall outside months is not counted. The
// rows are those of listed (even empty) and of every territory with a
// beneficiary, in the order of their codes; total is the whole of days.
func Progress(days []BeneficiaryDay, months []civil.Month, listed []string) (rows []ProgressRow, total ProgressRow) {
	byTerritory := map[string]*ProgressRow{}
	for _, t := range listed {
		r := newProgressRow(t, months)
		byTerritory[t] = &r
	}
	total = newProgressRow("", months)
	if len(months) == 0 {
		for _, t := range sortedKeys(byTerritory) {
			rows = append(rows, *byTerritory[t])
		}
		return rows, total
	}
	from, to := months[0], months[len(months)-1]
	first := map[string]BeneficiaryDay{}
	for _, d := range days {
		if m := civil.MonthOf(d.Day); m.Compare(from) < 0 || m.Compare(to) > 0 {
			continue
		}
		prev, seen := first[d.Learner]
		if !seen || d.Day.Before(prev.Day) || (d.Day == prev.Day && d.Territory < prev.Territory) {
			first[d.Learner] = d
		}
	}
	for _, learner := range slices.Sorted(maps.Keys(first)) {
		d := first[learner]
		i := civil.MonthOf(d.Day).MonthsFrom(from) - 1
		r := byTerritory[d.Territory]
		if r == nil {
			nr := newProgressRow(d.Territory, months)
			r = &nr
			byTerritory[d.Territory] = r
		}
		r.count(i)
		total.count(i)
	}
	for _, t := range sortedKeys(byTerritory) {
		rows = append(rows, *byTerritory[t])
	}
	return rows, total
}

// AccompanimentAtExit is the operator of the accompaniment enrolment the
// episode's exit ended (the enrolment running on the exit day, ended with
// the exit), the latest of them when there were several; "" for an open
// episode or one without.
func (e Episode) AccompanimentAtExit() string {
	if e.Open() {
		return ""
	}
	operator, number := "", 0
	for _, en := range e.Enrolments {
		if en.Kind == KindAccompaniment && en.EndReason == EndPathwayExit && !en.From.After(e.Exit) && en.Number > number {
			operator, number = en.OperatorID, en.Number
		}
	}
	return operator
}

// ExitFact is an episode exited, for the outcomes: the operator of its
// accompaniment at exit ("" for none), its territory, why and after how
// many days.
type ExitFact struct {
	Operator  string
	Territory string
	Reason    ExitReason
	Days      int
	// FollowUp and Employment: the six-month follow-up of the exit, ""
	// until recorded.
	FollowUp   Situation6
	Employment EmploymentType
}

// FollowUpKey is a situation of the six-month follow-up, with the
// employment type for employment.
type FollowUpKey struct {
	Situation  Situation6
	Employment EmploymentType
}

// FollowUpKeys lists the keys of the follow-ups, in report order: every
// employment type, then the other situations.
func FollowUpKeys() []FollowUpKey {
	var out []FollowUpKey
	for _, s := range Situations6 {
		if s != SituationEmployment {
			out = append(out, FollowUpKey{Situation: s})
			continue
		}
		for _, t := range EmploymentTypes {
			out = append(out, FollowUpKey{Situation: s, Employment: t})
		}
	}
	return out
}

// ImmersionStatus is what became of a learner booked on an immersion.
type ImmersionStatus string

// The immersion statuses.
const (
	ImmersionCompleted ImmersionStatus = "completed"
	ImmersionPartial   ImmersionStatus = "partially_completed"
	ImmersionNoShow    ImmersionStatus = "did_not_show"
)

// ImmersionFact is an immersion outcome recorded: the host operator, the
// learner's territory and the status.
type ImmersionFact struct {
	Operator  string
	Territory string
	Status    ImmersionStatus
}

// OutcomeRow is what became of the learners of one operator in one
// territory, or of every one reported (Operator and Territory empty).
type OutcomeRow struct {
	Operator, Territory string
	Exits               int
	ExitsByReason       map[ExitReason]int
	// MedianDays is the median days in the pathway of the exits (see
	// MedianDays); HasMedian is false without exits.
	MedianDays int
	HasMedian  bool
	// Immersions counts the immersions with an outcome; Completed and
	// Partial those completed and partially completed.
	Immersions, Completed, Partial int
	// CompletionPercent is Completed × 100 / Immersions, rounded down;
	// HasCompletion is false without immersions.
	CompletionPercent int
	HasCompletion     bool
	// FollowUps counts the six-month follow-ups recorded of the exits, by
	// situation (and employment type) in FollowUpsBy.
	FollowUps   int
	FollowUpsBy map[FollowUpKey]int

	days map[int]int
}

func newOutcomeRow(operator, territory string) *OutcomeRow {
	return &OutcomeRow{Operator: operator, Territory: territory, ExitsByReason: map[ExitReason]int{}, FollowUpsBy: map[FollowUpKey]int{}, days: map[int]int{}}
}

func (r *OutcomeRow) addExit(e ExitFact) {
	r.Exits++
	r.ExitsByReason[e.Reason]++
	r.days[e.Days]++
	if e.FollowUp != "" {
		r.FollowUps++
		r.FollowUpsBy[FollowUpKey{Situation: e.FollowUp, Employment: e.Employment}]++
	}
}

func (r *OutcomeRow) addImmersion(i ImmersionFact) {
	r.Immersions++
	switch i.Status {
	case ImmersionCompleted:
		r.Completed++
	case ImmersionPartial:
		r.Partial++
	}
}

func (r *OutcomeRow) finish() OutcomeRow {
	r.MedianDays, r.HasMedian = MedianDays(r.days)
	if r.Immersions > 0 {
		r.CompletionPercent, r.HasCompletion = PercentOf(r.Completed, r.Immersions), true
	}
	out := *r
	out.days = nil
	return out
}

// OutcomeReport groups exits and immersions per operator and territory,
// in that order, with the total of all of them.
func OutcomeReport(exits []ExitFact, immersions []ImmersionFact) (rows []OutcomeRow, total OutcomeRow) {
	type key struct{ operator, territory string }
	groups := map[key]*OutcomeRow{}
	group := func(k key) *OutcomeRow {
		if groups[k] == nil {
			groups[k] = newOutcomeRow(k.operator, k.territory)
		}
		return groups[k]
	}
	all := newOutcomeRow("", "")
	for _, e := range exits {
		group(key{e.Operator, e.Territory}).addExit(e)
		all.addExit(e)
	}
	for _, i := range immersions {
		group(key{i.Operator, i.Territory}).addImmersion(i)
		all.addImmersion(i)
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.operator, b.operator), cmp.Compare(a.territory, b.territory))
	})
	for _, k := range keys {
		rows = append(rows, groups[k].finish())
	}
	return rows, all.finish()
}
