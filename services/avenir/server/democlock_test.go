package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestDemoClockMovesForwardOnlyAndSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	start := civil.Date{Year: 2026, Month: time.January, Day: 5}
	c, err := server.NewDemoClock(start, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); civil.Of(got) != start || got.In(civil.Paris).Hour() != 9 {
		t.Fatalf("now %v, want 09:00 in Paris on %s", got, start)
	}
	if first, second := c.Now(), c.Now(); second.Before(first) {
		t.Fatalf("the clock went back within a day: %v then %v", first, second)
	}
	h := httptest.NewServer(c.Handler())
	defer h.Close()
	do := func(method, query string) (int, string) {
		req, _ := http.NewRequest(method, h.URL+"/demo/clock"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := do(http.MethodPut, "?date=2026-03-02"); code != http.StatusOK || body != "2026-03-02" {
		t.Fatalf("PUT: %d %q", code, body)
	}
	if code, _ := do(http.MethodPut, "?date=2026-02-01"); code != http.StatusConflict {
		t.Fatalf("back in time: %d", code)
	}
	if code, _ := do(http.MethodPut, "?date=2 mars"); code != http.StatusBadRequest {
		t.Fatalf("bad date: %d", code)
	}
	if code, _ := do(http.MethodDelete, ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", code)
	}
	if code, body := do(http.MethodGet, ""); code != http.StatusOK || body != "2026-03-02" {
		t.Fatalf("GET: %d %q", code, body)
	}

	// A server restarted with the same start resumes the day reached.
	again, err := server.NewDemoClock(start, dir)
	if err != nil || again.Day().String() != "2026-03-02" {
		t.Fatalf("restarted on %v (%v)", again.Day(), err)
	}
	later := civil.Date{Year: 2026, Month: time.June, Day: 1}
	if c, err := server.NewDemoClock(later, dir); err != nil || c.Day() != later {
		t.Fatalf("a later start wins: %v (%v)", c.Day(), err)
	}
}

func TestDemoClockOnlyInDevMode(t *testing.T) {
	c := valid()
	c.Dev, c.NATSURL, c.OIDCIssuer = false, "nats://127.0.0.1:4222", "https://id.example.fr"
	clock, err := server.NewDemoClock(civil.Date{Year: 2026, Month: time.January, Day: 5}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.DemoClock = clock
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "demo-clock") {
		t.Fatalf("a demo clock outside dev mode: %v", err)
	}
}
