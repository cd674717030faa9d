package service_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The territories' loads follow the rule of small counts: admins read the
// exact counts of learners, every other role reads a count from 1 to 4 as
// fewer than five, and the deprecated int32 fields as 0. Counts of 0 and
// of 5 or more, and the referents and their capacity, are given as they are.
func TestTerritoryLoadWithholdsSmallCounts(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	register(t, admin, profile("Anne", 1, []string{"T05"}))
	register(t, admin, profile("Bruno", 4, []string{"T06"}))
	register(t, admin, profile("Claire", 5, []string{"T07"}))
	// T08 has no referent: its learners all wait.
	placed := func(a *referentv1.Assignment) bool {
		return a.GetPending() || (a.GetActive() && a.GetReferentId() != "")
	}
	for _, territory := range []string{"T05", "T06", "T07", "T08"} {
		for range 5 {
			id := registered(t, env, false, false)
			enter(t, env, id, territory, 1)
			waitAssignment(t, admin, id, "assigned or queued", placed)
		}
	}
	env.CaughtUp(t)

	exact := func(n int32) *commonv1.Count { return &commonv1.Count{Value: n} }
	withheld := &commonv1.Count{FewerThanFive: true}
	load := func(territory string, referents, capacity int32, learners, waiting *commonv1.Count) *referentv1.TerritoryLoad {
		return &referentv1.TerritoryLoad{
			TerritoryCode: territory, Referents: referents, Capacity: capacity,
			Learners: learners, Waiting: waiting, ActiveLearners: learners.GetValue(), Queued: waiting.GetValue(),
			QualifLearners: &commonv1.Count{},
		}
	}
	exactLoads := []*referentv1.TerritoryLoad{
		load("T05", 1, 1, exact(1), exact(4)),
		load("T06", 1, 4, exact(4), exact(1)),
		load("T07", 1, 5, exact(5), exact(0)),
		load("T08", 0, 0, exact(0), exact(5)),
	}
	disclosed := []*referentv1.TerritoryLoad{
		load("T05", 1, 1, withheld, withheld),
		load("T06", 1, 4, withheld, withheld),
		load("T07", 1, 5, exact(5), exact(0)),
		load("T08", 0, 0, exact(0), exact(5)),
	}
	for _, tc := range []struct {
		name string
		as   auth.Principal
		want []*referentv1.TerritoryLoad
	}{
		{"admin", servicetest.Admin, exactLoads},
		{"funder", auth.Principal{Subject: "u-f", Role: auth.RoleFunder}, disclosed},
		{"referent of the territories", referentOf("ref-x", "T05", "T06", "T07", "T08"), disclosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := referentv1.NewReferentServiceClient(env.ConnAs(t, tc.as))
			resp, err := c.GetTerritoryLoad(ctx(t), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05", "T06", "T07", "T08"}})
			if err != nil {
				t.Fatal(err)
			}
			got := resp.GetTerritories()
			if len(got) != len(tc.want) {
				t.Fatalf("loads %v, want %v", got, tc.want)
			}
			for i := range got {
				if !proto.Equal(got[i], tc.want[i]) {
					t.Errorf("load %v, want %v", got[i], tc.want[i])
				}
			}
		})
	}
}
