package cli

import (
	"errors"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

func TestParseDateAcceptsDaysRelativeToToday(t *testing.T) {
	today := civil.Of(time.Now())
	for value, want := range map[string]civil.Date{
		"today": today, "today-2": today.AddDays(-2), "today+10": today.AddDays(10), "2026-12-07": {Year: 2026, Month: time.December, Day: 7},
	} {
		got, err := parseDate("from", value)
		if err != nil || civilpb.Date(got) != want {
			t.Errorf("%q: %v %v, want %v", value, civilpb.Date(got), err, want)
		}
	}
	for _, value := range []string{"today+", "today*3", "today+x", "tomorrow", "07/12/2026"} {
		var usage usageError
		if _, err := parseDate("from", value); !errors.As(err, &usage) {
			t.Errorf("%q: %v, want a usage error", value, err)
		}
	}
}
