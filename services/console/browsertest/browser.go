// Package browsertest drives a real headless Chromium from Go tests, with
// chromedp, to test the console's server-rendered pages: navigation, forms,
// keyboard reach and accessibility (axe-core, embedded, run inside the page).
//
// One browser is started lazily per test binary; each call of [Browser] opens
// a fresh tab. A package whose tests use it closes the browser in TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		browsertest.Shutdown()
//		os.Exit(code)
//	}
//
// A test then reads as a scenario:
//
//	ctx := browsertest.Browser(t)
//	browsertest.Navigate(t, ctx, srv.URL+"/connexion")
//	browsertest.Type(t, ctx, "#identifiant", "referent@example.org")
//	browsertest.ClickAndWait(t, ctx, "button[type=submit]")
//	browsertest.CheckAccessibility(t, ctx)
//
// Chromium is found through the environment variable AVENIR_CHROMIUM (a path
// or a command name), else `chromium`, `chromium-browser` or `google-chrome`
// on PATH (scripts/ensure-chromium.sh installs Debian's chromium). Without
// it, tests that call Browser are skipped, unless AVENIR_REQUIRE_BROWSER=1,
// which makes them fail (CI sets it). Selectors are CSS selectors resolved
// with querySelector (the first match).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// TabTimeout bounds the whole life of a tab returned by Browser.
	TabTimeout = 60 * time.Second
	// ActionTimeout bounds one helper's action (waiting for a selector, a
	// navigation, a click), so that a missing element fails in seconds.
	ActionTimeout = 15 * time.Second

	// envExecPath names the Chromium executable to use.
	envExecPath = "AVENIR_CHROMIUM"
	// envRequire turns the skip for a missing Chromium into a failure.
	envRequire = "AVENIR_REQUIRE_BROWSER"
)

var (
	errNoChromium = errors.New("no Chromium found")
	errShutdown   = errors.New("browsertest.Shutdown was called, the browser is closed")
)

// shared is the one browser of the test binary.
var shared struct {
	once sync.Once
	err  error // set once by start

	execPath      string
	dataDir       string
	browserCtx    context.Context
	cancelBrowser context.CancelFunc
	cancelAlloc   context.CancelFunc

	mu     sync.Mutex // guards closed
	closed bool
}

// Browser returns the context of a fresh tab of the shared headless Chromium,
// started on first use. The context expires after TabTimeout and the tab is
// closed when the test ends. Without a Chromium, Browser skips the test (or
// fails it when AVENIR_REQUIRE_BROWSER=1).
func Browser(t testing.TB) context.Context {
	t.Helper()
	if testing.Short() {
		// make test-fast: the browser tests run with make test and in CI.
		t.Skip("browsertest: browser tests are skipped with -short")
	}
	shared.once.Do(start)
	switch {
	case errors.Is(shared.err, errNoChromium):
		msg := fmt.Sprintf("browsertest: %v (set %s to its path, or install it with scripts/ensure-chromium.sh)",
			shared.err, envExecPath)
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("%s; %s=1 requires a browser", msg, envRequire)
		}
		t.Skipf("%s; set %s=1 to fail instead of skipping", msg, envRequire)
	case shared.err != nil:
		t.Fatalf("browsertest: starting Chromium (%s): %v", shared.execPath, shared.err)
	}
	shared.mu.Lock()
	closed := shared.closed
	shared.mu.Unlock()
	if closed {
		t.Fatalf("browsertest: %v", errShutdown)
	}

	tabCtx, cancelTab := chromedp.NewContext(shared.browserCtx)
	// Run with no action opens the tab now, so that a broken browser fails
	// here and not in the first helper.
	if err := chromedp.Do(tabCtx); err != nil {
		cancelTab()
		t.Fatalf("browsertest: opening a tab in Chromium (%s): %v", shared.execPath, err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, TabTimeout)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	return ctx
}

// Shutdown closes the shared browser and removes its profile directory. Call
// it from TestMain after m.Run. It is safe when no browser was started; after
// it, Browser fails.
func Shutdown() {
	shared.once.Do(func() { shared.err = errShutdown })
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.closed {
		return
	}
	shared.closed = true
	if shared.cancelBrowser != nil {
		shared.cancelBrowser() // closes the browser gracefully
	}
	if shared.cancelAlloc != nil {
		shared.cancelAlloc() // waits for the process to end
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
	}
}

// start launches the browser; it runs once, from Browser.
func start() {
	path, err := findChromium()
	if err != nil {
		shared.err = err
		return
	}
	shared.execPath = path
	dataDir, err := os.MkdirTemp("", "avenir-chromium-")
	if err != nil {
		shared.err = fmt.Errorf("profile directory: %w", err)
		return
	}
	shared.dataDir = dataDir

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// The first run starts the process; its context must not carry a
	// deadline, which would end the browser with it.
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(dataDir)
		shared.err = err
		return
	}
	shared.browserCtx = browserCtx
	shared.cancelBrowser = cancelBrowser
	shared.cancelAlloc = cancelAlloc
}

// findChromium returns the Chromium executable: $AVENIR_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func findChromium() (string, error) {
	if p := os.Getenv(envExecPath); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%q: %v", errNoChromium, envExecPath, p, err)
		}
		return path, nil
	}
	names := []string{"chromium", "chromium-browser", "google-chrome"}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s on PATH", errNoChromium, strings.Join(names, ", "))
}
