package service_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func coordinatorOf(id string, territories ...string) auth.Principal {
	p := referentOf(id, territories...)
	p.Coordinator = true
	return p
}

// economic is the profile of an economic referent: never assigned
// learners, so that coordinators registered with it leave the queues alone.
func economic(name string, territories ...string) *referentv1.ReferentProfile {
	return &referentv1.ReferentProfile{
		Name: name, Organisation: "Région", TerritoryCodes: territories, Languages: []string{"fr"},
		Kind: referentv1.ReferentKind_REFERENT_KIND_ECONOMIC,
	}
}

// Coordinators assign, hand over and list the queues of the territories
// they coordinate: those of their token that their directory entry holds.
func TestCoordinatorsManageTheirTerritories(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	claire := register(t, admin, economic("Claire", "T01"))
	bruno := register(t, admin, profile("Bruno", 5, []string{"T01"}))
	david := register(t, admin, profile("David", 5, []string{"T02"}))
	// Both absent around yesterday: the learners entering then wait.
	for _, ref := range []string{bruno, david} {
		if _, err := admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
			RequestId: event.NewID(), ReferentId: ref, AbsentFrom: civilpb.FromDate(today.AddDays(-3)), AbsentTo: civilpb.FromDate(today.AddDays(3)),
		}); err != nil {
			t.Fatal(err)
		}
		// The directory the assignments read knows of the absence before
		// the learners enter (it follows the stream in moments).
		servicetest.Eventually(t, 10*time.Second, func() error {
			for _, territory := range []string{"T01", "T02"} {
				res, err := admin.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: territory, PageSize: 100})
				if err != nil {
					return err
				}
				for _, r := range res.GetReferents() {
					if r.GetReferentId() == ref && r.GetAbsentFrom() != nil {
						return nil
					}
				}
			}
			return fmt.Errorf("absence of %s not known yet", ref)
		})
	}
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T01", 1)
	theo := registered(t, env, false, false)
	enter(t, env, theo, "T02", 1)
	waitAssignment(t, admin, lea, "queued", pending)
	waitAssignment(t, admin, theo, "queued", pending)
	// Back from their absence, with no event to drain the queues: the
	// coordinators assign.
	env.SetNow(env.Now().AddDate(0, 0, 4))
	admin = referentv1.NewReferentServiceClient(env.ConnAs(t, servicetest.Admin))
	asClaire := referentv1.NewReferentServiceClient(env.ConnAs(t, coordinatorOf(claire, "T01")))

	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := asClaire.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T01"})
		if err != nil {
			return err
		}
		if got := resp.GetPending(); len(got) != 1 || got[0].GetLearnerId() != lea {
			return fmt.Errorf("T01's queue %v", got)
		}
		return nil
	})
	_, err := asClaire.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T02"})
	servicetest.Refused(t, err, codes.PermissionDenied)

	// A learner of T01: assigned, recorded as Claire's decision.
	resp, err := asClaire.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: lea, ReferentId: bruno, Reason: "back"})
	if err != nil || resp.GetAssignment().GetReferentId() != bruno {
		t.Fatalf("Claire assigns Léa to Bruno: %v %v", resp, err)
	}
	evs := env.Events(t, "REFERENT", "avenir.referent.assignment."+lea+".>")
	if last := evs[len(evs)-1]; last.Actor != "referent:"+claire {
		t.Fatalf("assignment recorded by %q", last.Actor)
	}
	// A learner of T02, which Claire's token does not name: hidden.
	_, err = asClaire.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: theo, ReferentId: david})
	servicetest.Refused(t, err, codes.NotFound)
	// Her token claiming T02 changes nothing: the directory does not hold
	// it. She reads Théo's assignment by her token's territory, and may
	// not change it.
	claiming := referentv1.NewReferentServiceClient(env.ConnAs(t, coordinatorOf(claire, "T01", "T02")))
	_, err = claiming.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: theo, ReferentId: david})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = claiming.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T02"})
	servicetest.Refused(t, err, codes.PermissionDenied)
	// Nor does a claim of T01 alone for a coordinator of T02 only.
	onlyT02 := referentv1.NewReferentServiceClient(env.ConnAs(t, coordinatorOf(david, "T01")))
	_, err = onlyT02.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T01"})
	servicetest.Refused(t, err, codes.PermissionDenied)
	// A referent without the coordinator claim manages nothing, even its
	// own territory.
	asBruno := referentv1.NewReferentServiceClient(env.ConnAs(t, referentOf(bruno, "T01", "T02")))
	_, err = asBruno.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: theo, ReferentId: david})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = asBruno.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T01"})
	servicetest.Refused(t, err, codes.PermissionDenied)
	// The refused calls assigned nobody: Théo is still queued, or taken
	// by the queue itself now that David is back (never by a refused
	// coordinator's hand).
	waitAssignment(t, admin, theo, "queued or assigned by the queue", func(a *referentv1.Assignment) bool {
		h := a.GetHistory()
		return pending(a) || (len(h) == 1 && h[0].GetReason() == referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC)
	})

	// Handover within T01; the referent taking over must serve T01.
	emma := register(t, admin, profile("Emma", 5, []string{"T01"}))
	_, err = asClaire.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: bruno, ToReferentId: david, Reason: "closer"})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	handed, err := asClaire.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: bruno, ToReferentId: emma, Reason: "closer"})
	if err != nil || handed.GetAssignment().GetReferentId() != emma {
		t.Fatalf("handover: %v %v", handed, err)
	}

	// Absences: of a referent of T01, yes; of T02's, hidden.
	away, err := asClaire.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: bruno, AbsentFrom: civilpb.FromDate(today.AddDays(10)), AbsentTo: civilpb.FromDate(today.AddDays(12)),
	})
	if err != nil || civilpb.Date(away.GetReferent().GetAbsentFrom()) != today.AddDays(10) {
		t.Fatalf("Bruno's absence: %v %v", away, err)
	}
	_, err = asClaire.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: david})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = asBruno.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: bruno})
	servicetest.Refused(t, err, codes.PermissionDenied)
	// A referent of T01 and T02: its absence, yes; naming its interim, no
	// (its learners of T02 are not Claire's to open).
	fanny := register(t, admin, profile("Fanny", 5, []string{"T01", "T02"}))
	absence := &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: fanny, AbsentFrom: civilpb.FromDate(today.AddDays(10)), AbsentTo: civilpb.FromDate(today.AddDays(12)),
	}
	if _, err := asClaire.SetAvailability(ctx(t), absence); err != nil {
		t.Fatalf("Fanny's absence: %v", err)
	}
	absence.RequestId, absence.InterimReferentId = event.NewID(), emma
	_, err = asClaire.SetAvailability(ctx(t), absence)
	servicetest.Refused(t, err, codes.PermissionDenied)
	// Bruno's interim: Emma, of T01.
	named, err := asClaire.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: bruno, AbsentFrom: civilpb.FromDate(today.AddDays(10)), AbsentTo: civilpb.FromDate(today.AddDays(12)),
		InterimReferentId: emma,
	})
	if err != nil || named.GetReferent().GetInterimReferentId() != emma {
		t.Fatalf("Bruno's interim: %v %v", named, err)
	}
	if got := env.Events(t, "REFERENT", "avenir.referent.caseload."+emma+".>"); !slices.ContainsFunc(got, func(ev event.Event) bool {
		taken, ok := ev.Data.(*referentv1.InterimTaken)
		return ok && taken.GetAbsentReferentId() == bruno && ev.Actor == "referent:"+claire
	}) {
		t.Fatalf("Emma's caseload has no interim for Bruno by Claire: %v", got)
	}
}
