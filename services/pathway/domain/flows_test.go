package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestMedianDays(t *testing.T) {
	tests := []struct {
		name string
		days map[int]int
		want int
		ok   bool
	}{
		{"none", nil, 0, false},
		{"one", map[int]int{12: 1}, 12, true},
		{"odd count", map[int]int{3: 1, 10: 1, 40: 1}, 10, true},
		{"even count: the lower middle", map[int]int{3: 1, 10: 1, 40: 1, 90: 1}, 10, true},
		{"repeated lengths", map[int]int{0: 2, 5: 1, 200: 3}, 5, true},
		{"two equal halves", map[int]int{7: 2, 9: 2}, 7, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := domain.MedianDays(tc.days)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("MedianDays(%v) = %d %v, want %d %v", tc.days, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDaysInPathway(t *testing.T) {
	if got := domain.DaysInPathway(day(2026, 1, 31), day(2026, 3, 1)); got != 29 {
		t.Fatalf("31 Jan to 1 Mar: %d days", got)
	}
	if got := domain.DaysInPathway(day(2026, 3, 29), day(2026, 3, 29)); got != 0 {
		t.Fatalf("same day: %d", got)
	}
}

func TestMonth(t *testing.T) {
	m, err := civil.ParseMonth("2026-12")
	if err != nil || m != (civil.Month{Year: 2026, Month: time.December}) || m.String() != "2026-12" {
		t.Fatalf("%v %v", m, err)
	}
	if next := m.Next(); next != (civil.Month{Year: 2027, Month: time.January}) {
		t.Fatalf("next %v", next)
	}
	if n := (civil.Month{Year: 2027, Month: 2}).MonthsFrom(m); n != 3 {
		t.Fatalf("Dec..Feb holds %d months", n)
	}
	if n := m.MonthsFrom(civil.Month{Year: 2027, Month: 2}); n != 0 {
		t.Fatalf("reversed range holds %d months", n)
	}
	for _, bad := range []string{"2026-13", "26-01", "1899-12", ""} {
		if _, err := civil.ParseMonth(bad); err == nil {
			t.Errorf("civil.ParseMonth(%q) accepted", bad)
		}
	}
}

func TestFlowReport(t *testing.T) {
	sep, oct, nov, dec := civil.Month{Year: 2026, Month: 9}, civil.Month{Year: 2026, Month: 10}, civil.Month{Year: 2026, Month: 11}, civil.Month{Year: 2026, Month: 12}
	history := map[string]map[civil.Month]domain.FlowBucket{
		"T05": {
			// Before the report: 3 entered, 1 left, so 2 are active when it starts.
			sep: domain.FlowBucket{}.WithEntry().WithEntry().WithEntry().WithExit(domain.ExitRelocation, 10),
			oct: domain.FlowBucket{}.WithEntry().WithExit(domain.ExitEmploymentPermanent, 30).WithExit(domain.ExitEmploymentPermanent, 50),
			dec: domain.FlowBucket{}.WithEntry().WithEntry(),
		},
		"T06": {
			nov: domain.FlowBucket{}.WithEntry().WithEntry().WithExit(domain.ExitHealth, 4),
		},
	}
	rows, totals := domain.FlowReport(history, []string{"T05", "T06", "T07"}, oct, dec)
	want := []domain.FlowRow{
		{Territory: "T05", Month: oct, Entries: 1, Exits: 2, ExitsByReason: map[domain.ExitReason]int{domain.ExitEmploymentPermanent: 2}, ActiveAtEnd: 1, MedianDays: 30, HasMedian: true},
		{Territory: "T05", Month: nov, ExitsByReason: map[domain.ExitReason]int{}, ActiveAtEnd: 1},
		{Territory: "T05", Month: dec, Entries: 2, ExitsByReason: map[domain.ExitReason]int{}, ActiveAtEnd: 3},
		{Territory: "T06", Month: oct, ExitsByReason: map[domain.ExitReason]int{}},
		{Territory: "T06", Month: nov, Entries: 2, Exits: 1, ExitsByReason: map[domain.ExitReason]int{domain.ExitHealth: 1}, ActiveAtEnd: 1, MedianDays: 4, HasMedian: true},
		{Territory: "T06", Month: dec, ExitsByReason: map[domain.ExitReason]int{}, ActiveAtEnd: 1},
		{Territory: "T07", Month: oct, ExitsByReason: map[domain.ExitReason]int{}},
		{Territory: "T07", Month: nov, ExitsByReason: map[domain.ExitReason]int{}},
		{Territory: "T07", Month: dec, ExitsByReason: map[domain.ExitReason]int{}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", rows, want)
	}
	wantTotals := []domain.FlowRow{
		{Month: oct, Entries: 1, Exits: 2, ExitsByReason: map[domain.ExitReason]int{domain.ExitEmploymentPermanent: 2}, ActiveAtEnd: 1, MedianDays: 30, HasMedian: true},
		{Month: nov, Entries: 2, Exits: 1, ExitsByReason: map[domain.ExitReason]int{domain.ExitHealth: 1}, ActiveAtEnd: 2, MedianDays: 4, HasMedian: true},
		{Month: dec, Entries: 2, ExitsByReason: map[domain.ExitReason]int{}, ActiveAtEnd: 4},
	}
	if !reflect.DeepEqual(totals, wantTotals) {
		t.Fatalf("totals\n%+v\nwant\n%+v", totals, wantTotals)
	}
	// The median of the totals merges the territories' lengths, it is not a
	// median of medians.
	history["T06"][oct] = domain.FlowBucket{}.WithExit(domain.ExitAbandonment, 1).WithExit(domain.ExitAbandonment, 2).WithExit(domain.ExitAbandonment, 3)
	_, totals = domain.FlowReport(history, []string{"T05", "T06"}, oct, oct)
	if totals[0].MedianDays != 3 || totals[0].Exits != 5 {
		t.Fatalf("merged median of 1,2,3,30,50: %+v", totals[0])
	}
}

func TestFlowBucketWithExitDoesNotShareMaps(t *testing.T) {
	a := domain.FlowBucket{}.WithExit(domain.ExitHealth, 3)
	b := a.WithExit(domain.ExitHealth, 3)
	if a.Exits[domain.ExitHealth] != 1 || a.Days[3] != 1 || b.Exits[domain.ExitHealth] != 2 || b.Days[3] != 2 {
		t.Fatalf("a %+v b %+v", a, b)
	}
}
