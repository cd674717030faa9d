package service

import (
	"context"
	"maps"
	"slices"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// maxReportMonths bounds the months of one GetAnalysisSummary call.
const maxReportMonths = 120

// GetAnalysisSummary implements needsv1.NeedsServiceServer, from the
// monthly buckets of the analyses read model: a call reads the buckets of
// the months reported, whatever the number of analyses; the months frozen
// as they were frozen (frozen.go), the later ones live. Health barriers
// are counted for those who act for the learners of a territory (admins,
// its referents); for every role but admin, every count from 1 to 4
// (months, barriers, trades) is withheld, per territory and in the total
// (disclose), over the sums of frozen and live months alike.
func (s *Service) GetAnalysisSummary(ctx context.Context, req *needsv1.GetAnalysisSummaryRequest) (*needsv1.GetAnalysisSummaryResponse, error) {
	var v apperr.Violations
	from := civilpb.CheckMonth(&v, "from_month", req.GetFromMonth())
	to := civilpb.CheckMonth(&v, "to_month", req.GetToMonth())
	if from.Valid() && to.Valid() {
		switch n := to.MonthsFrom(from); {
		case n == 0:
			v.Addf("to_month", "must not be before from_month (%s)", from)
		case n > maxReportMonths:
			v.Addf("to_month", "must be at most %d months after from_month", maxReportMonths-1)
		}
	}
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	var territories, prefixes []string
	switch t := req.GetTerritoryCode(); {
	case t != "" && !mayReport(caller, t):
		return nil, apperr.PermissionDenied("the summary of territory %s is outside your scope", t)
	case t != "":
		territories, prefixes = []string{t}, []string{t + "/"}
	case wholeRegion(caller):
		prefixes = []string{""}
	default:
		territories = ownTerritories(caller)
		for _, t := range territories {
			prefixes = append(prefixes, t+"/")
		}
	}
	buckets, err := s.buckets(ctx, prefixes, from, to)
	if err != nil {
		return nil, err
	}
	if err := s.withFrozen(ctx, buckets, prefixes, from, to); err != nil {
		return nil, err
	}
	if territories == nil {
		territories = slices.Sorted(maps.Keys(buckets))
	}
	exact := seesSmallCounts(caller)
	given := func(n int) int {
		if !exact && disclosure.Withheld(n) {
			return 0
		}
		return n
	}
	rows, total := domain.Summarise(buckets, territories, from, to, caller.ActsFor, given)
	resp := &needsv1.GetAnalysisSummaryResponse{Total: summaryToProto(total)}
	for _, r := range rows {
		resp.Territories = append(resp.Territories, summaryToProto(r))
	}
	disclose(resp, exact)
	return resp, nil
}

// disclose applies the rule of small counts to the summary unless exact
// (admins): the months' Counts through disclosure.Withhold, and the counts
// of barriers and trades, which carry their own fewer_than_five; then it
// fills the deprecated int32 fields of the months from the counts given (0
// when withheld).
func disclose(resp *needsv1.GetAnalysisSummaryResponse, exact bool) {
	if !exact {
		disclosure.Withhold(resp)
	}
	for _, s := range append(slices.Clone(resp.GetTerritories()), resp.GetTotal()) {
		for _, m := range s.GetMonths() {
			m.Completed, m.RevisionsCompleted = m.GetFirstVersions().GetValue(), m.GetRevisions().GetValue()
		}
		if exact {
			continue
		}
		for _, b := range s.GetBarriers() {
			if disclosure.Withheld(int(b.GetCount())) {
				b.Count, b.FewerThanFive = 0, true
			}
		}
		for _, t := range s.GetTrades() {
			if disclosure.Withheld(int(t.GetCount())) {
				t.Count, t.FewerThanFive = 0, true
			}
		}
	}
}

// buckets reads the buckets of the territories under prefixes for the
// months from..to.
func (s *Service) buckets(ctx context.Context, prefixes []string, from, to civil.Month) (map[string]map[civil.Month]domain.Bucket, error) {
	stored, err := monthly.Load[storedBucket](ctx, s.store, analysesProjection, prefixes, from, to)
	if err != nil {
		return nil, err
	}
	out := map[string]map[civil.Month]domain.Bucket{}
	for territory, months := range stored {
		out[territory] = map[civil.Month]domain.Bucket{}
		for month, sb := range months {
			out[territory][month] = sb.bucket()
		}
	}
	return out, nil
}

// summaryToProto is r with every count as counted, before disclose.
func summaryToProto(r domain.Summary) *needsv1.AnalysisSummary {
	out := &needsv1.AnalysisSummary{TerritoryCode: r.Territory}
	for _, m := range r.Months {
		out.Months = append(out.Months, &needsv1.MonthlyCompletions{
			Month: civilpb.FromMonth(m.Month), FirstVersions: disclosure.Count(m.Completed), Revisions: disclosure.Count(m.Revisions),
		})
	}
	for _, b := range r.Barriers {
		out.Barriers = append(out.Barriers, &needsv1.BarrierCount{Kind: barrierKinds[b.Kind], Count: int32(b.Count)})
	}
	for _, t := range r.Trades {
		out.Trades = append(out.Trades, &needsv1.TradeCount{RomeCode: t.Code, Count: int32(t.Count)})
	}
	return out
}
