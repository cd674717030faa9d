// Package civil is the calendar date used for every business date (birth,
// entry, exit, sessions): a day in Europe/Paris with no time and no zone.
package civil

import (
	"cmp"
	"fmt"
	"time"
	_ "time/tzdata" // business days are Paris days on every machine, zoneinfo or not
)

// Date is a calendar day. The zero value is "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Paris is the zone in which business days are counted.
var Paris = mustZone("Europe/Paris")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Unreachable: the zone database is embedded by the time/tzdata
		// import; falling back to UTC would silently shift dates.
		panic(fmt.Sprintf("civil: load %s: %v", name, err))
	}
	return loc
}

// Of returns the day on which t falls in Europe/Paris.
func Of(t time.Time) Date {
	y, m, d := t.In(Paris).Date()
	return Date{y, m, d}
}

// New builds a date and reports whether it exists (e.g. no 30 February) and
// lies in 1900..2200.
func New(year int, month time.Month, day int) (Date, bool) {
	d := Date{year, month, day}
	return d, d.Valid()
}

// Parse reads an ISO 8601 calendar date, "2006-01-02".
func Parse(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("civil: %q is not a YYYY-MM-DD date", s)
	}
	d := Date{t.Year(), t.Month(), t.Day()}
	if !d.Valid() {
		return Date{}, fmt.Errorf("civil: %q is out of range", s)
	}
	return d, nil
}

// Valid reports whether d is a real day between 1900 and 2200.
func (d Date) Valid() bool {
	if d.Year < 1900 || d.Year > 2200 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Month, d.Year)
}

// IsZero reports whether d is the zero date.
func (d Date) IsZero() bool { return d == Date{} }

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Before reports whether d is strictly before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is strictly after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Compare returns -1, 0 or +1.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmp.Compare(d.Year, o.Year)
	case d.Month != o.Month:
		return cmp.Compare(d.Month, o.Month)
	default:
		return cmp.Compare(d.Day, o.Day)
	}
}

// AddDays returns the date n days later (n may be negative).
func (d Date) AddDays(n int) Date {
	y, m, day := d.utc().AddDate(0, 0, n).Date()
	return Date{y, m, day}
}

// DaysUntil returns the number of days from d to o (negative if o is before d).
func (d Date) DaysUntil(o Date) int {
	return int(o.utc().Sub(d.utc()).Hours() / 24)
}

// YearsOn returns the age in completed years on day on of someone born on d.
func (d Date) YearsOn(on Date) int {
	years := on.Year - d.Year
	if on.Month < d.Month || (on.Month == d.Month && on.Day < d.Day) {
		years--
	}
	return years
}
