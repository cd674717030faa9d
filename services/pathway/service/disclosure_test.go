package service_test

import (
	"testing"
	"time"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The rule of small counts through the API, role by role: an admin reads
// exact counts; a funder, a referent and a coordinator read no count from
// 1 to 4 (fewer_than_five, value 0, the deprecated int32 0), nor what would
// give one back: the other count of a reason list with one withheld, a
// median of withheld exits, a percentage of withheld immersions. 0 and
// counts from 5 come through unchanged.
//
// Nine learners of T09 entered on 1 October 2026, each with op-a's
// accompaniment: one left on 20 October (health, 19 days), six on 2
// November (permanent employment, 32 days), one on 10 November
// (abandonment, 40 days), one is still in. Six of them had a place on an
// immersion hosted by op-h, whose outcome was recorded in November: five
// completed, one partially.
func TestSmallCountsByRole(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{Now: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)})
	// on moves the services' clock and returns an admin's client for then.
	on := func(m, d int) pathwayv1.PathwayServiceClient {
		env.SetNow(time.Date(2026, time.Month(m), d, 9, 0, 0, 0, time.UTC))
		return pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin))
	}
	opA := contract(t, env, "op-a", avenir, "T09")
	var ids []string
	for range 9 {
		id := registeredOn(t, env, "T09", date(2026, 10, 1))
		enter(t, admin, id, date(2026, 10, 1))
		enrol(t, admin, id, opA, accompaniment, date(2026, 10, 1))
		ids = append(ids, id)
	}
	admin = on(10, 20)
	exit(t, admin, ids[0], date(2026, 10, 20), pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")
	admin = on(11, 2)
	for _, id := range ids[1:7] {
		exit(t, admin, id, date(2026, 11, 2), pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, "")
	}
	admin = on(11, 10)
	exit(t, admin, ids[7], date(2026, 11, 10), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, "")
	on(11, 26) // the services' day, as in the other tests
	for i, id := range ids[:6] {
		status := immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED
		if i == 5 {
			status = immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED
		}
		publishSession(t, env, "s-9",
			&immersionv1.PlaceBooked{SessionId: "s-9", LearnerId: id, Booked: int32(i + 1), Capacity: 8, OperatorId: "op-h", FromDate: date(2026, 10, 12), ToDate: date(2026, 10, 16)},
			&immersionv1.OutcomeRecorded{SessionId: "s-9", LearnerId: id, Status: status, OperatorId: "op-h", RomeCodes: []string{"H2909"}})
	}
	env.CaughtUp(t)

	referent := auth.Principal{Subject: "u-r9", Role: auth.RoleReferent, ReferentID: "ref-9", Territories: []string{"T09"}}
	coordinator := auth.Principal{Subject: "u-c9", Role: auth.RoleReferent, ReferentID: "ref-c9", Territories: []string{"T09"}, Coordinator: true}
	roles := []struct {
		name  string
		as    auth.Principal
		exact bool
	}{
		{"admin", servicetest.Admin, true},
		{"funder", funder, false},
		{"referent", referent, false},
		{"coordinator", coordinator, false},
	}
	// One reason withheld in November: the other (6) too, or the exits
	// (7) minus it would give it back. In October and November together
	// two reasons are withheld and hide each other: 6 is given.
	exactFlows := []string{
		"T09 2026-10 in=9 out=1 health=1 active=8 median=19",
		"T09 2026-11 in=0 out=7 employment_permanent=6 abandonment=1 active=1 median=32",
	}
	withheldFlows := []string{
		"T09 2026-10 in=9 out=<5 health=<5 active=8",
		"T09 2026-11 in=0 out=7 employment_permanent=<5 abandonment=<5 active=<5 median=32",
	}
	exactOutcomes := map[int32][]string{
		11: {
			`"op-a"/T09 exits 7 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:1] median 32 immersions 0/0/0 -%`,
			`"op-h"/T09 exits 0 [] median - immersions 6/5/1 83%`,
			`total ""/ exits 7 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:1] median 32 immersions 6/5/1 83%`,
		},
		10: {
			`"op-a"/T09 exits 8 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:1 HEALTH:1] median 32 immersions 0/0/0 -%`,
			`"op-h"/T09 exits 0 [] median - immersions 6/5/1 83%`,
			`total ""/ exits 8 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:1 HEALTH:1] median 32 immersions 6/5/1 83%`,
		},
	}
	withheldOutcomes := map[int32][]string{
		11: {
			`"op-a"/T09 exits 7 [EMPLOYMENT_PERMANENT:<5 ABANDONMENT:<5] median 32 immersions 0/0/0 -%`,
			`"op-h"/T09 exits 0 [] median - immersions 6/5/<5 83%`,
			`total ""/ exits 7 [EMPLOYMENT_PERMANENT:<5 ABANDONMENT:<5] median 32 immersions 6/5/<5 83%`,
		},
		10: {
			`"op-a"/T09 exits 8 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:<5 HEALTH:<5] median 32 immersions 0/0/0 -%`,
			`"op-h"/T09 exits 0 [] median - immersions 6/5/<5 83%`,
			`total ""/ exits 8 [EMPLOYMENT_PERMANENT:6 ABANDONMENT:<5 HEALTH:<5] median 32 immersions 6/5/<5 83%`,
		},
	}
	// October alone: one exit, withheld, and so its median.
	october := map[bool][]string{
		true: {
			`"op-a"/T09 exits 1 [HEALTH:1] median 19 immersions 0/0/0 -%`,
			`total ""/ exits 1 [HEALTH:1] median 19 immersions 0/0/0 -%`,
		},
		false: {
			`"op-a"/T09 exits <5 [HEALTH:<5] median - immersions 0/0/0 -%`,
			`total ""/ exits <5 [HEALTH:<5] median - immersions 0/0/0 -%`,
		},
	}
	// Nine entries, all under 26 and RQTH: given as they are, with the 0s.
	breakdowns := []string{
		"T09 entries 9 rqth 9 qpv 0 zrr 0 rsa 0 [UNDER_26:9 26_TO_49:0 50_AND_OVER:0] [] above 0",
		"total entries 9 rqth 9 qpv 0 zrr 0 rsa 0 [UNDER_26:9 26_TO_49:0 50_AND_OVER:0] [] above 0",
	}
	targets := []string{"AVENIR T09 9 [10+9=9] 11 months", "ACTION T09 6 [10+6=6] 11 months"}

	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, role.as))
			wantFlows, wantOutcomes := withheldFlows, withheldOutcomes
			if role.exact {
				wantFlows, wantOutcomes = exactFlows, exactOutcomes
			}
			territories, totals := flows(t, client, months(10, 11))
			sameLines(t, "flows", territories, wantFlows)
			sameLines(t, "flow totals", totals, []string{wantFlows[0][4:], wantFlows[1][4:]})

			if role.name == "referent" {
				return // the scheme's figures are not for plain referents (TestSchemeFiguresAccess)
			}
			for _, from := range []int32{11, 10} {
				resp, err := client.GetOutcomes(ctx(t), &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, from), ToMonth: month(2026, 11)})
				if err != nil {
					t.Fatal(err)
				}
				sameLines(t, "outcomes", outcomeLines(resp), wantOutcomes[from])
			}
			resp, err := client.GetOutcomes(ctx(t), &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 10), ToMonth: month(2026, 10), OperatorId: "op-a"})
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, "outcomes of October", outcomeLines(resp), october[role.exact])

			b, err := client.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 10), ToMonth: month(2026, 11), TerritoryCode: "T09"})
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, "breakdowns", breakdownLines(b), breakdowns)
			p, err := client.GetProgrammeTargets(ctx(t), &pathwayv1.GetProgrammeTargetsRequest{Year: 2026, TerritoryCode: "T09"})
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, "targets", progressLines(p.GetTerritories()), targets)
		})
	}
}
