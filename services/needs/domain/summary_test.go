package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestSummaryCountsCurrentAnalyses(t *testing.T) {
	oct, nov, dec := civil.Month{Year: 2026, Month: time.October}, civil.Month{Year: 2026, Month: time.November}, civil.Month{Year: 2026, Month: time.December}
	first := domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierHealth, domain.BarrierMobility}, Trades: []string{"K2204", "G1602"}}
	other := domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierMobility}, Trades: []string{"G1602"}}
	revision := domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierChildcare}, Trades: []string{"G1602"}}
	// T05: two analyses completed in October; the first revised in November.
	t05 := map[civil.Month]domain.Bucket{
		oct: domain.Bucket{}.WithCompletion(false, first).WithCompletion(false, other).WithoutCounted(first),
		nov: domain.Bucket{}.WithCompletion(true, revision),
	}
	t09 := map[civil.Month]domain.Bucket{nov: domain.Bucket{}.WithCompletion(false, first)}
	buckets := map[string]map[civil.Month]domain.Bucket{"T05": t05, "T09": t09}

	rows, total := domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(t string) bool { return t == "T09" }, exact)
	want := []domain.Summary{
		{
			Territory: "T05",
			Months:    []domain.MonthCount{{oct, 2, 0}, {nov, 0, 1}, {dec, 0, 0}},
			Barriers:  []domain.KindCount{{Kind: domain.BarrierMobility, Count: 1}, {Kind: domain.BarrierChildcare, Count: 1}},
			Trades:    []domain.TradeCount{{"G1602", 2}},
		},
		{
			Territory: "T09",
			Months:    []domain.MonthCount{{oct, 0, 0}, {nov, 1, 0}, {dec, 0, 0}},
			Barriers:  []domain.KindCount{{Kind: domain.BarrierMobility, Count: 1}, {Kind: domain.BarrierHealth, Count: 1}},
			Trades:    []domain.TradeCount{{"G1602", 1}, {"K2204", 1}},
		},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", rows, want)
	}
	// Health is counted in the total only for those who see it everywhere.
	wantTotal := domain.Summary{
		Months:   []domain.MonthCount{{oct, 2, 0}, {nov, 1, 1}, {dec, 0, 0}},
		Barriers: []domain.KindCount{{Kind: domain.BarrierMobility, Count: 2}, {Kind: domain.BarrierChildcare, Count: 1}},
		Trades:   []domain.TradeCount{{"G1602", 3}, {"K2204", 1}},
	}
	if !reflect.DeepEqual(total, wantTotal) {
		t.Fatalf("total\n%+v\nwant\n%+v", total, wantTotal)
	}
	_, total = domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(string) bool { return true }, exact)
	if total.Barriers[1] != (domain.KindCount{Kind: domain.BarrierHealth, Count: 1}) && total.Barriers[2] != (domain.KindCount{Kind: domain.BarrierHealth, Count: 1}) {
		t.Fatalf("health not counted for who sees it: %+v", total.Barriers)
	}
}

func TestTopTradesAreTen(t *testing.T) {
	b := domain.Bucket{}
	for i := range 12 {
		code := "A11" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		for range i + 1 {
			b = b.WithCompletion(false, domain.Counted{Trades: []string{code}})
		}
	}
	nov := civil.Month{Year: 2026, Month: time.November}
	rows, _ := domain.Summarise(map[string]map[civil.Month]domain.Bucket{"T01": {nov: b}}, []string{"T01"}, nov, nov, func(string) bool { return false }, exact)
	if got := rows[0].Trades; len(got) != domain.MaxTopTrades || got[0] != (domain.TradeCount{"A1111", 12}) || got[9].Code != "A1102" {
		t.Fatalf("top trades %+v", got)
	}
}

// exact ranks by the counts themselves.
func exact(n int) int { return n }

// Barriers and trades rank by the counts as given: counts given as equal
// (here, below 3, given as 0) rank in the order of the kinds, or of the
// codes, whatever their values, and the ten trades listed are the first ten
// in that order; the counts reported are the counts themselves.
func TestSummaryRanksByTheCountsGiven(t *testing.T) {
	nov := civil.Month{Year: 2026, Month: time.November}
	counted := func(b domain.Bucket, n int, c domain.Counted) domain.Bucket {
		for range n {
			b = b.WithCompletion(false, c)
		}
		return b
	}
	b := counted(domain.Bucket{}, 4, domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierFinances}})
	b = counted(b, 2, domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierHealth}})
	b = counted(b, 1, domain.Counted{Barriers: []domain.BarrierKind{domain.BarrierMobility}})
	// Eleven trades: Z9999 counted 3 times, the ten others (A0000..A0009)
	// once or twice, the larger codes more often.
	b = counted(b, 3, domain.Counted{Trades: []string{"Z9999"}})
	for i := range 10 {
		b = counted(b, 1+i/5, domain.Counted{Trades: []string{"A000" + string(rune('0'+i))}})
	}
	buckets := map[string]map[civil.Month]domain.Bucket{"T05": {nov: b}}
	givenFromThree := func(n int) int {
		if n < 3 {
			return 0
		}
		return n
	}

	rows, _ := domain.Summarise(buckets, []string{"T05"}, nov, nov, func(string) bool { return true }, givenFromThree)
	wantBarriers := []domain.KindCount{{domain.BarrierFinances, 4}, {domain.BarrierMobility, 1}, {domain.BarrierHealth, 2}}
	if !reflect.DeepEqual(rows[0].Barriers, wantBarriers) {
		t.Errorf("barriers %+v, want %+v", rows[0].Barriers, wantBarriers)
	}
	wantTrades := []domain.TradeCount{{"Z9999", 3}}
	for i := range 9 {
		wantTrades = append(wantTrades, domain.TradeCount{"A000" + string(rune('0'+i)), 1 + i/5})
	}
	if !reflect.DeepEqual(rows[0].Trades, wantTrades) {
		t.Errorf("trades %+v, want %+v", rows[0].Trades, wantTrades)
	}

	// By the counts themselves: health before mobility, and the trades
	// counted twice before those counted once.
	rows, _ = domain.Summarise(buckets, []string{"T05"}, nov, nov, func(string) bool { return true }, exact)
	wantBarriers = []domain.KindCount{{domain.BarrierFinances, 4}, {domain.BarrierHealth, 2}, {domain.BarrierMobility, 1}}
	if !reflect.DeepEqual(rows[0].Barriers, wantBarriers) {
		t.Errorf("exact barriers %+v, want %+v", rows[0].Barriers, wantBarriers)
	}
	if got := rows[0].Trades; got[1] != (domain.TradeCount{"A0005", 2}) || got[9] != (domain.TradeCount{"A0003", 1}) {
		t.Errorf("exact trades %+v", got)
	}
}
