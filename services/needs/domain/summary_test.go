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

	rows, total := domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(t string) bool { return t == "T09" }, false)
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
	_, total = domain.Summarise(buckets, []string{"T05", "T09"}, oct, dec, func(string) bool { return true }, false)
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
	rows, _ := domain.Summarise(map[string]map[civil.Month]domain.Bucket{"T01": {nov: b}}, []string{"T01"}, nov, nov, func(string) bool { return false }, false)
	if got := rows[0].Trades; len(got) != domain.MaxTopTrades || got[0] != (domain.TradeCount{"A1111", 12}) || got[9].Code != "A1102" {
		t.Fatalf("top trades %+v", got)
	}
}

// Withheld, a barrier count from 1 to 4 reads as withheld, count 0, in the
// rows and the total alike, and sorts after every count shown, then by
// kind; 5 and more are shown.
func TestSummaryWithholdsCountsUnderFive(t *testing.T) {
	nov := civil.Month{Year: 2026, Month: time.November}
	counted := func(b domain.Bucket, n int, kinds ...domain.BarrierKind) domain.Bucket {
		for range n {
			b = b.WithCompletion(false, domain.Counted{Barriers: kinds})
		}
		return b
	}
	// T05: 6 housing, 4 mobility, 1 health; T09: 2 mobility, 5 finances.
	t05 := counted(counted(counted(domain.Bucket{}, 6, domain.BarrierHousing), 4, domain.BarrierMobility), 1, domain.BarrierHealth)
	t09 := counted(counted(domain.Bucket{}, 2, domain.BarrierMobility), 5, domain.BarrierFinances)
	buckets := map[string]map[civil.Month]domain.Bucket{"T05": {nov: t05}, "T09": {nov: t09}}
	shown := func(k domain.BarrierKind, n int) domain.KindCount { return domain.KindCount{Kind: k, Count: n} }
	withheld := func(k domain.BarrierKind) domain.KindCount { return domain.KindCount{Kind: k, Withheld: true} }

	rows, total := domain.Summarise(buckets, []string{"T05", "T09"}, nov, nov, func(string) bool { return true }, true)
	for _, tc := range []struct {
		name      string
		got, want []domain.KindCount
	}{
		{"T05", rows[0].Barriers, []domain.KindCount{shown(domain.BarrierHousing, 6), withheld(domain.BarrierMobility), withheld(domain.BarrierHealth)}},
		{"T09", rows[1].Barriers, []domain.KindCount{shown(domain.BarrierFinances, 5), withheld(domain.BarrierMobility)}},
		{"total", total.Barriers, []domain.KindCount{shown(domain.BarrierMobility, 6), shown(domain.BarrierHousing, 6), shown(domain.BarrierFinances, 5), withheld(domain.BarrierHealth)}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	// Not withheld: every count as it is.
	rows, _ = domain.Summarise(buckets, []string{"T05", "T09"}, nov, nov, func(string) bool { return true }, false)
	if want := []domain.KindCount{shown(domain.BarrierHousing, 6), shown(domain.BarrierMobility, 4), shown(domain.BarrierHealth, 1)}; !reflect.DeepEqual(rows[0].Barriers, want) {
		t.Errorf("T05 in full: %+v, want %+v", rows[0].Barriers, want)
	}
}
