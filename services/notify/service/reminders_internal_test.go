package service

import (
	"testing"
	"time"
)

func TestDueReminderIsTheNearestWhoseTimeHasCome(t *testing.T) {
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		before time.Duration
		want   int
	}{
		{100 * time.Hour, 0},
		{72*time.Hour + time.Second, 0},
		{72 * time.Hour, 72},
		{49 * time.Hour, 72},
		{48 * time.Hour, 48},
		{30 * time.Hour, 48},
		{24 * time.Hour, 24},
		// A clock that jumped to 2 hours before: one reminder, the nearest.
		{2 * time.Hour, 24},
		{0, 0},
		{-time.Hour, 0},
	} {
		if got := dueReminder(start, start.Add(-c.before)); got != c.want {
			t.Errorf("%v before: %d, want %d", c.before, got, c.want)
		}
	}
}
