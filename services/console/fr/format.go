package fr

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// nbsp is U+00A0 NO-BREAK SPACE, between digit groups and before units.
const nbsp = "\u00a0"

var monthNames = [...]string{
	"janvier", "février", "mars", "avril", "mai", "juin",
	"juillet", "août", "septembre", "octobre", "novembre", "décembre",
}

// Date formats a wire date as DD/MM/YYYY ("05/03/2026"); nil or the zero
// date gives "".
func Date(d *commonv1.Date) string { return CivilDate(civilpb.Date(d)) }

// CivilDate formats d as DD/MM/YYYY; the zero date gives "".
func CivilDate(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// DateTime formats an instant as Paris wall time, "05/03/2026 à 14:07"; the
// zero time gives "".
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(civil.Paris).Format("02/01/2006 à 15:04")
}

// Month formats a wire month as "mars 2026"; nil gives "".
func Month(m *commonv1.Month) string {
	if m == nil {
		return ""
	}
	return CivilMonth(civilpb.Month(m))
}

// CivilMonth formats m as "mars 2026"; the zero month gives "" and a month
// number out of 1..12 gives "MM/YYYY" as it is.
func CivilMonth(m civil.Month) string {
	if m == (civil.Month{}) {
		return ""
	}
	if m.Month < time.January || m.Month > time.December {
		return fmt.Sprintf("%02d/%04d", int(m.Month), m.Year)
	}
	return monthNames[m.Month-1] + " " + strconv.Itoa(m.Year)
}

// Integer is any integer type the console formats.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

// abs returns the magnitude of n as a uint64, exact even for the most
// negative int64.
func abs(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// group writes u with no-break spaces between groups of three digits.
func group(u uint64) string { return groupDigits(strconv.FormatUint(u, 10)) }

// groupDigits puts no-break spaces between groups of three digits of s, a
// string of decimal digits.
func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	out := s[:first]
	for i := first; i < len(s); i += 3 {
		out += nbsp + s[i:i+3]
	}
	return out
}

func sign(n int64) string {
	if n < 0 {
		return "-"
	}
	return ""
}

// Int formats n with no-break spaces between thousands: "12 345".
func Int[N Integer](n N) string {
	v := int64(n)
	return sign(v) + group(abs(v))
}

// Money formats euro cents: "1 234,50 €", "-0,05 €", "0,00 €".
func Money(cents int64) string {
	u := abs(cents)
	return fmt.Sprintf("%s%s,%02d%s€", sign(cents), group(u/100), u%100, nbsp)
}

// Minutes formats a duration in whole minutes: "45 min", "7 h", "3 h 30",
// "3 h 05", "0 min", "-1 h 15".
func Minutes[N Integer](n N) string {
	v := int64(n)
	u := abs(v)
	h, m := u/60, u%60
	switch {
	case h == 0:
		return fmt.Sprintf("%s%d%smin", sign(v), m, nbsp)
	case m == 0:
		return sign(v) + group(h) + nbsp + "h"
	default:
		return fmt.Sprintf("%s%s%sh%s%02d", sign(v), group(h), nbsp, nbsp, m)
	}
}

// Percent formats num/den as a whole percentage rounded half away from zero:
// Percent(4, 5) is "80 %". A zero denominator gives "–" (no ratio).
func Percent[N Integer](num, den N) string {
	if den == 0 {
		return "–"
	}
	n := new(big.Int).Mul(big.NewInt(int64(num)), big.NewInt(100))
	d := big.NewInt(int64(den))
	if d.Sign() < 0 {
		n.Neg(n)
		d.Neg(d)
	}
	neg := n.Sign() < 0
	n.Abs(n)
	// round half up on the magnitude: (2n + d) / 2d
	n.Mul(n, big.NewInt(2)).Add(n, d)
	q := n.Quo(n, d.Mul(d, big.NewInt(2)))
	s := ""
	if neg && q.Sign() != 0 {
		s = "-"
	}
	return s + groupDigits(q.String()) + nbsp + "%"
}

// DaysBetween is the number of days from from to to: 1 from a day to the
// next, negative when to is before from. It counts calendar days in
// integers (no time.Duration, which cannot span 1900..2200).
func DaysBetween(from, to civil.Date) int { return int(dayNumber(to) - dayNumber(from)) }

func dayNumber(d civil.Date) int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// PluralDays formats a count of days: "0 jour", "1 jour", "12 jours",
// "1 234 jours" (French singular below 2).
func PluralDays[N Integer](n N) string {
	v := int64(n)
	if abs(v) < 2 {
		return Int(v) + nbsp + "jour"
	}
	return Int(v) + nbsp + "jours"
}
