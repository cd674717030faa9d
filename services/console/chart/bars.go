package chart

import (
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/avenir-normandie/avenir/services/console/fr"
)

// Series is one named row of values, one per category (Values[j] belongs to
// Categories[j]). A series shorter than the categories has no bar for the
// missing ones; values past the categories are ignored.
type Series struct {
	Name   string
	Values []int64
	// Missing marks the values that are not known, such as a count withheld
	// because it is under five: Missing[j] true means Values[j] is ignored,
	// no bar is drawn for it (never a bar of 0) and the chart writes the
	// chart's MissingText in its place. Nil means every value is known.
	Missing []bool
}

// missing reports whether the value of category j is not known.
func (s Series) missing(j int) bool { return j < len(s.Missing) && s.Missing[j] }

// Line is a horizontal reference line, such as the envelope: drawn dashed
// across the plot and named in the legend as "Label : value".
type Line struct {
	Label string
	Value int64
}

// BarChart is a vertical bar chart: one group (or stack) of bars per
// category, one bar per series.
type BarChart struct {
	// ID prefixes every element id (the svg's own id, its title, desc and
	// patterns); unique in the page. Letters, digits, '-' and '_' are kept.
	ID string
	// Title names the chart (<title>); Desc summarises it (<desc>). An empty
	// Desc is generated: kind, categories, and each series' extremes.
	Title, Desc string
	// Categories are the x labels, e.g. months ("janv. 2026") or territories.
	Categories []string
	Series     []Series
	// Stacked stacks the series of a category in one bar (positive values up
	// from zero, negative ones down) and labels its total; otherwise the
	// series stand side by side, each bar labelled with its value.
	Stacked bool
	// Format formats values for labels and tooltips (fr.Money,
	// fr.Int[int64]…); nil means fr.Int.
	Format func(int64) string
	// AxisFormat formats the value axis ticks; nil means Format.
	AxisFormat func(int64) string
	// Target is an optional reference line (the envelope, a goal).
	Target *Line
	// Width and Height are the size in px; 0 means 720 × 360. The height
	// grows when the legend and labels leave the plot less than 120px.
	Width, Height int
	// MissingText is written where a value is not known (Series.Missing),
	// e.g. "<5"; "" means "n.c." (non communiqué).
	MissingText string
}

// Bars draws c as an SVG bar chart.
//
// The value axis always holds zero and the target, its ticks are 1-2-5
// multiples formatted by AxisFormat. Negative values (corrections) are drawn
// below the zero baseline; values beyond ±10^17 are drawn at that bound
// (their labels stay exact). Value labels are drawn above the bars only
// when every one of them fits its bar; the tooltip and the table beside the
// chart always give them. Category labels wrap on spaces, or are turned
// 45° when a word does not fit. No category or no value gives a chart
// saying « Aucune donnée ».
func Bars(c BarChart) template.HTML {
	id := cleanID(c.ID, c.Title+"\x00"+strings.Join(c.Categories, "\x00"))
	w, h := float64(c.Width), float64(c.Height)
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	format := c.Format
	if format == nil {
		format = fr.Int[int64]
	}
	axisFormat := c.AxisFormat
	if axisFormat == nil {
		axisFormat = format
	}
	nCat, nSer := len(c.Categories), len(c.Series)
	if !hasValues(c) {
		return template.HTML(noData(id, int(w), c.Title, c.Desc)) //nolint:gosec // every text is escaped
	}
	desc := c.Desc
	if desc == "" {
		desc = describeBars(c, format)
	}
	value := func(i, j int) (int64, bool) {
		if j < len(c.Series[i].Values) && !c.Series[i].missing(j) {
			return c.Series[i].Values[j], true
		}
		return 0, false
	}
	missingText := c.MissingText
	if missingText == "" {
		missingText = defaultMissingText
	}
	// stackLabel is the label of a stack: its known total, then " + <5"
	// when some of its values are not known.
	stackLabel := func(j int) string {
		l := format(stackTotal(c, j))
		if categoryMissing(c, j) {
			l += " + " + missingText
		}
		return l
	}

	// Extent of the data, with the target.
	var lo, hi int64
	for j := 0; j < nCat; j++ {
		var pos, neg int64
		for i := 0; i < nSer; i++ {
			v, ok := value(i, j)
			if !ok {
				continue
			}
			if c.Stacked {
				if v >= 0 {
					pos = add(pos, v)
				} else {
					neg = add(neg, v)
				}
			} else {
				pos, neg = max(pos, clamp(v)), min(neg, clamp(v))
			}
		}
		hi, lo = max(hi, pos), min(lo, neg)
	}
	if c.Target != nil {
		hi, lo = max(hi, clamp(c.Target.Value)), min(lo, clamp(c.Target.Value))
	}

	const pad = 8.0

	// Legend: the series, then the target line, flowing in rows.
	type legendItem struct {
		x, y   float64
		series int // -1 for the target
		label  string
	}
	var legend []legendItem
	legendH := 0.0
	if nSer > 1 || c.Series[0].Name != "" || c.Target != nil {
		x, y := pad, pad
		place := func(series int, label string) {
			iw := 22 + textWidth(label, fontSize)
			if x > pad && x+iw > w-pad {
				x, y = pad, y+22
			}
			legend = append(legend, legendItem{x, y, series, label})
			x += iw + 18
		}
		for i, s := range c.Series {
			place(i, seriesName(s, i))
		}
		if c.Target != nil {
			place(-1, targetLabel(c.Target, format))
		}
		legendH = y + 22
	}

	// Value axis, first sized on an estimated plot height.
	plotTop := legendH + 22 // room for value labels above the highest bar
	intervals := func(plotH float64) int { return max(2, min(6, int(plotH/45))) }
	sc := niceScale(lo, hi, intervals(h-plotTop-60))
	tickW := 0.0
	for _, t := range sc.ticks {
		tickW = max(tickW, textWidth(axisFormat(t), smallFontSize))
	}
	left := pad + tickW + 8
	right := w - pad - 4
	slot := (right - left) / float64(nCat)

	// Category labels: wrapped on spaces, or turned when a word is too wide.
	labels := make([][]string, nCat)
	rotated := false
	maxLines, maxLabelW := 1, 0.0
	for j, cat := range c.Categories {
		labels[j] = wrap(cat, slot-6, smallFontSize)
		maxLines = max(maxLines, len(labels[j]))
		for _, l := range labels[j] {
			if textWidth(l, smallFontSize) > slot-6 {
				rotated = true
			}
		}
		maxLabelW = max(maxLabelW, textWidth(cat, smallFontSize))
	}
	if maxLines > 3 {
		rotated = true
	}
	var bottom float64
	if rotated {
		maxLabelW = 0
		for j, cat := range c.Categories {
			labels[j] = []string{truncate(cat, 40)}
			maxLabelW = max(maxLabelW, textWidth(labels[j][0], smallFontSize))
		}
		bottom = maxLabelW*0.7072 + 24
		// The first label must not run out on the left.
		if need := maxLabelW*0.7072 - slot/2 + pad; need > left {
			left = need
			slot = (right - left) / float64(nCat)
		}
	} else {
		bottom = float64(maxLines)*15 + 14
	}
	if h-bottom-plotTop < 120 {
		h = plotTop + 120 + bottom
	}
	plotBottom := h - bottom
	plotH := plotBottom - plotTop
	y := func(v int64) float64 { return plotBottom - sc.frac(v)*plotH }
	base := y(0)

	// Bar geometry.
	var groupW, barW float64
	if c.Stacked {
		barW = min(slot*0.6, 72)
		groupW = barW
	} else {
		groupW = min(slot*0.75, float64(nSer)*60)
		barW = groupW / float64(nSer)
	}
	gap := 0.0
	if !c.Stacked && nSer > 1 && barW > 6 {
		gap = 2
	}

	// Value labels, all or none.
	showValues := true
	if c.Stacked {
		for j := 0; j < nCat && showValues; j++ {
			showValues = textWidth(stackLabel(j), smallFontSize) <= slot-4
		}
	} else {
		room := barW + gap
		if nSer == 1 {
			room = slot - 4
		}
		for i := 0; i < nSer && showValues; i++ {
			for j := 0; j < nCat && j < len(c.Series[i].Values); j++ {
				if _, ok := value(i, j); ok && textWidth(format(c.Series[i].Values[j]), smallFontSize) > room {
					showValues = false
					break
				}
			}
		}
	}

	var b strings.Builder
	open(&b, id, w, h, c.Title, desc)
	b.WriteString(`<defs>`)
	writePatterns(&b, id, nSer)
	b.WriteString(`</defs>`)

	// Legend.
	for _, it := range legend {
		if it.series < 0 {
			b.WriteString(`<line x1="` + num(it.x) + `" x2="` + num(it.x+16) + `" y1="` + num(it.y+7) + `" y2="` + num(it.y+7) +
				`" stroke="` + targetColour + `" stroke-width="2" stroke-dasharray="5 3"/>`)
		} else {
			b.WriteString(`<rect x="` + num(it.x+0.5) + `" y="` + num(it.y+0.5) + `" width="14" height="14" fill="` + fill(id, it.series) +
				`" stroke="` + colourOf(it.series) + `"/>`)
		}
		text(&b, it.x+22, it.y+12, "start", "", it.label)
	}

	// Grid and value axis.
	for _, t := range sc.ticks {
		ty := y(t)
		if t != 0 {
			b.WriteString(`<line x1="` + num(left) + `" x2="` + num(right) + `" y1="` + num(ty) + `" y2="` + num(ty) + `" stroke="` + gridColour + `"/>`)
		}
		text(&b, left-8, ty+4, "end", `class="chart-tick" font-size="12" fill="`+mutedColour+`"`, axisFormat(t))
	}

	// Bars.
	for j := 0; j < nCat; j++ {
		cx := left + slot*(float64(j)+0.5)
		x0 := cx - groupW/2
		pos, neg := int64(0), int64(0)
		for i := 0; i < nSer; i++ {
			v, ok := value(i, j)
			if !ok {
				if !c.Stacked && c.Series[i].missing(j) {
					// No bar, the missing text standing on the baseline.
					mx := x0 + barW*float64(i) + gap/2 + (barW-gap)/2
					missingMark(&b, mx, base-5, c.Categories[j]+" — "+seriesName(c.Series[i], i)+"\u00a0: "+missingText, missingText)
				}
				continue
			}
			var top, bot, bx float64
			if c.Stacked {
				bx = x0
				if v >= 0 {
					top, bot = y(add(pos, v)), y(pos)
					pos = add(pos, v)
				} else {
					top, bot = y(neg), y(add(neg, v))
					neg = add(neg, v)
				}
			} else {
				bx = x0 + barW*float64(i) + gap/2
				top, bot = min(y(v), base), max(y(v), base)
			}
			label := format(v)
			b.WriteString(`<rect class="chart-bar" data-series="` + strconv.Itoa(i) + `" data-category="` + strconv.Itoa(j) +
				`" data-value="` + strconv.FormatInt(v, 10) + `" x="` + num(bx) + `" y="` + num(top) +
				`" width="` + num(max(barW-gap, 1)) + `" height="` + num(bot-top) + `" fill="` + fill(id, i) +
				`" stroke="` + colourOf(i) + `"><title>` + esc(c.Categories[j]+" — "+seriesName(c.Series[i], i)+"\u00a0: "+label) + `</title></rect>`)
			if showValues && !c.Stacked {
				ly := top - 5
				if v < 0 {
					ly = bot + 15
				}
				text(&b, bx+(barW-gap)/2, ly, "middle", `class="chart-value" font-size="12"`, label)
			}
		}
		if c.Stacked && (showValues || categoryMissing(c, j)) {
			ly := y(pos) - 5
			if pos == 0 && neg < 0 {
				ly = y(neg) + 15
			}
			switch {
			case showValues:
				text(&b, cx, ly, "middle", `class="chart-value" font-size="12" font-weight="600"`, stackLabel(j))
			default: // labels too wide: the missing text alone, so the stack does not read as complete
				missingMark(&b, cx, ly, c.Categories[j]+"\u00a0: "+stackLabel(j), "+ "+missingText)
			}
		}
		// Category label.
		if rotated {
			lx, ly := cx+4, plotBottom+14
			b.WriteString(`<text class="chart-category" x="` + num(lx) + `" y="` + num(ly) + `" text-anchor="end" font-size="12" transform="rotate(-45 ` +
				num(lx) + ` ` + num(ly) + `)">` + esc(labels[j][0]) + `</text>`)
		} else {
			for k, l := range labels[j] {
				text(&b, cx, plotBottom+18+float64(k)*15, "middle", `class="chart-category" font-size="12"`, l)
			}
		}
	}

	// Zero baseline, then the target line above the bars.
	b.WriteString(`<line class="chart-baseline" x1="` + num(left) + `" x2="` + num(right) + `" y1="` + num(base) + `" y2="` + num(base) +
		`" stroke="` + axisColour + `" stroke-width="1.5"/>`)
	if c.Target != nil {
		ty := num(y(c.Target.Value))
		b.WriteString(`<line x1="` + num(left) + `" x2="` + num(right) + `" y1="` + ty + `" y2="` + ty + `" stroke="#fff" stroke-width="4"/>`)
		b.WriteString(`<line class="chart-target" data-value="` + strconv.FormatInt(c.Target.Value, 10) + `" x1="` + num(left) + `" x2="` + num(right) +
			`" y1="` + ty + `" y2="` + ty + `" stroke="` + targetColour + `" stroke-width="2" stroke-dasharray="8 4"><title>` +
			esc(targetLabel(c.Target, format)) + `</title></line>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

func hasValues(c BarChart) bool {
	if len(c.Categories) == 0 {
		return false
	}
	for _, s := range c.Series {
		if len(s.Values) > 0 || slices.Contains(s.Missing, true) {
			return true
		}
	}
	return false
}

// categoryMissing reports whether a value of category j is not known.
func categoryMissing(c BarChart, j int) bool {
	for _, s := range c.Series {
		if s.missing(j) {
			return true
		}
	}
	return false
}

// missingMark writes the text standing for a value not known, centred on
// x with its baseline at y, and a tooltip.
func missingMark(b *strings.Builder, x, y float64, tooltip, label string) {
	b.WriteString(`<text class="chart-missing" x="` + num(x) + `" y="` + num(y) + `" text-anchor="middle" font-size="12" fill="` +
		mutedColour + `"><title>` + esc(tooltip) + `</title>` + esc(label) + `</text>`)
}

// stackTotal is the sum of category j's known values (saturating).
func stackTotal(c BarChart, j int) int64 {
	var t int64
	for _, s := range c.Series {
		if j < len(s.Values) && !s.missing(j) {
			t = add(t, s.Values[j])
		}
	}
	return t
}

func seriesName(s Series, i int) string {
	if s.Name != "" {
		return s.Name
	}
	return "Série " + strconv.Itoa(i+1)
}

func targetLabel(t *Line, format func(int64) string) string {
	l := t.Label
	if l == "" {
		l = "Référence"
	}
	return l + "\u00a0: " + format(t.Value)
}

// wrap splits s on spaces into lines of at most width px (a word longer
// than width stays whole on its line).
func wrap(s string, width, size float64) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	lines := []string{words[0]}
	for _, wd := range words[1:] {
		last := lines[len(lines)-1]
		if textWidth(last+" "+wd, size) <= width {
			lines[len(lines)-1] = last + " " + wd
		} else {
			lines = append(lines, wd)
		}
	}
	return lines
}

// truncate cuts s to n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// describeBars is the generated description of c: its kind, its
// categories, each series' extremes and the reference line.
func describeBars(c BarChart, format func(int64) string) string {
	missingText := c.MissingText
	if missingText == "" {
		missingText = defaultMissingText
	}
	var b strings.Builder
	switch {
	case c.Stacked:
		b.WriteString("Histogramme empilé")
	case len(c.Series) > 1:
		b.WriteString("Histogramme groupé")
	default:
		b.WriteString("Histogramme")
	}
	n := len(c.Categories)
	if n == 1 {
		b.WriteString(", 1 catégorie (" + c.Categories[0] + ").")
	} else {
		b.WriteString(", " + strconv.Itoa(n) + " catégories, de " + c.Categories[0] + " à " + c.Categories[n-1] + ".")
	}
	for i, s := range c.Series {
		lo, hi, count, unknown := -1, -1, 0, 0
		for j := range n {
			if s.missing(j) {
				unknown++
			}
		}
		for j, v := range s.Values {
			if j >= n {
				break
			}
			if s.missing(j) {
				continue
			}
			count++
			if lo < 0 || v < s.Values[lo] {
				lo = j
			}
			if hi < 0 || v > s.Values[hi] {
				hi = j
			}
		}
		b.WriteString(" " + quote(seriesName(s, i)) + "\u00a0: ")
		switch {
		case hi < 0:
			b.WriteString("aucune valeur.")
		case count == 1:
			b.WriteString(format(s.Values[hi]) + " (" + c.Categories[hi] + ").")
		case s.Values[lo] == s.Values[hi]:
			b.WriteString("toujours " + format(s.Values[hi]) + ".")
		default:
			b.WriteString("maximum " + format(s.Values[hi]) + " (" + c.Categories[hi] + "), minimum " +
				format(s.Values[lo]) + " (" + c.Categories[lo] + ").")
		}
		if unknown > 0 {
			b.WriteString(" Valeurs non communiquées (" + missingText + ")\u00a0: " + strconv.Itoa(unknown) + ".")
		}
	}
	if c.Target != nil {
		b.WriteString(" Ligne de référence " + quote(targetLabel(c.Target, format)) + ".")
	}
	return b.String()
}
