package fr

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ROME is one fiche of the ROME v3 (Répertoire opérationnel des métiers et
// des emplois of France Travail): a code such as H2909 and its title.
type ROME struct {
	Code  string
	Label string
}

//go:embed rome.csv
var romeCSV string

type romeEntry struct {
	ROME
	labelWords   []string // folded words of the label
	keywordWords []string // folded words of the search keywords
}

var (
	romeEntries = mustParseROME(romeCSV)
	romeByCode  = indexROME(romeEntries)
	romeCode    = regexp.MustCompile(`^[A-N][0-9]{4}$`)
	romePrefix  = regexp.MustCompile(`^[A-N][0-9]{1,3}$`)
)

// romeDomains are the 14 grands domaines of the ROME v3.
var romeDomains = map[byte]string{
	'A': "Agriculture et pêche, espaces naturels et espaces verts, soins aux animaux",
	'B': "Arts et façonnage d'ouvrages d'art",
	'C': "Banque, assurance, immobilier",
	'D': "Commerce, vente et grande distribution",
	'E': "Communication, média et multimédia",
	'F': "Construction, bâtiment et travaux publics",
	'G': "Hôtellerie-restauration, tourisme, loisirs et animation",
	'H': "Industrie",
	'I': "Installation et maintenance",
	'J': "Santé",
	'K': "Services à la personne et à la collectivité",
	'L': "Spectacle",
	'M': "Support à l'entreprise",
	'N': "Transport et logistique",
}

// parseROME reads rome.csv: comment lines (#), a header, then
// code;label;keywords lines.
func parseROME(src string) ([]romeEntry, error) {
	var out []romeEntry
	header := false
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			header = true
			continue
		}
		f := strings.Split(line, ";")
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("rome.csv:%d: want code;label[;keywords], got %q", i+1, line)
		}
		e := romeEntry{ROME: ROME{Code: strings.TrimSpace(f[0]), Label: strings.TrimSpace(f[1])}}
		if !romeCode.MatchString(e.Code) || e.Label == "" {
			return nil, fmt.Errorf("rome.csv:%d: bad code or empty label in %q", i+1, line)
		}
		if n := len(out); n > 0 && out[n-1].Code >= e.Code {
			return nil, fmt.Errorf("rome.csv:%d: %s is not after %s", i+1, e.Code, out[n-1].Code)
		}
		e.labelWords = words(e.Label)
		if len(f) == 3 {
			e.keywordWords = words(f[2])
		}
		out = append(out, e)
	}
	return out, nil
}

func mustParseROME(src string) []romeEntry {
	out, err := parseROME(src)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return out
}

func indexROME(es []romeEntry) map[string]*romeEntry {
	m := make(map[string]*romeEntry, len(es))
	for i := range es {
		m[es[i].Code] = &es[i]
	}
	return m
}

func normCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// ROMELabel returns the title of the ROME fiche code ("h2909" works too).
func ROMELabel(code string) (string, bool) {
	e, ok := romeByCode[normCode(code)]
	if !ok {
		return "", false
	}
	return e.Label, true
}

// ROMEDomain returns the label of a grand domaine given its letter ("H") or
// any code in it ("H2909").
func ROMEDomain(code string) (string, bool) {
	c := normCode(code)
	if c == "" {
		return "", false
	}
	l, ok := romeDomains[c[0]]
	return l, ok
}

// stopWords are left out of a search query: "conduite d'engins" searches
// conduite and engins.
var stopWords = map[string]bool{
	"a": true, "au": true, "aux": true, "d": true, "de": true, "des": true, "du": true,
	"en": true, "et": true, "l": true, "la": true, "le": true, "les": true, "ou": true,
	"un": true, "une": true,
}

// SearchROME finds fiches for what someone types: an exact code comes
// first, then the codes a code prefix ("H29") starts, then the fiches whose
// title has, for every word of the query, a word starting with it (case and
// accents ignored: "boulang" finds D1102 Boulangerie - viennoiserie), then
// those found only through common job titles ("soudeur", "cariste"). Within
// a rank, fiches come in code order. limit <= 0 means no limit.
func SearchROME(query string, limit int) []ROME {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil
	}
	var ranks [4][]ROME
	seen := map[string]bool{}
	add := func(rank int, e *romeEntry) {
		if !seen[e.Code] {
			seen[e.Code] = true
			ranks[rank] = append(ranks[rank], e.ROME)
		}
	}
	c := normCode(q)
	if e, ok := romeByCode[c]; ok {
		add(0, e)
	}
	if romePrefix.MatchString(c) {
		for i := range romeEntries {
			if strings.HasPrefix(romeEntries[i].Code, c) {
				add(1, &romeEntries[i])
			}
		}
	}
	terms := queryTerms(q)
	if len(terms) > 0 {
		for i := range romeEntries {
			e := &romeEntries[i]
			switch {
			case allPrefixed(terms, e.labelWords):
				add(2, e)
			case allPrefixed(terms, e.labelWords, e.keywordWords):
				add(3, e)
			}
		}
	}
	var out []ROME
	for _, r := range ranks {
		out = append(out, r...)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// queryTerms are the folded words of q without stop words (all of them when
// q holds stop words only).
func queryTerms(q string) []string {
	all := words(q)
	var terms []string
	for _, w := range all {
		if !stopWords[w] {
			terms = append(terms, w)
		}
	}
	if len(terms) == 0 {
		return all
	}
	return terms
}

// allPrefixed reports whether each term starts some word of the lists.
func allPrefixed(terms []string, lists ...[]string) bool {
next:
	for _, t := range terms {
		for _, ws := range lists {
			for _, w := range ws {
				if strings.HasPrefix(w, t) {
					continue next
				}
			}
		}
		return false
	}
	return true
}

// words splits s into lower-case words without accents: letters and digits
// only, ligatures spelt out ("Manœuvre" gives "manoeuvre").
func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

var ligatures = strings.NewReplacer("œ", "oe", "æ", "ae", "ß", "ss")

func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(ligatures.Replace(strings.ToLower(s))) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
