package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/needs/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// paris is 10:00 in Paris on day d, as the services' clock.
func paris(d civil.Date) time.Time {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year, d.Month, d.Day, 10, 0, 0, 0, loc)
}

// clock moves the services' clock to day d and returns an admin's client
// with a token of that day.
func clock(t *testing.T, env *servicetest.Env, d civil.Date) needsv1.NeedsServiceClient {
	t.Helper()
	env.SetNow(paris(d))
	return needsv1.NewNeedsServiceClient(env.ConnAs(t, servicetest.Admin))
}

// entered publishes the entry of a new learner of territory into episode 1
// on the services' day, and waits until needs knows it.
func entered(t *testing.T, env *servicetest.Env, territory string) string {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: 1, EntryDate: civilpb.FromDate(civil.Of(env.Now())), TerritoryCode: territory,
	})
	env.CaughtUp(t)
	return id
}

// completedWith starts, drafts with c and completes an analysis of a new
// learner of territory.
func completedWith(t *testing.T, env *servicetest.Env, client needsv1.NeedsServiceClient, territory string, c *needsv1.AnalysisContent) *needsv1.Analysis {
	t.Helper()
	a := startAnalysis(t, client, entered(t, env, territory))
	draft(t, client, a.GetAnalysisId(), c)
	return complete(t, client, a.GetAnalysisId())
}

// revisedWith revises a, drafts the revision with c and completes it.
func revisedWith(t *testing.T, client needsv1.NeedsServiceClient, a *needsv1.Analysis, c *needsv1.AnalysisContent) *needsv1.Analysis {
	t.Helper()
	v := revise(t, client, a.GetAnalysisId())
	draft(t, client, v.GetAnalysisId(), c)
	return complete(t, client, v.GetAnalysisId())
}

// targeting is content() with other barriers and trades.
func targeting(barriers []needsv1.BarrierKind, trades ...string) *needsv1.AnalysisContent {
	c := content()
	c.Barriers = nil
	for _, k := range barriers {
		c.Barriers = append(c.Barriers, &needsv1.Barrier{Kind: k, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_LOW})
	}
	c.Project.TargetRomeCodes = trades
	return c
}

var (
	health    = needsv1.BarrierKind_BARRIER_KIND_HEALTH
	mobility  = needsv1.BarrierKind_BARRIER_KIND_MOBILITY
	housing   = needsv1.BarrierKind_BARRIER_KIND_HOUSING
	childcare = needsv1.BarrierKind_BARRIER_KIND_CHILDCARE
)

func month(y, m int) *commonv1.Month { return &commonv1.Month{Year: int32(y), Month: int32(m)} }

// summaries reads the summary of from..to as each of principals.
func summaries(t *testing.T, env *servicetest.Env, from, to *commonv1.Month, principals ...auth.Principal) []*needsv1.GetAnalysisSummaryResponse {
	t.Helper()
	var out []*needsv1.GetAnalysisSummaryResponse
	for _, p := range principals {
		resp, err := needsv1.NewNeedsServiceClient(env.ConnAs(t, p)).GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{FromMonth: from, ToMonth: to})
		if err != nil {
			t.Fatalf("summary %s..%s as %s: %v", from, to, p.Subject, err)
		}
		out = append(out, resp)
	}
	return out
}

func sameSummaries(t *testing.T, what string, got, want []*needsv1.GetAnalysisSummaryResponse) {
	t.Helper()
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: summary %d\n%v\nwant\n%v", what, i, got[i], want[i])
		}
	}
}

// frozenEvents reads the SummaryFrozen of each month frozen, by month.
func frozenEvents(t *testing.T, env *servicetest.Env) map[string][]*needsv1.SummaryFrozen {
	t.Helper()
	out := map[string][]*needsv1.SummaryFrozen{}
	for _, ev := range env.Events(t, service.Stream, "avenir.needs.statistics.*.frozen") {
		f, ok := ev.Data.(*needsv1.SummaryFrozen)
		if !ok {
			t.Fatalf("%s holds a %T", ev.Subject, ev.Data)
		}
		m := civilpb.Month(f.GetMonth()).String()
		if ev.Subject != "avenir.needs.statistics."+m+".frozen" {
			t.Fatalf("the freeze of %s on %s", m, ev.Subject)
		}
		out[m] = append(out[m], f)
	}
	return out
}

// freeze runs the freeze as the job does, and waits for the read model.
func freeze(t *testing.T, env *servicetest.Env) {
	t.Helper()
	if err := env.Services[0].(*service.Service).FreezeSummaries(ctx(t)); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	env.CaughtUp(t)
}

// A month is frozen from the first day of the month after next, every month
// from the first with a completed analysis, empty ones included, as the
// summary counts it that day: the summary over the months frozen reads the
// same before and after, for admins and for those who get small counts
// withheld. A frozen month then never changes: a revision completed later
// of an analysis completed in it counts in its own month.
func TestSummaryReadsTheSameBeforeAndAfterItsMonthsFreeze(t *testing.T) {
	t.Parallel()
	env, _ := start(t, servicetest.Options{Now: paris(civil.Date{Year: 2026, Month: time.September, Day: 10})})
	admin := clock(t, env, civil.Date{Year: 2026, Month: time.September, Day: 10})
	freeze(t, env) // nothing completed yet: nothing to freeze
	if got := frozenEvents(t, env); len(got) != 0 {
		t.Fatalf("frozen before any completion: %v", got)
	}
	// September: six in T05 (one revised the same month), one in T09.
	var sept []*needsv1.Analysis
	for i := range 6 {
		c := targeting([]needsv1.BarrierKind{mobility, health}, "G1602")
		if i%2 == 0 {
			c = targeting([]needsv1.BarrierKind{housing}, "G1602", "K2204")
		}
		sept = append(sept, completedWith(t, env, admin, "T05", c))
	}
	revisedWith(t, admin, sept[0], targeting([]needsv1.BarrierKind{childcare}, "A1101"))
	completedWith(t, env, admin, "T09", targeting([]needsv1.BarrierKind{mobility}, "G1602"))
	// October: a September analysis revised. November: nothing. December:
	// one in T05.
	admin = clock(t, env, civil.Date{Year: 2026, Month: time.October, Day: 20})
	revisedWith(t, admin, sept[1], targeting([]needsv1.BarrierKind{mobility}, "G1602"))
	env.CaughtUp(t)
	clock(t, env, civil.Date{Year: 2026, Month: time.October, Day: 31})
	freeze(t, env)
	if got := frozenEvents(t, env); len(got) != 0 {
		t.Fatalf("frozen before the first day of the month after next: %v", got)
	}
	admin = clock(t, env, civil.Date{Year: 2026, Month: time.December, Day: 3})
	completedWith(t, env, admin, "T05", targeting([]needsv1.BarrierKind{mobility}, "K2204"))
	env.CaughtUp(t)

	// 1 January: September, October and November are due, not December.
	clock(t, env, civil.Date{Year: 2027, Month: time.January, Day: 1})
	from, to := month(2026, 9), month(2026, 12)
	as := []auth.Principal{servicetest.Admin, funder, referentT05}
	before := summaries(t, env, from, to, as...)
	freeze(t, env)
	got := frozenEvents(t, env)
	if len(got) != 3 || len(got["2026-09"]) != 1 || len(got["2026-10"]) != 1 || len(got["2026-11"]) != 1 {
		t.Fatalf("frozen: %v, want 2026-09, 2026-10 and 2026-11 once each", got)
	}
	wantOct := &needsv1.SummaryFrozen{
		Month: month(2026, 10), FrozenOn: &commonv1.Date{Year: 2027, Month: 1, Day: 1},
		Territories: []*needsv1.SummaryTally{{
			TerritoryCode: "T05", Revisions: 1,
			Barriers: []*needsv1.BarrierTally{{Kind: mobility, Count: 1}}, Trades: []*needsv1.TradeTally{{RomeCode: "G1602", Count: 1}},
		}},
	}
	if !proto.Equal(got["2026-10"][0], wantOct) {
		t.Fatalf("October frozen as\n%v\nwant\n%v", got["2026-10"][0], wantOct)
	}
	if nov := got["2026-11"][0]; len(nov.GetTerritories()) != 0 {
		t.Fatalf("November, with no completion: %v", nov)
	}
	wantSept := []*needsv1.SummaryTally{
		{
			TerritoryCode: "T05", FirstVersions: 6, Revisions: 1,
			// The first version revised in September no longer counts, the
			// second (revised in October, before the freeze) neither.
			Barriers: []*needsv1.BarrierTally{{Kind: mobility, Count: 2}, {Kind: childcare, Count: 1}, {Kind: housing, Count: 2}, {Kind: health, Count: 2}},
			Trades:   []*needsv1.TradeTally{{RomeCode: "A1101", Count: 1}, {RomeCode: "G1602", Count: 4}, {RomeCode: "K2204", Count: 2}},
		},
		{
			TerritoryCode: "T09", FirstVersions: 1,
			Barriers: []*needsv1.BarrierTally{{Kind: mobility, Count: 1}},
			Trades:   []*needsv1.TradeTally{{RomeCode: "G1602", Count: 1}},
		},
	}
	if sept := got["2026-09"][0].GetTerritories(); len(sept) != len(wantSept) || !proto.Equal(sept[0], wantSept[0]) || !proto.Equal(sept[1], wantSept[1]) {
		t.Fatalf("September frozen as\n%v\nwant\n%v", sept, wantSept)
	}
	sameSummaries(t, "after the freeze", summaries(t, env, from, to, as...), before)

	// A revision in January of a version completed in September counts in
	// January; September stays as frozen.
	admin = clock(t, env, civil.Date{Year: 2027, Month: time.January, Day: 5})
	revisedWith(t, admin, sept[2], targeting([]needsv1.BarrierKind{childcare}, "A1101"))
	env.CaughtUp(t)
	sameSummaries(t, "after a revision of a frozen month's analysis", summaries(t, env, from, to, as...), before)
	jan := summaries(t, env, month(2027, 1), month(2027, 1), servicetest.Admin)[0].GetTotal()
	wantJan := &needsv1.AnalysisSummary{
		Months:   []*needsv1.MonthlyCompletions{{Month: month(2027, 1), FirstVersions: count(0), Revisions: count(1), RevisionsCompleted: 1}},
		Barriers: []*needsv1.BarrierCount{{Kind: childcare, Count: 1}},
		Trades:   []*needsv1.TradeCount{{RomeCode: "A1101", Count: 1}},
	}
	if !proto.Equal(jan, wantJan) {
		t.Fatalf("January\n%v\nwant\n%v", jan, wantJan)
	}
	// Freezing again appends nothing.
	freeze(t, env)
	if again := frozenEvents(t, env); len(again) != 3 {
		t.Fatalf("frozen again: %v", again)
	}
}

// Two replicas freezing at once freeze each month once.
func TestEachMonthIsFrozenOnceWhateverTheRuns(t *testing.T) {
	t.Parallel()
	env, _ := start(t, servicetest.Options{Now: paris(civil.Date{Year: 2026, Month: time.March, Day: 10})})
	admin := clock(t, env, civil.Date{Year: 2026, Month: time.March, Day: 10})
	completedWith(t, env, admin, "T05", content())
	clock(t, env, civil.Date{Year: 2026, Month: time.November, Day: 2}) // March..September due
	env.CaughtUp(t)
	replicas := []*service.Service{env.Services[0].(*service.Service)}
	for range 3 {
		// Replicas share the read-model store and the streams.
		s, err := service.New(env.Deps, service.Config{})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(replicas))
	for range 2 {
		for _, s := range replicas {
			wg.Go(func() { errs <- s.FreezeSummaries(context.Background()) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("freeze: %v", err)
		}
	}
	env.CaughtUp(t)
	got := frozenEvents(t, env)
	for m := 3; m <= 9; m++ {
		if n := len(got[fmt.Sprintf("2026-%02d", m)]); n != 1 {
			t.Errorf("2026-%02d frozen %d times", m, n)
		}
	}
	if len(got) != 7 {
		t.Errorf("months frozen: %d, want 7 (March to September)", len(got))
	}
}

// The service runs the freeze as a job, on the services' clock.
func TestTheJobFreezesTheMonthsDue(t *testing.T) {
	t.Parallel()
	env := servicetest.Start(t, servicetest.Options{Now: paris(civil.Date{Year: 2026, Month: time.March, Day: 10})},
		func(d platform.Deps) (platform.Service, error) {
			return service.New(d, service.Config{FreezeEvery: time.Second})
		})
	admin := clock(t, env, civil.Date{Year: 2026, Month: time.March, Day: 10})
	completedWith(t, env, admin, "T05", content())
	clock(t, env, civil.Date{Year: 2026, Month: time.May, Day: 1})
	servicetest.Eventually(t, 10*time.Second, func() error {
		if got := frozenEvents(t, env); len(got["2026-03"]) != 1 || len(got) != 1 {
			return fmt.Errorf("frozen: %v, want March", got)
		}
		return nil
	})
}
