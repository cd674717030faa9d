package domain

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of d.
func MonthOf(d civil.Date) Month { return Month{d.Year, d.Month} }

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

// index numbers months consecutively.
func (m Month) index() int { return m.Year*12 + int(m.Month) - 1 }

// Compare returns -1, 0 or +1.
func (m Month) Compare(o Month) int {
	switch a, b := m.index(), o.index(); {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MonthsFrom returns how many months from..m holds, both included (0 when m
// is before from).
func (m Month) MonthsFrom(from Month) int { return max(0, m.index()-from.index()+1) }

// DaysInPathway is the length of an episode: its exit date minus its entry
// date, in days (an exit on the day of entry counts 0).
func DaysInPathway(entry, exit civil.Date) int { return entry.DaysUntil(exit) }

// FlowBucket is what happened in one territory during one month: the
// episodes entered, and the episodes exited by reason and by length.
type FlowBucket struct {
	Entries int
	Exits   map[ExitReason]int
	// Days counts the episodes exited during the month by DaysInPathway.
	Days map[int]int
}

// WithEntry returns b with one more entry.
func (b FlowBucket) WithEntry() FlowBucket {
	b.Entries++
	return b
}

// WithExit returns b with one more exit, without changing b's maps.
func (b FlowBucket) WithExit(reason ExitReason, days int) FlowBucket {
	b.Exits = maps.Clone(b.Exits)
	if b.Exits == nil {
		b.Exits = map[ExitReason]int{}
	}
	b.Exits[reason]++
	b.Days = maps.Clone(b.Days)
	if b.Days == nil {
		b.Days = map[int]int{}
	}
	b.Days[days]++
	return b
}

// exits counts the bucket's exits.
func (b FlowBucket) exits() int {
	n := 0
	for _, c := range b.Exits {
		n += c
	}
	return n
}

// MedianDays is the median of the lengths counted in days (length -> number
// of episodes): with an even number of episodes, the lower of the two middle
// lengths, so the median is always a length that occurred. It reports false
// when there is none.
func MedianDays(days map[int]int) (int, bool) {
	total := 0
	for _, c := range days {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	target := (total - 1) / 2 // index of the lower middle, from 0
	seen := 0
	for _, d := range slices.Sorted(maps.Keys(days)) {
		seen += days[d]
		if seen > target {
			return d, true
		}
	}
	return 0, false // unreachable: seen reaches total
}

// FlowRow is the flows of one month in one territory, or across territories
// (Territory empty).
type FlowRow struct {
	Territory     string
	Month         Month
	Entries       int
	Exits         int
	ExitsByReason map[ExitReason]int
	// ActiveAtEnd counts the episodes open at the end of the month's last
	// day: every entry up to then minus every exit up to then.
	ActiveAtEnd int
	MedianDays  int
	HasMedian   bool
}

// FlowReport computes the rows of months from..to for each of territories
// (in the order given) and the totals across them per month. history holds,
// per territory, the buckets of every month with data up to to (earlier
// months included: they make the active counts).
func FlowReport(history map[string]map[Month]FlowBucket, territories []string, from, to Month) (rows, totals []FlowRow) {
	n := to.MonthsFrom(from)
	totals = make([]FlowRow, n)
	totalDays := make([]map[int]int, n)
	for i, m := 0, from; i < n; i, m = i+1, m.Next() {
		totals[i] = FlowRow{Month: m, ExitsByReason: map[ExitReason]int{}}
		totalDays[i] = map[int]int{}
	}
	for _, t := range territories {
		buckets := history[t]
		active := 0
		for m, b := range buckets {
			if m.Compare(from) < 0 {
				active += b.Entries - b.exits()
			}
		}
		for i, m := 0, from; i < n; i, m = i+1, m.Next() {
			b := buckets[m]
			active += b.Entries - b.exits()
			row := FlowRow{
				Territory: t, Month: m, Entries: b.Entries, Exits: b.exits(),
				ExitsByReason: maps.Clone(b.Exits), ActiveAtEnd: active,
			}
			if row.ExitsByReason == nil {
				row.ExitsByReason = map[ExitReason]int{}
			}
			row.MedianDays, row.HasMedian = MedianDays(b.Days)
			rows = append(rows, row)

			tot := &totals[i]
			tot.Entries += row.Entries
			tot.Exits += row.Exits
			tot.ActiveAtEnd += row.ActiveAtEnd
			for r, c := range b.Exits {
				tot.ExitsByReason[r] += c
			}
			for d, c := range b.Days {
				totalDays[i][d] += c
			}
		}
	}
	for i := range totals {
		totals[i].MedianDays, totals[i].HasMedian = MedianDays(totalDays[i])
	}
	return rows, totals
}
