package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored unmodified with its license (see axe/README.md).
//
//go:embed axe/axe.min.js
var axeSource string

// axeTimeout bounds one axe run, longer than ActionTimeout for large pages.
const axeTimeout = 30 * time.Second

// axeRun runs axe on the document with the WCAG 2.0 and 2.1 A and AA rules
// and returns the violations, flattened to plain strings.
const axeRun = `(async () => {
	const r = await axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
		resultTypes: ["violations"],
	});
	return r.violations.map(v => ({
		id: v.id,
		impact: v.impact || "",
		help: v.help,
		helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({
			target: n.target.map(s => Array.isArray(s) ? s.join(" >>> ") : String(s)),
			html: n.html,
			failureSummary: n.failureSummary || "",
		})),
	}));
})()`

// Violation is one axe-core rule that the page breaks.
type Violation struct {
	ID      string          `json:"id"`     // rule id, e.g. "color-contrast"
	Impact  string          `json:"impact"` // minor, moderate, serious or critical
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that breaks a rule.
type ViolationNode struct {
	// Target holds the selectors that reach the element, one per frame
	// (shadow roots joined with " >>> ").
	Target         []string `json:"target"`
	HTML           string   `json:"html"`
	FailureSummary string   `json:"failureSummary"`
}

// String formats the violation over several lines, the nodes truncated.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s: %s", strings.Join(n.Target, " "), truncate(n.HTML, 300))
		if n.FailureSummary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(truncate(n.FailureSummary, 500), "\n", "\n      "))
		}
	}
	return b.String()
}

// Violations runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page of the
// tab, injecting it first when needed, and returns the violations found.
func Violations(ctx context.Context) ([]Violation, error) {
	actx, cancel := context.WithTimeout(ctx, axeTimeout)
	defer cancel()
	loaded, err := chromedp.Run(actx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("checking for axe-core: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(actx, chromedp.Evaluate[chromedp.Void](axeSource+"\n;undefined")); err != nil {
			return nil, fmt.Errorf("injecting axe-core: %w", err)
		}
	}
	vs, err := chromedp.Run(actx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("running axe-core: %w", err)
	}
	return vs, nil
}

// CheckAccessibility runs axe-core on the page of the tab and marks the test
// failed (t.Errorf, the test goes on) with one entry per violation: rule,
// impact, help, and each element's selectors, HTML and failure summary.
func CheckAccessibility(t testing.TB, ctx context.Context) {
	t.Helper()
	vs, err := Violations(ctx)
	if err != nil {
		fail(t, ctx, "accessibility check", "", err)
	}
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "browsertest: %d accessibility violation(s) (axe-core, WCAG 2.1 A/AA) on %s:",
		len(vs), Location(t, ctx))
	for _, v := range vs {
		b.WriteString("\n  - ")
		b.WriteString(v.String())
	}
	t.Error(b.String())
}
