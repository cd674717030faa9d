package domain

import (
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Programme is the programme paying a contract.
type Programme int

// The programmes, numbered as on the wire.
const (
	ProgrammeUnspecified Programme = iota
	ProgrammeAvenir
	ProgrammeAction
	ProgrammeOther
)

// Valid reports whether p is a known programme (not unspecified).
func (p Programme) Valid() bool { return p > ProgrammeUnspecified && p <= ProgrammeOther }

// Bounds of a programme year.
const (
	MinProgrammeYear = 2000
	MaxProgrammeYear = 2200
)

// SchemeYear is a programme's figures for a year when none were set: the
// scheme's envelope (excluding trainees' pay) and beneficiaries target —
// #Avenir 33 M€ and 4,500, #Action 1.6 M€ and 3,000, any other 0 and 0.
func SchemeYear(p Programme) (envelopeCents int64, target int) {
	switch p {
	case ProgrammeAvenir:
		return 3_300_000_000, 4500
	case ProgrammeAction:
		return 160_000_000, 3000
	}
	return 0, 0
}

// ProgrammeYearSet: a programme's envelope and target for a calendar year
// set (admins).
type ProgrammeYearSet struct {
	ID        string
	Programme Programme
	Year      int
	Envelope  int64
	Target    int
	Reason    string
}

// ProgrammeYear is the aggregate of a programme's figures for one calendar
// year, and the view of them: the scheme's defaults while never set.
type ProgrammeYear struct {
	ID            string
	Programme     Programme
	Year          int
	Envelope      int64
	Target        int
	SchemeDefault bool
}

// Set reports whether the figures were set (the aggregate exists).
func (y ProgrammeYear) Set() bool { return y.ID != "" }

// EvolveProgrammeYear applies a programme-year event.
func EvolveProgrammeYear(y ProgrammeYear, ev Event) ProgrammeYear {
	if e, ok := ev.(ProgrammeYearSet); ok {
		y = ProgrammeYear{ID: e.ID, Programme: e.Programme, Year: e.Year, Envelope: e.Envelope, Target: e.Target}
	}
	return y
}

// ProgrammeYearOf is the figures of a programme's year: as set, else the
// scheme's defaults (SchemeDefault).
func ProgrammeYearOf(p Programme, year int, set ProgrammeYear) ProgrammeYear {
	if set.Set() {
		return set
	}
	envelope, target := SchemeYear(p)
	return ProgrammeYear{Programme: p, Year: year, Envelope: envelope, Target: target, SchemeDefault: true}
}

// SetProgrammeYear sets a programme's figures for a year.
type SetProgrammeYear struct {
	ID        string
	Programme Programme
	Year      int
	Envelope  int64
	Target    int
	Reason    string
}

// CheckProgrammeYear records the problems of a programme and year.
func CheckProgrammeYear(v *apperr.Violations, p Programme, year int) {
	if !p.Valid() {
		v.Add("programme", "is required: avenir, action or other")
	}
	if year < MinProgrammeYear || year > MaxProgrammeYear {
		v.Addf("year", "must be %d to %d", MinProgrammeYear, MaxProgrammeYear)
	}
}

// DecideProgrammeYear decides a setting: the same figures again change
// nothing.
func DecideProgrammeYear(y ProgrammeYear, c SetProgrammeYear) ([]Event, error) {
	var v apperr.Violations
	CheckProgrammeYear(&v, c.Programme, c.Year)
	if c.Envelope < 0 {
		v.Add("envelope_cents", "must not be negative")
	}
	if c.Target < 0 {
		v.Add("beneficiaries_target", "must not be negative")
	}
	reason := strings.TrimSpace(c.Reason)
	text.Check(&v, "reason", reason, reasonRule(true))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if y.Set() && y.Envelope == c.Envelope && y.Target == c.Target {
		return nil, nil
	}
	return []Event{ProgrammeYearSet{ID: c.ID, Programme: c.Programme, Year: c.Year, Envelope: c.Envelope, Target: c.Target, Reason: reason}}, nil
}

// MonthAmount is the billed amount of one month.
type MonthAmount struct {
	Month  civil.Month
	Billed int64
}

// ProgrammeBudgetView is a programme's consumption in a calendar year
// against the year's envelope.
type ProgrammeBudgetView struct {
	Year         ProgrammeYear
	Consumed     int64
	Percent      int   // floor(consumed × 100 / envelope)
	Forecast     int64 // consumed + consumed / elapsed months × remaining months
	ForecastOver int64 // forecast - envelope, 0 when within it
	Warning      bool  // consumed >= 80 % of the envelope
	Months       []MonthAmount
	Contracts    int
}

// ProgrammeBudgetOf computes a programme year's budget on day today from
// the billed amounts of its contracts' statements per period: the months
// of the year up to today's (all twelve for a past year, none for a future
// one), the forecast extending the monthly average to the year's months
// left (a past year's is its consumption).
func ProgrammeBudgetOf(y ProgrammeYear, billed map[civil.Month]int64, contracts int, today civil.Date) ProgrammeBudgetView {
	v := ProgrammeBudgetView{Year: y, Contracts: contracts}
	for p, n := range billed {
		if p.Year == y.Year {
			v.Consumed += n
		}
	}
	elapsed := 0
	switch {
	case y.Year < today.Year:
		elapsed = 12
	case y.Year == today.Year:
		elapsed = int(today.Month)
	}
	for m := 1; m <= elapsed; m++ {
		p := civil.Month{Year: y.Year, Month: time.Month(m)}
		v.Months = append(v.Months, MonthAmount{Month: p, Billed: billed[p]})
	}
	v.Percent = percentOf(v.Consumed, y.Envelope)
	v.Warning = (v.Consumed > 0 || y.Envelope > 0) && v.Consumed*100 >= WarningPercent*y.Envelope
	v.Forecast = v.Consumed
	if elapsed > 0 && elapsed < 12 {
		v.Forecast += v.Consumed * int64(12-elapsed) / int64(elapsed)
	}
	v.ForecastOver = max(0, v.Forecast-y.Envelope)
	return v
}

// percentOf is consumed per whole percent of envelope, rounded down (100
// when something is consumed of a zero envelope).
func percentOf(consumed, envelope int64) int {
	switch {
	case envelope > 0:
		return int(consumed * 100 / envelope)
	case consumed > 0:
		return 100
	}
	return 0
}
