package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// publishNeeds appends an analysis's events to NEEDS, as needs would:
// subjects avenir.needs.analysis.<analysis id>.<event>, the learner in the
// payload only.
func publishNeeds(t *testing.T, env *servicetest.Env, analysisID string, evs map[string]proto.Message, order ...string) {
	t.Helper()
	for _, name := range order {
		env.Publish(t, "avenir.needs.analysis."+analysisID+"."+name, evs[name])
	}
}

// analyse publishes the start, a draft (with a health barrier and a
// free-text step) and the completion of an analysis of the learner's
// episode.
func analyse(t *testing.T, env *servicetest.Env, learnerID string, episode int32) {
	t.Helper()
	id := event.NewID()
	steps := []*needsv1.RecommendedStep{
		{Step: &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: 3}}},
		{Step: &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: []string{"K2204", "H2909"}}}},
		{Step: &needsv1.RecommendedStep_Other{Other: &needsv1.OtherStep{Description: "secret: see the psychologist"}}},
	}
	publishNeeds(t, env, id, map[string]proto.Message{
		"started": &needsv1.AnalysisStarted{AnalysisId: id, LearnerId: learnerID, TerritoryCode: "T16", EpisodeNumber: episode, Version: 1, StartedOn: today},
		"drafted": &needsv1.AnalysisDrafted{AnalysisId: id, LearnerId: learnerID, TerritoryCode: "T16", Version: 1, DraftedOn: today, Content: &needsv1.AnalysisContent{
			Barriers:         []*needsv1.Barrier{{Kind: needsv1.BarrierKind_BARRIER_KIND_HEALTH, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_HIGH}},
			RecommendedSteps: steps,
		}},
		"completed": &needsv1.AnalysisCompleted{
			AnalysisId: id, LearnerId: learnerID, TerritoryCode: "T16", EpisodeNumber: episode, Version: 1,
			CompletedOn: today, RecommendedSteps: steps,
		},
	}, "started", "drafted", "completed")
}

// phaseIs checks the phase the pathways read model shows, once the
// services handled every fact published so far.
func phaseIs(t *testing.T, env *servicetest.Env, client pathwayv1.PathwayServiceClient, learnerID string, want pathwayv1.PathwayPhase) {
	t.Helper()
	env.CaughtUp(t)
	got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: learnerID})
	if err != nil {
		t.Fatalf("pathway of %s: %v", learnerID, err)
	}
	if got.GetPathway().GetPhase() != want {
		t.Fatalf("phase %v, want %v", got.GetPathway().GetPhase(), want)
	}
}

func listed(t *testing.T, client pathwayv1.PathwayServiceClient, phase pathwayv1.PathwayPhase) []string {
	t.Helper()
	resp, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{Phase: phase})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range resp.GetPathways() {
		if p.GetPhase() != phase {
			t.Fatalf("listed as %v: %v", phase, p)
		}
		ids = append(ids, p.GetLearnerId())
	}
	return ids
}

// A completed needs analysis, as the needs service publishes it, moves the
// pathway to "needs analysed" and shows in the timeline; the next steps
// outrank it, and a new episode starts over.
func TestCompletedAnalysisMovesThePhaseToNeedsAnalysed(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	other := registered(t, env, "T16")
	enter(t, client, id, nov2)
	enter(t, client, other, nov2)
	phaseIs(t, env, client, id, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED)

	analyse(t, env, id, 1)
	phaseIs(t, env, client, id, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED)
	if got := listed(t, client, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED); !slices.Equal(got, []string{id}) {
		t.Fatalf("needs analysed: %v", got)
	}
	if got := listed(t, client, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED); !slices.Equal(got, []string{other}) {
		t.Fatalf("welcomed: %v", got)
	}

	// The timeline shows the analysis, without its content: no barrier,
	// no free text, no recommended step (sealed with the learner's key).
	resp, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	var needs []string
	for _, e := range resp.GetEntries() {
		if e.GetSource() == "needs" {
			needs = append(needs, e.GetSummary())
		}
		if s := strings.ToLower(e.GetSummary()); strings.Contains(s, "health") || strings.Contains(s, "secret") || strings.Contains(s, "psycholog") {
			t.Errorf("timeline leaks special-category data: %q", e.GetSummary())
		}
	}
	want := []string{
		"Needs analysis started on 2026-11-26 (episode 1)",
		"Needs analysis drafted on 2026-11-26 (version 1)",
		"Needs analysis completed on 2026-11-26 (version 1)",
	}
	if !slices.Equal(needs, want) {
		t.Fatalf("needs entries %q\nwant %q", needs, want)
	}
	// The other learner's timeline holds none of it.
	theirs, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: other})
	if err != nil || len(theirs.GetEntries()) != 2 {
		t.Fatalf("other timeline %v %v", theirs, err)
	}

	// A referral is a further step; a new episode starts over.
	p := refer(t, client, id, pathwayv1.Programme_PROGRAMME_SAVOIRS, today)
	if p.GetNumber() != 1 {
		t.Fatalf("referral %v", p)
	}
	phaseIs(t, env, client, id, pathwayv1.PathwayPhase_PATHWAY_PHASE_BUILDING_PROJECT)
	if _, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
		RequestId: event.NewID(), LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION,
		PendingReferrals: pathwayv1.PendingReferrals_PENDING_REFERRALS_CARRY_OVER,
	}); err != nil {
		t.Fatal(err)
	}
	phaseIs(t, env, client, id, pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED)
	env.SetNow(env.Now().Add(24 * time.Hour))
	client = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin))
	if p := enter(t, client, id, date(2026, 11, 27)); p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED {
		t.Fatalf("re-entered: %v", p)
	}
	analyse(t, env, id, 2)
	phaseIs(t, env, client, id, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED)

	// Every change of phase is on the stream, for the services that show
	// it (the referent's caseload); a second analysis of the same episode
	// changes nothing.
	analyse(t, env, id, 2)
	env.CaughtUp(t)
	want = nil
	got := phaseChanges(t, env, id)
	for _, ph := range []pathwayv1.PathwayPhase{
		pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED,
		pathwayv1.PathwayPhase_PATHWAY_PHASE_BUILDING_PROJECT, pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED,
		pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED,
	} {
		want = append(want, ph.String())
	}
	var gotNames []string
	for _, ph := range got {
		gotNames = append(gotNames, ph.String())
	}
	if !slices.Equal(gotNames, want) {
		t.Fatalf("phase changes %v\nwant %v", gotNames, want)
	}
	notes := 0
	for _, ev := range pathwayEvents(t, env, id) {
		if _, ok := ev.Data.(*pathwayv1.NeedsAnalysisNoted); ok {
			notes++
		}
	}
	if notes != 2 {
		t.Fatalf("%d analyses noted, want one per episode", notes)
	}
}
