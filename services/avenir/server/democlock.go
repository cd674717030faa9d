package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// demoClockFile keeps a demo clock's day in the data dir.
const demoClockFile = "demo-clock"

// DemoClock is the services' clock of a demonstration (avenir demo): it
// stands on a day, from 09:00 in Europe/Paris, and moves to another day only
// when told — never backwards — so a simulated year takes minutes. Its day is kept in
// the data dir, so a server killed and restarted resumes it.
type DemoClock struct {
	mu    sync.Mutex
	day   civil.Date
	setAt time.Time // when the day was set, in real time
	file  string
}

// NewDemoClock returns a clock on start, or on the day kept in dataDir if it
// is later.
func NewDemoClock(start civil.Date, dataDir string) (*DemoClock, error) {
	if !start.Valid() {
		return nil, fmt.Errorf("demo clock: %s is not a day", start)
	}
	c := &DemoClock{day: start, setAt: time.Now(), file: filepath.Join(dataDir, demoClockFile)}
	b, err := os.ReadFile(c.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("demo clock: %w", err)
	default:
		kept, err := civil.Parse(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("demo clock: %s: %w", c.file, err)
		}
		if kept.After(start) {
			c.day = kept
		}
	}
	return c, c.keep()
}

// Now is the clock: 09:00 in Paris on its day, plus the real time elapsed
// since the day was set (so that the events of a day keep their order),
// never past the end of the day.
func (c *DemoClock) Now() time.Time {
	c.mu.Lock()
	d, since := c.day, time.Since(c.setAt)
	c.mu.Unlock()
	start := time.Date(d.Year, d.Month, d.Day, 9, 0, 0, 0, civil.Paris)
	return start.Add(min(since, 15*time.Hour-time.Second))
}

// Day is the clock's day.
func (c *DemoClock) Day() civil.Date {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.day
}

// Set moves the clock to day, which must not be before its day.
func (c *DemoClock) Set(day civil.Date) error {
	if !day.Valid() {
		return fmt.Errorf("demo clock: %s is not a day", day)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if day.Before(c.day) {
		return fmt.Errorf("demo clock: it is %s, it does not go back to %s", c.day, day)
	}
	if day == c.day {
		return nil
	}
	prev := c.day
	c.day = day
	if err := c.keep(); err != nil {
		c.day = prev
		return err
	}
	c.setAt = time.Now()
	return nil
}

// keep writes the day to the data dir, replacing the file atomically (the
// processes of one machine may share a data dir: each writes its own
// temporary file).
func (c *DemoClock) keep() error {
	tmp, err := os.CreateTemp(filepath.Dir(c.file), demoClockFile+".*")
	if err != nil {
		return fmt.Errorf("demo clock: %w", err)
	}
	_, werr := tmp.WriteString(c.day.String() + "\n")
	if err := errors.Join(werr, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("demo clock: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.file); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("demo clock: %w", err)
	}
	return nil
}

// Handler serves the clock on the admin address: GET answers its day,
// PUT (or POST) with ?date=YYYY-MM-DD moves it.
func (c *DemoClock) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut, http.MethodPost:
			day, err := civil.Parse(r.URL.Query().Get("date"))
			if err != nil {
				http.Error(w, "date: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := c.Set(day); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
		default:
			w.Header().Set("Allow", "GET, PUT, POST")
			http.Error(w, "GET or PUT ?date=YYYY-MM-DD", http.StatusMethodNotAllowed)
			return
		}
		_, _ = io.WriteString(w, c.Day().String()+"\n")
	})
}

// DevConfig is a dev-mode configuration of every service on free loopback
// ports, storing its streams and dev key under dataDir: what tests and the
// embedded demo run.
func DevConfig(dataDir string) Config {
	return Config{
		Dev: true, Services: ServiceNames(), DataDir: dataDir,
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		Replicas: 1, Audience: auth.DefaultAudience, LogLevel: "warn", LogFormat: "text",
		ShutdownTimeout: 10 * time.Second,
		Console:         ConsoleConfig{Addr: "127.0.0.1:0"},
	}
}
