package text_test

import (
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

func TestLine(t *testing.T) {
	r := text.Rule{Kind: text.Line, Max: 10, Required: true}
	for s, ok := range map[string]bool{
		"Lefèvre":         true,
		"Œuvre d'Ève":     false, // 11 characters
		"Anaïs-Lou":       true,
		"N'Diaye":         true,
		"王秀英":             true,
		"":                false,
		"   ":             false,
		"a\nb":            false,
		"a\tb":            false,
		"a\x00b":          false,
		"a\x7fb":          false,
		"a\u0085b":        false, // NEL, a C1 control
		"abc\u202Egpj":    false, // RIGHT-TO-LEFT OVERRIDE
		"\u2066abc\u2069": false, // isolates
		"a\u200Fb":        false, // RIGHT-TO-LEFT MARK
		"a\u200Bb":        false, // ZERO WIDTH SPACE
		"a\u00ADb":        false, // SOFT HYPHEN
		"a\uFEFFb":        false,
		"a\u2028b":        false,
		"a\uFFFFb":        false,
		"a\xffb":          false, // invalid UTF-8
	} {
		if got := text.Problem(s, r) == ""; got != ok {
			t.Errorf("Problem(%q) = %q, want ok=%v", s, text.Problem(s, r), ok)
		}
	}
}

func TestBlock(t *testing.T) {
	r := text.Rule{Kind: text.Block, Max: 200}
	for s, ok := range map[string]bool{
		"":                           true,
		"Ligne 1\nLigne 2\r\n\tfin":  true,
		"Famille 👨\u200D👩\u200D👧 ok": true, // emoji joined with ZWJ
		"a\x1bb":                     false,
		"a\u202Db":                   false,
		"a\u2029b":                   false,
		strings.Repeat("é", 200):     true,
		strings.Repeat("é", 201):     false,
	} {
		if got := text.Problem(s, r) == ""; got != ok {
			t.Errorf("Problem(%q) = %q, want ok=%v", s, text.Problem(s, r), ok)
		}
	}
}

func TestProblemsSayWhatIsWrong(t *testing.T) {
	for s, want := range map[string]string{
		"abc\u202Edef": "must not hold bidirectional text controls (U+202E)",
		"a\x01":        "must not hold control characters (U+0001)",
		"a\xc3":        "must be valid UTF-8",
		"":             "is required",
	} {
		if got := text.Problem(s, text.Name); got != want {
			t.Errorf("Problem(%q) = %q, want %q", s, got, want)
		}
	}
	var v apperr.Violations
	text.Check(&v, "family_name", "Lef\u202Eevre", text.Name)
	text.Check(&v, "given_name", "Anaïs", text.Name)
	e, _ := v.Err().(*apperr.Error)
	if e == nil || len(e.Fields) != 1 || e.Fields[0].Field != "family_name" {
		t.Fatalf("violations %v", v.Err())
	}
}

func FuzzProblem(f *testing.F) {
	for _, s := range []string{"Lefèvre", "a\u202Eb", "a\nb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := text.Problem(s, text.Rule{Kind: text.Line})
		block := text.Problem(s, text.Rule{Kind: text.Block})
		if line == "" && block != "" {
			t.Fatalf("%q fits a line (%q) but not a block (%q)", s, line, block)
		}
		if line == "" && strings.ContainsFunc(s, text.Bidi) {
			t.Fatalf("%q with a bidirectional control fits a line", s)
		}
	})
}
