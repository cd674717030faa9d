package chart

import (
	"bytes"
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/console/fr"
)

const nbsp = "\u00a0"

// node is a decoded XML element.
type node struct {
	name     string
	attr     map[string]string
	children []*node
	text     string // character data directly inside
}

// parse decodes out as strict XML and fails the test when it is not
// well-formed.
func parse(t *testing.T, out template.HTML) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(out)))
	d.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, out)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				t.Fatalf("two root elements")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			} else if len(bytes.TrimSpace(tok)) > 0 {
				t.Fatalf("text outside the root: %q", tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		t.Fatalf("root is not svg: %s", out)
	}
	return root
}

// all is every element of the tree, in document order.
func (n *node) all() []*node {
	out := []*node{n}
	for _, c := range n.children {
		out = append(out, c.all()...)
	}
	return out
}

// find is every element named name having class class ("" for any).
func (n *node) find(name, class string) []*node {
	var out []*node
	for _, e := range n.all() {
		if e.name == name && (class == "" || e.attr["class"] == class) {
			out = append(out, e)
		}
	}
	return out
}

func (n *node) f(t *testing.T, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[attr], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", n.name, attr, n.attr[attr], err)
	}
	return v
}

func (n *node) i(t *testing.T, attr string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(n.attr[attr], 10, 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", n.name, attr, n.attr[attr], err)
	}
	return v
}

// texts is the text of every <text> of class class.
func (n *node) texts(class string) []string {
	var out []string
	for _, e := range n.find("text", class) {
		out = append(out, e.text)
	}
	return out
}

// checkAccessible checks the root is an image labelled by its title and
// description, that ids are unique and that every url(#…) resolves.
func checkAccessible(t *testing.T, root *node, wantTitle string) {
	t.Helper()
	if root.attr["role"] != "img" {
		t.Errorf("role = %q", root.attr["role"])
	}
	if root.attr["xmlns"] != "http://www.w3.org/2000/svg" {
		t.Errorf("xmlns = %q", root.attr["xmlns"])
	}
	if _, ok := root.attr["style"]; ok {
		t.Errorf("style attribute on the root")
	}
	ids := map[string]*node{}
	for _, e := range root.all() {
		if _, ok := e.attr["style"]; ok {
			t.Errorf("style attribute on %s (forbidden by the CSP)", e.name)
		}
		if e.name == "script" || e.name == "style" || e.name == "foreignObject" {
			t.Errorf("element %s in the chart", e.name)
		}
		if id, ok := e.attr["id"]; ok {
			if ids[id] != nil {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = e
		}
	}
	labelledBy := strings.Fields(root.attr["aria-labelledby"])
	if len(labelledBy) != 2 {
		t.Fatalf("aria-labelledby = %q", root.attr["aria-labelledby"])
	}
	title, desc := ids[labelledBy[0]], ids[labelledBy[1]]
	if title == nil || title.name != "title" || desc == nil || desc.name != "desc" {
		t.Fatalf("aria-labelledby %v does not point to a title and a desc", labelledBy)
	}
	if root.children[0] != title {
		t.Errorf("the title is not the svg's first child")
	}
	if title.text != wantTitle {
		t.Errorf("title = %q, want %q", title.text, wantTitle)
	}
	if strings.TrimSpace(desc.text) == "" {
		t.Errorf("empty desc")
	}
	for _, e := range root.all() {
		for _, v := range e.attr {
			if strings.HasPrefix(v, "url(#") {
				ref := strings.TrimSuffix(strings.TrimPrefix(v, "url(#"), ")")
				if ids[ref] == nil {
					t.Errorf("url(#%s) resolves to nothing", ref)
				}
			}
		}
	}
	for _, e := range root.find("text", "") {
		if fs := e.attr["font-size"]; fs != "" {
			if v, _ := strconv.ParseFloat(fs, 64); v < 12 {
				t.Errorf("text %q at %spx", e.text, fs)
			}
		}
	}
}

func baseline(t *testing.T, root *node) float64 {
	t.Helper()
	b := root.find("line", "chart-baseline")
	if len(b) != 1 {
		t.Fatalf("%d baselines", len(b))
	}
	return b[0].f(t, "y1")
}

// checkProportional checks every bar's height is its value times one
// factor, and returns the factor (px per unit).
func checkProportional(t *testing.T, bars []*node) float64 {
	t.Helper()
	k, largest := 0.0, 0.0
	for _, b := range bars { // from the largest bar, the most precise
		if v := math.Abs(float64(b.i(t, "data-value"))); v > largest {
			k, largest = b.f(t, "height")/v, v
		}
	}
	if k <= 0 {
		t.Fatalf("no bar with a height")
	}
	for _, b := range bars {
		v, h := b.i(t, "data-value"), b.f(t, "height")
		if want := math.Abs(float64(v)) * k; math.Abs(h-want) > 0.02 {
			t.Errorf("bar of %d: height %v, want %v", v, h, want)
		}
	}
	return k
}

var months = []string{"janv. 2026", "févr. 2026", "mars 2026", "avr. 2026"}

func TestBarsConsumptionAgainstEnvelope(t *testing.T) {
	out := Bars(BarChart{
		ID:         "conso",
		Title:      "Consommation de l'enveloppe",
		Categories: months,
		Series:     []Series{{Name: "Consommation cumulée", Values: []int64{123450, 400000, 0, 910000}}},
		Format:     fr.Money,
		Target:     &Line{Label: "Enveloppe", Value: 1500000},
	})
	root := parse(t, out)
	checkAccessible(t, root, "Consommation de l'enveloppe")
	bars := root.find("rect", "chart-bar")
	if len(bars) != 4 {
		t.Fatalf("%d bars, want 4", len(bars))
	}
	k := checkProportional(t, bars)
	base := baseline(t, root)
	for _, b := range bars {
		if bottom := b.f(t, "y") + b.f(t, "height"); math.Abs(bottom-base) > 0.02 {
			t.Errorf("bar of %s ends at %v, baseline at %v", b.attr["data-value"], bottom, base)
		}
	}
	// The envelope line is where a bar of 15 000,00 € would end.
	target := root.find("line", "chart-target")
	if len(target) != 1 {
		t.Fatalf("%d target lines", len(target))
	}
	if y, want := target[0].f(t, "y1"), base-1500000*k; math.Abs(y-want) > 0.02 {
		t.Errorf("target at y=%v, want %v", y, want)
	}
	// Labels: French money, no-break spaces.
	values := root.texts("chart-value")
	if len(values) != 4 || values[0] != "1"+nbsp+"234,50"+nbsp+"€" || values[2] != "0,00"+nbsp+"€" {
		t.Errorf("value labels = %q", values)
	}
	ticks := root.texts("chart-tick")
	if ticks[0] != "0,00"+nbsp+"€" || ticks[len(ticks)-1] != "15"+nbsp+"000,00"+nbsp+"€" {
		t.Errorf("ticks = %q", ticks)
	}
	if !strings.Contains(string(out), "Enveloppe"+nbsp+": 15"+nbsp+"000,00"+nbsp+"€") {
		t.Errorf("the legend does not name the envelope")
	}
	cats := root.texts("chart-category")
	if strings.Join(cats, "|") != "janv. 2026|févr. 2026|mars 2026|avr. 2026" {
		t.Errorf("categories = %q", cats)
	}
	desc := root.find("desc", "")[0].text
	for _, want := range []string{"4 catégories", "maximum 9" + nbsp + "100,00" + nbsp + "€ (avr. 2026)", "minimum 0,00" + nbsp + "€ (mars 2026)", "Enveloppe"} {
		if !strings.Contains(desc, want) {
			t.Errorf("desc %q lacks %q", desc, want)
		}
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct {
		lo, hi int64
		max    int
		want   []int64
	}{
		{0, 4500, 5, []int64{0, 1000, 2000, 3000, 4000, 5000}},
		{0, 3, 5, []int64{0, 1, 2, 3}},
		{0, 1, 5, []int64{0, 1}},
		{0, 7, 5, []int64{0, 2, 4, 6, 8}},
		{0, 1_500_000, 6, []int64{0, 500_000, 1_000_000, 1_500_000}},
		{-125050, 300000, 5, []int64{-200000, -100000, 0, 100000, 200000, 300000}},
		{-3, 0, 5, []int64{-3, -2, -1, 0}},
		{0, 0, 5, []int64{0}},
		{0, 1e12, 5, []int64{0, 2e11, 4e11, 6e11, 8e11, 1e12}},
	} {
		s := niceScale(c.lo, c.hi, c.max)
		if !equal(s.ticks, c.want) {
			t.Errorf("niceScale(%d, %d, %d) = %v, want %v", c.lo, c.hi, c.max, s.ticks, c.want)
		}
		if s.lo > c.lo || s.hi < c.hi || s.lo >= s.hi {
			t.Errorf("niceScale(%d, %d): domain [%d, %d]", c.lo, c.hi, s.lo, s.hi)
		}
	}
	// Extremes neither overflow nor loop.
	s := niceScale(math.MinInt64, math.MaxInt64, 5)
	if s.lo >= 0 || s.hi <= 0 || len(s.ticks) < 2 {
		t.Errorf("extreme scale = %+v", s)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBarsEmpty(t *testing.T) {
	for name, c := range map[string]BarChart{
		"nothing":       {Title: "Vide"},
		"no series":     {Title: "Vide", Categories: months},
		"no values":     {Title: "Vide", Categories: months, Series: []Series{{Name: "A"}, {Name: "B", Values: []int64{}}}},
		"no categories": {Title: "Vide", Series: []Series{{Name: "A", Values: []int64{1, 2}}}},
	} {
		t.Run(name, func(t *testing.T) {
			root := parse(t, Bars(c))
			checkAccessible(t, root, "Vide")
			if len(root.find("rect", "chart-bar")) != 0 {
				t.Errorf("bars drawn for empty data")
			}
			if got := root.texts(""); len(got) != 1 || got[0] != "Aucune donnée" {
				t.Errorf("texts = %q", got)
			}
		})
	}
	root := parse(t, Progress(ProgressChart{Title: "Bénéficiaires", Desc: "Pas encore de données."}))
	checkAccessible(t, root, "Bénéficiaires")
	if got := root.texts(""); len(got) != 1 || got[0] != "Aucune donnée" {
		t.Errorf("texts = %q", got)
	}
	if d := root.find("desc", "")[0].text; d != "Pas encore de données." {
		t.Errorf("desc = %q", d)
	}
}

func TestBarsOneCategoryAndZeros(t *testing.T) {
	root := parse(t, Bars(BarChart{ID: "un", Title: "Un mois", Categories: []string{"janv. 2026"}, Series: []Series{{Values: []int64{42}}}}))
	checkAccessible(t, root, "Un mois")
	bars := root.find("rect", "chart-bar")
	if len(bars) != 1 || bars[0].f(t, "height") <= 0 {
		t.Fatalf("bars = %v", bars)
	}
	if v := root.texts("chart-value"); len(v) != 1 || v[0] != "42" {
		t.Errorf("value labels = %q", v)
	}
	// An unnamed single series has no legend.
	if len(root.find("rect", "")) != 1 {
		t.Errorf("a legend swatch was drawn for an unnamed single series")
	}

	// All zero: bars of no height on the baseline, the axis shows 0 only.
	root = parse(t, Bars(BarChart{ID: "zero", Title: "Zéro", Categories: months, Series: []Series{{Name: "A", Values: []int64{0, 0, 0, 0}}}}))
	for _, b := range root.find("rect", "chart-bar") {
		if b.f(t, "height") != 0 {
			t.Errorf("zero bar of height %s", b.attr["height"])
		}
	}
	if ticks := root.texts("chart-tick"); len(ticks) != 1 || ticks[0] != "0" {
		t.Errorf("ticks = %q", ticks)
	}
}

func TestBarsLargeValues(t *testing.T) {
	out := Bars(BarChart{
		ID: "large", Title: "Très grands montants", Categories: months[:3],
		Series: []Series{{Name: "A", Values: []int64{1e12, 5e11, 1}}},
		Format: fr.Money,
		Target: &Line{Label: "Enveloppe", Value: 1e12},
	})
	root := parse(t, out)
	checkAccessible(t, root, "Très grands montants")
	k := checkProportional(t, root.find("rect", "chart-bar"))
	if y, want := root.find("line", "chart-target")[0].f(t, "y1"), baseline(t, root)-1e12*k; math.Abs(y-want) > 0.02 {
		t.Errorf("target at %v, want %v", y, want)
	}
	if !strings.Contains(string(out), "10"+nbsp+"000"+nbsp+"000"+nbsp+"000,00"+nbsp+"€") {
		t.Errorf("1e12 cents not formatted as 10 000 000 000,00 €")
	}

	// Beyond what can be drawn: clamped, still well-formed, labels exact.
	out = Bars(BarChart{ID: "max", Title: "Extrêmes", Categories: []string{"a", "b", "c"}, Stacked: true,
		Series: []Series{{Name: "A", Values: []int64{math.MaxInt64, math.MinInt64, 5}}, {Name: "B", Values: []int64{math.MaxInt64, -1, 5}}}})
	root = parse(t, out)
	checkAccessible(t, root, "Extrêmes")
	if !strings.Contains(string(out), fr.Int(int64(math.MaxInt64))) {
		t.Errorf("the exact value is lost from the tooltips")
	}
}

func TestBarsEscaping(t *testing.T) {
	out := Bars(BarChart{
		ID:         `x"><script>alert(1)</script>`,
		Title:      `<b>Titre</b> & "guillemets"`,
		Desc:       "Résumé <script>alert(2)</script>",
		Categories: []string{"<script>alert(3)</script>", "Caen & Bayeux", "ctrl\x01\x00char"},
		Series:     []Series{{Name: `'quote' "double" <i>`, Values: []int64{1, 2, 3}}, {Name: "B", Values: []int64{3, 2, 1}}},
		Target:     &Line{Label: "</title><script>", Value: 2},
	})
	s := string(out)
	if strings.Contains(strings.ToLower(s), "<script") || strings.Contains(s, "<b>") || strings.Contains(s, "<i>") {
		t.Fatalf("unescaped markup in the output:\n%s", s)
	}
	root := parse(t, out)
	checkAccessible(t, root, `<b>Titre</b> & "guillemets"`)
	if id := root.attr["id"]; id != "xscriptalert1script" {
		t.Errorf("id = %q", id)
	}
	cats := root.texts("chart-category")
	if !strings.Contains(strings.Join(cats, " "), "<script>alert(3)</script>") || !strings.Contains(strings.Join(cats, " "), "Caen & Bayeux") {
		t.Errorf("categories = %q", cats)
	}
	if !strings.Contains(strings.Join(cats, " "), "ctrlchar") {
		t.Errorf("control characters not dropped: %q", cats)
	}
	if d := root.find("desc", "")[0].text; d != "Résumé <script>alert(2)</script>" {
		t.Errorf("desc = %q", d)
	}
	if !strings.Contains(s, "&#39;quote&#39; &#34;double&#34; &lt;i&gt;") {
		t.Errorf("series name not escaped")
	}

	// Inside a page, html/template keeps the chart as it is.
	var page strings.Builder
	tpl := template.Must(template.New("p").Parse(`<figure>{{.}}</figure>`))
	if err := tpl.Execute(&page, out); err != nil {
		t.Fatal(err)
	}
	if page.String() != "<figure>"+s+"</figure>" {
		t.Errorf("html/template changed the chart")
	}
}

func TestBarsGroupedStackedNegative(t *testing.T) {
	territories := []string{"Calvados", "Eure", "Manche", "Orne", "Seine-Maritime"}
	series := []Series{
		{Name: "Emploi durable", Values: []int64{120, 80, 95, 40, 210}},
		{Name: "Formation", Values: []int64{60, 45, 50, 22, 130}},
		{Name: "Abandon", Values: []int64{30, 25, 18, 12}}, // no value for Seine-Maritime
	}
	grouped := parse(t, Bars(BarChart{ID: "g", Title: "Sorties", Categories: territories, Series: series}))
	checkAccessible(t, grouped, "Sorties")
	bars := grouped.find("rect", "chart-bar")
	if len(bars) != 14 {
		t.Fatalf("%d bars, want 14", len(bars))
	}
	checkProportional(t, bars)
	// Side by side, in series order, never overlapping.
	for i := 1; i < 3; i++ {
		if bars[i].f(t, "x") < bars[i-1].f(t, "x")+bars[i-1].f(t, "width") {
			t.Errorf("bars %d and %d overlap", i-1, i)
		}
	}
	// Legend: a swatch per series, patterns after the first.
	legend := grouped.texts("")
	for _, s := range series {
		if !contains(legend, s.Name) {
			t.Errorf("legend lacks %q", s.Name)
		}
	}
	if f := bars[1].attr["fill"]; f != "url(#g-p1)" {
		t.Errorf("second series fill = %q, want a pattern", f)
	}

	stacked := parse(t, Bars(BarChart{ID: "s", Title: "Sorties", Categories: territories, Series: series, Stacked: true}))
	checkAccessible(t, stacked, "Sorties")
	bars = stacked.find("rect", "chart-bar")
	k := checkProportional(t, bars)
	base := baseline(t, stacked)
	// Calvados: the segments pile up from the baseline without gaps.
	bottom := base
	for _, b := range bars[:3] {
		if y := b.f(t, "y") + b.f(t, "height"); math.Abs(y-bottom) > 0.02 {
			t.Errorf("segment of %s ends at %v, want %v", b.attr["data-value"], y, bottom)
		}
		bottom = b.f(t, "y")
	}
	if math.Abs(base-bottom-210*k) > 0.05 {
		t.Errorf("stack of 210 is %v high", base-bottom)
	}
	if totals := stacked.texts("chart-value"); strings.Join(totals, " ") != "210 150 163 74 340" {
		t.Errorf("totals = %q", totals)
	}

	// A negative value (a correction) goes down from the baseline.
	neg := parse(t, Bars(BarChart{ID: "n", Title: "Écarts", Categories: months[:2], Series: []Series{{Values: []int64{-125050, 300000}}}, Format: fr.Money}))
	bars = neg.find("rect", "chart-bar")
	checkProportional(t, bars)
	base = baseline(t, neg)
	if y := bars[0].f(t, "y"); math.Abs(y-base) > 0.02 {
		t.Errorf("negative bar starts at %v, baseline %v", y, base)
	}
	if v := neg.texts("chart-value"); v[0] != "-1"+nbsp+"250,50"+nbsp+"€" {
		t.Errorf("negative label = %q", v[0])
	}
	if ticks := neg.texts("chart-tick"); ticks[0] != "-2"+nbsp+"000,00"+nbsp+"€" {
		t.Errorf("ticks = %q", ticks)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestBarsLongLabels(t *testing.T) {
	cats := make([]string, 12)
	vals := make([]int64, 12)
	for i := range cats {
		cats[i] = "Organisme de formation numéro " + strconv.Itoa(i)
		vals[i] = int64(i) * 123456789
	}
	root := parse(t, Bars(BarChart{ID: "long", Title: "Long", Categories: cats, Series: []Series{{Name: "A", Values: vals}}, Format: fr.Money}))
	checkAccessible(t, root, "Long")
	labels := root.find("text", "chart-category")
	if len(labels) != 12 || !strings.HasPrefix(labels[0].attr["transform"], "rotate(-45") {
		t.Errorf("long labels are not turned: %v", labels[0].attr)
	}
	if len(root.find("text", "chart-value")) != 0 {
		t.Errorf("value labels drawn although they cannot fit")
	}
	for _, b := range root.find("rect", "chart-bar") {
		if b.f(t, "x") < 0 || b.f(t, "x")+b.f(t, "width") > root.f(t, "width") {
			t.Errorf("bar outside the chart")
		}
	}
}

func TestProgress(t *testing.T) {
	out := Progress(ProgressChart{
		ID:    "benef",
		Title: "Bénéficiaires par programme",
		Items: []ProgressItem{
			{Label: "#Avenir", Value: 3210, Target: 4500},
			{Label: "#Action", Value: 3120, Target: 3000},
			{Label: "Sans objectif", Value: -5},
		},
	})
	root := parse(t, out)
	checkAccessible(t, root, "Bénéficiaires par programme")
	bars := root.find("rect", "chart-bar")
	if len(bars) != 3 {
		t.Fatalf("%d bars", len(bars))
	}
	x0 := bars[0].f(t, "x")
	k := bars[0].f(t, "width") / 3210
	if w := bars[1].f(t, "width"); math.Abs(w-3120*k) > 0.02 {
		t.Errorf("#Action bar width %v, want %v", w, 3120*k)
	}
	if w := bars[2].f(t, "width"); w != 0 {
		t.Errorf("negative value drawn %v wide", w)
	}
	markers := root.find("line", "chart-target")
	if len(markers) != 2 {
		t.Fatalf("%d markers, want 2 (no marker without a target)", len(markers))
	}
	for i, target := range []float64{4500, 3000} {
		if x := markers[i].f(t, "x1"); math.Abs(x-(x0+target*k)) > 0.02 {
			t.Errorf("marker %d at %v, want %v", i, x, x0+target*k)
		}
	}
	// The largest target sits inside the track, not on its end.
	if end := x0 + 4500*k; end >= root.f(t, "width")-12 {
		t.Errorf("marker at the track's end (%v)", end)
	}
	summary := root.texts("chart-value")
	want := []string{"3" + nbsp + "210 sur 4" + nbsp + "500 (71" + nbsp + "%)", "3" + nbsp + "120 sur 3" + nbsp + "000 (104" + nbsp + "%)", "-5"}
	if strings.Join(summary, "|") != strings.Join(want, "|") {
		t.Errorf("summaries = %q, want %q", summary, want)
	}
	if m := root.texts("chart-target-label"); len(m) != 2 || m[0] != "Objectif"+nbsp+": 4"+nbsp+"500" {
		t.Errorf("marker labels = %q", m)
	}
	desc := root.find("desc", "")[0].text
	if !strings.Contains(desc, "«"+nbsp+"#Avenir"+nbsp+"»"+nbsp+": 3"+nbsp+"210, objectif 4"+nbsp+"500, soit 71"+nbsp+"%.") {
		t.Errorf("desc = %q", desc)
	}
	// Rows do not overlap: each row's track is below the previous one's.
	tracks := root.find("rect", "")
	if tracks[0].f(t, "y") >= bars[1].f(t, "y") {
		t.Errorf("rows overlap")
	}
	if root.f(t, "height") < bars[2].f(t, "y")+bars[2].f(t, "height") {
		t.Errorf("last row outside the chart")
	}
}

func TestIDsDifferBetweenCharts(t *testing.T) {
	a := parse(t, Bars(BarChart{Title: "A", Categories: months, Series: []Series{{Name: "x", Values: []int64{1}}, {Name: "y", Values: []int64{2}}}}))
	b := parse(t, Bars(BarChart{Title: "B", Categories: months, Series: []Series{{Name: "x", Values: []int64{1}}, {Name: "y", Values: []int64{2}}}}))
	seen := map[string]bool{}
	for _, root := range []*node{a, b} {
		for _, e := range root.all() {
			if id := e.attr["id"]; id != "" {
				if seen[id] {
					t.Errorf("id %q in both charts", id)
				}
				seen[id] = true
			}
		}
	}
	if c := parse(t, Bars(BarChart{ID: "2026-conso", Title: "C", Categories: months, Series: []Series{{Values: []int64{1}}}})); c.attr["id"] != "c2026-conso" {
		t.Errorf("id = %q, want it to start with a letter", c.attr["id"])
	}
}

// TestPaletteContrast checks every series colour, and the text and line
// colours, against white: 4.5:1 (text and colours white labels could sit on)
// and 3:1 for the graphics (WCAG 1.4.11).
func TestPaletteContrast(t *testing.T) {
	for _, c := range append(palette[:], textColour, mutedColour, targetColour, axisColour) {
		if r := contrast(c, "#ffffff"); r < 4.5 {
			t.Errorf("%s on white: %.2f:1", c, r)
		}
	}
	if r := contrast(trackEdge, "#ffffff"); r < 3 {
		t.Errorf("track edge %.2f:1", r)
	}
	if r := contrast(palette[0], trackColour); r < 3 {
		t.Errorf("progress bar on its track %.2f:1", r)
	}
	// Neighbouring series differ in lightness too, not only in hue.
	for i := 1; i < len(palette); i++ {
		if r := contrast(palette[i-1], palette[i]); r < 1.3 {
			t.Errorf("%s next to %s: %.2f:1", palette[i-1], palette[i], r)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	ch := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(v>>16&0xff) + 0.7152*ch(v>>8&0xff) + 0.0722*ch(v&0xff)
}

// A value not known (a count withheld under five) is never drawn as a bar
// of 0: no bar, the missing text in its place with a tooltip, and the
// description says how many values are not given.
func TestBarsMissingValues(t *testing.T) {
	lt5 := "<" + nbsp + "5"
	out := Bars(BarChart{
		ID:          "cumul",
		Title:       "Bénéficiaires cumulés",
		Categories:  months,
		Series:      []Series{{Name: "Cumul", Values: []int64{0, 0, 7, 12}, Missing: []bool{false, true}}},
		Target:      &Line{Label: "Objectif", Value: 20},
		MissingText: lt5,
	})
	root := parse(t, out)
	checkAccessible(t, root, "Bénéficiaires cumulés")
	bars := root.find("rect", "chart-bar")
	var values []string
	for _, b := range bars {
		values = append(values, b.attr["data-category"]+"="+b.attr["data-value"])
	}
	if strings.Join(values, " ") != "0=0 2=7 3=12" {
		t.Errorf("bars = %v, want none for the missing value", values)
	}
	marks := root.find("text", "chart-missing")
	if len(marks) != 1 || !strings.HasSuffix(marks[0].text, lt5) {
		t.Fatalf("missing marks = %v", marks)
	}
	if tt := marks[0].find("title", ""); len(tt) != 1 || tt[0].text != "févr. 2026 — Cumul"+nbsp+": "+lt5 {
		t.Errorf("missing mark's tooltip = %v", tt)
	}
	// The mark stands above the baseline, in the slot of February.
	if y, base := marks[0].f(t, "y"), baseline(t, root); y >= base || y < base-20 {
		t.Errorf("missing mark at y=%v, baseline %v", y, base)
	}
	if x, x0, x2 := marks[0].f(t, "x"), bars[0].f(t, "x"), bars[1].f(t, "x"); x <= x0 || x >= x2 {
		t.Errorf("missing mark at x=%v, not between January (%v) and March (%v)", x, x0, x2)
	}
	desc := root.find("desc", "")[0].text
	if !strings.Contains(desc, "maximum 12 (avr. 2026), minimum 0 (janv. 2026).") || !strings.Contains(desc, "Valeurs non communiquées ("+lt5+")"+nbsp+": 1.") {
		t.Errorf("desc = %q", desc)
	}

	// Stacked: the stack's label says part of it is not known.
	root = parse(t, Bars(BarChart{
		ID: "sorties", Title: "Sorties", Stacked: true, Categories: []string{"Calvados", "Orne"},
		Series: []Series{
			{Name: "Emploi", Values: []int64{6, 0}, Missing: []bool{false, true}},
			{Name: "Abandon", Values: []int64{5, 8}},
		},
		MissingText: lt5,
	}))
	checkAccessible(t, root, "Sorties")
	if got := root.texts("chart-value"); strings.Join(got, "|") != "11|8 + "+lt5 {
		t.Errorf("stack labels = %q", got)
	}
	if n := len(root.find("rect", "chart-bar")); n != 3 {
		t.Errorf("%d bars, want 3", n)
	}

	// Only missing values: a chart of marks, not « Aucune donnée ».
	root = parse(t, Bars(BarChart{ID: "rien", Title: "Retenues", Categories: months[:1],
		Series: []Series{{Name: "A", Missing: []bool{true}}}}))
	if got := root.texts("chart-missing"); len(got) != 1 || got[0] != "n.c." {
		t.Errorf("marks = %q", got)
	}
	for _, txt := range root.texts("") {
		if txt == "Aucune donnée" {
			t.Errorf("a chart of missing values says « Aucune donnée »")
		}
	}
}

func TestProgressMissingValue(t *testing.T) {
	lt5 := "<" + nbsp + "5"
	root := parse(t, Progress(ProgressChart{
		ID: "p", Title: "Objectifs", MissingText: lt5,
		Items: []ProgressItem{{Label: "#Avenir", Missing: true, Value: 0, Target: 4500}, {Label: "#Action", Value: 12, Target: 3000}},
	}))
	checkAccessible(t, root, "Objectifs")
	bars := root.find("rect", "chart-bar")
	if len(bars) != 1 || bars[0].attr["data-value"] != "12" {
		t.Fatalf("bars = %v, want only #Action's", bars)
	}
	if got := root.texts("chart-value"); len(got) != 2 || got[0] != lt5+" sur 4"+nbsp+"500" {
		t.Errorf("summaries = %q", got)
	}
	if got := root.texts("chart-missing"); len(got) != 1 || got[0] != lt5 {
		t.Errorf("missing marks = %q", got)
	}
	if n := len(root.find("line", "chart-target")); n != 2 {
		t.Errorf("%d markers, want 2", n)
	}
	desc := root.find("desc", "")[0].text
	if !strings.Contains(desc, "«"+nbsp+"#Avenir"+nbsp+"»"+nbsp+": "+lt5+" (non communiqué), objectif 4"+nbsp+"500.") {
		t.Errorf("desc = %q", desc)
	}
}
