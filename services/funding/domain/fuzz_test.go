package domain_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// FuzzReportLines feeds arbitrary lines through the batch path: no panic,
// every line answered exactly once, rejections coded.
func FuzzReportLines(f *testing.F) {
	f.Add("a", "l-1", 2026, 3, 9, 120, 1)
	f.Add("", "", 0, 0, 0, 0, 0)
	f.Add("x y", "l-2", 2026, 2, 30, -1, 9)
	f.Add("é\u0000", "l-1", 2200, 12, 31, 1441, 5)
	f.Fuzz(func(t *testing.T, id, learner string, y, m, d, minutes, activity int) {
		lines := []domain.ReportedLine{
			{Index: 0, ID: id, LearnerID: learner, Date: civil.Date{Year: y, Month: time.Month(m), Day: d}, Minutes: minutes, Activity: domain.Activity(activity)},
			{Index: 1, ID: id, LearnerID: learner, Date: civil.Date{Year: y, Month: time.Month(m), Day: d}, Minutes: minutes, Activity: domain.Activity(activity)},
		}
		groups, rejected := domain.SplitReport(lines, nil)
		answered := len(rejected)
		for _, g := range groups {
			_, results := domain.DecideHours(domain.NewHoursLedger(), domain.ReportHours{ContractID: "c-1", LearnerID: g.LearnerID, Week: g.Week, Terms: terms(), Lines: g.Lines, Learner: enrolled().Get(g.LearnerID), Today: today})
			for _, r := range results {
				if !r.Accepted && r.Reason == domain.RejectNone {
					t.Fatalf("rejected without a reason: %+v", r)
				}
			}
			answered += len(results)
		}
		if answered != len(lines) {
			t.Fatalf("%d answers for %d lines", answered, len(lines))
		}
	})
}
