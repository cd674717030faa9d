package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// HTTPClock moves the demo clock of a running dev server started with
// --demo-clock: PUT <URL>?date=YYYY-MM-DD, URL being
// http://<admin address>/demo/clock.
type HTTPClock struct{ URL string }

// Set implements Clock.
func (h HTTPClock) Set(ctx context.Context, day civil.Date) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, h.URL+"?date="+day.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo clock: %w (is the server running with --dev --demo-clock?)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("demo clock: %s: %s (is the server running with --dev --demo-clock?)", resp.Status, b)
	}
	return nil
}

// ClockFunc is a Clock of a function.
type ClockFunc func(ctx context.Context, day civil.Date) error

// Set implements Clock.
func (f ClockFunc) Set(ctx context.Context, day civil.Date) error { return f(ctx, day) }

// DevTokens mints tokens with the dev key a dev server keeps in dataDir,
// valid for the simulated day (from 09:00 in Paris, for a day).
func DevTokens(dataDir string) (Tokens, error) {
	key, err := auth.LoadDevKey(dataDir)
	if err != nil {
		return nil, err
	}
	return func(p auth.Principal, day civil.Date) (string, error) {
		at := time.Date(day.Year, day.Month, day.Day, 9, 0, 0, 0, civil.Paris)
		return auth.Mint(key, auth.DevClaims(p, 24*time.Hour, at))
	}, nil
}
