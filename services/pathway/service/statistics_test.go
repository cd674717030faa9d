package service_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// frozenMonths are the months of the BreakdownsFrozen events stored, in
// stream order, and the events by month.
func frozenMonths(t *testing.T, env *servicetest.Env) ([]string, map[string]*pathwayv1.BreakdownsFrozen) {
	t.Helper()
	var months []string
	byMonth := map[string]*pathwayv1.BreakdownsFrozen{}
	for _, ev := range env.Events(t, service.Stream, "avenir.pathway.statistics.>") {
		f := ev.Data.(*pathwayv1.BreakdownsFrozen)
		m := civilpb.Month(f.GetMonth()).String()
		if ev.Subject != "avenir.pathway.statistics."+m+".frozen" {
			t.Fatalf("frozen breakdowns of %s on %s", m, ev.Subject)
		}
		months = append(months, m)
		byMonth[m] = f
	}
	return months, byMonth
}

// monthRange lists the months from..to, YYYY-MM.
func monthRange(from, to civil.Month) []string {
	var out []string
	for m := from; m.Compare(to) <= 0; m = m.Next() {
		out = append(out, m.String())
	}
	return out
}

// erase does what intake does when it erases a learner: it records the
// erasure, then destroys the learner's data key; and waits until pathway
// has seen it.
func erase(t *testing.T, env *servicetest.Env, id, territory string) {
	t.Helper()
	env.Publish(t, "avenir.intake.learner."+id+".erased", &intakev1.LearnerErased{
		LearnerId: id, TerritoryCode: territory, ErasedOn: civilpb.FromDate(civil.Of(env.Now())),
		Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "DPO-2026-17",
	})
	if err := env.Keys.Erase(ctx(t), privacy.LearnerKey(id)); err != nil {
		t.Fatalf("erase the key of %s: %v", id, err)
	}
	env.CaughtUp(t)
}

// breakdownReads are the breakdowns the freezing tests compare: ranges of
// frozen months only, of live months only, and across both, for an admin
// (exact), a funder and a coordinator (small counts withheld).
var breakdownReads = []struct {
	as  auth.Principal
	req *pathwayv1.GetBreakdownsRequest
}{
	{servicetest.Admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2025, 11), ToMonth: month(2026, 11)}},
	{servicetest.Admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2025, 11), ToMonth: month(2026, 9)}},
	{servicetest.Admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 9), ToMonth: month(2026, 11), TerritoryCode: "T05"}},
	{servicetest.Admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 10), ToMonth: month(2026, 12)}},
	{funder, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2025, 11), ToMonth: month(2026, 11)}},
	{coordinatorT5, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2025, 1), ToMonth: month(2027, 1)}},
}

// breakdownsRead reads breakdownReads with get, one line per breakdown.
func breakdownsRead(t *testing.T, get func(auth.Principal, *pathwayv1.GetBreakdownsRequest) (*pathwayv1.GetBreakdownsResponse, error)) []string {
	t.Helper()
	var out []string
	for i, r := range breakdownReads {
		resp, err := get(r.as, r.req)
		if err != nil {
			t.Fatalf("breakdowns %d: %v", i, err)
		}
		for _, line := range breakdownLines(resp) {
			out = append(out, fmt.Sprintf("%d %s", i, line))
		}
	}
	return out
}

// overGRPC reads breakdowns through the API, with tokens of the services'
// clock of now.
func overGRPC(t *testing.T, env *servicetest.Env) func(auth.Principal, *pathwayv1.GetBreakdownsRequest) (*pathwayv1.GetBreakdownsResponse, error) {
	return func(as auth.Principal, req *pathwayv1.GetBreakdownsRequest) (*pathwayv1.GetBreakdownsResponse, error) {
		return pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as)).GetBreakdowns(ctx(t), req)
	}
}

// The breakdowns of a month are the same before and after it is frozen,
// and erasing learners who entered in frozen months changes none of them,
// live or in read models rebuilt after the erasure.
func TestFrozenBreakdownsDoNotMove(t *testing.T) {
	t.Parallel()
	// The job stays out of the way (it runs once, at the start, with nothing
	// to freeze): the test freezes when it says.
	env, ids := schemeWith(t, service.Config{FreezeEvery: time.Hour})
	svc := env.Services[0].(*service.Service)
	if months, _ := frozenMonths(t, env); len(months) != 0 {
		t.Fatalf("frozen before the test froze: %v", months)
	}
	before := breakdownsRead(t, overGRPC(t, env))
	if !slices.Contains(before, "0 total entries 10 rqth 1 qpv 3 zrr 1 rsa 2 [UNDER_26:2 26_TO_49:6 50_AND_OVER:2] [NO_DIPLOMA:2 3:1 4:5 5:1] above 6") {
		t.Fatalf("the scheme's breakdowns changed: %s", strings.Join(before, "\n"))
	}

	// On 26 November 2026, every month from the first entry (November
	// 2025) to September 2026 is frozen, those without entries too.
	if err := svc.FreezeBreakdowns(ctx(t)); err != nil {
		t.Fatal(err)
	}
	months, byMonth := frozenMonths(t, env)
	if want := monthRange(civil.Month{Year: 2025, Month: 11}, civil.Month{Year: 2026, Month: 9}); !slices.Equal(months, want) {
		t.Fatalf("frozen months %v, want %v", months, want)
	}
	// L2 entered in February: RQTH, QPV, 56 years old, no diploma; the
	// counts are exact, whoever reads them later.
	feb := &pathwayv1.BreakdownsFrozen{Month: month(2026, 2), FrozenOn: today, Territories: []*pathwayv1.TerritoryTally{{
		TerritoryCode: "T05", Entries: 1, Rqth: 1, Qpv: 1,
		AgeBands:        []*pathwayv1.AgeBandTally{{Band: pathwayv1.AgeBand_AGE_BAND_50_AND_OVER, Count: 1}},
		EducationLevels: []*pathwayv1.EducationLevelTally{{Level: intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA, Count: 1}},
	}}}
	if !proto.Equal(byMonth["2026-02"], feb) {
		t.Fatalf("February frozen as %v, want %v", byMonth["2026-02"], feb)
	}
	if len(byMonth["2025-12"].GetTerritories()) != 0 {
		t.Fatalf("December 2025 had no entry, frozen as %v", byMonth["2025-12"])
	}
	env.CaughtUp(t)
	sameLines(t, "breakdowns once September is frozen", breakdownsRead(t, overGRPC(t, env)), before)

	// In January, October and November are frozen too. L5 entered in
	// October without a known education level: counted as unknown.
	env.SetNow(time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC))
	if err := svc.FreezeBreakdowns(ctx(t)); err != nil {
		t.Fatal(err)
	}
	months, byMonth = frozenMonths(t, env)
	if want := monthRange(civil.Month{Year: 2025, Month: 11}, civil.Month{Year: 2026, Month: 11}); !slices.Equal(months, want) {
		t.Fatalf("frozen months %v, want %v", months, want)
	}
	oct := byMonth["2026-10"].GetTerritories()
	if len(oct) != 1 || oct[0].GetTerritoryCode() != "T06" || oct[0].GetEntries() != 1 ||
		!proto.Equal(oct[0].GetEducationLevels()[0], &pathwayv1.EducationLevelTally{Level: intakev1.EducationLevel_EDUCATION_LEVEL_UNSPECIFIED, Count: 1}) {
		t.Fatalf("October frozen as %v", byMonth["2026-10"])
	}
	env.CaughtUp(t)
	sameLines(t, "breakdowns once November is frozen", breakdownsRead(t, overGRPC(t, env)), before)

	// L1 (November 2025: RSA, level 3, under 26) and L5 (October 2026) are
	// erased: pathway no longer knows their birth dates nor situations,
	// and no breakdown moves.
	erase(t, env, ids["L1"], "T05")
	erase(t, env, ids["L5"], "T06")
	kept, _, err := projection.GetJSON[map[string]any](ctx(t), env.Deps.Projections, "pathway-learners-v2", "learner:"+ids["L1"])
	if err != nil || kept["erased"] != true || kept["birth_date"] != nil || kept["situations"] != nil || kept["territory"] != "T05" {
		t.Fatalf("L1 as pathway keeps it once erased: %v %v", kept, err)
	}
	sameLines(t, "breakdowns after the erasures", breakdownsRead(t, overGRPC(t, env)), before)

	// Rebuilt from the streams, where the erased learners' personal fields
	// can no longer be opened: the same.
	rebuilt := env.Rebuild(t, projection.NewMemory(), func(d platform.Deps) (platform.Service, error) {
		return service.New(d, service.Config{FreezeEvery: time.Hour})
	}).(*service.Service)
	after := breakdownsRead(t, func(as auth.Principal, req *pathwayv1.GetBreakdownsRequest) (*pathwayv1.GetBreakdownsResponse, error) {
		return rebuilt.GetBreakdowns(auth.NewContext(ctx(t), as), req)
	})
	sameLines(t, "breakdowns rebuilt after the erasures", after, before)
}

// Replicas run the same job: each month is frozen once, whoever runs it
// and however often.
func TestEachMonthIsFrozenOnce(t *testing.T) {
	t.Parallel()
	env, client := startWith(t, servicetest.Options{}, service.Config{FreezeEvery: time.Hour})
	svc := env.Services[0].(*service.Service)
	id := registeredOn(t, env, "T05", date(2026, 10, 1))
	enter(t, client, id, date(2026, 10, 28))
	env.CaughtUp(t)
	// On 26 November nothing is due: October freezes on 1 December.
	if err := svc.FreezeBreakdowns(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if months, _ := frozenMonths(t, env); len(months) != 0 {
		t.Fatalf("frozen on 26 November: %v", months)
	}

	env.SetNow(time.Date(2027, 2, 3, 9, 0, 0, 0, time.UTC))
	// A second service on the same streams and store: another replica.
	replica, err := service.New(env.Deps, service.Config{FreezeEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		run := svc.FreezeBreakdowns
		if i%2 == 1 {
			run = replica.FreezeBreakdowns
		}
		wg.Go(func() { errs[i] = run(ctx(t)) })
	}
	wg.Wait()
	noError(t, errs...)
	env.CaughtUp(t)
	noError(t, svc.FreezeBreakdowns(ctx(t)))
	months, byMonth := frozenMonths(t, env)
	if want := []string{"2026-10", "2026-11", "2026-12"}; !slices.Equal(months, want) {
		t.Fatalf("frozen months %v, want each of %v once", months, want)
	}
	if got := byMonth["2026-10"].GetTerritories(); len(got) != 1 || got[0].GetEntries() != 1 || got[0].GetRqth() != 1 {
		t.Fatalf("October frozen as %v", byMonth["2026-10"])
	}
}

// The job runs on the services' clock: when the demonstration's clock
// jumps months ahead, it freezes every month passed, without being asked.
func TestTheJobFreezesEveryMonthTheClockPasses(t *testing.T) {
	t.Parallel()
	env, client := startWith(t, servicetest.Options{}, service.Config{FreezeEvery: time.Second})
	first := registeredOn(t, env, "T05", date(2026, 10, 1))
	second := registeredOn(t, env, "T07", date(2026, 11, 2))
	enter(t, client, first, date(2026, 10, 28))
	enter(t, client, second, date(2026, 11, 20))
	env.CaughtUp(t)

	env.SetNow(time.Date(2027, 6, 10, 9, 0, 0, 0, time.UTC))
	want := monthRange(civil.Month{Year: 2026, Month: 10}, civil.Month{Year: 2027, Month: 4})
	servicetest.Eventually(t, 15*time.Second, func() error {
		if months, _ := frozenMonths(t, env); !slices.Equal(months, want) {
			return fmt.Errorf("frozen months %v, want %v", months, want)
		}
		return nil
	})
	_, byMonth := frozenMonths(t, env)
	for _, m := range want {
		f := byMonth[m]
		n := len(f.GetTerritories())
		if !proto.Equal(f.GetFrozenOn(), date(2027, 6, 10)) || (m == "2026-10" || m == "2026-11") != (n == 1) {
			t.Errorf("%s frozen as %v", m, f)
		}
	}
	env.CaughtUp(t)
	admin := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin))
	resp, err := admin.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 10), ToMonth: month(2027, 6)})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "breakdowns", breakdownLines(resp), []string{
		"T05 entries 1 rqth 1 qpv 0 zrr 0 rsa 0 [UNDER_26:1 26_TO_49:0 50_AND_OVER:0] [] above 0",
		"T07 entries 1 rqth 1 qpv 0 zrr 0 rsa 0 [UNDER_26:1 26_TO_49:0 50_AND_OVER:0] [] above 0",
		"total entries 2 rqth 2 qpv 0 zrr 0 rsa 0 [UNDER_26:2 26_TO_49:0 50_AND_OVER:0] [] above 0",
	})
}
