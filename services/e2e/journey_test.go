package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// journey registers a learner, enters the pathway, analyses the learner's
// needs (start, draft, complete) and waits until the pathway's read model
// shows the learner's needs analysed. It returns the learner and the pathway.
func journey(t *testing.T, conn *grpc.ClientConn, requestID string) (*intakev1.Learner, *pathwayv1.Pathway) {
	t.Helper()
	return crossJourney(t, conn, conn, conn, requestID)
}

// crossJourney is journey with intake, pathway and needs served by
// different processes.
func crossJourney(t *testing.T, intakeConn, pathwayConn, needsConn *grpc.ClientConn, requestID string) (*intakev1.Learner, *pathwayv1.Pathway) {
	t.Helper()
	reg, err := intakev1.NewIntakeServiceClient(intakeConn).RegisterLearner(callCtx(t), &intakev1.RegisterLearnerRequest{
		RequestId: requestID, FamilyName: "Durand", GivenName: "Théo",
		BirthDate: &commonv1.Date{Year: 2004, Month: 2, Day: 29}, TerritoryCode: "T13",
		Contact: &intakev1.Contact{Phone: "06 12 34 56 78", CommuneCode: "61001"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		},
	})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	id := reg.GetLearner().GetLearnerId()
	pw := pathwayv1.NewPathwayServiceClient(pathwayConn)
	var entered *pathwayv1.Pathway
	// Registration reaches pathway asynchronously: FailedPrecondition until then.
	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := pw.EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{
			RequestId: requestID + "-enter", LearnerId: id, EntryDate: civilpb.FromDate(civil.Of(time.Now())),
		})
		if status.Code(err) == codes.FailedPrecondition {
			return err
		}
		if err != nil {
			t.Fatalf("enter: %v", err)
		}
		entered = resp.GetPathway()
		return nil
	})
	analyse(t, needsConn, id, requestID)
	// Pathway notes the analysis into the episode, with the phase change it
	// causes: two events.
	want := proto.CloneOf(entered)
	want.Phase = pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED
	want.Episodes[0].NeedsAnalysed = true
	want.Version = entered.GetVersion() + 2
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if !proto.Equal(got.GetPathway(), want) {
			return fmt.Errorf("read model %v, want %v", got.GetPathway(), want)
		}
		return nil
	})
	// The timeline shows the analysis, from the NEEDS stream, once its read
	// model has caught up with that stream.
	servicetest.Eventually(t, 10*time.Second, func() error {
		timeline, err := pw.GetTimeline(callCtx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
		if err != nil {
			t.Fatalf("timeline: %v", err)
		}
		// Where the referent service runs, its assignment (or the wait for
		// one) follows the entry; the rest is the same everywhere.
		var sources, others []string
		for _, e := range timeline.GetEntries() {
			entry := e.GetSource() + ": " + e.GetSummary()
			sources = append(sources, entry)
			if e.GetSource() != "referent" {
				others = append(others, entry)
				continue
			}
			if len(others) < 2 || !strings.HasPrefix(others[1], "pathway: Entered the pathway") {
				return fmt.Errorf("referent entry before the entry into the pathway: %q", sources)
			}
		}
		if len(others) != 5 || !strings.HasPrefix(others[4], "needs: Needs analysis completed on ") ||
			!strings.HasSuffix(others[4], "(version 1)") {
			return fmt.Errorf("timeline %q", sources)
		}
		return nil
	})
	return reg.GetLearner(), want
}

// analyse starts, drafts and completes the needs analysis of a learner who
// just entered the pathway.
func analyse(t *testing.T, conn *grpc.ClientConn, learnerID, requestID string) *needsv1.Analysis {
	t.Helper()
	nd := needsv1.NewNeedsServiceClient(conn)
	var started *needsv1.Analysis
	// The entry reaches needs asynchronously: FailedPrecondition until then.
	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := nd.StartAnalysis(callCtx(t), &needsv1.StartAnalysisRequest{RequestId: requestID + "-start", LearnerId: learnerID})
		if status.Code(err) == codes.FailedPrecondition {
			return err
		}
		if err != nil {
			t.Fatalf("start analysis: %v", err)
		}
		started = resp.GetAnalysis()
		return nil
	})
	_, err := nd.DraftAnalysis(callCtx(t), &needsv1.DraftAnalysisRequest{
		RequestId: requestID + "-draft", AnalysisId: started.GetAnalysisId(), Content: &needsv1.AnalysisContent{
			Barriers: []*needsv1.Barrier{{Kind: needsv1.BarrierKind_BARRIER_KIND_HEALTH, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_LOW}},
			Project:  &needsv1.ProfessionalProject{TargetRomeCodes: []string{"K2204"}, Maturity: needsv1.ProjectMaturity_PROJECT_MATURITY_EMERGING},
			RecommendedSteps: []*needsv1.RecommendedStep{
				{Step: &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: 2}}},
				{Step: &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: []string{"K2204"}}}},
			},
		},
	})
	if err != nil {
		t.Fatalf("draft analysis: %v", err)
	}
	done, err := nd.CompleteAnalysis(callCtx(t), &needsv1.CompleteAnalysisRequest{RequestId: requestID + "-complete", AnalysisId: started.GetAnalysisId()})
	if err != nil {
		t.Fatalf("complete analysis: %v", err)
	}
	return done.GetAnalysis()
}

// assertKept checks that a restarted server still knows everything.
func assertKept(t *testing.T, conn *grpc.ClientConn, learner *intakev1.Learner, pathway *pathwayv1.Pathway, requestID string) {
	t.Helper()
	got, err := pathwayv1.NewPathwayServiceClient(conn).GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: learner.GetLearnerId()})
	if err != nil {
		t.Fatalf("pathway after restart: %v", err)
	}
	if !proto.Equal(got.GetPathway(), pathway) {
		t.Fatalf("pathway after restart %v, want %v", got.GetPathway(), pathway)
	}
	l, err := intakev1.NewIntakeServiceClient(conn).GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: learner.GetLearnerId()})
	if err != nil || !proto.Equal(l.GetLearner(), learner) {
		t.Fatalf("learner after restart %v (%v), want %v", l.GetLearner(), err, learner)
	}
	// The retried registration is still recognised: same learner, nothing new.
	again, err := intakev1.NewIntakeServiceClient(conn).RegisterLearner(callCtx(t), &intakev1.RegisterLearnerRequest{
		RequestId: requestID, FamilyName: "Durand", GivenName: "Théo",
		BirthDate: &commonv1.Date{Year: 2004, Month: 2, Day: 29}, TerritoryCode: "T13",
		Contact: &intakev1.Contact{Phone: "06 12 34 56 78", CommuneCode: "61001"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		},
	})
	if err != nil || again.GetLearner().GetLearnerId() != learner.GetLearnerId() {
		t.Fatalf("retried registration after restart: %v %v", again.GetLearner(), err)
	}
	// The analysis survived, and is still the learner's current one.
	servicetest.Eventually(t, 10*time.Second, func() error {
		a, err := needsv1.NewNeedsServiceClient(conn).GetAnalysis(callCtx(t), &needsv1.GetAnalysisRequest{LearnerId: learner.GetLearnerId()})
		if err != nil {
			return err
		}
		if a.GetAnalysis().GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED || !a.GetAnalysis().GetCurrent() {
			return fmt.Errorf("analysis after restart %v", a.GetAnalysis())
		}
		return nil
	})
	// The open episode survived: a second entry is refused.
	_, err = pathwayv1.NewPathwayServiceClient(conn).EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{
		RequestId: requestID + "-again", LearnerId: learner.GetLearnerId(), EntryDate: civilpb.FromDate(civil.Of(time.Now())),
	})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second entry after restart: %v", err)
	}
}

func TestBinarySurvivesSIGKILL(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServer(t, dataDir)
	learner, pathway := journey(t, dialAs(t, p.GRPC, dataDir, referent), "binary-journey")

	p.kill(t)
	p2 := startServer(t, dataDir)
	assertKept(t, dialAs(t, p2.GRPC, dataDir, referent), learner, pathway, "binary-journey")
	p2.stop(t)
}

func TestCLIJourney(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServer(t, dataDir)
	var token string
	run := func(args ...string) (string, error) {
		cmd := exec.Command(binary, append(args, "--addr", p.GRPC)...)
		cmd.Env = append(cmd.Environ(), "AVENIR_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Without a token: refused, saying why.
	out, err := run("learners", "get", "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89")
	if err == nil || !strings.Contains(out, "Unauthenticated") || !strings.Contains(out, "missing bearer token") {
		t.Fatalf("no token: %v\n%s", err, out)
	}
	tok, err := exec.Command(binary, "auth", "token", "--data-dir", dataDir, "--role", "referent",
		"--referent-id", "ref-05", "--territory", "T05", "--coordinator", "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("auth token: %v", err)
	}
	token = strings.TrimSpace(string(tok))

	out, err = run("learners", "register", "--family-name", "Martin", "--given-name", "Léa",
		"--birth-date", "2001-05-14", "--territory", "T05", "--commune", "27229", "--email", "lea.martin@example.fr",
		"--education-level", "4", "--education-justification", "Bac obtenu en 2019, décrochage depuis",
		"--referral-source", "mission-locale", "--output", "json")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	var learner struct {
		LearnerID string `json:"learner_id"`
		Territory string `json:"territory_code"`
	}
	if err := json.Unmarshal([]byte(out), &learner); err != nil || learner.LearnerID == "" || learner.Territory != "T05" {
		t.Fatalf("register output %q: %v", out, err)
	}
	entry := civil.Of(time.Now()).String()
	servicetest.Eventually(t, 10*time.Second, func() error {
		out, err := run("pathways", "enter", learner.LearnerID, "--entry-date", entry)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	out, err = run("pathways", "get", learner.LearnerID)
	if err != nil || !strings.Contains(out, "ACTIVE") || !strings.Contains(out, "#1 entered "+entry) {
		t.Fatalf("pathways get: %v\n%s", err, out)
	}

	// The needs analysis, from the README's example file.
	var analysis struct {
		AnalysisID string `json:"analysis_id"`
	}
	servicetest.Eventually(t, 10*time.Second, func() error {
		out, err := run("analyses", "start", learner.LearnerID, "-o", "json")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return json.Unmarshal([]byte(out), &analysis)
	})
	example := filepath.Join("..", "..", "docs", "examples", "analysis.yaml")
	if out, err := run("analyses", "draft", analysis.AnalysisID, "--file", example); err != nil || !strings.Contains(out, "to-confirm: G1602, K2204") {
		t.Fatalf("analyses draft: %v\n%s", err, out)
	}
	if out, err := run("analyses", "complete", analysis.AnalysisID); err != nil || !strings.Contains(out, "completed") {
		t.Fatalf("analyses complete: %v\n%s", err, out)
	}
	servicetest.Eventually(t, 10*time.Second, func() error {
		out, err := run("pathways", "get", learner.LearnerID)
		if err != nil || !strings.Contains(out, "needs-analysed") {
			return fmt.Errorf("pathways get: %v\n%s", err, out)
		}
		out, err = run("pathways", "timeline", learner.LearnerID)
		if err != nil || !strings.Contains(out, "Needs analysis completed on") {
			return fmt.Errorf("pathways timeline: %v\n%s", err, out)
		}
		return nil
	})

	// Bad input: the exit code says so and the fields are named.
	out, err = run("learners", "register", "--family-name", "", "--given-name", "X",
		"--birth-date", "2001-05-14", "--territory", "T99", "--commune", "27229", "--email", "x@example.fr",
		"--education-level", "3", "--referral-source", "self")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "InvalidArgument") ||
		!strings.Contains(out, "family_name") || !strings.Contains(out, "territory_code") {
		t.Fatalf("bad input: %v\n%s", err, out)
	}
	out, err = run("learners", "register", "--family-name", "A", "--given-name", "B", "--birth-date", "14/05/2001", "--territory", "T05",
		"--commune", "27229", "--email", "a@example.fr", "--education-level", "3", "--referral-source", "self")
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "birth-date") {
		t.Fatalf("unparsable date: %v\n%s", err, out)
	}
}

func TestInProcessServerRestart(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	addrs, stop := servertest.Run(t, cfg)
	learner, pathway := journey(t, dialAs(t, addrs.GRPC, cfg.DataDir, referent), "in-process-journey")
	stop()
	addrs, _ = servertest.Run(t, cfg)
	assertKept(t, dialAs(t, addrs.GRPC, cfg.DataDir, referent), learner, pathway, "in-process-journey")
}
