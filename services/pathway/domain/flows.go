package domain

import (
	"maps"
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

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
	Month         civil.Month
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
func FlowReport(history map[string]map[civil.Month]FlowBucket, territories []string, from, to civil.Month) (rows, totals []FlowRow) {
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
