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
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// journey registers a learner, enters the pathway and waits until the
// pathway's read model shows it. It returns the learner and the pathway.
func journey(t *testing.T, conn *grpc.ClientConn, requestID string) (*intakev1.Learner, *pathwayv1.Pathway) {
	t.Helper()
	return crossJourney(t, conn, conn, requestID)
}

// crossJourney is journey with intake and pathway served by different processes.
func crossJourney(t *testing.T, intakeConn, pathwayConn *grpc.ClientConn, requestID string) (*intakev1.Learner, *pathwayv1.Pathway) {
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
			RequestId: requestID + "-enter", LearnerId: id, EntryDate: civil.Of(time.Now()).ToProto(),
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
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if !proto.Equal(got.GetPathway(), entered) {
			return fmt.Errorf("read model %v, want %v", got.GetPathway(), entered)
		}
		return nil
	})
	return reg.GetLearner(), entered
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
	// The open episode survived: a second entry is refused.
	_, err = pathwayv1.NewPathwayServiceClient(conn).EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{
		RequestId: requestID + "-again", LearnerId: learner.GetLearnerId(), EntryDate: civil.Of(time.Now()).ToProto(),
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
		"--referent-id", "ref-05", "--territory", "T05", "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("auth token: %v", err)
	}
	token = strings.TrimSpace(string(tok))

	out, err = run("learners", "register", "--family-name", "Martin", "--given-name", "Léa",
		"--birth-date", "2001-05-14", "--territory", "T05", "--commune", "27229", "--email", "lea.martin@example.fr",
		"--education-level", "4", "--referral-source", "mission-locale", "--output", "json")
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

	// Bad input: the exit code says so and the fields are named.
	out, err = run("learners", "register", "--family-name", "", "--given-name", "X",
		"--birth-date", "2001-05-14", "--territory", "T99", "--commune", "27229", "--email", "x@example.fr",
		"--education-level", "4", "--referral-source", "self")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "InvalidArgument") ||
		!strings.Contains(out, "family_name") || !strings.Contains(out, "territory_code") {
		t.Fatalf("bad input: %v\n%s", err, out)
	}
	out, err = run("learners", "register", "--family-name", "A", "--given-name", "B", "--birth-date", "14/05/2001", "--territory", "T05",
		"--commune", "27229", "--email", "a@example.fr", "--education-level", "4", "--referral-source", "self")
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
