package chart

import (
	"html/template"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/avenir-normandie/avenir/services/console/fr"
)

// ProgressItem is one row of a progress chart: a value against its target.
type ProgressItem struct {
	Label  string
	Value  int64
	Target int64
	// Missing: the value is not known (a count withheld because it is
	// under five); no bar is drawn and the summary gives the chart's
	// MissingText in place of the value, without a percentage.
	Missing bool
}

// ProgressChart is a horizontal bar per item, its value against a marker
// at its target, e.g. beneficiaries of #Avenir against 4 500 and of
// #Action against 3 000.
type ProgressChart struct {
	// ID, Title and Desc are as in BarChart; an empty Desc is generated
	// ("« #Avenir » : 3 210, objectif 4 500, soit 71 %. …").
	ID, Title, Desc string
	Items           []ProgressItem
	// Format formats values and targets; nil means fr.Int.
	Format func(int64) string
	// TargetLabel names the marker; "" means "Objectif".
	TargetLabel string
	// Width is the width in px, 0 means 720; the height follows the rows.
	Width int
	// MissingText is written for a value not known (ProgressItem.Missing),
	// e.g. "<5"; "" means "n.c.".
	MissingText string
}

// Progress draws c as an SVG chart, one row per item: its label, then
// "value sur target (percentage)" (fr.Percent), then a bar on a track with
// a marker at the target labelled "Objectif : target".
//
// All rows share one scale (the largest value or target fills 95% of the
// track), so rows compare with each other. A negative value draws an empty bar and a
// target ≤ 0 draws no marker and no percentage; the texts keep the exact
// values. No item gives a chart saying « Aucune donnée ».
func Progress(c ProgressChart) template.HTML {
	var seed strings.Builder
	seed.WriteString(c.Title)
	for _, it := range c.Items {
		seed.WriteString("\x00" + it.Label)
	}
	id := cleanID(c.ID, seed.String())
	w := float64(c.Width)
	if w <= 0 {
		w = defaultWidth
	}
	format := c.Format
	if format == nil {
		format = fr.Int[int64]
	}
	markerName := c.TargetLabel
	if markerName == "" {
		markerName = "Objectif"
	}
	if len(c.Items) == 0 {
		return template.HTML(noData(id, int(w), c.Title, c.Desc)) //nolint:gosec // every text is escaped
	}
	missingText := c.MissingText
	if missingText == "" {
		missingText = defaultMissingText
	}
	desc := c.Desc
	if desc == "" {
		desc = describeProgress(c.Items, format, markerName, missingText)
	}

	var full int64 = 1
	for _, it := range c.Items {
		if !it.Missing {
			full = max(full, clamp(it.Value))
		}
		full = max(full, clamp(it.Target))
	}
	full += full / 20 // headroom: a marker at the largest target stays off the track's end
	const (
		pad    = 8.0
		trackH = 22.0
	)
	left, right := pad, w-pad-4
	trackW := right - left
	xOf := func(v int64) float64 { return left + float64(max(0, clamp(v)))/float64(full)*trackW }

	type row struct {
		y, track   float64 // top of the row, top of its track
		summary    string
		ownLine    bool // the summary is on its own line, under the label
		hasMarker  bool
		markerText string
	}
	rows := make([]row, len(c.Items))
	y := pad
	for k, it := range c.Items {
		r := row{y: y}
		r.summary = progressSummary(it, format, missingText)
		if it.Target > 0 {
			r.hasMarker = true
			r.markerText = markerName + "\u00a0: " + format(it.Target)
		}
		r.ownLine = textWidth(it.Label, 14)+textWidth(r.summary, fontSize)+24 > trackW
		r.track = y + 26
		if r.ownLine {
			r.track += 18
		}
		y = r.track + trackH
		if r.hasMarker {
			y += 22
		}
		y += 18
		rows[k] = r
	}
	h := y - 10

	var b strings.Builder
	open(&b, id, w, h, c.Title, desc)
	for k, it := range c.Items {
		r := rows[k]
		text(&b, left, r.y+15, "start", `class="chart-category" font-size="14" font-weight="600"`, it.Label)
		if r.ownLine {
			text(&b, left, r.y+33, "start", `class="chart-value"`, r.summary)
		} else {
			text(&b, right, r.y+15, "end", `class="chart-value"`, r.summary)
		}
		// Track, then the bar.
		b.WriteString(`<rect x="` + num(left) + `" y="` + num(r.track) + `" width="` + num(trackW) + `" height="` + num(trackH) +
			`" fill="` + trackColour + `" stroke="` + trackEdge + `"/>`)
		if it.Missing {
			missingMark(&b, left+8, r.track+trackH/2+4, it.Label+"\u00a0: "+r.summary, missingText)
		} else {
			b.WriteString(`<rect class="chart-bar" data-value="` + strconv.FormatInt(it.Value, 10) + `" x="` + num(left) + `" y="` + num(r.track) +
				`" width="` + num(xOf(it.Value)-left) + `" height="` + num(trackH) + `" fill="` + palette[0] + `"><title>` +
				esc(it.Label+"\u00a0: "+r.summary) + `</title></rect>`)
		}
		if !r.hasMarker {
			continue
		}
		// Marker: a white halo under a dark line, across the track.
		mx := num(xOf(it.Target))
		y1, y2 := num(r.track-6), num(r.track+trackH+6)
		b.WriteString(`<line x1="` + mx + `" x2="` + mx + `" y1="` + y1 + `" y2="` + y2 + `" stroke="#fff" stroke-width="6"/>`)
		b.WriteString(`<line class="chart-target" data-value="` + strconv.FormatInt(it.Target, 10) + `" x1="` + mx + `" x2="` + mx +
			`" y1="` + y1 + `" y2="` + y2 + `" stroke="` + textColour + `" stroke-width="3"/>`)
		tx, anchor := xOf(it.Target), "middle"
		tw := textWidth(r.markerText, smallFontSize)
		switch {
		case tx-tw/2 < left:
			tx, anchor = max(left, tx-6), "start"
		case tx+tw/2 > right:
			tx, anchor = min(right, tx+6), "end"
		}
		text(&b, tx, r.track+trackH+20, anchor, `class="chart-target-label" font-size="12" fill="`+mutedColour+`"`, r.markerText)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

// progressSummary is "value sur target (percentage)", or "<5 sur target"
// for a value not known.
func progressSummary(it ProgressItem, format func(int64) string, missingText string) string {
	if it.Missing {
		if it.Target > 0 {
			return missingText + " sur " + format(it.Target)
		}
		return missingText
	}
	s := format(it.Value)
	if it.Target > 0 {
		s += " sur " + format(it.Target) + " (" + fr.Percent(it.Value, it.Target) + ")"
	}
	return s
}

func describeProgress(items []ProgressItem, format func(int64) string, marker, missingText string) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		switch {
		case it.Missing:
			s = quote(it.Label) + "\u00a0: " + missingText + " (non communiqué)"
			if it.Target > 0 {
				s += ", " + lowerFirst(marker) + " " + format(it.Target)
			}
		default:
			s = quote(it.Label) + "\u00a0: " + format(it.Value)
			if it.Target > 0 {
				s += ", " + lowerFirst(marker) + " " + format(it.Target) + ", soit " + fr.Percent(it.Value, it.Target)
			}
		}
		parts = append(parts, s+".")
	}
	return strings.Join(parts, " ")
}

// lowerFirst lowers the first letter of s ("Objectif" → "objectif") and
// leaves the rest, acronyms included.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
