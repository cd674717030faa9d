package civil_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestOfUsesParisDay(t *testing.T) {
	// 23:30 UTC on 31 December is already 1 January in Paris.
	got := civil.Of(time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC))
	if got != (civil.Date{Year: 2026, Month: 1, Day: 1}) {
		t.Fatalf("got %v", got)
	}
}

func TestValidity(t *testing.T) {
	for _, c := range []struct {
		d    civil.Date
		want bool
	}{
		{civil.Date{2024, 2, 29}, true},
		{civil.Date{2025, 2, 29}, false},
		{civil.Date{2025, 4, 31}, false},
		{civil.Date{2025, 13, 1}, false},
		{civil.Date{1899, 12, 31}, false},
		{civil.Date{}, false},
	} {
		if got := c.d.Valid(); got != c.want {
			t.Errorf("%v.Valid() = %v", c.d, got)
		}
	}
}

func TestParseAndString(t *testing.T) {
	d, err := civil.Parse("2026-03-09")
	if err != nil || d.String() != "2026-03-09" {
		t.Fatalf("%v %v", d, err)
	}
	for _, bad := range []string{"", "2026-3-9", "09/03/2026", "2026-02-30", "1800-01-01"} {
		if _, err := civil.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestArithmetic(t *testing.T) {
	d := civil.Date{2026, 3, 28}
	if got := d.AddDays(4); got != (civil.Date{2026, 4, 1}) {
		t.Errorf("AddDays = %v", got)
	}
	if n := d.DaysUntil(civil.Date{2026, 3, 30}); n != 2 { // across the DST change
		t.Errorf("DaysUntil = %d", n)
	}
	birth := civil.Date{2010, 5, 20}
	if birth.YearsOn(civil.Date{2026, 5, 19}) != 15 || birth.YearsOn(civil.Date{2026, 5, 20}) != 16 {
		t.Error("YearsOn off by one around the birthday")
	}
	if !d.Before(d.AddDays(1)) || d.After(d) || d.Compare(d) != 0 {
		t.Error("comparison")
	}
}

func TestWeekday(t *testing.T) {
	for d, want := range map[civil.Date]time.Weekday{
		{Year: 2026, Month: time.November, Day: 27}: time.Friday,
		{Year: 2024, Month: time.February, Day: 29}: time.Thursday,
		{Year: 2027, Month: time.January, Day: 3}:   time.Sunday,
	} {
		if got := d.Weekday(); got != want {
			t.Errorf("%s: %v, want %v", d, got, want)
		}
	}
}
