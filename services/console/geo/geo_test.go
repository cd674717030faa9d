package geo

import (
	"strings"
	"testing"
)

func TestDistances(t *testing.T) {
	for _, tc := range []struct {
		a, b     string
		min, max int
	}{
		{"14118", "76540", 105, 125}, // Caen – Rouen
		{"14118", "14047", 25, 30},   // Caen – Bayeux
		{"76540", "76351", 70, 80},   // Rouen – Le Havre
		{"14118", "50129", 95, 110},  // Caen – Cherbourg-en-Cotentin
		{"61001", "14118", 90, 100},  // Alençon – Caen
		{"27229", "27681", 25, 35},   // Évreux – Vernon
	} {
		km, ok := DistanceKm(tc.a, tc.b)
		if !ok || km < tc.min || km > tc.max {
			t.Errorf("DistanceKm(%s, %s) = %d, %v; want %d..%d km", tc.a, tc.b, km, ok, tc.min, tc.max)
		}
		if back, _ := DistanceKm(tc.b, tc.a); back != km {
			t.Errorf("DistanceKm(%s, %s) = %d, not symmetric (%d)", tc.b, tc.a, back, km)
		}
	}
	if km, ok := DistanceKm("14118", " 14118 "); !ok || km != 0 {
		t.Errorf("a commune is 0 km from itself: %d, %v", km, ok)
	}
	for _, pair := range [][2]string{{"14118", "75056"}, {"", "14118"}, {"99999", "99999"}} {
		if _, ok := DistanceKm(pair[0], pair[1]); ok {
			t.Errorf("DistanceKm(%q, %q) known; want unknown (Paris and nonsense are not in the reference)", pair[0], pair[1])
		}
	}
}

// The communes the console's pages and tests rely on, by their INSEE code.
func TestCommunes(t *testing.T) {
	want := map[string]string{
		"14118": "Caen", "76540": "Rouen", "76351": "Le Havre", "50129": "Cherbourg-en-Cotentin",
		"27229": "Évreux", "61001": "Alençon", "14047": "Bayeux", "14366": "Lisieux", "50502": "Saint-Lô",
		"76217": "Dieppe", "27681": "Vernon", "61169": "Flers", "14762": "Vire Normandie", "50025": "Avranches",
		"50147": "Coutances", "61006": "Argentan", "76259": "Fécamp", "27056": "Bernay", "27375": "Louviers",
	}
	for code, name := range want {
		if got, ok := Commune(code); !ok || got != name {
			t.Errorf("Commune(%s) = %q, %v; want %q", code, got, ok, name)
		}
	}
	if Len() < 200 {
		t.Errorf("the reference lists %d communes; want the ~220 of its header", Len())
	}
	// Every department of Normandy is covered.
	deps := map[string]int{}
	for code := range communes {
		deps[code[:2]]++
	}
	for _, d := range []string{"14", "27", "50", "61", "76"} {
		if deps[d] < 15 {
			t.Errorf("department %s: %d communes", d, deps[d])
		}
	}
}

func TestParseRefusesBadLines(t *testing.T) {
	for name, src := range map[string]string{
		"no header":     "14118;Caen;49182900;-370700\n",
		"float":         "code;nom;latitude;longitude\n14118;Caen;49.1829;-0.3707\n",
		"outside":       "code;nom;latitude;longitude\n75056;Paris;48856600;2352200\n",
		"duplicate":     "code;nom;latitude;longitude\n14118;Caen;49182900;-370700\n14118;Caen;49182900;-370700\n",
		"missing field": "code;nom;latitude;longitude\n14118;Caen;49182900\n",
	} {
		if _, err := parse(src); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	m, err := parse("# comment\ncode;nom;latitude;longitude\n\n14118;Caen;49182900;-370700\n")
	if err != nil || len(m) != 1 || !strings.HasPrefix(m["14118"].name, "Caen") {
		t.Fatalf("parse: %v, %v", m, err)
	}
}
