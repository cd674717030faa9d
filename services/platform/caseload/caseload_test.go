package caseload_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The read model follows a learner through assignment, handover and end:
// the current referent, and the former one with the last day it reads.
func TestScopeFollowsAssignments(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	c := caseload.New(store, "test")
	spec := c.Spec()
	if spec.Name != "test-assignments" || spec.Stream != caseload.Stream || !spec.Later {
		t.Fatalf("spec %+v", spec)
	}
	seq := uint64(0)
	apply := func(m proto.Message) {
		t.Helper()
		seq++
		ops, err := spec.Project(ctx, event.Event{Sequence: seq, Data: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(ctx, spec.Name, seq, ops...); err != nil {
			t.Fatal(err)
		}
	}
	scope := func() (string, map[string]civil.Date) {
		t.Helper()
		sc, err := c.Scope(ctx, "l-1", "T05")
		if err != nil || sc.Territory != "T05" {
			t.Fatalf("scope %+v %v", sc, err)
		}
		return sc.Referent, sc.FormerReferents
	}
	if ref, former := scope(); ref != "" || former != nil {
		t.Fatalf("an unknown learner has referent %q, former %v", ref, former)
	}
	apply(&referentv1.ReferentAssigned{LearnerId: "l-1", ReferentId: "r-1"})
	if ref, former := scope(); ref != "r-1" || former != nil {
		t.Fatalf("assigned: %q %v", ref, former)
	}
	until := &commonv1.Date{Year: 2026, Month: 12, Day: 27}
	apply(&referentv1.ReferentAssigned{LearnerId: "l-1", ReferentId: "r-2", PreviousReferentId: "r-1", PreviousReferentReadsUntil: until})
	if ref, former := scope(); ref != "r-2" || former["r-1"] != civilpb.Date(until) {
		t.Fatalf("handed over: %q %v", ref, former)
	}
	apply(&referentv1.AssignmentEnded{LearnerId: "l-1"})
	if ref, former := scope(); ref != "" || former["r-1"] != civilpb.Date(until) {
		t.Fatalf("ended: %q %v", ref, former)
	}
	scopes, err := c.Scopes(ctx, []string{"l-1", "l-2"}, []string{"T05", "T01"})
	if err != nil || len(scopes) != 2 || scopes[1].Territory != "T01" || scopes[1].Referent != "" {
		t.Fatalf("scopes %+v %v", scopes, err)
	}
}
