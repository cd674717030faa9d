package e2e

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"

	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// One process per service against a shared NATS and Redis: each serves only
// its own API, and the journey crosses them through the streams.
func TestMicroservicesMode(t *testing.T) {
	redisURL := redistest.URL(t)
	nats := natstest.Start(t)
	// The streams first, as the admin identity does (avenir streams ensure):
	// the services create none.
	servertest.EnsureStreams(t, nats.ClientURL(), 1)
	dataDir := t.TempDir() // only the dev signing key: streams are on the NATS server
	base := servertest.Dev(dataDir)
	base.NATSURL, base.RedisURL, base.RedisPrefix = nats.ClientURL(), redisURL, redistest.Prefix(t)
	// pathway first, before the services whose streams it reads: they are
	// there, and it starts at once, waiting for nobody.
	pathwayCfg := base
	pathwayCfg.Services = []string{"pathway"}
	pathway, _ := servertest.Run(t, pathwayCfg)
	needsCfg := base
	needsCfg.Services = []string{"needs"}
	needs, _ := servertest.Run(t, needsCfg)
	intakeCfg := base
	intakeCfg.Services = []string{"intake"}
	intake, _ := servertest.Run(t, intakeCfg)

	intakeConn, pathwayConn := dialAs(t, intake.GRPC, dataDir, referent), dialAs(t, pathway.GRPC, dataDir, referent)
	needsConn := dialAs(t, needs.GRPC, dataDir, referent)
	learner, entered := crossJourney(t, intakeConn, pathwayConn, needsConn, "micro-journey")
	if learner.GetLearnerId() == "" || entered.GetVersion() == 0 {
		t.Fatalf("journey: %v %v", learner, entered)
	}
	// Each process serves its own API only.
	_, err := intakev1.NewIntakeServiceClient(pathwayConn).GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: learner.GetLearnerId()})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("intake API on the pathway process: %v", err)
	}

	// The referent service starts last: it catches up with PATHWAY, queues
	// the learner (no referent yet), assigns them once a referent is
	// registered, and shows the phase pathway derived; pathway, which
	// started before the referent service, follows the assignments.
	referentCfg := base
	referentCfg.Services = []string{"referent"}
	ref, _ := servertest.Run(t, referentCfg)
	rf := referentv1.NewReferentServiceClient(dialAs(t, ref.GRPC, dataDir, admin))
	id := learner.GetLearnerId()
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := rf.GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if !got.GetAssignment().GetPending() {
			return fmt.Errorf("assignment %v", got.GetAssignment())
		}
		return nil
	})
	reg, err := rf.RegisterReferent(callCtx(t), &referentv1.RegisterReferentRequest{RequestId: "micro-referent", Profile: &referentv1.ReferentProfile{
		Name: "Anne Leroy", Organisation: "AFPA Alençon", TerritoryCodes: []string{"T13"}, Capacity: 5,
		Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	refID := reg.GetReferent().GetReferentId()
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := rf.ListCaseload(callCtx(t), &referentv1.ListCaseloadRequest{ReferentId: refID})
		if err != nil {
			return err
		}
		if l := got.GetLearners(); len(l) != 1 || l[0].GetLearnerId() != id || l[0].GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED {
			return fmt.Errorf("caseload %v", l)
		}
		return nil
	})
	// Now only Anne (and coordinators) act for the learner: the territory's
	// other referents no longer read the pathway.
	pw := pathwayv1.NewPathwayServiceClient(pathwayConn)
	servicetest.Eventually(t, 10*time.Second, func() error {
		_, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if status.Code(err) != codes.NotFound {
			return fmt.Errorf("another referent reads the assigned learner: %v", err)
		}
		return nil
	})
	anne := auth.Principal{Subject: "e2e-anne", Role: auth.RoleReferent, ReferentID: refID, Territories: []string{"T13"}}
	timeline, err := pathwayv1.NewPathwayServiceClient(dialAs(t, pathway.GRPC, dataDir, anne)).GetTimeline(callCtx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	var referentEntries int
	for _, e := range timeline.GetEntries() {
		if e.GetSource() == "referent" {
			referentEntries++
		}
	}
	if referentEntries != 2 {
		t.Fatalf("timeline %v: want the wait and the assignment", timeline.GetEntries())
	}
}
