package fr

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// The errors of ParseDate and ParseMinutes are French sentences, to show as
// they are next to the form field.

var (
	frenchDate = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4})$`)
	isoDate    = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
)

const expectedDate = "attendu JJ/MM/AAAA"

// ParseDate reads a date typed as DD/MM/YYYY ("05/03/2026"; one-digit day
// and month and the separators "." and "-" are accepted too) or sent by an
// HTML date input as YYYY-MM-DD. The date must exist and lie in 1900..2200.
func ParseDate(s string) (civil.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return civil.Date{}, errors.New("date manquante" + nbsp + ": " + expectedDate)
	}
	var y, m, d int
	if p := isoDate.FindStringSubmatch(s); p != nil {
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	} else if p := frenchDate.FindStringSubmatch(s); p != nil && p[2] == p[4] {
		d, m, y = atoi(p[1]), atoi(p[3]), atoi(p[5])
	} else {
		return civil.Date{}, fmt.Errorf("date invalide%s: %q, %s", nbsp, s, expectedDate)
	}
	switch date := (civil.Date{Year: y, Month: time.Month(m), Day: d}); {
	case y < 1900 || y > 2200:
		return civil.Date{}, fmt.Errorf("date invalide%s: l'année doit être comprise entre 1900 et 2200", nbsp)
	case m < 1 || m > 12:
		return civil.Date{}, fmt.Errorf("date invalide%s: le mois doit être compris entre 1 et 12", nbsp)
	case !date.Valid():
		return civil.Date{}, fmt.Errorf("date invalide%s: le %02d/%02d/%04d n'existe pas", nbsp, d, m, y)
	default:
		return date, nil
	}
}

// atoi reads a string of at most a few ASCII digits, matched by a regexp.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var (
	wholeMinutes   = regexp.MustCompile(`^(\d{1,10})(?:min|mn)?$`)
	hoursMinutes   = regexp.MustCompile(`^(\d{1,6})h(?:(\d{2})(?:min|mn)?)?$`)
	decimalHours   = regexp.MustCompile(`^(\d{1,6})[,.](\d{1,4})h$`)
	decimalNoUnit  = regexp.MustCompile(`^\d+[,.]\d+$`)
	durationSpaces = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "\t", "")
)

const expectedDuration = "attendu un nombre entier de minutes (210) ou des heures (3 h 30, 3,5 h)"

// ParseMinutes reads a duration typed in a form, in whole minutes: "210" or
// "210 min"; "3 h", "3h30", "3 h 05"; or hours with a decimal comma
// followed by h, "3,5 h" (210) or "3,25 h" (195), which must come to a whole
// number of minutes. Integer arithmetic only.
func ParseMinutes(s string) (int32, error) {
	t := durationSpaces.Replace(strings.ToLower(strings.TrimSpace(s)))
	var total int64
	switch {
	case t == "":
		return 0, errors.New("durée manquante" + nbsp + ": " + expectedDuration)
	case wholeMinutes.MatchString(t):
		total = int64(atoi(wholeMinutes.FindStringSubmatch(t)[1]))
	case hoursMinutes.MatchString(t):
		p := hoursMinutes.FindStringSubmatch(t)
		m := 0
		if p[2] != "" {
			m = atoi(p[2])
		}
		if m > 59 {
			return 0, fmt.Errorf("durée invalide%s: %q, les minutes vont de 00 à 59", nbsp, strings.TrimSpace(s))
		}
		total = int64(atoi(p[1]))*60 + int64(m)
	case decimalHours.MatchString(t):
		p := decimalHours.FindStringSubmatch(t)
		scale := int64(1)
		for range len(p[2]) {
			scale *= 10
		}
		frac := int64(atoi(p[2])) * 60
		if frac%scale != 0 {
			return 0, fmt.Errorf("durée invalide%s: %q ne fait pas un nombre entier de minutes", nbsp, strings.TrimSpace(s))
		}
		total = int64(atoi(p[1]))*60 + frac/scale
	case decimalNoUnit.MatchString(t):
		return 0, fmt.Errorf("durée invalide%s: %q, précisez l'unité (%s h pour des heures)", nbsp, strings.TrimSpace(s), strings.TrimSpace(s))
	default:
		return 0, fmt.Errorf("durée invalide%s: %q, %s", nbsp, strings.TrimSpace(s), expectedDuration)
	}
	if total > math.MaxInt32 {
		return 0, fmt.Errorf("durée invalide%s: %q est trop longue", nbsp, strings.TrimSpace(s))
	}
	return int32(total), nil
}
