package fr

import (
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestParseDate(t *testing.T) {
	ok := []struct {
		in   string
		want civil.Date
	}{
		{"05/03/2026", civil.Date{Year: 2026, Month: time.March, Day: 5}},
		{" 5/3/2026 ", civil.Date{Year: 2026, Month: time.March, Day: 5}},
		{"05.03.2026", civil.Date{Year: 2026, Month: time.March, Day: 5}},
		{"05-03-2026", civil.Date{Year: 2026, Month: time.March, Day: 5}},
		{"2026-03-05", civil.Date{Year: 2026, Month: time.March, Day: 5}},
		{"29/02/2024", civil.Date{Year: 2024, Month: time.February, Day: 29}},
		{"01/01/1900", civil.Date{Year: 1900, Month: time.January, Day: 1}},
		{"31/12/2200", civil.Date{Year: 2200, Month: time.December, Day: 31}},
	}
	for _, c := range ok {
		got, err := ParseDate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		// What Date prints reads back.
		if back, err := ParseDate(CivilDate(got)); err != nil || back != got {
			t.Errorf("ParseDate(CivilDate(%v)) = %v, %v", got, back, err)
		}
	}

	bad := []struct {
		in, msg string
	}{
		{"", "date manquante"},
		{"   ", "date manquante"},
		{"5 mars 2026", "attendu JJ/MM/AAAA"},
		{"2026/03/05", "attendu JJ/MM/AAAA"},
		{"05/03/26", "attendu JJ/MM/AAAA"},
		{"05/03-2026", "attendu JJ/MM/AAAA"},
		{"2026-3-5", "attendu JJ/MM/AAAA"},
		{"03/05/2026x", "attendu JJ/MM/AAAA"},
		{"31/02/2026", "le 31/02/2026 n'existe pas"},
		{"29/02/2025", "le 29/02/2025 n'existe pas"},
		{"00/01/2026", "le 00/01/2026 n'existe pas"},
		{"2026-02-30", "le 30/02/2026 n'existe pas"},
		{"12/13/2026", "le mois doit être compris entre 1 et 12"},
		{"01/01/1899", "l'année doit être comprise entre 1900 et 2200"},
		{"01/01/2201", "l'année doit être comprise entre 1900 et 2200"},
	}
	for _, c := range bad {
		got, err := ParseDate(c.in)
		if err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "date ") {
			t.Errorf("ParseDate(%q) error %q, want it to hold %q", c.in, err, c.msg)
		}
	}
}

func TestParseMinutes(t *testing.T) {
	ok := []struct {
		in   string
		want int32
	}{
		{"210", 210},
		{" 0 ", 0},
		{"45 min", 45},
		{"45min", 45},
		{"45 mn", 45},
		{"3 h", 180},
		{"3h", 180},
		{"3H", 180},
		{"3h30", 210},
		{"3 h 30", 210},
		{"3\u00a0h\u00a030", 210},
		{"3h05", 185},
		{"3h30min", 210},
		{"0h45", 45},
		{"3,5 h", 210},
		{"3,5h", 210},
		{"3.5 h", 210},
		{"3,25 h", 195},
		{"0,75 h", 45},
		{"1,1 h", 66},
		{"7,0 h", 420},
		{"2147483647", 2147483647},
	}
	for _, c := range ok {
		got, err := ParseMinutes(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseMinutes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	// What Minutes prints reads back.
	for _, n := range []int32{0, 5, 45, 60, 185, 210, 420, 60 * 1234} {
		if back, err := ParseMinutes(Minutes(n)); err != nil || back != n {
			t.Errorf("ParseMinutes(Minutes(%d)) = %d, %v", n, back, err)
		}
	}

	bad := []struct {
		in, msg string
	}{
		{"", "durée manquante"},
		{"3,5", "précisez l'unité"},
		{"3.5", "précisez l'unité"},
		{"3,33 h", "ne fait pas un nombre entier de minutes"},
		{"0,001 h", "ne fait pas un nombre entier de minutes"},
		{"3h75", "les minutes vont de 00 à 59"},
		{"3h5", "attendu un nombre entier de minutes"},
		{"-30", "attendu un nombre entier de minutes"},
		{"trois heures", "attendu un nombre entier de minutes"},
		{"3 h 30 min 10", "attendu un nombre entier de minutes"},
		{"1e3", "attendu un nombre entier de minutes"},
		{"2147483648", "trop longue"},
		{"9999999999", "trop longue"},
	}
	for _, c := range bad {
		got, err := ParseMinutes(c.in)
		if err == nil {
			t.Errorf("ParseMinutes(%q) = %d, want an error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseMinutes(%q) error %q, want it to hold %q", c.in, err, c.msg)
		}
	}
}

func FuzzParseMinutes(f *testing.F) {
	for _, s := range []string{"210", "3 h 30", "3,5 h", "3,33 h", "", "9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMinutes(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseMinutes(%q) = %d", s, n)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"05/03/2026", "2026-03-05", "31/02/2026", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err == nil && !d.Valid() {
			t.Fatalf("ParseDate(%q) = %v, an invalid date without error", s, d)
		}
	})
}
