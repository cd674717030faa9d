package fr

import (
	"slices"
	"strings"
	"testing"
)

func TestROMEReference(t *testing.T) {
	if n := len(romeEntries); n < 530 {
		t.Errorf("%d ROME fiches, want the full ROME v3 (530)", n)
	}
	perDomain := map[byte]int{}
	for _, e := range romeEntries {
		perDomain[e.Code[0]]++
		if strings.Contains(e.Label, "  ") || strings.TrimSpace(e.Label) != e.Label {
			t.Errorf("%s: untidy label %q", e.Code, e.Label)
		}
	}
	for letter := byte('A'); letter <= 'N'; letter++ {
		if perDomain[letter] == 0 {
			t.Errorf("no fiche in domain %c", letter)
		}
		if _, ok := ROMEDomain(string(letter)); !ok {
			t.Errorf("ROMEDomain(%c) unknown", letter)
		}
	}

	// The trades of the demo.
	demo := map[string]string{
		"A1203": "Aménagement et entretien des espaces verts",
		"D1507": "Mise en rayon libre-service",
		"F1602": "Électricité bâtiment",
		"F1607": "Pose de fermetures menuisées",
		"F1703": "Maçonnerie",
		"G1602": "Personnel de cuisine",
		"G1803": "Service en restauration",
		"H2909": "Montage-assemblage mécanique",
		"H2913": "Soudage manuel",
		"H3203": "Fabrication de pièces en matériaux composites",
		"I1604": "Mécanique automobile et entretien de véhicules",
		"J1501": "Soins d'hygiène, de confort du patient",
		"K1304": "Services domestiques",
		"K2204": "Nettoyage de locaux",
		"N1103": "Magasinage et préparation de commandes",
		"N4101": "Conduite de transport de marchandises sur longue distance",
	}
	for code, want := range demo {
		if got, ok := ROMELabel(code); !ok || got != want {
			t.Errorf("ROMELabel(%s) = %q, %v; want %q", code, got, ok, want)
		}
	}
	if got, ok := ROMELabel(" d1102 "); !ok || got != "Boulangerie - viennoiserie" {
		t.Errorf("ROMELabel(d1102) = %q, %v", got, ok)
	}
	for _, code := range []string{"", "Z9999", "H29", "H29099", "O1101"} {
		if got, ok := ROMELabel(code); ok {
			t.Errorf("ROMELabel(%q) = %q, want none", code, got)
		}
	}
}

func TestROMEDomain(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"A", "Agriculture et pêche, espaces naturels et espaces verts, soins aux animaux", true},
		{"h", "Industrie", true},
		{"H2909", "Industrie", true},
		{"K2204", "Services à la personne et à la collectivité", true},
		{"N", "Transport et logistique", true},
		{"O", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got, ok := ROMEDomain(c.in); got != c.want || ok != c.ok {
			t.Errorf("ROMEDomain(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func codes(rs []ROME) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

func TestSearchROME(t *testing.T) {
	cases := []struct {
		query string
		limit int
		first []string // the results start with these, in this order
		has   []string // and hold these
		not   []string // and not these
	}{
		{query: "boulang", first: []string{"D1102"}},
		{query: "BOULANGERIE", first: []string{"D1102"}},
		{query: "soudure", has: []string{"H2913", "H2902"}},
		{query: "soudage", first: []string{"H2913"}},
		{query: "soudeur", first: []string{"H2913"}},
		{query: "electricite", first: []string{"F1602"}},
		{query: "Électricité bâtiment", first: []string{"F1602"}, not: []string{"I1309"}},
		{query: "maconnerie", first: []string{"F1703"}},
		{query: "maçon", has: []string{"F1703"}},
		{query: "manoeuvre", has: []string{"N1104", "N4403"}},
		{query: "h2909", first: []string{"H2909"}},
		{query: " K2204 ", limit: 1, first: []string{"K2204"}},
		// An exact code comes before the fiches whose label matches too.
		{query: "H29", first: []string{"H2901", "H2902", "H2903"}, not: []string{"H3101"}},
		{query: "nettoyage de locaux", first: []string{"K2204"}, not: []string{"K2303"}},
		{query: "nettoy", has: []string{"K2204", "K2303", "D1205"}},
		{query: "conduite d'engins", has: []string{"A1101", "F1302", "N1101"}},
		{query: "cariste", first: []string{"N1101"}},
		{query: "aide-soignant", first: []string{"J1501"}},
		{query: "aide a domicile", has: []string{"K1304"}},
		// Title words before job-title keywords.
		{query: "cuisine", first: []string{"G1601", "G1602"}},
		{query: "xyzzy"},
		{query: ""},
		{query: "   "},
	}
	for _, c := range cases {
		got := codes(SearchROME(c.query, c.limit))
		if c.first == nil && c.has == nil && len(got) != 0 {
			t.Errorf("SearchROME(%q) = %v, want nothing", c.query, got)
		}
		if len(got) < len(c.first) || !slices.Equal(got[:len(c.first)], c.first) {
			t.Errorf("SearchROME(%q) = %v, want it to start with %v", c.query, got, c.first)
		}
		for _, h := range c.has {
			if !slices.Contains(got, h) {
				t.Errorf("SearchROME(%q) = %v, want it to hold %s", c.query, got, h)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("SearchROME(%q) = %v, want it without %s", c.query, got, n)
			}
		}
		if c.limit > 0 && len(got) > c.limit {
			t.Errorf("SearchROME(%q, %d) gave %d results", c.query, c.limit, len(got))
		}
	}

	if got := SearchROME("a", 5); len(got) != 5 {
		t.Errorf("SearchROME(a, 5) gave %d results", len(got))
	}
	if r := SearchROME("boulang", 0); len(r) == 0 || r[0].Label != "Boulangerie - viennoiserie" {
		t.Errorf("SearchROME(boulang) = %+v", r)
	}
	// A fiche found at several ranks is listed once, at its best.
	got := codes(SearchROME("H2913", 0))
	if !slices.Equal(got, []string{"H2913"}) {
		t.Errorf("SearchROME(H2913) = %v", got)
	}
}

func TestParseROMERefusesMalformedFiles(t *testing.T) {
	bad := map[string]string{
		"bad code":      "code;libelle\nH290;Montage\n",
		"empty label":   "code;libelle\nH2909;\n",
		"too many cols": "code;libelle;mots\nH2909;a;b;c\n",
		"out of order":  "code;libelle\nH2913;Soudage manuel\nH2909;Montage\n",
		"duplicate":     "code;libelle\nH2909;Montage\nH2909;Montage\n",
	}
	for name, src := range bad {
		if _, err := parseROME(src); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	es, err := parseROME("# comment\ncode;libelle\n\nH2909;Montage-assemblage mécanique;monteur\n")
	if err != nil || len(es) != 1 || es[0].Code != "H2909" || !slices.Equal(es[0].keywordWords, []string{"monteur"}) {
		t.Errorf("parseROME = %+v, %v", es, err)
	}
}

func TestWords(t *testing.T) {
	cases := map[string][]string{
		"Manœuvre et conduite d'engins": {"manoeuvre", "et", "conduite", "d", "engins"},
		"Électricité bâtiment":          {"electricite", "batiment"},
		"Management/gestion de rayon":   {"management", "gestion", "de", "rayon"},
		"Montage-assemblage":            {"montage", "assemblage"},
		"ÉLAGAGE":                       {"elagage"},
	}
	for in, want := range cases {
		if got := words(in); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}
