package service_test

import (
	"strconv"
	"strings"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestAnalysisIsStartedDraftedCompletedAndRevised(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	learner := inPathway(t, env, "T05")

	// Start: an empty draft of episode 1.
	startReq := &needsv1.StartAnalysisRequest{RequestId: "start-1", LearnerId: learner}
	resp, err := client.StartAnalysis(ctx(t), startReq)
	if err != nil {
		t.Fatal(err)
	}
	a := resp.GetAnalysis()
	id := a.GetAnalysisId()
	if a.GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT || a.GetVersion() != 1 || a.GetEpisodeNumber() != 1 ||
		a.GetLearnerId() != learner || a.GetTerritoryCode() != "T05" || len(a.GetContent().GetSkills()) != 7 || a.GetCurrent() {
		t.Fatalf("started %v", a)
	}
	evs := analysisEvents(t, env, id)
	want := &needsv1.AnalysisStarted{AnalysisId: id, LearnerId: learner, TerritoryCode: "T05", EpisodeNumber: 1, Version: 1, StartedOn: civilpb.FromDate(today)}
	if len(evs) != 1 || !proto.Equal(evs[0].Data, want) || evs[0].Subject != "avenir.needs.analysis."+id+".started" ||
		evs[0].Source != "needs" || evs[0].AggregateID != id || evs[0].Actor != "admin:test-admin" {
		t.Fatalf("events %v", evs)
	}
	// A retry answers the same and records nothing.
	again, err := client.StartAnalysis(ctx(t), startReq)
	if err != nil || !proto.Equal(again.GetAnalysis(), a) {
		t.Fatalf("retried start: %v %v", again, err)
	}
	// Another start for the episode names the analysis it has.
	_, err = client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: "start-2", LearnerId: learner})
	servicetest.Refused(t, err, codes.AlreadyExists)
	if grpcx.Metadata(err)["analysis_id"] != id {
		t.Fatalf("metadata %v", grpcx.Metadata(err))
	}
	nothingAppended(t, env, 1)

	// Drafts, any number; the content is normalised.
	draft(t, client, id, &needsv1.AnalysisContent{Project: &needsv1.ProfessionalProject{Maturity: needsv1.ProjectMaturity_PROJECT_MATURITY_NONE}})
	d := draft(t, client, id, content())
	if got := d.GetContent().GetExperiences()[0].GetRomeCode(); got != "G1602" || len(d.GetContent().GetSkills()) != 7 ||
		d.GetContent().GetSkills()[2].GetLevel() != needsv1.SkillLevel_SKILL_LEVEL_TO_ACQUIRE || !hasHealth(d) {
		t.Fatalf("drafted %v", d)
	}
	evs = analysisEvents(t, env, id)
	drafted, ok := evs[len(evs)-1].Data.(*needsv1.AnalysisDrafted)
	if len(evs) != 3 || !ok || !proto.Equal(drafted.GetContent(), d.GetContent()) || drafted.GetLearnerId() != learner ||
		drafted.GetTerritoryCode() != "T05" || evs[2].Subject != "avenir.needs.analysis."+id+".drafted" {
		t.Fatalf("events %v", evs)
	}
	// The same content again records nothing.
	draft(t, client, id, content())
	nothingAppended(t, env, 3)

	// Complete: immutable, current; the event carries the steps and the
	// date, and no special-category data.
	done := complete(t, client, id)
	if done.GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED || !proto.Equal(done.GetCompletedOn(), civilpb.FromDate(today)) || !done.GetCurrent() {
		t.Fatalf("completed %v", done)
	}
	evs = analysisEvents(t, env, id)
	wantDone := &needsv1.AnalysisCompleted{
		AnalysisId: id, LearnerId: learner, TerritoryCode: "T05", EpisodeNumber: 1, Version: 1,
		CompletedOn: civilpb.FromDate(today), RecommendedSteps: steps(),
	}
	if len(evs) != 4 || !proto.Equal(evs[3].Data, wantDone) || evs[3].Subject != "avenir.needs.analysis."+id+".completed" {
		t.Fatalf("completion event %v", evs[3].Data)
	}
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "late", AnalysisId: id, Content: content()})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	_, err = client.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: "twice", AnalysisId: id})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, 4)

	// Read back from the read model: the analysis the command answered.
	env.CaughtUp(t)
	current, err := client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{LearnerId: learner})
	if err != nil || !proto.Equal(current.GetAnalysis(), done) {
		t.Fatalf("current %v %v, want %v", current.GetAnalysis(), err, done)
	}

	// Revise: a new version, referencing the previous one, from its content.
	v2 := revise(t, client, id)
	if v2.GetVersion() != 2 || v2.GetPreviousAnalysisId() != id || v2.GetAnalysisId() == id ||
		v2.GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT || !proto.Equal(v2.GetContent(), done.GetContent()) {
		t.Fatalf("revision %v", v2)
	}
	evs = analysisEvents(t, env, v2.GetAnalysisId())
	rev, ok := evs[0].Data.(*needsv1.AnalysisRevised)
	if len(evs) != 1 || !ok || rev.GetPreviousAnalysisId() != id || rev.GetVersion() != 2 || rev.GetLearnerId() != learner ||
		evs[0].Subject != "avenir.needs.analysis."+v2.GetAnalysisId()+".revised" {
		t.Fatalf("revision events %v", evs)
	}
	// A version is revised once.
	_, err = client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: "fork", AnalysisId: id})
	servicetest.Refused(t, err, codes.AlreadyExists)
	if grpcx.Metadata(err)["analysis_id"] != v2.GetAnalysisId() {
		t.Fatalf("metadata %v", grpcx.Metadata(err))
	}
	// A draft is not revised.
	_, err = client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: "draft", AnalysisId: v2.GetAnalysisId()})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, 5)

	// Version 1 stays current until version 2 is completed.
	changed := content()
	changed.Barriers = changed.Barriers[1:]
	draft(t, client, v2.GetAnalysisId(), changed)
	env.CaughtUp(t)
	list, err := client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: learner})
	if err != nil || len(list.GetAnalyses()) != 2 || !list.GetAnalyses()[0].GetCurrent() || list.GetAnalyses()[1].GetCurrent() ||
		list.GetAnalyses()[0].GetRevisedByAnalysisId() != v2.GetAnalysisId() {
		t.Fatalf("list %v %v", list, err)
	}
	complete(t, client, v2.GetAnalysisId())
	env.CaughtUp(t)
	list, err = client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: learner})
	if err != nil || list.GetAnalyses()[0].GetCurrent() || !list.GetAnalyses()[1].GetCurrent() {
		t.Fatalf("list %v %v", list, err)
	}
	got, err := client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{LearnerId: learner})
	if err != nil || got.GetAnalysis().GetAnalysisId() != v2.GetAnalysisId() {
		t.Fatalf("current %v %v", got, err)
	}
}

// A learner has an analysis per episode: after a re-entry, a new one, and
// the analysis of a closed episode changes no more.
func TestAnalysesFollowTheEpisodes(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	learner := inPathway(t, env, "T05")
	first := startAnalysis(t, client, learner)
	leave(t, env, learner, "T05", 1)
	n := allEvents(t, env)

	_, err := client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "closed", AnalysisId: first.GetAnalysisId(), Content: content()})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	_, err = client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: "out", LearnerId: learner})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, n)

	reenter(t, env, learner, "T05", 2)
	second := startAnalysis(t, client, learner)
	if second.GetEpisodeNumber() != 2 || second.GetVersion() != 1 || second.GetAnalysisId() == first.GetAnalysisId() {
		t.Fatalf("second episode's analysis %v", second)
	}
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "episode-1", AnalysisId: first.GetAnalysisId(), Content: content()})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	draft(t, client, second.GetAnalysisId(), content())
	complete(t, client, second.GetAnalysisId())
}

// Every rule: a clear error, and nothing appended.
func TestRefusalsAppendNothing(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	learner := inPathway(t, env, "T05")
	a := startAnalysis(t, client, learner)
	id := a.GetAnalysisId()

	_, err := client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: "r", LearnerId: event.NewID()})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	_, err = client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{LearnerId: "nope"})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "learner_id")

	// Every problem of a draft at once, ids and content.
	bad := content()
	bad.Skills[0].Level = needsv1.SkillLevel(9)
	bad.Diplomas[0].Level = 9
	bad.Experiences[0].RomeCode = "G16O2"
	bad.Project.TargetRomeCodes = []string{"cook"}
	bad.RecommendedSteps = append(bad.RecommendedSteps, &needsv1.RecommendedStep{})
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{AnalysisId: "x", Content: bad})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "analysis_id",
		"content.skills[0].level", "content.diplomas[0].level", "content.experiences[0].rome_code",
		"content.project.target_rome_codes[0]", "content.recommended_steps[3]")
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "bad", AnalysisId: id, Content: bad})
	servicetest.Refused(t, err, codes.InvalidArgument,
		"content.skills[0].level", "content.diplomas[0].level", "content.experiences[0].rome_code",
		"content.project.target_rome_codes[0]", "content.recommended_steps[3]")
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "empty", AnalysisId: id})
	servicetest.Refused(t, err, codes.InvalidArgument, "content")
	_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "unknown", AnalysisId: event.NewID(), Content: content()})
	servicetest.Refused(t, err, codes.NotFound)

	// Completing without steps (nor maturity).
	noSteps := content()
	noSteps.RecommendedSteps = nil
	noSteps.Project.Maturity = needsv1.ProjectMaturity_PROJECT_MATURITY_UNSPECIFIED
	draft(t, client, id, noSteps)
	_, err = client.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: "no-steps", AnalysisId: id})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	for _, want := range []string{"recommended_steps", "maturity"} {
		if msg := err.Error(); !strings.Contains(msg, want) {
			t.Fatalf("%q does not name %s", msg, want)
		}
	}
	_, err = client.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: "unknown", AnalysisId: event.NewID()})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: "unknown", AnalysisId: event.NewID()})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: "draft", AnalysisId: id})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, 2)

	// Reads: bad input and unknown ids.
	_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{})
	servicetest.Refused(t, err, codes.InvalidArgument, "analysis_id")
	_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: id, LearnerId: learner})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id")
	_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: event.NewID()})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{LearnerId: learner})
	servicetest.Refused(t, err, codes.NotFound) // nothing completed yet
	_, err = client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id")
	_, err = client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: "T05", From: civilpb.FromDate(today), To: civilpb.FromDate(today.AddDays(-1)), PageSize: -1})
	servicetest.Refused(t, err, codes.InvalidArgument, "to", "page_size")
	_, err = client.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 13}})
	servicetest.Refused(t, err, codes.InvalidArgument, "from_month", "to_month")
	// Territory codes are T and two digits.
	for _, code := range []string{"T5", "t05", "T005", "ABC123", "T05/"} {
		_, err = client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: code})
		servicetest.Refused(t, err, codes.InvalidArgument, "territory_code")
		_, err = client.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{
			FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}, TerritoryCode: code,
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "territory_code")
	}
}

// Free texts refuse what would make them display otherwise than they read
// (bidirectional overrides and isolates, control characters), naming the
// field, and nothing is appended; a step's description may span lines.
func TestFreeTextsRefuseBidiAndControlCharacters(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := startAnalysis(t, client, inPathway(t, env, "T05")).GetAnalysisId()
	n := allEvents(t, env)

	other := func(description string) *needsv1.RecommendedStep {
		return &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_Other{Other: &needsv1.OtherStep{Description: description}}}
	}
	for i, tc := range []struct {
		name, field string
		edit        func(*needsv1.AnalysisContent)
	}{
		{"a right-to-left override in a diploma title", "content.diplomas[0].title", func(c *needsv1.AnalysisContent) { c.Diplomas[0].Title = "CAP \u202eeniusiC" }},
		{"a control character in a diploma title", "content.diplomas[0].title", func(c *needsv1.AnalysisContent) { c.Diplomas[0].Title = "CAP\x07Cuisine" }},
		{"an escape sequence in a role", "content.experiences[0].role", func(c *needsv1.AnalysisContent) { c.Experiences[0].Role = "Commis \x1b[31mde cuisine" }},
		{"a line break in a role", "content.experiences[0].role", func(c *needsv1.AnalysisContent) { c.Experiences[0].Role = "Commis\nde cuisine" }},
		{"an isolate in a step's description", "content.recommended_steps[3].other.description", func(c *needsv1.AnalysisContent) {
			c.RecommendedSteps = append(c.RecommendedSteps, other("Permis \u2066B\u2069"))
		}},
		{"a control character in a step's description", "content.recommended_steps[3].other.description", func(c *needsv1.AnalysisContent) {
			c.RecommendedSteps = append(c.RecommendedSteps, other("Permis\x00B"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := content()
			tc.edit(c)
			_, err := client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: "text-" + strconv.Itoa(i), AnalysisId: id, Content: c})
			servicetest.Refused(t, err, codes.InvalidArgument, tc.field)
		})
	}
	nothingAppended(t, env, n)

	c := content()
	c.RecommendedSteps = append(c.RecommendedSteps, other("Code de la route,\n\tpuis conduite accompagnée"))
	d := draft(t, client, id, c)
	if got := d.GetContent().GetRecommendedSteps()[3].GetOther().GetDescription(); got != "Code de la route,\n\tpuis conduite accompagnée" {
		t.Fatalf("description %q", got)
	}
}
