// Package text checks the texts people type: names, labels and free texts.
// Every service applies the same rules, so that what one accepts another
// can show: valid UTF-8, a length in characters, and none of the characters
// that make a text display otherwise than it reads — control characters and
// the bidirectional formatting controls (U+202E RIGHT-TO-LEFT OVERRIDE and
// its kin, "Trojan Source"), which could make a name on a screen or in an
// export read as another. It is pure: domain packages use it.
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Kind is the shape of a text.
type Kind uint8

const (
	// Line is a name, a title or a label: one line, no formatting
	// characters at all.
	Line Kind = iota
	// Block is a free text that may span lines: new lines and tabs are
	// allowed, other control characters and bidirectional controls are not.
	Block
)

// Rule is what one text field accepts.
type Rule struct {
	Kind Kind
	// Max is the greatest number of characters (runes). Zero means no
	// bound beyond the request size.
	Max int
	// Required refuses an empty text (or one of spaces only).
	Required bool
}

// Name is the rule of a person's name or an organisation's: one line of at
// most 100 characters, required.
var Name = Rule{Kind: Line, Max: 100, Required: true}

// Problem returns what makes s unfit for rule r, or "" when it is fit. s is
// checked as given: callers trim it first if they store it trimmed.
func Problem(s string, r Rule) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	n := utf8.RuneCountInString(s)
	switch {
	case r.Required && strings.TrimSpace(s) == "":
		return "is required"
	case r.Max > 0 && n > r.Max:
		return fmt.Sprintf("must be at most %d characters, got %d", r.Max, n)
	}
	for _, c := range s {
		if p := charProblem(c, r.Kind); p != "" {
			return p
		}
	}
	return ""
}

// Check records on v the problem of the text in field, if any.
func Check(v *apperr.Violations, field, s string, r Rule) {
	if problem := Problem(s, r); problem != "" {
		v.Add(field, problem)
	}
}

// Bidi reports whether c is a bidirectional formatting control: the
// embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) and
// the marks (U+200E, U+200F, U+061C).
func Bidi(c rune) bool {
	switch {
	case c >= 0x202A && c <= 0x202E, c >= 0x2066 && c <= 0x2069:
		return true
	case c == 0x200E, c == 0x200F, c == 0x061C:
		return true
	}
	return false
}

// charProblem returns what makes c unfit in a text of kind k, or "".
func charProblem(c rune, k Kind) string {
	switch {
	case Bidi(c):
		return fmt.Sprintf("must not hold bidirectional text controls (U+%04X)", c)
	case c == '\n' || c == '\t' || c == '\r':
		if k == Line {
			return "must be on one line, without tabs"
		}
	case unicode.Is(unicode.Cc, c):
		return fmt.Sprintf("must not hold control characters (U+%04X)", c)
	case c == 0x2028 || c == 0x2029:
		return "must not hold line or paragraph separators (U+2028, U+2029)"
	case c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) || noncharacter(c):
		return fmt.Sprintf("must not hold invisible or reserved characters (U+%04X)", c)
	case k == Line && unicode.Is(unicode.Cf, c):
		// Zero-width spaces and joiners, soft hyphens, tags: invisible in a
		// name, where they only make two names look alike.
		return fmt.Sprintf("must not hold invisible formatting characters (U+%04X)", c)
	}
	return ""
}

// noncharacter reports whether c is one of Unicode's noncharacters.
func noncharacter(c rune) bool {
	return (c >= 0xFDD0 && c <= 0xFDEF) || c&0xFFFE == 0xFFFE
}
