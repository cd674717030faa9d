package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

var admin = auth.Principal{Subject: "e2e-admin", Role: auth.RoleAdmin}

// TestReferentAssignedAtEntry: a referent registered in the learner's
// territory is assigned automatically when the learner enters the pathway;
// the assignment is there after a restart, and the referent reads it.
func TestReferentAssignedAtEntry(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	addrs, stop := servertest.Run(t, cfg)
	rf := referentv1.NewReferentServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))
	reg, err := rf.RegisterReferent(callCtx(t), &referentv1.RegisterReferentRequest{RequestId: "e2e-referent", Profile: &referentv1.ReferentProfile{
		Name: "Anne Leroy", Organisation: "AFPA Alençon", TerritoryCodes: []string{"T13"}, Capacity: 20,
		Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	if err != nil {
		t.Fatalf("register referent: %v", err)
	}
	refID := reg.GetReferent().GetReferentId()
	// Once the learner is assigned to Anne, only Anne and the territory's
	// coordinators act for them: the journey is a coordinator's.
	coordinator := referent
	coordinator.Coordinator = true
	learner, _ := journey(t, dialAs(t, addrs.GRPC, cfg.DataDir, coordinator), "referent-journey")
	assigned := func(c referentv1.ReferentServiceClient) {
		t.Helper()
		servicetest.Eventually(t, 10*time.Second, func() error {
			got, err := c.GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: learner.GetLearnerId()})
			if err != nil {
				return err
			}
			if a := got.GetAssignment(); a.GetReferentId() != refID || len(a.GetHistory()) != 1 ||
				a.GetHistory()[0].GetReason() != referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC {
				return fmt.Errorf("assignment %v", a)
			}
			return nil
		})
	}
	assigned(rf)
	stop()
	addrs, _ = servertest.Run(t, cfg)
	own := auth.Principal{Subject: "e2e-anne", Role: auth.RoleReferent, ReferentID: refID, Territories: []string{"T14"}}
	anne := referentv1.NewReferentServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, own))
	assigned(anne)
	// Anne's caseload shows where the learner stands: the phase pathway
	// derived from the needs analysis.
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := anne.ListCaseload(callCtx(t), &referentv1.ListCaseloadRequest{ReferentId: refID})
		if err != nil {
			return err
		}
		if l := got.GetLearners(); len(l) != 1 || l[0].GetLearnerId() != learner.GetLearnerId() ||
			l[0].GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED {
			return fmt.Errorf("caseload %v", l)
		}
		return nil
	})
}
