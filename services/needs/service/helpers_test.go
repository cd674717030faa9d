package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/needs/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The services' clock is servicetest's default: 2026-11-26, 10:00 in Paris.
var today = civil.Date{Year: 2026, Month: time.November, Day: 26}

func start(t *testing.T, opts servicetest.Options) (*servicetest.Env, needsv1.NeedsServiceClient) {
	t.Helper()
	env := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	return env, needsv1.NewNeedsServiceClient(env.Conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// inPathway publishes pathway's PathwayEntered for a new learner of
// territory and waits until needs knows it.
func inPathway(t *testing.T, env *servicetest.Env, territory string) string {
	t.Helper()
	id := event.NewID()
	reenter(t, env, id, territory, 1)
	return id
}

// reenter publishes the entry into episode n, as pathway would, and waits
// until needs knows it.
func reenter(t *testing.T, env *servicetest.Env, id, territory string, n int32) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: n, EntryDate: civilpb.FromDate(today.AddDays(-10)), TerritoryCode: territory,
	})
	env.CaughtUp(t)
}

// leave publishes the exit from episode n, as pathway would, and waits
// until needs knows it.
func leave(t *testing.T, env *servicetest.Env, id, territory string, n int32) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: n, EntryDate: civilpb.FromDate(today.AddDays(-10)), ExitDate: civilpb.FromDate(today),
		Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION, TerritoryCode: territory,
	})
	env.CaughtUp(t)
}

// content is a complete analysis's content, health barrier included.
func content() *needsv1.AnalysisContent {
	return &needsv1.AnalysisContent{
		Skills: []*needsv1.SkillAssessment{
			{Domain: needsv1.SkillDomain_SKILL_DOMAIN_DIGITAL, Level: needsv1.SkillLevel_SKILL_LEVEL_TO_ACQUIRE},
			{Domain: needsv1.SkillDomain_SKILL_DOMAIN_FRENCH_COMMUNICATION, Level: needsv1.SkillLevel_SKILL_LEVEL_ACQUIRED},
		},
		Diplomas:    []*needsv1.Diploma{{Title: "CAP Cuisine", Level: 3, Year: 2019}},
		Experiences: []*needsv1.Experience{{Kind: needsv1.ExperienceKind_EXPERIENCE_KIND_WORK, Role: "Commis de cuisine", RomeCode: "g1602", DurationMonths: 14}},
		Barriers: []*needsv1.Barrier{
			{Kind: needsv1.BarrierKind_BARRIER_KIND_HEALTH, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_MODERATE, SupportArranged: true},
			{Kind: needsv1.BarrierKind_BARRIER_KIND_MOBILITY, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_HIGH},
		},
		Project: &needsv1.ProfessionalProject{
			TargetRomeCodes: []string{"G1602", "K2204"}, Maturity: needsv1.ProjectMaturity_PROJECT_MATURITY_TO_CONFIRM,
			Constraints: &needsv1.ProjectConstraints{MaxWeeklyHours: 30, MaxTravelKm: 25},
		},
		RecommendedSteps: steps(),
	}
}

func steps() []*needsv1.RecommendedStep {
	return []*needsv1.RecommendedStep{
		{Step: &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: 3}}},
		{Step: &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: []string{"G1602"}}}},
		{Step: &needsv1.RecommendedStep_BasicSkillsTraining{BasicSkillsTraining: &needsv1.BasicSkillsTraining{}}},
	}
}

func startAnalysis(t *testing.T, client needsv1.NeedsServiceClient, learnerID string) *needsv1.Analysis {
	t.Helper()
	resp, err := client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: event.NewID(), LearnerId: learnerID})
	if err != nil {
		t.Fatalf("start analysis of %s: %v", learnerID, err)
	}
	return resp.GetAnalysis()
}

func draft(t *testing.T, client needsv1.NeedsServiceClient, id string, c *needsv1.AnalysisContent) *needsv1.Analysis {
	t.Helper()
	resp, err := client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: event.NewID(), AnalysisId: id, Content: c})
	if err != nil {
		t.Fatalf("draft %s: %v", id, err)
	}
	return resp.GetAnalysis()
}

func complete(t *testing.T, client needsv1.NeedsServiceClient, id string) *needsv1.Analysis {
	t.Helper()
	resp, err := client.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: event.NewID(), AnalysisId: id})
	if err != nil {
		t.Fatalf("complete %s: %v", id, err)
	}
	return resp.GetAnalysis()
}

func revise(t *testing.T, client needsv1.NeedsServiceClient, id string) *needsv1.Analysis {
	t.Helper()
	resp, err := client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: event.NewID(), AnalysisId: id})
	if err != nil {
		t.Fatalf("revise %s: %v", id, err)
	}
	return resp.GetAnalysis()
}

// analysed starts, drafts and completes an analysis of a new learner of
// territory, as an admin.
func analysed(t *testing.T, env *servicetest.Env, client needsv1.NeedsServiceClient, territory string) *needsv1.Analysis {
	t.Helper()
	a := startAnalysis(t, client, inPathway(t, env, territory))
	draft(t, client, a.GetAnalysisId(), content())
	return complete(t, client, a.GetAnalysisId())
}

// analysisEvents are the events of one analysis.
func analysisEvents(t *testing.T, env *servicetest.Env, id string) []event.Event {
	t.Helper()
	return env.Events(t, service.Stream, "avenir.needs.analysis."+id+".>")
}

// allEvents counts every needs event.
func allEvents(t *testing.T, env *servicetest.Env) int {
	t.Helper()
	return len(env.Events(t, service.Stream, "avenir.needs.>"))
}

// nothingAppended checks that the NEEDS stream still holds n events.
func nothingAppended(t *testing.T, env *servicetest.Env, n int) {
	t.Helper()
	if got := allEvents(t, env); got != n {
		t.Fatalf("%d events in NEEDS, want %d: a refused command appended", got, n)
	}
}

func hasHealth(a *needsv1.Analysis) bool {
	return slices.ContainsFunc(a.GetContent().GetBarriers(), func(b *needsv1.Barrier) bool {
		return b.GetKind() == needsv1.BarrierKind_BARRIER_KIND_HEALTH
	})
}
