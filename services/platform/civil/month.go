package civil

import (
	"cmp"
	"fmt"
	"time"
)

// Month is a calendar month, the unit of the funders' monthly figures.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of d.
func MonthOf(d Date) Month { return Month{d.Year, d.Month} }

// ParseMonth reads "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("%q is not a YYYY-MM month", s)
	}
	m := Month{t.Year(), t.Month()}
	if !m.Valid() {
		return Month{}, fmt.Errorf("%q is out of range", s)
	}
	return m, nil
}

// Valid reports whether m lies in 1900..2200.
func (m Month) Valid() bool {
	return m.Year >= 1900 && m.Year <= 2200 && m.Month >= time.January && m.Month <= time.December
}

// String formats m as YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Next returns the following month.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{m.Year + 1, time.January}
	}
	return Month{m.Year, m.Month + 1}
}

// First is the month's first day.
func (m Month) First() Date { return Date{m.Year, m.Month, 1} }

// Last is the month's last day.
func (m Month) Last() Date { return m.Next().First().AddDays(-1) }

// index numbers months consecutively.
func (m Month) index() int { return m.Year*12 + int(m.Month) - 1 }

// Compare returns -1, 0 or +1.
func (m Month) Compare(o Month) int { return cmp.Compare(m.index(), o.index()) }

// MonthsFrom returns how many months from..m holds, both included (0 when m
// is before from).
func (m Month) MonthsFrom(from Month) int { return max(0, m.index()-from.index()+1) }
