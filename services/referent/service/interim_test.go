package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
	"github.com/avenir-normandie/avenir/services/referent/service"
)

// scopeOf reads the learner's scope as any other context does: the
// caseload read model (platform/caseload) built from the assignment facts
// stored on the REFERENT stream, through the published contract.
func scopeOf(t *testing.T, env *servicetest.Env, learner, territory string) auth.LearnerScope {
	t.Helper()
	cx := context.Background()
	store := projection.NewMemory()
	c := caseload.New(store, "probe", referentcontract.Stream, referentcontract.AssignmentSubjects, referentcontract.FollowOf)
	spec := c.Specs()[0]
	gen, err := store.Generation(cx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range env.Events(t, service.Stream, "avenir.referent.assignment."+learner+".>") {
		ops, err := spec.Project(cx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(cx, spec.Name, gen, ev.Sequence, ops...); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := c.Scope(cx, learner, territory)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// An absence with an interim: the interim stands in for the absent
// referent's learners on the days of the absence, in the referent service
// and, through the facts it publishes, in every context; the learners'
// referent does not change, nor do the loads.
func TestInterimStandsInDuringTheAbsence(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	anne := register(t, admin, profile("Anne", 5, []string{"T05"}))
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1)
	waitAssignment(t, admin, lea, "with Anne", assignedTo(anne))
	bruno := register(t, admin, profile("Bruno", 5, []string{"T05"}))
	jules := register(t, admin, profile("Jules", 5, []string{"T07"}))
	from, to := today.AddDays(2), today.AddDays(5)
	absence := func(interim string) *referentv1.SetAvailabilityRequest {
		return &referentv1.SetAvailabilityRequest{
			RequestId: event.NewID(), ReferentId: anne, AbsentFrom: civilpb.FromDate(from), AbsentTo: civilpb.FromDate(to), InterimReferentId: interim,
		}
	}

	// Jules does not serve T05, Léa's territory; Anne cannot stand in for
	// herself.
	_, err := admin.SetAvailability(ctx(t), absence(jules))
	servicetest.Refused(t, err, codes.InvalidArgument, "interim_referent_id")
	_, err = admin.SetAvailability(ctx(t), absence(anne))
	servicetest.Refused(t, err, codes.InvalidArgument, "interim_referent_id")
	_, err = admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: anne, InterimReferentId: bruno})
	servicetest.Refused(t, err, codes.InvalidArgument, "interim_referent_id")
	if n := events(t, env, "avenir.referent.caseload."+anne+".availability_set"); n != 0 {
		t.Fatalf("%d absences recorded by refused requests", n)
	}

	set, err := admin.SetAvailability(ctx(t), absence(bruno))
	if err != nil || set.GetReferent().GetInterimReferentId() != bruno || set.GetReferent().GetActiveLearners() != 1 {
		t.Fatalf("Anne's absence with Bruno: %v %v", set, err)
	}
	// One batch: Anne's absence, Bruno's interim, Léa's fact.
	assigned := env.Events(t, service.Stream, "avenir.referent.assignment."+lea+".interim_assigned")
	taken := env.Events(t, service.Stream, "avenir.referent.caseload."+bruno+".interim_taken")
	if len(assigned) != 1 || len(taken) != 1 || assigned[0].RequestID != taken[0].RequestID {
		t.Fatalf("interim facts %v %v", assigned, taken)
	}
	if m := assigned[0].Data.(*referentv1.InterimAssigned); m.GetReferentId() != anne || m.GetInterimReferentId() != bruno ||
		civilpb.Date(m.GetFromDate()) != from || civilpb.Date(m.GetToDate()) != to || m.GetTerritoryCode() != "T05" {
		t.Fatalf("InterimAssigned %v", m)
	}

	// The assignment stays Anne's, and shows the interim to come.
	got := waitAssignment(t, admin, lea, "with Anne, Bruno to stand in", assignedTo(anne))
	if got.GetInterimReferentId() != bruno || civilpb.Date(got.GetInterimFrom()) != from || civilpb.Date(got.GetInterimTo()) != to {
		t.Fatalf("assignment %v", got)
	}
	// Bruno's caseload lists Léa, as interim; his load is unchanged.
	asBruno := func() referentv1.ReferentServiceClient {
		// A token for another territory: only the interim lets him in.
		return referentv1.NewReferentServiceClient(env.ConnAs(t, referentOf(bruno, "T09")))
	}
	list, err := asBruno().ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: bruno})
	if err != nil {
		t.Fatal(err)
	}
	if l := list.GetLearners(); len(l) != 1 || l[0].GetLearnerId() != lea || !l[0].GetInterim() || l[0].GetAbsentReferentId() != anne ||
		civilpb.Date(l[0].GetInterimFrom()) != from || civilpb.Date(l[0].GetInterimTo()) != to || list.GetReferent().GetActiveLearners() != 0 {
		t.Fatalf("Bruno's caseload %v", list)
	}
	own, err := admin.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: anne})
	if err != nil || len(own.GetLearners()) != 1 || own.GetLearners()[0].GetInterim() {
		t.Fatalf("Anne's caseload %v %v", own, err)
	}

	// Bruno reads Léa's assignment on the days of the absence only; every
	// context decides the same from the published facts.
	scope := scopeOf(t, env, lea, "T05")
	brunoP := referentOf(bruno, "T09")
	for _, tc := range []struct {
		day  civil.Date
		acts bool
	}{{today, false}, {from.AddDays(-1), false}, {from, true}, {to, true}, {to.AddDays(1), false}} {
		env.SetNow(time.Date(tc.day.Year, tc.day.Month, tc.day.Day, 9, 0, 0, 0, time.UTC))
		_, err := asBruno().GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: lea})
		if (err == nil) != tc.acts {
			t.Errorf("on %s, Bruno reads Léa's assignment: %v, want %v", tc.day, err, tc.acts)
		}
		if got := brunoP.ActsForLearnerOn(scope, tc.day); got != tc.acts {
			t.Errorf("on %s, Bruno acts for Léa through the caseload scope: %v, want %v", tc.day, got, tc.acts)
		}
		if anneP := referentOf(anne, "T09"); !anneP.ActsForLearnerOn(scope, tc.day) {
			t.Errorf("on %s, Anne does not act for Léa", tc.day)
		}
	}
	// Past the absence, the interim no longer shows.
	admin = referentv1.NewReferentServiceClient(env.ConnAs(t, servicetest.Admin))
	if a := waitAssignment(t, admin, lea, "with Anne", assignedTo(anne)); a.GetInterimReferentId() != "" {
		t.Fatalf("an interim past its days: %v", a)
	}
	if list, err := asBruno().ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: bruno}); err != nil || len(list.GetLearners()) != 0 {
		t.Fatalf("Bruno's caseload past the absence: %v %v", list, err)
	}
	env.SetNow(time.Date(today.Year, today.Month, today.Day, 9, 0, 0, 0, time.UTC))
	admin = referentv1.NewReferentServiceClient(env.ConnAs(t, servicetest.Admin))

	// The absence cleared: Léa's interim ends, Bruno's too.
	if _, err := admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: anne}); err != nil {
		t.Fatal(err)
	}
	if n := events(t, env, "avenir.referent.assignment."+lea+".interim_cleared"); n != 1 {
		t.Fatalf("%d InterimCleared", n)
	}
	if n := events(t, env, "avenir.referent.caseload."+bruno+".interim_released"); n != 1 {
		t.Fatalf("%d InterimReleased", n)
	}
	if sc := scopeOf(t, env, lea, "T05"); sc.Interims != nil || sc.Referent != anne {
		t.Fatalf("scope after the absence was cleared: %+v", sc)
	}
	if list, err := asBruno().ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: bruno}); err != nil || len(list.GetLearners()) != 0 {
		t.Fatalf("Bruno's caseload: %v %v", list, err)
	}
}

// A deactivated interim stands in for nobody: the absence stays, without
// interim, and its learners' interims end.
func TestDeactivatedInterimEndsItsInterims(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	anne := register(t, admin, profile("Anne", 5, []string{"T05"}))
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1)
	waitAssignment(t, admin, lea, "with Anne", assignedTo(anne))
	bruno := register(t, admin, profile("Bruno", 5, []string{"T05"}))
	from, to := today.AddDays(-1), today.AddDays(5)
	if _, err := admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: anne, AbsentFrom: civilpb.FromDate(from), AbsentTo: civilpb.FromDate(to), InterimReferentId: bruno,
	}); err != nil {
		t.Fatal(err)
	}
	if !referentOf(bruno, "T09").ActsForLearnerOn(scopeOf(t, env, lea, "T05"), today) {
		t.Fatal("Bruno does not stand in for Anne today")
	}
	if _, err := admin.DeactivateReferent(ctx(t), &referentv1.DeactivateReferentRequest{RequestId: event.NewID(), ReferentId: bruno}); err != nil {
		t.Fatal(err)
	}
	waitAssignment(t, admin, lea, "with Anne, without interim", func(a *referentv1.Assignment) bool {
		return assignedTo(anne)(a) && a.GetInterimReferentId() == ""
	})
	if sc := scopeOf(t, env, lea, "T05"); sc.Interims != nil {
		t.Fatalf("scope %+v", sc)
	}
	list, err := admin.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: anne})
	if err != nil || list.GetReferent().GetInterimReferentId() != "" || civilpb.Date(list.GetReferent().GetAbsentTo()) != to {
		t.Fatalf("Anne after her interim's deactivation: %v %v", list, err)
	}
	// Naming him again is refused.
	_, err = admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: anne, AbsentFrom: civilpb.FromDate(from), AbsentTo: civilpb.FromDate(to), InterimReferentId: bruno,
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "interim_referent_id")
}

// A learner the absent referent takes before its absence ends gets the
// interim with the assignment; a handover away from it ends the interim.
func TestLearnerTakenDuringAnAbsenceGetsTheInterim(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	anne := register(t, admin, profile("Anne", 5, []string{"T05"}))
	bruno := register(t, admin, profile("Bruno", 5, []string{"T05"}))
	from, to := today.AddDays(3), today.AddDays(5)
	if _, err := admin.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{
		RequestId: event.NewID(), ReferentId: anne, AbsentFrom: civilpb.FromDate(from), AbsentTo: civilpb.FromDate(to), InterimReferentId: bruno,
	}); err != nil {
		t.Fatal(err)
	}
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1)
	a := waitAssignment(t, admin, lea, "assigned", func(a *referentv1.Assignment) bool { return a.GetReferentId() != "" })
	if a.GetReferentId() != anne {
		// The policy chose Bruno (lowest load, then id): Anne takes over.
		resp, err := admin.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: lea, ReferentId: anne, Reason: "Anne"})
		if err != nil {
			t.Fatal(err)
		}
		a = resp.GetAssignment()
	}
	if a.GetReferentId() != anne || a.GetInterimReferentId() != bruno || civilpb.Date(a.GetInterimFrom()) != from {
		t.Fatalf("Léa, taken by Anne before her absence: %v", a)
	}
	if !referentOf(bruno, "T09").ActsForLearnerOn(scopeOf(t, env, lea, "T05"), from) {
		t.Fatal("Bruno does not stand in for Anne with Léa")
	}
	resp, err := admin.Handover(ctx(t), &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: anne, ToReferentId: bruno, Reason: "Bruno"})
	if err != nil || resp.GetAssignment().GetInterimReferentId() != "" {
		t.Fatalf("handed over to Bruno: %v %v", resp, err)
	}
	if sc := scopeOf(t, env, lea, "T05"); sc.Referent != bruno || sc.Interims != nil {
		t.Fatalf("scope %+v", sc)
	}
	if err := func() error {
		list, err := admin.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: bruno})
		if err != nil {
			return err
		}
		if l := list.GetLearners(); len(l) != 1 || l[0].GetInterim() {
			return fmt.Errorf("Bruno's caseload %v", l)
		}
		return nil
	}(); err != nil {
		t.Fatal(err)
	}
}
