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

	rows, total := domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(t string) bool { return t == "T09" })
	want := []domain.Summary{
		{
			Territory: "T05",
			Months:    []domain.MonthCount{{oct, 2, 0}, {nov, 0, 1}, {dec, 0, 0}},
			Barriers:  []domain.KindCount{{domain.BarrierMobility, 1}, {domain.BarrierChildcare, 1}},
			Trades:    []domain.TradeCount{{"G1602", 2}},
		},
		{
			Territory: "T09",
			Months:    []domain.MonthCount{{oct, 0, 0}, {nov, 1, 0}, {dec, 0, 0}},
			Barriers:  []domain.KindCount{{domain.BarrierMobility, 1}, {domain.BarrierHealth, 1}},
			Trades:    []domain.TradeCount{{"G1602", 1}, {"K2204", 1}},
		},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", rows, want)
	}
	// Health is counted in the total only for those who see it everywhere.
	wantTotal := domain.Summary{
		Months:   []domain.MonthCount{{oct, 2, 0}, {nov, 1, 1}, {dec, 0, 0}},
		Barriers: []domain.KindCount{{domain.BarrierMobility, 2}, {domain.BarrierChildcare, 1}},
		Trades:   []domain.TradeCount{{"G1602", 3}, {"K2204", 1}},
	}
	if !reflect.DeepEqual(total, wantTotal) {
		t.Fatalf("total\n%+v\nwant\n%+v", total, wantTotal)
	}
	_, total = domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(string) bool { return true })
	if total.Barriers[1] != (domain.KindCount{domain.BarrierHealth, 1}) && total.Barriers[2] != (domain.KindCount{domain.BarrierHealth, 1}) {
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
	rows, _ := domain.Summarise(map[string]map[civil.Month]domain.Bucket{"T01": {nov: b}}, []string{"T01"}, nov, nov, func(string) bool { return false })
	if got := rows[0].Trades; len(got) != domain.MaxTopTrades || got[0] != (domain.TradeCount{"A1111", 12}) || got[9].Code != "A1102" {
		t.Fatalf("top trades %+v", got)
	}
}
