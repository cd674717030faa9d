package service

import (
	"context"
	"maps"
	"slices"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// The flows read model (flowsProjection): one bucket per territory and
// month in which something happened, keyed by the event's date (an entry
// counts in the month of its entry date, an exit in the month of its exit
// date, however late it was recorded):
//
//	month:<territory>/<YYYY-MM>   the bucket, JSON (storedBucket)
//	index months                  <territory>/<YYYY-MM>, one per bucket
//
// GetFlowStatistics reads the buckets of the territories reported up to the
// last month asked for (the active counts add up every earlier month): 12
// buckets a year per territory, however many learners.
// maxReportMonths bounds the months of one GetFlowStatistics call (and of
// the scheme's reports).
const maxReportMonths = 120

// storedBucket is the stored form of a domain.FlowBucket.
type storedBucket struct {
	Entries int                       `json:"entries"`
	Exits   map[domain.ExitReason]int `json:"exits,omitempty"`
	Days    map[int]int               `json:"days,omitempty"`
}

func (sb storedBucket) bucket() domain.FlowBucket {
	return domain.FlowBucket{Entries: sb.Entries, Exits: sb.Exits, Days: sb.Days}
}

// bucket reads the bucket of a member (<territory>/<YYYY-MM>).
func (s *Service) bucket(ctx context.Context, member string) (domain.FlowBucket, error) {
	sb, err := monthly.Get[storedBucket](ctx, s.store, flowsProjection, member)
	return sb.bucket(), err
}

// putBucket stores the bucket of a member.
func putBucket(member string, b domain.FlowBucket) ([]projection.Op, error) {
	return monthly.Put(member, storedBucket{Entries: b.Entries, Exits: b.Exits, Days: b.Days})
}

// projectFlows counts an entry or an exit in the bucket of its territory and
// month.
func (s *Service) projectFlows(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		territory string
		day       civil.Date
		count     func(domain.FlowBucket) domain.FlowBucket
	)
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		territory, day = m.GetTerritoryCode(), civilpb.Date(m.GetEntryDate())
		count = domain.FlowBucket.WithEntry
	case *pathwayv1.PathwayExited:
		territory, day = m.GetTerritoryCode(), civilpb.Date(m.GetExitDate())
		days := domain.DaysInPathway(civilpb.Date(m.GetEntryDate()), day)
		reason := platform.FromWire(exitReasons, m.GetReason())
		count = func(b domain.FlowBucket) domain.FlowBucket { return b.WithExit(reason, days) }
	default:
		return nil, nil
	}
	member := monthly.Member(territory, civil.MonthOf(day))
	b, err := s.bucket(ctx, member)
	if err != nil {
		return nil, err
	}
	return putBucket(member, count(b))
}

// GetFlowStatistics implements pathwayv1.PathwayServiceServer, from the
// flows read model, under the rule of small counts for every role but
// admin (discloseFlows).
func (s *Service) GetFlowStatistics(ctx context.Context, req *pathwayv1.GetFlowStatisticsRequest) (*pathwayv1.GetFlowStatisticsResponse, error) {
	var v apperr.Violations
	from, to := checkMonths(&v, req.GetFromMonth(), req.GetToMonth())
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	var territories, prefixes []string // territories reported, known up front or found in the index
	switch t := req.GetTerritoryCode(); {
	case t != "" && !mayReport(caller, t):
		return nil, apperr.PermissionDenied("the flows of territory %s are outside your scope", t)
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
	history, err := s.flowHistory(ctx, prefixes, to)
	if err != nil {
		return nil, err
	}
	if territories == nil {
		territories = slices.Sorted(maps.Keys(history))
	}
	rows, totals := domain.FlowReport(history, territories, from, to)
	resp := &pathwayv1.GetFlowStatisticsResponse{}
	for _, r := range rows {
		resp.Territories = append(resp.Territories, flowRowToProto(r))
	}
	for _, r := range totals {
		resp.Totals = append(resp.Totals, flowRowToProto(r))
	}
	discloseFlows(resp, caller)
	return resp, nil
}

// flowHistory reads the buckets of the territories under prefixes, up to
// month to.
func (s *Service) flowHistory(ctx context.Context, prefixes []string, to civil.Month) (map[string]map[civil.Month]domain.FlowBucket, error) {
	stored, err := monthly.Load[storedBucket](ctx, s.store, flowsProjection, prefixes, civil.Month{}, to)
	if err != nil {
		return nil, err
	}
	history := map[string]map[civil.Month]domain.FlowBucket{}
	for territory, months := range stored {
		history[territory] = map[civil.Month]domain.FlowBucket{}
		for month, sb := range months {
			history[territory][month] = sb.bucket()
		}
	}
	return history, nil
}

func flowRowToProto(r domain.FlowRow) *pathwayv1.FlowStatistics {
	out := &pathwayv1.FlowStatistics{
		TerritoryCode: r.Territory, Month: civilpb.FromMonth(r.Month),
		Entered: disclosure.Count(r.Entries), Exited: disclosure.Count(r.Exits), Active: disclosure.Count(r.ActiveAtEnd),
	}
	for _, reason := range domain.ExitReasons {
		if c := r.ExitsByReason[reason]; c > 0 {
			out.ExitsByReason = append(out.ExitsByReason, &pathwayv1.ExitCount{Reason: exitReasons[reason], Exits: disclosure.Count(c)})
		}
	}
	if r.HasMedian {
		out.MedianDaysInPathway = new(int32(r.MedianDays))
	}
	return out
}
