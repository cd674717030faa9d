package service_test

import (
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// Admins list a territory's analyses by the date they started (or were
// completed), page by page.
func TestListByTerritoryAndPeriod(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	t0 := env.Now()
	at := func(days int) {
		// The clock moves, and tokens are minted on its time.
		env.SetNow(t0.AddDate(0, 0, days))
		admin = needsv1.NewNeedsServiceClient(env.ConnAs(t, servicetest.Admin))
	}
	at(-3)
	oldDone := analysed(t, env, admin, "T05") // started and completed on 23 November
	at(-2)
	draftOnly := startAnalysis(t, admin, inPathway(t, env, "T05")) // started on 24 November
	at(-1)
	lateDone := startAnalysis(t, admin, inPathway(t, env, "T05")) // started on 25 November,
	draft(t, admin, lateDone.GetAnalysisId(), content())
	at(0)
	lateDone = complete(t, admin, lateDone.GetAnalysisId()) // completed on 26 November
	analysed(t, env, admin, "T09")                          // another territory
	env.CaughtUp(t)

	ids := func(req *needsv1.ListAnalysesRequest) []string {
		t.Helper()
		var out []string
		for pages := 0; ; pages++ {
			resp, err := admin.ListAnalyses(ctx(t), req)
			if err != nil || pages > 5 {
				t.Fatalf("list %v: %v", req, err)
			}
			for _, a := range resp.GetAnalyses() {
				out = append(out, a.GetAnalysisId())
			}
			if resp.GetNextPageToken() == "" {
				return out
			}
			req = proto.CloneOf(req)
			req.PageToken = resp.GetNextPageToken()
		}
	}
	territory := func() *needsv1.ListAnalysesRequest {
		return &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1}
	}
	all := ids(territory())
	if want := []string{oldDone.GetAnalysisId(), draftOnly.GetAnalysisId(), lateDone.GetAnalysisId()}; !equal(all, want) {
		t.Fatalf("T05: %v, want %v", all, want)
	}
	started := territory()
	started.From, started.To = civilpb.FromDate(today.AddDays(-2)), civilpb.FromDate(today.AddDays(-1))
	if got, want := ids(started), []string{draftOnly.GetAnalysisId(), lateDone.GetAnalysisId()}; !equal(got, want) {
		t.Fatalf("started 24-25 November: %v, want %v", got, want)
	}
	completed := territory()
	completed.Status, completed.From = needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED, civilpb.FromDate(today)
	if got, want := ids(completed), []string{lateDone.GetAnalysisId()}; !equal(got, want) {
		t.Fatalf("completed on 26 November: %v, want %v", got, want)
	}
	drafts := territory()
	drafts.Status = needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT
	if got, want := ids(drafts), []string{draftOnly.GetAnalysisId()}; !equal(got, want) {
		t.Fatalf("drafts: %v, want %v", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The summary counts completions per month, and the barriers and trades of
// the current versions: a revision replaces the version it revises.
func TestSummaryCountsCompletionsAndCurrentVersions(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	t0 := env.Now()
	env.SetNow(t0.AddDate(0, -1, 0)) // 26 October, with a token of that day
	october := needsv1.NewNeedsServiceClient(env.ConnAs(t, servicetest.Admin))
	first := analysed(t, env, october, "T05")
	analysed(t, env, october, "T05")
	env.SetNow(t0) // 26 November
	v2 := revise(t, admin, first.GetAnalysisId())
	changed := content()
	changed.Barriers = changed.Barriers[:1] // health only
	changed.Project.TargetRomeCodes = []string{"G1602"}
	draft(t, admin, v2.GetAnalysisId(), changed)
	complete(t, admin, v2.GetAnalysisId())
	env.CaughtUp(t)

	resp, err := admin.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{
		FromMonth: &commonv1.Month{Year: 2026, Month: 10}, ToMonth: &commonv1.Month{Year: 2026, Month: 12},
	})
	if err != nil {
		t.Fatal(err)
	}
	oct, nov, dec := &commonv1.Month{Year: 2026, Month: 10}, &commonv1.Month{Year: 2026, Month: 11}, &commonv1.Month{Year: 2026, Month: 12}
	want := &needsv1.AnalysisSummary{
		TerritoryCode: "T05",
		Months: []*needsv1.MonthlyCompletions{
			{Month: oct, FirstVersions: &commonv1.Count{Value: 2}, Revisions: &commonv1.Count{}, Completed: 2},
			{Month: nov, FirstVersions: &commonv1.Count{}, Revisions: &commonv1.Count{Value: 1}, RevisionsCompleted: 1},
			{Month: dec, FirstVersions: &commonv1.Count{}, Revisions: &commonv1.Count{}},
		},
		Barriers: []*needsv1.BarrierCount{
			{Kind: needsv1.BarrierKind_BARRIER_KIND_HEALTH, Count: 2}, {Kind: needsv1.BarrierKind_BARRIER_KIND_MOBILITY, Count: 1},
		},
		Trades: []*needsv1.TradeCount{{RomeCode: "G1602", Count: 2}, {RomeCode: "K2204", Count: 1}},
	}
	if len(resp.GetTerritories()) != 1 || !proto.Equal(resp.GetTerritories()[0], want) {
		t.Fatalf("summary %v\nwant %v", resp.GetTerritories(), want)
	}
	want.TerritoryCode = ""
	if !proto.Equal(resp.GetTotal(), want) {
		t.Fatalf("total %v\nwant %v", resp.GetTotal(), want)
	}
	// A referent reports on its own territories only.
	referent := needsv1.NewNeedsServiceClient(env.ConnAs(t, referentT01))
	mine, err := referent.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{FromMonth: oct, ToMonth: dec})
	if err != nil || len(mine.GetTerritories()) != 1 || mine.GetTerritories()[0].GetTerritoryCode() != "T01" || len(mine.GetTotal().GetBarriers()) != 0 {
		t.Fatalf("referent's summary %v %v", mine, err)
	}
}

// Read models are rebuilt from the streams into a fresh store, the same as
// they were built.
func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, store)
			opts := servicetest.Options{Store: fresh()}
			env, client := start(t, opts)
			a := analysed(t, env, client, "T05")
			v2 := revise(t, client, a.GetAnalysisId())
			complete(t, client, v2.GetAnalysisId())
			env.CaughtUp(t)
			summaryReq := &needsv1.GetAnalysisSummaryRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
			snapshot := func(svc needsv1.NeedsServiceServer) []proto.Message {
				c := auth.NewContext(ctx(t), servicetest.Admin)
				list, err := svc.ListAnalyses(c, &needsv1.ListAnalysesRequest{LearnerId: a.GetLearnerId()})
				if err != nil || len(list.GetAnalyses()) != 2 {
					t.Fatalf("list %v %v", list, err)
				}
				summary, err := svc.GetAnalysisSummary(c, summaryReq)
				if err != nil {
					t.Fatal(err)
				}
				return []proto.Message{list, summary}
			}
			before := snapshot(env.Services[0].(*service.Service))

			deps := env.Deps
			deps.Projections = fresh()
			svc := env.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			after := snapshot(svc)
			for i := range before {
				if !proto.Equal(before[i], after[i]) {
					t.Fatalf("rebuilt read model differs:\nbefore %v\nafter  %v", before[i], after[i])
				}
			}
		})
	}
}
