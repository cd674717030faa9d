package domain

import (
	"cmp"
	"maps"
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

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
	Month     civil.Month
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
//
// Barriers and trades are ranked by given(n), the count n as the caller is
// given it (n itself for who is given every count; 0 for a count withheld
// by the rule of small counts, which is the service's): counts given as
// equal rank in the order of BarrierKinds (of their codes for trades),
// whatever their value, so the order does not give withheld counts away,
// and the ten trades listed are the first ten in that order. The counts
// reported are the counts themselves.
func Summarise(buckets map[string]map[civil.Month]Bucket, territories []string, from, to civil.Month, seesHealth func(territory string) bool, given func(n int) int) ([]Summary, Summary) {
	total := Summary{}
	totalBarriers, totalTrades := map[BarrierKind]int{}, map[string]int{}
	months := map[civil.Month]*MonthCount{}
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
		row.Barriers, row.Trades = rankBarriers(barriers, given), rankTrades(trades, given)
		rows = append(rows, row)
	}
	if !healthInTotal {
		delete(totalBarriers, BarrierHealth)
	}
	total.Barriers, total.Trades = rankBarriers(totalBarriers, given), rankTrades(totalTrades, given)
	return rows, total
}

// rankBarriers lists the barriers counted, by count given, most frequent
// first, then in the order of BarrierKinds.
func rankBarriers(counts map[BarrierKind]int, given func(int) int) []KindCount {
	var out []KindCount
	for _, k := range BarrierKinds {
		if n := counts[k]; n > 0 {
			out = append(out, KindCount{Kind: k, Count: n})
		}
	}
	slices.SortStableFunc(out, func(a, b KindCount) int { return cmp.Compare(given(b.Count), given(a.Count)) })
	return out
}

// rankTrades lists the MaxTopTrades trades counted first by count given,
// most frequent first, then by code.
func rankTrades(counts map[string]int, given func(int) int) []TradeCount {
	var out []TradeCount
	for code, n := range counts {
		if n > 0 {
			out = append(out, TradeCount{code, n})
		}
	}
	slices.SortFunc(out, func(a, b TradeCount) int {
		return cmp.Or(cmp.Compare(given(b.Count), given(a.Count)), cmp.Compare(a.Code, b.Code))
	})
	return out[:min(len(out), MaxTopTrades)]
}
