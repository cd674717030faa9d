package service_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// row is one FlowStatistics, compactly, each count as a reader sees it
// (see shown): "T05 2026-10 in=2 out=1 abandonment=1 active=1 median=3".
// The deprecated int32 fields must read the values given; a difference
// shows in the row.
func row(s *pathwayv1.FlowStatistics) string {
	b := fmt.Sprintf("%s %04d-%02d in=%s out=%s", s.GetTerritoryCode(), s.GetMonth().GetYear(), s.GetMonth().GetMonth(), shown(s.GetEntered()), shown(s.GetExited()))
	for _, c := range s.GetExitsByReason() {
		b += fmt.Sprintf(" %s=%s", strings.ToLower(strings.TrimPrefix(c.GetReason().String(), "EXIT_REASON_")), shown(c.GetExits()))
		if c.GetCount() != c.GetExits().GetValue() {
			b += fmt.Sprintf(" (deprecated count %d)", c.GetCount())
		}
	}
	b += fmt.Sprintf(" active=%s", shown(s.GetActive()))
	if s.MedianDaysInPathway != nil {
		b += fmt.Sprintf(" median=%d", s.GetMedianDaysInPathway())
	}
	if s.GetEntries() != s.GetEntered().GetValue() || s.GetExits() != s.GetExited().GetValue() || s.GetActiveAtMonthEnd() != s.GetActive().GetValue() {
		b += fmt.Sprintf(" (deprecated %d %d %d)", s.GetEntries(), s.GetExits(), s.GetActiveAtMonthEnd())
	}
	return strings.TrimSpace(b)
}

func rows(stats []*pathwayv1.FlowStatistics) []string {
	var out []string
	for _, s := range stats {
		out = append(out, row(s))
	}
	return out
}

func months(from, to int32) *pathwayv1.GetFlowStatisticsRequest {
	return &pathwayv1.GetFlowStatisticsRequest{FromMonth: &commonv1.Month{Year: 2026, Month: from}, ToMonth: &commonv1.Month{Year: 2026, Month: to}}
}

func flows(t *testing.T, client pathwayv1.PathwayServiceClient, req *pathwayv1.GetFlowStatisticsRequest) (territories, totals []string) {
	t.Helper()
	resp, err := client.GetFlowStatistics(ctx(t), req)
	if err != nil {
		t.Fatalf("flows %v: %v", req, err)
	}
	return rows(resp.GetTerritories()), rows(resp.GetTotals())
}

func TestFlowStatistics(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	population(t, env, client) // see list_test.go
	territories, totals := flows(t, client, months(10, 12))
	want := []string{
		"T05 2026-10 in=2 out=1 abandonment=1 active=1 median=3",
		"T05 2026-11 in=3 out=1 employment_permanent=1 active=3 median=22",
		"T05 2026-12 in=0 out=0 active=3",
		"T06 2026-10 in=0 out=0 active=0",
		"T06 2026-11 in=2 out=1 health=1 active=1 median=20",
		"T06 2026-12 in=0 out=0 active=1",
	}
	wantTotals := []string{
		"2026-10 in=2 out=1 abandonment=1 active=1 median=3",
		// The median of 22 and 20 days: the lower middle.
		"2026-11 in=5 out=2 employment_permanent=1 health=1 active=4 median=20",
		"2026-12 in=0 out=0 active=4",
	}
	if !reflect.DeepEqual(territories, want) || !reflect.DeepEqual(totals, wantTotals) {
		t.Fatalf("flows\n%s\n%s\nwant\n%s\n%s", strings.Join(territories, "\n"), strings.Join(totals, "\n"),
			strings.Join(want, "\n"), strings.Join(wantTotals, "\n"))
	}
	// Active at month end is what ListPathways says of the month's last day.
	for territory, active := range map[string][]int{"T05": {1, 3, 3}, "T06": {0, 1, 1}} {
		for i, last := range []int32{31, 30, 31} {
			m := int32(10 + i)
			list := listAll(t, client, &pathwayv1.ListPathwaysRequest{TerritoryCode: territory, ActiveOn: date(2026, m, last)})
			if len(list) != active[i] {
				t.Errorf("%s active on 2026-%02d-%02d: %d listed, %d counted", territory, m, last, len(list), active[i])
			}
		}
	}

	// A late exit moves the figures of the month it falls in.
	g := registeredOn(t, env, "T05", date(2026, 10, 1))
	enter(t, client, g, date(2026, 10, 30))
	env.CaughtUp(t)
	territories, _ = flows(t, client, months(10, 11))
	if territories[0] != "T05 2026-10 in=3 out=1 abandonment=1 active=2 median=3" || territories[1] != "T05 2026-11 in=3 out=1 employment_permanent=1 active=4 median=22" {
		t.Fatalf("after g entered: %v", territories)
	}
	exit(t, client, g, date(2026, 10, 31), pathwayv1.ExitReason_EXIT_REASON_RELOCATION, "")
	env.CaughtUp(t)
	territories, _ = flows(t, client, months(10, 11))
	if territories[0] != "T05 2026-10 in=3 out=2 abandonment=1 relocation=1 active=1 median=1" || territories[1] != "T05 2026-11 in=3 out=1 employment_permanent=1 active=3 median=22" {
		t.Fatalf("after g's late exit: %v", territories)
	}

	t.Run("scope", func(t *testing.T) {
		// A referent reads its territories, with no count under 5 (nor
		// the median of exits withheld).
		r6 := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, auth.Principal{Subject: "r6", Role: auth.RoleReferent, ReferentID: "r6", Territories: []string{"T06"}}))
		territories, totals := flows(t, r6, months(11, 11))
		if !reflect.DeepEqual(territories, []string{"T06 2026-11 in=<5 out=<5 health=<5 active=<5"}) ||
			!reflect.DeepEqual(totals, []string{"2026-11 in=<5 out=<5 health=<5 active=<5"}) {
			t.Fatalf("referent of T06: %v %v", territories, totals)
		}
		req := months(11, 11)
		req.TerritoryCode = "T05"
		_, err := r6.GetFlowStatistics(ctx(t), req)
		servicetest.Refused(t, err, codes.PermissionDenied)
		fund := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, funder))
		if territories, _ := flows(t, fund, req); len(territories) != 1 || !strings.HasPrefix(territories[0], "T05 2026-11") {
			t.Fatalf("funder, T05: %v", territories)
		}
		// A territory without any data reports zeros.
		req.TerritoryCode = "T18"
		if territories, _ := flows(t, fund, req); !reflect.DeepEqual(territories, []string{"T18 2026-11 in=0 out=0 active=0"}) {
			t.Fatalf("funder, T18: %v", territories)
		}
	})

	t.Run("bad input, every problem at once", func(t *testing.T) {
		_, err := client.GetFlowStatistics(ctx(t), &pathwayv1.GetFlowStatisticsRequest{TerritoryCode: "T-5"})
		servicetest.Refused(t, err, codes.InvalidArgument, "from_month", "to_month", "territory_code")
		_, err = client.GetFlowStatistics(ctx(t), months(11, 10))
		servicetest.Refused(t, err, codes.InvalidArgument, "to_month")
		_, err = client.GetFlowStatistics(ctx(t), months(13, 10))
		servicetest.Refused(t, err, codes.InvalidArgument, "from_month")
		_, err = client.GetFlowStatistics(ctx(t), &pathwayv1.GetFlowStatisticsRequest{
			FromMonth: &commonv1.Month{Year: 2016, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11},
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "to_month")
		// 120 months is the most.
		if _, err := client.GetFlowStatistics(ctx(t), &pathwayv1.GetFlowStatisticsRequest{
			FromMonth: &commonv1.Month{Year: 2016, Month: 12}, ToMonth: &commonv1.Month{Year: 2026, Month: 11},
		}); err != nil {
			t.Fatal(err)
		}
	})
}
