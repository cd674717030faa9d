package domain

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Input bounds, in bytes, checked before any other work.
const (
	maxEmailLength = 254 // RFC 5321 path limit
	maxLocalLength = 64
	maxLabelLength = 63
	maxShortInput  = 32 // phone numbers, identifiers, commune codes
)

const (
	// identitySep separates the parts of an identity key; folded names
	// never contain it.
	identitySep      = "\x00"
	domainLabelChars = "abcdefghijklmnopqrstuvwxyz0123456789-"
	// Characters of an e-mail local part besides letters and digits
	// (RFC 5322 atext, and dots between atoms).
	localSpecials = "!#$%&'*+/=?^_`{|}~-."
)

// NormalizeSpaces trims a name and folds runs of white space into one space.
func NormalizeSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

// FoldName is the comparison form of a name: its letters and digits only,
// accents removed (NFD, then combining marks dropped), œ and æ spelled out,
// in lower case. Spaces, hyphens, apostrophes (modifier letters included)
// and other punctuation are dropped, so "  Le Fèvre-d'Ornano ",
// "LEFEVRE DORNANO" and "lefèvre-dʼornano" fold alike.
func FoldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r == 'œ' || r == 'Œ':
			b.WriteString("oe")
		case r == 'æ' || r == 'Æ':
			b.WriteString("ae")
		case unicode.Is(unicode.Lm, r):
			// Modifier letters: the apostrophe ʼ, not part of a name's spelling.
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// IdentityKey is what makes two registrations the same person: the folded
// family and given names and the birth date. It is empty when one of them
// is missing or invalid.
func IdentityKey(family, given string, birth civil.Date) string {
	f, g := FoldName(family), FoldName(given)
	if f == "" || g == "" || !birth.Valid() {
		return ""
	}
	return f + identitySep + g + identitySep + birth.String()
}

// franceTravailID is the identifier France Travail gives a job seeker:
// 7 digits followed by one digit or letter.
var franceTravailID = regexp.MustCompile(`^[0-9]{7}[0-9A-Z]$`)

// NormalizeFranceTravailID removes white space and upper-cases s, and
// reports whether the result is a France Travail identifier (7 digits
// followed by one digit or letter, 8 characters).
func NormalizeFranceTravailID(s string) (string, bool) {
	if len(s) > maxShortInput {
		return "", false
	}
	id := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	return id, franceTravailID.MatchString(id)
}

var phoneSeparators = strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "")

// NormalizePhone reads a French phone number — national 0X XX XX XX XX, or
// international +33 X XX XX XX XX, +33 (0)X XX XX XX XX or 0033 X XX XX XX
// XX, with spaces, dots or hyphens — and returns it in E.164 form
// (+33 and nine digits, e.g. +33612345678). It reports false for anything else.
func NormalizePhone(s string) (string, bool) {
	if len(s) > maxShortInput {
		return "", false
	}
	p := phoneSeparators.Replace(s)
	var subscriber string
	switch {
	case strings.HasPrefix(p, "+33"):
		subscriber = strings.TrimPrefix(p[len("+33"):], "(0)")
	case strings.HasPrefix(p, "0033"):
		subscriber = strings.TrimPrefix(p[len("0033"):], "(0)")
	case strings.HasPrefix(p, "0"):
		subscriber = p[1:]
	default:
		return "", false
	}
	if len(subscriber) != 9 || subscriber[0] < '1' || subscriber[0] > '9' {
		return "", false
	}
	for i := 1; i < len(subscriber); i++ {
		if subscriber[i] < '0' || subscriber[i] > '9' {
			return "", false
		}
	}
	return "+33" + subscriber, true
}

// NormalizeEmail trims s, lower-cases its domain and checks that it is a
// plain address: local-part@domain, at most 254 characters, a local part of
// at most 64 letters, digits and RFC 5322 specials without leading,
// trailing or doubled dots, and a domain of at least two labels of letters,
// digits and inner hyphens ending with an alphabetic top-level domain. It
// returns the address, or a description of the problem.
func NormalizeEmail(s string) (string, string) {
	const want = "must be an e-mail address such as name@example.fr"
	e := strings.TrimSpace(s)
	if len(e) > maxEmailLength {
		return "", "must be at most 254 characters"
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || len(local) > maxLocalLength || strings.Contains(domain, "@") {
		return "", want
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "", want
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !isASCIIAlnum(c) && !strings.ContainsRune(localSpecials, rune(c)) {
			return "", want
		}
	}
	domain = strings.ToLower(domain)
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", want
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLength || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.Trim(l, domainLabelChars) != "" {
			return "", want
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 || strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", want
	}
	return local + "@" + domain, ""
}

func isASCIIAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// communeCode is an INSEE commune code: the département (two digits, or 2A
// and 2B for Corsica) and three digits.
var communeCode = regexp.MustCompile(`^([0-9]{2}|2[AB])[0-9]{3}$`)

// NormalizeCommune trims and upper-cases s and reports whether it is an
// INSEE commune code.
func NormalizeCommune(s string) (string, bool) {
	if len(s) > maxShortInput {
		return "", false
	}
	c := strings.ToUpper(strings.TrimSpace(s))
	return c, communeCode.MatchString(c)
}

// communeDepartment is the département of a valid commune code in
// metropolitan France.
func communeDepartment(code string) string { return code[:2] }
