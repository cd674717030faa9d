package domain_test

import (
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{
		"Lefèvre":                  "lefevre",
		"  LEFÈVRE  ":              "lefevre",
		"Le Fèvre":                 "lefevre",
		"Jean-Pierre":              "jeanpierre",
		"jean   pierre":            "jeanpierre",
		"D'Ornano":                 "dornano",
		"d’ornano":                 "dornano",
		"dʼOrnano":                 "dornano",
		"Lœuillet":                 "loeuillet",
		"Ǽlise":                    "aelise",
		"Çağlar":                   "caglar",
		"Müller--Lüdenscheidt  ":   "mullerludenscheidt",
		"Saint-Étienne du Rouvray": "saintetiennedurouvray",
		"Louis XIV 2":              "louisxiv2",
		"-'- ʼ":                    "",
	} {
		if got := domain.FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdentityKeyIgnoresAccentsCaseHyphensApostrophesAndSpaces(t *testing.T) {
	birth := civil.Date{Year: 1990, Month: 4, Day: 12}
	a := domain.IdentityKey("Lefèvre-d'Ornano", "Anaïs", birth)
	b := domain.IdentityKey("  LE FEVRE DORNANO", "anais ", birth)
	if a == "" || a != b {
		t.Fatalf("%q != %q", a, b)
	}
	if domain.IdentityKey("Lefèvre-d'Ornano", "Anaïs", birth.AddDays(1)) == a {
		t.Fatal("another birth date is the same person")
	}
	if domain.IdentityKey("Lefèvre", "Anaïs Marie", birth) == domain.IdentityKey("Lefèvre", "Anaïs", birth) {
		t.Fatal("another given name is the same person")
	}
	if domain.IdentityKey("", "Anaïs", birth) != "" || domain.IdentityKey("A", "B", civil.Date{}) != "" {
		t.Fatal("incomplete identities have a key")
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"06 12 34 56 78":        "+33612345678",
		"0612345678":            "+33612345678",
		"06.12.34.56.78":        "+33612345678",
		"06-12-34-56-78":        "+33612345678",
		"+33 6 12 34 56 78":     "+33612345678",
		"+33612345678":          "+33612345678",
		"+33 (0)6 12 34 56 78":  "+33612345678",
		"0033 2 32 12 34 56":    "+33232123456",
		"09 70 12 34 56":        "+33970123456",
		"06 12 34 56 7":         "",
		"06 12 34 56 789":       "",
		"00 12 34 56 78":        "",
		"+33 06 12 34 56 78":    "",
		"+44 20 7946 0958":      "",
		"06 12 34 56 7a":        "",
		"":                      "",
		strings.Repeat("0", 40): "",
	} {
		got, ok := domain.NormalizePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"anais.lefevre@example.fr":              "anais.lefevre@example.fr",
		" Anais@Example.FR ":                    "Anais@example.fr",
		"a+tag@mail.sub-domain.example":         "a+tag@mail.sub-domain.example",
		"o'brien@example.ie":                    "o'brien@example.ie",
		"anais":                                 "",
		"@example.fr":                           "",
		"anais@":                                "",
		"anais@example":                         "",
		"anais@@example.fr":                     "",
		"a@b@example.fr":                        "",
		".anais@example.fr":                     "",
		"ana..is@example.fr":                    "",
		"ana is@example.fr":                     "",
		"anaïs@example.fr":                      "",
		"anais@-example.fr":                     "",
		"anais@example.f":                       "",
		"anais@example.123":                     "",
		"anais@exa_mple.fr":                     "",
		strings.Repeat("a", 65) + "@example.fr": "",
		"a@" + strings.Repeat("b", 64) + ".fr":  "",
		"a@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "fr": "",
	} {
		got, problem := domain.NormalizeEmail(in)
		if got != want || (problem == "") != (want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %q; want %q", in, got, problem, want)
		}
	}
}

func TestNormalizeFranceTravailID(t *testing.T) {
	for in, want := range map[string]string{
		"1234567A":    "1234567A",
		" 1234567a ":  "1234567A",
		"123 4567 a":  "1234567A",
		"12345678":    "12345678",
		"123456AB":    "",
		"1234567":     "",
		"1234567AB":   "",
		"12345678901": "",
		"1234567é":    "",
		"":            "",
	} {
		got, ok := domain.NormalizeFranceTravailID(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("NormalizeFranceTravailID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestNormalizeCommune(t *testing.T) {
	for in, want := range map[string]string{
		"27229":  "27229",
		" 14118": "14118",
		"2a004":  "2A004",
		"2B033":  "2B033",
		"2C004":  "",
		"2722":   "",
		"272290": "",
		"AB123":  "",
		"":       "",
	} {
		got, ok := domain.NormalizeCommune(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("NormalizeCommune(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
