package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// batchAnswer is what BatchGetLearners answered: the learners' ids, and the
// ids it could not read.
type batchAnswer struct {
	learners   []*intakev1.Learner
	read       []string
	unreadable []string
}

func batchGet(t *testing.T, c intakev1.IntakeServiceClient, ids ...string) batchAnswer {
	t.Helper()
	resp, err := c.BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{LearnerIds: ids})
	if err != nil {
		t.Fatalf("batch get %v: %v", ids, err)
	}
	a := batchAnswer{learners: resp.GetLearners(), unreadable: resp.GetUnreadableIds()}
	for _, l := range resp.GetLearners() {
		a.read = append(a.read, l.GetLearnerId())
	}
	return a
}

// sameAsGetLearner checks that every learner of a batch is what GetLearner
// answers the same caller: the same access rule, the same redaction.
func sameAsGetLearner(t *testing.T, who string, c intakev1.IntakeServiceClient, a batchAnswer) {
	t.Helper()
	for _, l := range a.learners {
		one, err := c.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: l.GetLearnerId()})
		if err != nil || !proto.Equal(one.GetLearner(), l) {
			t.Errorf("%s: batch answers %v\nGetLearner %v %v", who, l, one.GetLearner(), err)
		}
	}
}

// BatchGetLearners answers, in the order asked and each once, the learners
// the caller may read, redacted as GetLearner redacts them; an unknown id
// and an id out of the caller's scope land alike in unreadable_ids.
func TestBatchGetLearners(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	reg := func(rid, family, given, territory, commune string, rqth bool) string {
		t.Helper()
		r := person(rid, family, given, territory, commune)
		r.Rqth = rqth
		resp, err := admin.RegisterLearner(ctx(t), r)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetLearner().GetLearnerId()
	}
	followed := reg("followed", "Durand", "Théo", "T05", "27229", true) // ref-a's
	pool := reg("pool", "Dupont", "Inès", "T05", "27229", false)        // no referent: T05's pool
	others := reg("others", "Martin", "Léa", "T05", "27229", true)      // ref-b's
	far := reg("far", "Lefort", "Damien", "T01", "14118", true)         // in T01
	gone := reg("gone", "Petit", "Louis", "T05", "27229", false)        // erased below
	unknown := event.NewID()
	for id, referent := range map[string]string{followed: "ref-a", others: "ref-b"} {
		publishAssignment(t, env, id, "assigned", &referentv1.ReferentAssigned{
			LearnerId: id, ReferentId: referent, TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov2,
			Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		})
	}
	enrol(t, env, followed, "op-a", 1, "T05")
	enrol(t, env, far, "op-a", 1, "T01")
	if _, err := admin.EraseLearner(ctx(t), eraseReq("erase-gone", gone)); err != nil {
		t.Fatal(err)
	}
	env.CaughtUp(t)
	everyone := []string{followed, far, unknown, pool, followed, others, gone}

	t.Run("a referent reads its learners and its territory's pool", func(t *testing.T) {
		refA := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-a", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T05"}}))
		a := batchGet(t, refA, everyone...)
		if !slices.Equal(a.read, []string{followed, pool, gone}) || !slices.Equal(a.unreadable, []string{far, unknown, others}) {
			t.Fatalf("read %v, unreadable %v", a.read, a.unreadable)
		}
		if got := names(a.learners[:2]); !slices.Equal(got, []string{"Durand Théo", "Dupont Inès"}) {
			t.Fatalf("names %v", got)
		}
		if !a.learners[0].GetRqth() {
			t.Errorf("its own learner's referent does not see the RQTH: %v", a.learners[0])
		}
		sameAsGetLearner(t, "ref-a", refA, a)
	})
	t.Run("an operator reads the learners enrolled with it only", func(t *testing.T) {
		// Its token's T05 gives it none of that territory's learners.
		opA := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}))
		a := batchGet(t, opA, everyone...)
		if !slices.Equal(a.read, []string{followed, far}) || !slices.Equal(a.unreadable, []string{unknown, pool, others, gone}) {
			t.Fatalf("read %v, unreadable %v", a.read, a.unreadable)
		}
		for _, l := range a.learners {
			if l.Rqth != nil {
				t.Errorf("an operator sees the RQTH of %s", l.GetLearnerId())
			}
		}
		sameAsGetLearner(t, "op-a", opA, a)
		// Another operator reads none of them.
		opB := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05", "T01"}}))
		if b := batchGet(t, opB, everyone...); len(b.read) != 0 || len(b.unreadable) != 6 {
			t.Fatalf("op-b reads %v, unreadable %v", b.read, b.unreadable)
		}
	})
	t.Run("a funder reads what billing needs, never the RQTH", func(t *testing.T) {
		fund := intakev1.NewIntakeServiceClient(env.ConnAs(t, funder))
		a := batchGet(t, fund, everyone...)
		if !slices.Equal(a.read, []string{followed, far, pool, others, gone}) || !slices.Equal(a.unreadable, []string{unknown}) {
			t.Fatalf("read %v, unreadable %v", a.read, a.unreadable)
		}
		for _, l := range a.learners {
			if l.Rqth != nil || l.GetContact() != nil || l.GetBirthDate() != nil || l.GetSituation() != nil {
				t.Errorf("a funder reads more than billing needs: %v", l)
			}
		}
		if a.learners[0].GetFamilyName() != "Durand" {
			t.Errorf("a funder reads no name: %v", a.learners[0])
		}
		sameAsGetLearner(t, "funder", fund, a)
	})
	t.Run("an erased learner is answered as erased", func(t *testing.T) {
		a := batchGet(t, admin, gone, followed)
		if !slices.Equal(a.read, []string{gone, followed}) || len(a.unreadable) != 0 {
			t.Fatalf("read %v, unreadable %v", a.read, a.unreadable)
		}
		e := a.learners[0]
		if !e.GetErased() || e.GetErasedOn() == nil || e.GetFamilyName() != "" || e.GetGivenName() != "" || e.GetContact() != nil || e.GetBirthDate() != nil {
			t.Fatalf("erased learner read as %v", e)
		}
		if !a.learners[1].GetRqth() || a.learners[1].GetContact() == nil {
			t.Fatalf("an admin reads the whole learner: %v", a.learners[1])
		}
		sameAsGetLearner(t, "admin", admin, a)
	})
	t.Run("bad requests", func(t *testing.T) {
		_, err := admin.BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{})
		servicetest.Refused(t, err, codes.InvalidArgument, "learner_ids")
		many := make([]string, 201)
		for i := range many {
			many[i] = followed
		}
		_, err = admin.BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{LearnerIds: many})
		servicetest.Refused(t, err, codes.InvalidArgument, "learner_ids")
		// 200 ids, even all the same, are answered: once.
		if a := batchGet(t, admin, many[:200]...); !slices.Equal(a.read, []string{followed}) {
			t.Fatalf("200 times the same id: %v", a.read)
		}
		_, err = admin.BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{LearnerIds: []string{followed, "not-a-uuid", pool, "", "avenir.>"}})
		servicetest.Refused(t, err, codes.InvalidArgument, "learner_ids[1]", "learner_ids[3]", "learner_ids[4]")
		_, err = intakev1.NewIntakeServiceClient(env.ConnAnonymous(t)).BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{LearnerIds: []string{followed}})
		servicetest.Refused(t, err, codes.Unauthenticated)
	})
}
