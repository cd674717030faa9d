// Package chart draws the console's charts as inline SVG, on the server: no
// script, no style attribute (the content security policy forbids both), only
// SVG presentation attributes.
//
// Every chart is an image (role="img") labelled by its <title> and <desc>
// (aria-labelledby), and is meant to sit beside a table holding the same
// numbers: the chart is a summary, the table is the reference.
//
// Values are integers (cents, counts) and every label is formatted from the
// integer by the caller's Format function (fr.Money, fr.Int…); floats are
// only used for geometry. Every text from data is escaped before it is
// written, so the returned template.HTML is safe to insert in a page.
//
// Accessibility choices (RGAA 4 / WCAG 2.1 AA):
//   - fills come from a palette whose colours all reach 4.5:1 against white
//     (1.4.11 asks 3:1 for graphics); series after the first also carry a
//     white pattern (stripes, dots…), so series differ without colour; a
//     legend names them and the reference line is dashed and named in it;
//   - text is at least 12px, in #1e1e1e (16.7:1) or #595959 (7:1), in the
//     page's font (font-family="inherit");
//   - each bar carries a <title> tooltip "catégorie — série : valeur".
//
// Sizes are in user units; the svg scales down with its container (the
// console's stylesheet sets max-width: 100%), so on narrow screens text may
// be drawn below 12px: the table beside the chart stays the reference.
package chart

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Colours of text and lines, all from the console's stylesheet.
const (
	textColour    = "#1e1e1e" // 16.67:1 on white
	mutedColour   = "#595959" // 7.00:1 on white
	gridColour    = "#d3d3dc" // decorative gridlines only
	axisColour    = "#3a3a3a" // 11.37:1, the zero baseline
	targetColour  = "#a3161b" // 7.81:1, reference lines
	trackColour   = "#eeeef2" // progress track background
	trackEdge     = "#767676" // 4.54:1, progress track outline
	fontSize      = 13
	smallFontSize = 12
	noDataText    = "Aucune donnée"
	// defaultMissingText stands for a value not known (non communiqué).
	defaultMissingText = "n.c."
	defaultWidth       = 720
	defaultHeight      = 360
	maxMagnitude       = int64(1e17) // values are clamped to ±maxMagnitude for drawing
)

// palette is the series colours, in order. Each reaches at least 4.5:1
// against white (so white text would hold on them too); neighbours differ
// in hue and alternate dark and light (at least 1.3:1 between them), which
// keeps them apart in grey and for the common colour blindnesses. Patterns
// do the rest.
var palette = [...]string{
	"#1a1a8c", // navy, the console's primary colour (13.37:1)
	"#b35f00", // ochre (4.61:1)
	"#6b2c91", // purple (8.77:1)
	"#0e7c86", // teal (4.95:1)
	"#3d3d3d", // dark grey (10.86:1)
	"#c0267a", // magenta (5.53:1)
}

// fill is the fill attribute value of series i: the plain colour for the
// first series, a pattern defined in defs for the others.
func fill(id string, i int) string {
	if patternOf(i) == 0 {
		return colourOf(i)
	}
	return "url(#" + id + "-p" + strconv.Itoa(i) + ")"
}

func colourOf(i int) string { return palette[i%len(palette)] }

// patternOf is the pattern of series i; past the palette's length the
// pattern shifts so colour and pattern pairs stay distinct for 36 series.
func patternOf(i int) int { return (i + i/len(palette)) % len(palette) }

// writePatterns writes the <pattern> definitions of series 0..n-1.
func writePatterns(b *strings.Builder, id string, n int) {
	for i := 0; i < n; i++ {
		p := patternOf(i)
		if p == 0 {
			continue
		}
		c := colourOf(i)
		pid := id + "-p" + strconv.Itoa(i)
		rotate := ""
		switch p {
		case 1, 5:
			rotate = ` patternTransform="rotate(45)"`
		case 3:
			rotate = ` patternTransform="rotate(-45)"`
		}
		b.WriteString(`<pattern id="` + pid + `" patternUnits="userSpaceOnUse" width="6" height="6"` + rotate + `>`)
		b.WriteString(`<rect width="6" height="6" fill="` + c + `"/>`)
		const w = ` fill="#fff" fill-opacity="0.6"/>`
		switch p {
		case 1, 3: // diagonal stripes
			b.WriteString(`<rect width="2" height="6"` + w)
		case 2: // dots
			b.WriteString(`<circle cx="3" cy="3" r="1.4"` + w)
		case 4: // horizontal stripes
			b.WriteString(`<rect width="6" height="2"` + w)
		case 5: // cross-hatch
			b.WriteString(`<rect width="1.5" height="6"` + w + `<rect width="6" height="1.5"` + w)
		}
		b.WriteString(`</pattern>`)
	}
}

// esc escapes s for XML and HTML text and attribute values, dropping the
// characters XML cannot hold (controls). Invalid UTF-8 becomes U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0xd800 && r < 0xe000) || r == 0xfffe || r == 0xffff:
			// not allowed (or discouraged) in XML: dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanID makes an id prefix of id: letters, digits, '-' and '_' only,
// starting with a letter. An empty id is derived from seed (a hash), so two
// charts with different titles get different ids; give explicit ids when a
// page holds several charts.
func cleanID(id, seed string) string {
	var b strings.Builder
	for _, r := range id {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" {
		h := fnv.New32a()
		h.Write([]byte(seed))
		return "chart-" + strconv.FormatUint(uint64(h.Sum32()), 16)
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		s = "c" + s
	}
	return s
}

// num writes a coordinate with at most two decimals.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// textWidth estimates the drawn width of s at size px, from rough advances
// of a sans-serif font (a little wide, so labels rather overlap never).
func textWidth(s string, size float64) float64 {
	em := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljtfrI.,;:!'|()[] \u00a0\u202f", r):
			em += 0.34
		case strings.ContainsRune("mwMW@%", r):
			em += 0.9
		case r >= 'A' && r <= 'Z', r == '€', r == '#', r == '&':
			em += 0.7
		case r >= '0' && r <= '9':
			em += 0.6
		default:
			em += 0.56
		}
	}
	return em * size
}

// clamp bounds v to ±maxMagnitude, the range drawn.
func clamp(v int64) int64 {
	return max(-maxMagnitude, min(maxMagnitude, v))
}

// add is a+b saturated at ±maxMagnitude (a and b within it).
func add(a, b int64) int64 { return clamp(clamp(a) + clamp(b)) }

// open writes the root element, title, desc and the start of defs.
func open(b *strings.Builder, id string, w, h float64, title, desc string) {
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="` + id + `" role="img"`)
	b.WriteString(` aria-labelledby="` + id + `-title ` + id + `-desc"`)
	b.WriteString(` width="` + num(w) + `" height="` + num(h) + `" viewBox="0 0 ` + num(w) + ` ` + num(h) + `"`)
	b.WriteString(` font-family="inherit" font-size="` + strconv.Itoa(fontSize) + `" fill="` + textColour + `">`)
	b.WriteString(`<title id="` + id + `-title">` + esc(title) + `</title>`)
	b.WriteString(`<desc id="` + id + `-desc">` + esc(desc) + `</desc>`)
}

// noData is the chart drawn for empty data: the title, the description and
// « Aucune donnée » in the middle.
func noData(id string, w int, title, desc string) string {
	if desc == "" {
		desc = noDataText + "."
	}
	const h = 120
	var b strings.Builder
	open(&b, id, float64(w), h, title, desc)
	b.WriteString(`<rect class="chart-empty" x="0.5" y="0.5" width="` + num(float64(w)-1) + `" height="` + num(h-1) +
		`" fill="#fff" stroke="` + gridColour + `"/>`)
	b.WriteString(`<text x="` + num(float64(w)/2) + `" y="` + num(h/2+5) + `" text-anchor="middle" fill="` + mutedColour + `" font-size="14">` + noDataText + `</text>`)
	b.WriteString(`</svg>`)
	return b.String()
}

// text writes a <text> element at (x, y) with anchor ("start", "middle",
// "end") and extra attributes.
func text(b *strings.Builder, x, y float64, anchor, attrs, s string) {
	b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `"`)
	if anchor != "" && anchor != "start" {
		b.WriteString(` text-anchor="` + anchor + `"`)
	}
	if attrs != "" {
		b.WriteString(" " + attrs)
	}
	b.WriteString(">" + esc(s) + "</text>")
}

// quote puts s between French quotes with no-break spaces.
func quote(s string) string { return "«\u00a0" + s + "\u00a0»" }
