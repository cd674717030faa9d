package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// envArtifacts names a directory where a failing helper saves a screenshot of
// the page (kept after the test, unlike t.TempDir).
const envArtifacts = "AVENIR_BROWSER_ARTIFACTS"

// mainTextLimit bounds the page text quoted in a failure message.
const mainTextLimit = 2048

// Navigate loads url in the tab, waits for the load event and returns the
// HTTP status of the document (0 when there is no HTTP response).
func Navigate(t testing.TB, ctx context.Context, url string) int {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.Run(actx, chromedp.NavigateResponse(url))
	if err != nil {
		fail(t, ctx, "navigate to "+url, "", err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Click clicks (mouse events) the element matching selector, once visible.
// It does not wait for a navigation the click may start: use ClickAndWait
// for links and submit buttons.
func Click(t testing.TB, ctx context.Context, selector string) {
	t.Helper()
	do(t, ctx, "click", selector, chromedp.Click(chromedp.CSS(selector)))
}

// ClickAndWait clicks the element matching selector, waits for the page the
// click loads and returns its HTTP status.
func ClickAndWait(t testing.TB, ctx context.Context, selector string) int {
	t.Helper()
	do(t, ctx, "wait visible before click", selector, chromedp.WaitVisible(chromedp.CSS(selector)))
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		fail(t, ctx, "click and wait for the next page", selector, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// SetValue sets the value of the input, textarea or select matching
// selector, without key events, then dispatches the input and change events.
func SetValue(t testing.TB, ctx context.Context, selector, value string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("set value %q", value), selector, chromedp.Steps(
		chromedp.WaitReady(chromedp.CSS(selector)),
		setValue(selector, value),
	))
}

// Type empties the field matching selector, focuses it and types value with
// key events, as a user would.
func Type(t testing.TB, ctx context.Context, selector, value string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("type %q", value), selector, chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(selector)),
		setValue(selector, ""),
		chromedp.SendKeys(chromedp.CSS(selector), value),
	))
}

// setValue sets the value property in JavaScript. (chromedp.SetValue cannot
// set the empty string.)
func setValue(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
	const el = document.querySelector(%s);
	if (!el) throw new Error("no element matches the selector");
	if (!("value" in el)) throw new Error("the element has no value: " + el.tagName.toLowerCase());
	el.value = %s;
	el.dispatchEvent(new Event("input", {bubbles: true}));
	el.dispatchEvent(new Event("change", {bubbles: true}));
})()`, jsString(selector), jsString(value)))
}

// Text returns the rendered text (innerText) of the element matching
// selector, trimmed of surrounding white space.
func Text(t testing.TB, ctx context.Context, selector string) string {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	s, err := chromedp.Run(actx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		fail(t, ctx, "read text", selector, err)
	}
	return strings.TrimSpace(s)
}

// WaitVisible waits until the element matching selector is visible.
func WaitVisible(t testing.TB, ctx context.Context, selector string) {
	t.Helper()
	do(t, ctx, "wait visible", selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// SubmitForm submits the form matching selector, or the form of the element
// matching it, as the browser does (requestSubmit: constraint validation and
// submit event; a submit button is sent as the submitter, with its name and
// value), then waits for the next page and returns its HTTP status.
func SubmitForm(t testing.TB, ctx context.Context, selector string) int {
	t.Helper()
	do(t, ctx, "wait for form", selector, chromedp.WaitReady(chromedp.CSS(selector)))
	js := fmt.Sprintf(`(() => {
	const el = document.querySelector(%s);
	if (!el) throw new Error("no element matches the selector");
	const form = el instanceof HTMLFormElement ? el : el.form;
	if (!form) throw new Error("the element is neither a form nor inside one");
	const submitter = (el !== form && el.type === "submit") ? el : undefined;
	form.requestSubmit(submitter);
})()`, jsString(selector))
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Evaluate[chromedp.Void](js))
	if err != nil {
		fail(t, ctx, "submit form and wait for the next page", selector, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Location returns the URL of the page in the tab.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	u, err := chromedp.Run(actx, chromedp.Location())
	if err != nil {
		fail(t, ctx, "read location", "", err)
	}
	return u
}

// Title returns the document title.
func Title(t testing.TB, ctx context.Context) string {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	s, err := chromedp.Run(actx, chromedp.Title())
	if err != nil {
		fail(t, ctx, "read title", "", err)
	}
	return s
}

// focusState is what KeyboardReach reads after each Tab.
type focusState struct {
	Matches bool   `json:"matches"`
	Desc    string `json:"desc"`
}

// KeyboardReach reports whether the element matching selector gets the focus
// within maxTabs presses of Tab, starting from the top of the document
// (whatever had the focus before). The element must exist; when it is not
// reached, the focus order is logged.
func KeyboardReach(t testing.TB, ctx context.Context, selector string, maxTabs int) bool {
	t.Helper()
	do(t, ctx, "wait for element", selector, chromedp.WaitReady(chromedp.CSS(selector)))
	// A temporary, unfocusable-by-Tab marker at the start of <body> takes the
	// focus, so the next Tab goes to the first focusable element of the page.
	const reset = `(() => {
	document.getElementById("__browsertest_start")?.remove();
	const m = document.createElement("span");
	m.id = "__browsertest_start";
	m.tabIndex = -1;
	document.body.prepend(m);
	m.focus();
})()`
	const cleanup = `document.getElementById("__browsertest_start")?.remove()`
	probe := fmt.Sprintf(`(() => {
	const a = document.activeElement;
	if (!a || a === document.body) return {matches: false, desc: "(body)"};
	let d = a.tagName.toLowerCase();
	if (a.id) d += "#" + a.id;
	const label = (a.getAttribute("aria-label") || a.innerText || a.value || "").trim().slice(0, 40);
	if (label) d += " " + JSON.stringify(label);
	return {matches: a.matches(%s), desc: d};
})()`, jsString(selector))

	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(actx, chromedp.Evaluate[chromedp.Void](reset)); err != nil {
		fail(t, ctx, "reset focus to the top of the page", selector, err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer ccancel()
		_ = chromedp.Do(cctx, chromedp.Evaluate[chromedp.Void](cleanup))
	}()
	var order []string
	for range maxTabs {
		if err := chromedp.Do(actx, chromedp.KeyEvent(kb.Tab)); err != nil {
			fail(t, ctx, "press Tab", selector, err)
		}
		st, err := chromedp.Run(actx, chromedp.Evaluate[focusState](probe))
		if err != nil {
			fail(t, ctx, "press Tab", selector, err)
		}
		if st.Matches {
			return true
		}
		order = append(order, st.Desc)
	}
	t.Logf("browsertest: %q not reached in %d Tab presses; focus went to: %s",
		selector, maxTabs, strings.Join(order, " → "))
	return false
}

// Screenshot saves a full-page PNG of the tab at path, creating its
// directories.
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	if err := screenshot(ctx, path); err != nil {
		fail(t, ctx, "screenshot to "+path, "", err)
	}
}

func screenshot(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	// Quality 100 makes chromedp capture a PNG (any other value gives a JPEG).
	png, err := chromedp.Run(actx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// do runs one action under ActionTimeout and fails the test with the page's
// state when it fails.
func do(t testing.TB, ctx context.Context, action, selector string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(actx, a); err != nil {
		fail(t, ctx, action, selector, err)
	}
}

var (
	// failures numbers the screenshots saved by fail.
	failures atomic.Int64
	// unsafeName matches what a file name should not hold.
	unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// fail stops the test with what a reader needs: the action, the selector, the
// error, the page URL and title and the text of its <main> (else <body>).
func fail(t testing.TB, ctx context.Context, action, selector string, err error) {
	t.Helper()
	t.Fatal(failureReport(t, ctx, action, selector, err))
}

func failureReport(t testing.TB, ctx context.Context, action, selector string, err error) string {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (the helper's context is done: %v; a tab lasts %s)", err, ctx.Err(), TabTimeout)
	} else if strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		err = fmt.Errorf("%w (nothing after %s)", err, ActionTimeout)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "browsertest: %s", action)
	if selector != "" {
		fmt.Fprintf(&b, " %q", selector)
	}
	fmt.Fprintf(&b, ": %v\n", err)
	b.WriteString(pageState(ctx))
	if dir := os.Getenv(envArtifacts); dir != "" {
		name := unsafeName.ReplaceAllString(t.Name(), "_")
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, failures.Add(1)))
		// The tab may have timed out: keep its target, drop the deadline.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := screenshot(dctx, path); serr != nil {
			fmt.Fprintf(&b, "\nscreenshot: failed: %v", serr)
		} else {
			fmt.Fprintf(&b, "\nscreenshot: %s", path)
		}
	}
	return b.String()
}

// pageInfo is the page state quoted in failure messages.
type pageInfo struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Where string `json:"where"`
	Text  string `json:"text"`
}

// pageState describes the page of the tab, even after the tab's deadline.
func pageState(ctx context.Context) string {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	const js = `(() => {
	const m = document.querySelector("main");
	const root = m || document.body;
	return {url: location.href, title: document.title,
		where: m ? "<main>" : "<body> (the page has no <main>)",
		text: root ? root.innerText : ""};
})()`
	p, err := chromedp.Run(dctx, chromedp.Evaluate[pageInfo](js))
	if err != nil {
		return fmt.Sprintf("page: unreadable: %v", err)
	}
	return fmt.Sprintf("page: %s (title %q)\n%s text:\n%s", p.URL, p.Title, p.Where,
		indent(truncate(strings.TrimSpace(p.Text), mainTextLimit)))
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("… [%d more bytes]", len(s)-i)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func indent(s string) string {
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
