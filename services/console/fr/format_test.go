package fr

import (
	"math"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// sp writes test expectations with "_" standing for U+00A0.
func sp(s string) string { return strings.ReplaceAll(s, "_", "\u00a0") }

func TestMoney(t *testing.T) {
	cases := []struct {
		cents int64
		want  string
	}{
		{0, "0,00_€"},
		{5, "0,05_€"},
		{-5, "-0,05_€"},
		{50, "0,50_€"},
		{100, "1,00_€"},
		{99999, "999,99_€"},
		{100000, "1_000,00_€"},
		{123450, "1_234,50_€"},
		{-123450, "-1_234,50_€"},
		{100000000, "1_000_000,00_€"},
		{3300000000, "33_000_000,00_€"},
		{math.MaxInt64, "92_233_720_368_547_758,07_€"},
		{math.MinInt64, "-92_233_720_368_547_758,08_€"},
	}
	for _, c := range cases {
		if got, want := Money(c.cents), sp(c.want); got != want {
			t.Errorf("Money(%d) = %q, want %q", c.cents, got, want)
		}
	}
}

func TestInt(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1_000"}, {-1000, "-1_000"},
		{12345, "12_345"}, {123456, "123_456"}, {1234567, "1_234_567"},
		{math.MinInt64, "-9_223_372_036_854_775_808"},
	}
	for _, c := range cases {
		if got, want := Int(c.n), sp(c.want); got != want {
			t.Errorf("Int(%d) = %q, want %q", c.n, got, want)
		}
	}
	if got, want := Int(int32(4500)), sp("4_500"); got != want {
		t.Errorf("Int(int32) = %q, want %q", got, want)
	}
}

func TestMinutes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0_min"},
		{1, "1_min"},
		{45, "45_min"},
		{59, "59_min"},
		{60, "1_h"},
		{65, "1_h_05"},
		{210, "3_h_30"},
		{420, "7_h"},
		{-75, "-1_h_15"},
		{-30, "-30_min"},
		{60 * 1234, "1_234_h"},
		{60*1234 + 1, "1_234_h_01"},
	}
	for _, c := range cases {
		if got, want := Minutes(c.n), sp(c.want); got != want {
			t.Errorf("Minutes(%d) = %q, want %q", c.n, got, want)
		}
	}
	if got, want := Minutes(int32(2100)), sp("35_h"); got != want {
		t.Errorf("Minutes(int32(2100)) = %q, want %q", got, want)
	}
}

func TestPercent(t *testing.T) {
	cases := []struct {
		num, den int64
		want     string
	}{
		{4, 5, "80_%"},
		{0, 5, "0_%"},
		{5, 5, "100_%"},
		{1, 3, "33_%"},
		{2, 3, "67_%"},
		{1, 8, "13_%"},  // 12.5 rounds half up
		{1, 200, "1_%"}, // 0.5
		{1, 201, "0_%"},
		{-1, 8, "-13_%"},
		{1, -8, "-13_%"},
		{-1, -8, "13_%"},
		{-1, 300, "0_%"},
		{30, 2, "1_500_%"},
		{math.MaxInt64, 1, "922_337_203_685_477_580_700_%"},
		{math.MaxInt64, math.MaxInt64, "100_%"},
		{3, 0, "–"},
	}
	for _, c := range cases {
		if got, want := Percent(c.num, c.den), sp(c.want); got != want {
			t.Errorf("Percent(%d, %d) = %q, want %q", c.num, c.den, got, want)
		}
	}
}

func TestDates(t *testing.T) {
	if got := Date(&commonv1.Date{Year: 2026, Month: 3, Day: 5}); got != "05/03/2026" {
		t.Errorf("Date = %q", got)
	}
	if got := Date(nil); got != "" {
		t.Errorf("Date(nil) = %q", got)
	}
	if got := Date(&commonv1.Date{}); got != "" {
		t.Errorf("Date(zero) = %q", got)
	}
	if got := CivilDate(civil.Date{Year: 1999, Month: 12, Day: 31}); got != "31/12/1999" {
		t.Errorf("CivilDate = %q", got)
	}

	months := []struct {
		m    *commonv1.Month
		want string
	}{
		{&commonv1.Month{Year: 2026, Month: 3}, "mars 2026"},
		{&commonv1.Month{Year: 2026, Month: 2}, "février 2026"},
		{&commonv1.Month{Year: 2025, Month: 8}, "août 2025"},
		{&commonv1.Month{Year: 2025, Month: 12}, "décembre 2025"},
		{&commonv1.Month{Year: 2025, Month: 1}, "janvier 2025"},
		{&commonv1.Month{Year: 2025, Month: 13}, "13/2025"},
		{nil, ""},
	}
	for _, c := range months {
		if got := Month(c.m); got != c.want {
			t.Errorf("Month(%v) = %q, want %q", c.m, got, c.want)
		}
	}

	times := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 3, 5, 13, 7, 0, 0, time.UTC), "05/03/2026 à 14:07"},    // winter, UTC+1
		{time.Date(2026, 7, 14, 21, 30, 59, 0, time.UTC), "14/07/2026 à 23:30"}, // summer, UTC+2
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "01/01/2027 à 00:30"}, // next day in Paris
		{time.Time{}, ""},
	}
	for _, c := range times {
		if got := DateTime(c.t); got != c.want {
			t.Errorf("DateTime(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestDaysBetweenAndPluralDays(t *testing.T) {
	d := func(y int, m time.Month, day int) civil.Date { return civil.Date{Year: y, Month: m, Day: day} }
	cases := []struct {
		from, to civil.Date
		want     int
	}{
		{d(2026, 3, 5), d(2026, 3, 5), 0},
		{d(2026, 3, 5), d(2026, 3, 6), 1},
		{d(2026, 3, 6), d(2026, 3, 5), -1},
		{d(2026, 3, 28), d(2026, 3, 30), 2}, // across the switch to summer time
		{d(2024, 2, 28), d(2024, 3, 1), 2},  // leap year
		{d(2026, 1, 1), d(2027, 1, 1), 365},
		{d(1900, 1, 1), d(2200, 12, 31), 109937}, // more than time.Duration can hold
	}
	for _, c := range cases {
		if got := DaysBetween(c.from, c.to); got != c.want {
			t.Errorf("DaysBetween(%v, %v) = %d, want %d", c.from, c.to, got, c.want)
		}
	}

	plural := []struct {
		n    int
		want string
	}{
		{0, "0_jour"}, {1, "1_jour"}, {-1, "-1_jour"}, {2, "2_jours"}, {12, "12_jours"},
		{-3, "-3_jours"}, {1234, "1_234_jours"},
	}
	for _, c := range plural {
		if got, want := PluralDays(c.n), sp(c.want); got != want {
			t.Errorf("PluralDays(%d) = %q, want %q", c.n, got, want)
		}
	}
}
