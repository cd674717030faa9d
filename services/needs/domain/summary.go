package domain

import (
	"cmp"
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

func (m Month) index() int { return m.Year*12 + int(m.Month) - 1 }

// Compare returns -1, 0 or +1.
func (m Month) Compare(o Month) int { return cmp.Compare(m.index(), o.index()) }

// MonthsFrom returns how many months from..m holds, both included (0 when m
// is before from).
func (m Month) MonthsFrom(from Month) int { return max(0, m.index()-from.index()+1) }

// Counted is what a completed analysis adds to the summary of its
// territory: its barriers and the trades its project targets. A revision
// withdraws the Counted of the version it revises and adds its own.
type Counted struct {
	Barriers []BarrierKind
	Trades   []string
}

// CountedOf returns what content adds to the summary.
func CountedOf(c Content) Counted {
	var out Counted
	for _, b := range c.Barriers {
		out.Barriers = append(out.Barriers, b.Kind)
	}
	out.Trades = slices.Clone(c.Project.TargetROMECodes)
	return out
}

// Bucket is what happened in one territory during one month: the analyses
// completed (first versions and revisions), and the barriers and trades of
// those of them still current.
type Bucket struct {
	Completed int
	Revisions int
	Barriers  map[BarrierKind]int
	Trades    map[string]int
}

// WithCompletion counts a completed analysis; a revision counts apart.
func (b Bucket) WithCompletion(revision bool, c Counted) Bucket {
	if revision {
		b.Revisions++
	} else {
		b.Completed++
	}
	return b.adding(c, 1)
}

// WithoutCounted withdraws what a version that was revised had added.
func (b Bucket) WithoutCounted(c Counted) Bucket { return b.adding(c, -1) }

func (b Bucket) adding(c Counted, n int) Bucket {
	b.Barriers, b.Trades = maps.Clone(b.Barriers), maps.Clone(b.Trades)
	if b.Barriers == nil {
		b.Barriers = map[BarrierKind]int{}
	}
	if b.Trades == nil {
		b.Trades = map[string]int{}
	}
	for _, k := range c.Barriers {
		if b.Barriers[k] += n; b.Barriers[k] <= 0 {
			delete(b.Barriers, k)
		}
	}
	for _, t := range c.Trades {
		if b.Trades[t] += n; b.Trades[t] <= 0 {
			delete(b.Trades, t)
		}
	}
	return b
}

// MaxTopTrades is how many trades a summary lists.
const MaxTopTrades = 10

// MonthCount is the completions of one month.
type MonthCount struct {
	Month     Month
	Completed int
	Revisions int
}

// KindCount and TradeCount rank barriers and trades.
type (
	KindCount struct {
		Kind  BarrierKind
		Count int
	}
	TradeCount struct {
		Code  string
		Count int
	}
)

// Summary is what the analyses of one territory (or of several, in a total)
// say over a period.
type Summary struct {
	Territory string
	Months    []MonthCount
	Barriers  []KindCount
	Trades    []TradeCount
}

// Summarise reports the months from..to of each of territories from their
// buckets, and the total across them. Health barriers are counted for the
// territories where seesHealth holds, and in the total only when it holds
// for all of them.
func Summarise(buckets map[string]map[Month]Bucket, territories []string, from, to Month, seesHealth func(territory string) bool) ([]Summary, Summary) {
	total := Summary{}
	totalBarriers, totalTrades := map[BarrierKind]int{}, map[string]int{}
	months := map[Month]*MonthCount{}
	for m := from; m.Compare(to) <= 0; m = m.Next() {
		total.Months = append(total.Months, MonthCount{Month: m})
	}
	for i := range total.Months {
		months[total.Months[i].Month] = &total.Months[i]
	}
	healthInTotal := true
	var rows []Summary
	for _, t := range territories {
		row := Summary{Territory: t}
		barriers, trades := map[BarrierKind]int{}, map[string]int{}
		health := seesHealth(t)
		healthInTotal = healthInTotal && health
		for m := from; m.Compare(to) <= 0; m = m.Next() {
			b := buckets[t][m]
			row.Months = append(row.Months, MonthCount{Month: m, Completed: b.Completed, Revisions: b.Revisions})
			months[m].Completed += b.Completed
			months[m].Revisions += b.Revisions
			for k, n := range b.Barriers {
				if !k.SpecialCategory() || health {
					barriers[k] += n
				}
				totalBarriers[k] += n
			}
			for code, n := range b.Trades {
				trades[code] += n
				totalTrades[code] += n
			}
		}
		row.Barriers, row.Trades = rankBarriers(barriers), rankTrades(trades)
		rows = append(rows, row)
	}
	if !healthInTotal {
		delete(totalBarriers, BarrierHealth)
	}
	total.Barriers, total.Trades = rankBarriers(totalBarriers), rankTrades(totalTrades)
	return rows, total
}

func rankBarriers(counts map[BarrierKind]int) []KindCount {
	var out []KindCount
	for _, k := range BarrierKinds {
		if n := counts[k]; n > 0 {
			out = append(out, KindCount{k, n})
		}
	}
	slices.SortStableFunc(out, func(a, b KindCount) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

func rankTrades(counts map[string]int) []TradeCount {
	var out []TradeCount
	for code, n := range counts {
		if n > 0 {
			out = append(out, TradeCount{code, n})
		}
	}
	slices.SortFunc(out, func(a, b TradeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code))
	})
	return out[:min(len(out), MaxTopTrades)]
}
