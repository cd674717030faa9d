package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// population sets up learners in T05 and T06 at every stage and returns
// their ids by name.
//
//	T05 a  10-28 .. 10-31 (abandonment), re-entered 11-12    welcomed
//	T05 b  10-29 .. 11-20 (permanent contract)               exited
//	T05 c  11-03, referred to Qualif, accepted               in qualifying training
//	T05 d  11-10, referred to Savoirs                        building project
//	T06 e  11-05 .. 11-25 (health)                           exited
//	T06 f  11-20                                             welcomed
func population(t *testing.T, env *servicetest.Env, client pathwayv1.PathwayServiceClient) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		territory := "T05"
		if name >= "e" {
			territory = "T06"
		}
		ids[name] = registeredOn(t, env, territory, date(2026, 10, 1))
	}
	enter(t, client, ids["a"], date(2026, 10, 28))
	exit(t, client, ids["a"], date(2026, 10, 31), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, "")
	enter(t, client, ids["a"], date(2026, 11, 12))
	enter(t, client, ids["b"], date(2026, 10, 29))
	exit(t, client, ids["b"], date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, "")
	enter(t, client, ids["c"], date(2026, 11, 3))
	refer(t, client, ids["c"], pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 11, 5))
	outcome(t, client, ids["c"], 1, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, date(2026, 11, 6))
	enter(t, client, ids["d"], date(2026, 11, 10))
	refer(t, client, ids["d"], pathwayv1.Programme_PROGRAMME_SAVOIRS, date(2026, 11, 10))
	enter(t, client, ids["e"], date(2026, 11, 5))
	exit(t, client, ids["e"], date(2026, 11, 25), pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")
	enter(t, client, ids["f"], date(2026, 11, 20))
	env.CaughtUp(t)
	return ids
}

// listAll pages through a listing and returns the learner ids, checking
// every page's size.
func listAll(t *testing.T, client pathwayv1.PathwayServiceClient, req *pathwayv1.ListPathwaysRequest) []string {
	t.Helper()
	var ids []string
	for {
		resp, err := client.ListPathways(ctx(t), req)
		if err != nil {
			t.Fatalf("list %v: %v", req, err)
		}
		if size := req.GetPageSize(); size > 0 && int32(len(resp.GetPathways())) > size {
			t.Fatalf("page of %d, page_size %d", len(resp.GetPathways()), size)
		}
		for _, p := range resp.GetPathways() {
			ids = append(ids, p.GetLearnerId())
		}
		if resp.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestListPathwaysFilters(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	ids := population(t, env, client)
	// names are the ids of the named learners, in the order of listings:
	// territory, then learner id.
	names := func(names ...string) []string {
		var keys []string
		for _, n := range names {
			territory := "T05"
			if n >= "e" {
				territory = "T06"
			}
			keys = append(keys, territory+"/"+ids[n])
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, k[len("T05/"):])
		}
		return out
	}
	phase := func(p pathwayv1.PathwayPhase) *pathwayv1.ListPathwaysRequest {
		return &pathwayv1.ListPathwaysRequest{Phase: p}
	}
	tests := []struct {
		name string
		req  *pathwayv1.ListPathwaysRequest
		want []string
	}{
		{"everything", &pathwayv1.ListPathwaysRequest{}, names("a", "b", "c", "d", "e", "f")},
		{"one territory", &pathwayv1.ListPathwaysRequest{TerritoryCode: "T06"}, names("e", "f")},
		{"welcomed, first entry or re-entry", phase(pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED), names("a", "f")},
		{"building a project", phase(pathwayv1.PathwayPhase_PATHWAY_PHASE_BUILDING_PROJECT), names("d")},
		{"in qualifying training", phase(pathwayv1.PathwayPhase_PATHWAY_PHASE_IN_QUALIFYING_TRAINING), names("c")},
		{"exited", phase(pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED), names("b", "e")},
		{"nobody is discovering trades yet", phase(pathwayv1.PathwayPhase_PATHWAY_PHASE_DISCOVERING_TRADES), nil},
		{"phase and territory", &pathwayv1.ListPathwaysRequest{TerritoryCode: "T05", Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED}, names("a")},
		{"active at the end of 31 October", &pathwayv1.ListPathwaysRequest{ActiveOn: date(2026, 10, 31)}, names("b")},
		{"active on 20 November", &pathwayv1.ListPathwaysRequest{ActiveOn: date(2026, 11, 20)}, names("a", "c", "d", "e", "f")},
		{"entered between", &pathwayv1.ListPathwaysRequest{EnteredFrom: date(2026, 11, 1), EnteredTo: date(2026, 11, 10)}, names("c", "d", "e")},
		{"entered since (any episode)", &pathwayv1.ListPathwaysRequest{EnteredFrom: date(2026, 11, 12)}, names("a", "f")},
		{"exited in October", &pathwayv1.ListPathwaysRequest{ExitedFrom: date(2026, 10, 1), ExitedTo: date(2026, 10, 31)}, names("a")},
		{"exited until", &pathwayv1.ListPathwaysRequest{ExitedTo: date(2026, 11, 20)}, names("a", "b")},
		{"every filter", &pathwayv1.ListPathwaysRequest{
			TerritoryCode: "T05", Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, ActiveOn: date(2026, 11, 12),
			EnteredFrom: date(2026, 10, 1), ExitedTo: date(2026, 10, 31),
		}, names("a")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := listAll(t, client, tc.req); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		for _, size := range []int32{1, 2, 4, 6} {
			if got := listAll(t, client, &pathwayv1.ListPathwaysRequest{PageSize: size}); !slices.Equal(got, names("a", "b", "c", "d", "e", "f")) {
				t.Fatalf("pages of %d: %v", size, got)
			}
		}
		first, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{PageSize: 2})
		if err != nil || len(first.GetPathways()) != 2 || first.GetNextPageToken() == "" {
			t.Fatalf("first page %v %v", first, err)
		}
		// A token only continues the listing it comes from.
		_, err = client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: "T05", PageToken: first.GetNextPageToken()})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
		_, err = client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{PageToken: "not-a-token"})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	})

	t.Run("scope", func(t *testing.T) {
		// o5 is enrolled with c (T05) and f (T06); o6, whose token names
		// both territories, with nobody.
		o5contract := contract(t, env, "o5", avenir, "T05", "T06")
		enrol(t, client, ids["c"], o5contract, accompaniment, date(2026, 11, 3))
		enrol(t, client, ids["f"], o5contract, accompaniment, date(2026, 11, 20))
		env.CaughtUp(t)
		o5 := auth.Principal{Subject: "o5", Role: auth.RoleOperator, OperatorID: "o5", Territories: []string{"T05"}}
		o6 := auth.Principal{Subject: "o6", Role: auth.RoleOperator, OperatorID: "o6", Territories: []string{"T05", "T06"}}
		for _, tc := range []struct {
			as   auth.Principal
			req  *pathwayv1.ListPathwaysRequest
			want []string
		}{
			{auth.Principal{Subject: "r6", Role: auth.RoleReferent, ReferentID: "r6", Territories: []string{"T06"}}, &pathwayv1.ListPathwaysRequest{}, names("e", "f")},
			{auth.Principal{Subject: "r6", Role: auth.RoleReferent, ReferentID: "r6", Territories: []string{"T06"}}, &pathwayv1.ListPathwaysRequest{TerritoryCode: "T05"}, nil},
			{auth.Principal{Subject: "r56", Role: auth.RoleReferent, ReferentID: "r56", Territories: []string{"T06", "T05", "T06"}}, &pathwayv1.ListPathwaysRequest{PageSize: 1}, names("a", "b", "c", "d", "e", "f")},
			// An operator lists the learners enrolled with it, wherever
			// they live, with the filters and paging of every listing.
			{o5, &pathwayv1.ListPathwaysRequest{}, names("c", "f")},
			{o5, &pathwayv1.ListPathwaysRequest{PageSize: 1}, names("c", "f")},
			{o5, &pathwayv1.ListPathwaysRequest{TerritoryCode: "T06"}, names("f")},
			{o5, &pathwayv1.ListPathwaysRequest{Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED}, names("f")},
			{o5, &pathwayv1.ListPathwaysRequest{ActiveOn: date(2026, 11, 5)}, names("c")},
			{o5, &pathwayv1.ListPathwaysRequest{Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED}, nil},
			// Its token's territories give it nothing.
			{o6, &pathwayv1.ListPathwaysRequest{}, nil},
			{o6, &pathwayv1.ListPathwaysRequest{TerritoryCode: "T05"}, nil},
			{funder, &pathwayv1.ListPathwaysRequest{Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED}, names("b", "e")},
		} {
			c := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, tc.as))
			if got := listAll(t, c, tc.req); !slices.Equal(got, tc.want) {
				t.Fatalf("as %v %v: got %v, want %v", tc.as, tc.req, got, tc.want)
			}
		}
		// An operator's token continues its own listing only.
		first, err := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, o5)).ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{PageSize: 1})
		if err != nil || len(first.GetPathways()) != 1 || first.GetNextPageToken() == "" {
			t.Fatalf("first page %v %v", first, err)
		}
		_, err = client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{PageSize: 1, PageToken: first.GetNextPageToken()})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
		_, err = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, o6)).ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{PageSize: 1, PageToken: first.GetNextPageToken()})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	})

	t.Run("bad input, every problem at once", func(t *testing.T) {
		_, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{
			TerritoryCode: "T 05", ActiveOn: date(2026, 2, 30), EnteredFrom: date(2026, 11, 2), EnteredTo: date(2026, 11, 1),
			ExitedFrom: &commonv1.Date{Year: 2026, Month: 13, Day: 1}, Phase: 99, PageSize: -1,
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "territory_code", "active_on", "exited_from", "entered_to", "phase", "page_size")
	})
}
