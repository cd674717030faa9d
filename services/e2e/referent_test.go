package e2e

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
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

// TestReferentInterimActsInEveryContext: while Anne is absent, Bruno,
// named her interim, acts for her learner in pathway (and reads her
// assignment in referent) from the facts referent publishes; before and
// after the absence he does not, and Anne stays the referent throughout.
func TestReferentInterimActsInEveryContext(t *testing.T) {
	var (
		mu     sync.Mutex
		offset time.Duration
	)
	clock := func() time.Time { // the time of day runs: timelines order by it
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Now = clock
	addrs, _ := servertest.Run(t, cfg)
	// Tokens minted on the server's clock, which the test moves.
	as := func(p auth.Principal) *grpc.ClientConn {
		return dialWith(t, addrs.GRPC, grpc.WithPerRPCCredentials(auth.BearerToken(servertest.Token(t, cfg.DataDir, p, clock()))))
	}
	rf := referentv1.NewReferentServiceClient(as(admin))
	pedagogical := func(requestID, name string) string {
		reg, err := rf.RegisterReferent(callCtx(t), &referentv1.RegisterReferentRequest{RequestId: requestID, Profile: &referentv1.ReferentProfile{
			Name: name, Organisation: "AFPA Alençon", TerritoryCodes: []string{"T13"}, Capacity: 20,
			Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
		}})
		if err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
		return reg.GetReferent().GetReferentId()
	}
	anne := pedagogical("e2e-anne", "Anne Leroy")
	coordinator := referent
	coordinator.Coordinator = true
	learner, _ := journey(t, as(coordinator), "interim-journey")
	id := learner.GetLearnerId()
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := rf.GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if got.GetAssignment().GetReferentId() != anne {
			return fmt.Errorf("assignment %v", got.GetAssignment())
		}
		return nil
	})
	bruno := pedagogical("e2e-bruno", "Bruno Petit")
	// Bruno's token names another territory: only the interim lets him in.
	brunoP := auth.Principal{Subject: "e2e-bruno", Role: auth.RoleReferent, ReferentID: bruno, Territories: []string{"T14"}}
	day := civil.Of(clock())
	referral := func(n int) error {
		_, err := pathwayv1.NewPathwayServiceClient(as(brunoP)).RecordReferral(callCtx(t), &pathwayv1.RecordReferralRequest{
			RequestId: fmt.Sprintf("interim-referral-%d", n), LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_QUALIF,
			ReferralDate: civilpb.FromDate(day), Organisation: "Greta Alençon",
		})
		return err
	}
	if err := referral(0); status.Code(err) != codes.NotFound {
		t.Fatalf("Bruno before he stands in: %v, want NotFound", err)
	}

	if _, err := rf.SetAvailability(callCtx(t), &referentv1.SetAvailabilityRequest{
		RequestId: "e2e-anne-away", ReferentId: anne, AbsentFrom: civilpb.FromDate(day), AbsentTo: civilpb.FromDate(day.AddDays(2)),
		InterimReferentId: bruno,
	}); err != nil {
		t.Fatal(err)
	}
	// Pathway learns it from the REFERENT stream, a moment later.
	servicetest.Eventually(t, 10*time.Second, func() error { return referral(1) })
	if got, err := referentv1.NewReferentServiceClient(as(brunoP)).GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: id}); err != nil ||
		got.GetAssignment().GetReferentId() != anne || got.GetAssignment().GetInterimReferentId() != bruno {
		t.Fatalf("Bruno reads Léa's assignment: %v %v", got, err)
	}
	if list, err := referentv1.NewReferentServiceClient(as(brunoP)).ListCaseload(callCtx(t), &referentv1.ListCaseloadRequest{ReferentId: bruno}); err != nil ||
		len(list.GetLearners()) != 1 || !list.GetLearners()[0].GetInterim() || list.GetReferent().GetActiveLearners() != 0 {
		t.Fatalf("Bruno's caseload: %v %v", list, err)
	}

	// The day after the absence: nothing more.
	mu.Lock()
	offset = 3 * 24 * time.Hour
	mu.Unlock()
	if err := referral(2); status.Code(err) != codes.NotFound {
		t.Fatalf("Bruno after the absence: %v, want NotFound", err)
	}
	if _, err := referentv1.NewReferentServiceClient(as(brunoP)).GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("Bruno reads the assignment after the absence: %v", err)
	}
}
