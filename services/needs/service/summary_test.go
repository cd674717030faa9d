package service_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// count is a count of people given as it is; few, one withheld.
func count(n int32) *commonv1.Count { return &commonv1.Count{Value: n} }

func few() *commonv1.Count { return &commonv1.Count{FewerThanFive: true} }

// An admin reads the completions of each month and the trades exactly; a
// referent of the territory and a funder get every count from 1 to 4
// withheld (fewer_than_five, value 0, the deprecated int32 fields 0), in
// the territory and the total alike, and the trades withheld listed after
// those given, by code, whatever their counts; counts of 5 and more and 0
// come through unchanged.
func TestSummaryWithholdsMonthsAndTradesUnderFive(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	// Five first versions in November: G1602 in each, K2204 in two; the
	// last one revised to target A1101 too.
	var last *needsv1.Analysis
	for i := range 5 {
		c := content()
		c.Project.TargetRomeCodes = []string{"G1602"}
		if i < 2 {
			c.Project.TargetRomeCodes = append(c.Project.TargetRomeCodes, "K2204")
		}
		last = startAnalysis(t, admin, inPathway(t, env, "T05"))
		draft(t, admin, last.GetAnalysisId(), c)
		complete(t, admin, last.GetAnalysisId())
	}
	v2 := revise(t, admin, last.GetAnalysisId())
	c := content()
	c.Project.TargetRomeCodes = []string{"G1602", "A1101"}
	draft(t, admin, v2.GetAnalysisId(), c)
	complete(t, admin, v2.GetAnalysisId())
	env.CaughtUp(t)

	oct, nov := &commonv1.Month{Year: 2026, Month: 10}, &commonv1.Month{Year: 2026, Month: 11}
	type want struct {
		months []*needsv1.MonthlyCompletions
		trades []*needsv1.TradeCount
	}
	exact := want{
		months: []*needsv1.MonthlyCompletions{
			{Month: oct, FirstVersions: count(0), Revisions: count(0)},
			{Month: nov, FirstVersions: count(5), Revisions: count(1), Completed: 5, RevisionsCompleted: 1},
		},
		trades: []*needsv1.TradeCount{{RomeCode: "G1602", Count: 5}, {RomeCode: "K2204", Count: 2}, {RomeCode: "A1101", Count: 1}},
	}
	withheld := want{
		months: []*needsv1.MonthlyCompletions{
			{Month: oct, FirstVersions: count(0), Revisions: count(0)},
			{Month: nov, FirstVersions: count(5), Revisions: few(), Completed: 5},
		},
		trades: []*needsv1.TradeCount{{RomeCode: "G1602", Count: 5}, {RomeCode: "A1101", FewerThanFive: true}, {RomeCode: "K2204", FewerThanFive: true}},
	}
	req := &needsv1.GetAnalysisSummaryRequest{FromMonth: oct, ToMonth: nov}
	for _, tc := range []struct {
		name string
		as   auth.Principal
		want want
	}{
		{"admin", servicetest.Admin, exact},
		{"referent", referentT05, withheld},
		{"funder", funder, withheld},
	} {
		resp, err := needsv1.NewNeedsServiceClient(env.ConnAs(t, tc.as)).GetAnalysisSummary(ctx(t), req)
		if err != nil || len(resp.GetTerritories()) != 1 {
			t.Fatalf("%s: %v %v", tc.name, resp, err)
		}
		for _, s := range []*needsv1.AnalysisSummary{resp.GetTerritories()[0], resp.GetTotal()} {
			got := &needsv1.AnalysisSummary{Months: s.GetMonths(), Trades: s.GetTrades()}
			if w := (&needsv1.AnalysisSummary{Months: tc.want.months, Trades: tc.want.trades}); !proto.Equal(got, w) {
				t.Errorf("%s reads\n%v\nwant\n%v", tc.name, got, w)
			}
		}
	}
}
