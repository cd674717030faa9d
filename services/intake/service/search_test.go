package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// people are registered for the searches: family and given names,
// territory and commune.
var people = []struct{ family, given, territory, commune string }{
	{"Lefèvre", "Anaïs", "T05", "27229"},
	{"LEFEVRE", "Bruno", "T06", "27681"},
	{"Le Fèvre-Morin", "Chloé", "T05", "27229"},
	{"Lefort", "Damien", "T01", "14118"},
	{"Martin", "Élodie", "T05", "27229"},
	{"Martin", "Émile", "T01", "14118"},
	{"d'Arc", "Jeanne", "T06", "27681"},
}

// names lists the family and given names of learners.
func names(ls []*intakev1.Learner) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.GetFamilyName()+" "+l.GetGivenName())
	}
	return out
}

// search runs a search once the read model knows every registered learner.
func search(t *testing.T, client intakev1.IntakeServiceClient, req *intakev1.SearchLearnersRequest) *intakev1.SearchLearnersResponse {
	t.Helper()
	resp, err := client.SearchLearners(ctx(t), req)
	if err != nil {
		t.Fatalf("search %v: %v", req, err)
	}
	return resp
}

func TestSearchLearners(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testSearch(t, projection.NewMemory()) })
	t.Run("redis", func(t *testing.T) {
		store, err := projection.NewRedis(context.Background(), projection.RedisOptions{URL: redistest.URL(t), Prefix: redistest.Prefix(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		testSearch(t, store)
	})
}

func testSearch(t *testing.T, store projection.Store) {
	env, admin := startWith(t, servicetest.Options{Store: store}, service.Config{})
	ids := map[string]string{}
	for i, p := range people {
		r := person(fmt.Sprintf("p%d", i), p.family, p.given, p.territory, p.commune)
		if i == 0 {
			r.Situation.FranceTravailId, r.Rqth = "1234567A", true
		}
		resp, err := admin.RegisterLearner(ctx(t), r)
		if err != nil {
			t.Fatal(err)
		}
		ids[p.given] = resp.GetLearner().GetLearnerId()
	}
	servicetest.Eventually(t, 5*time.Second, func() error {
		if n := len(search(t, admin, &intakev1.SearchLearnersRequest{}).GetLearners()); n != len(people) {
			return fmt.Errorf("%d learners in the read model", n)
		}
		return nil
	})

	t.Run("everyone, by family name then given name", func(t *testing.T) {
		got := names(search(t, admin, &intakev1.SearchLearnersRequest{}).GetLearners())
		want := []string{"d'Arc Jeanne", "Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Lefort Damien", "Martin Élodie", "Martin Émile"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("family-name prefix, whatever the accents, case and spaces", func(t *testing.T) {
		for prefix, want := range map[string][]string{
			"lefe":         {"Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé"},
			" LÉ-FÈ ":      {"Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé"},
			"lef":          {"Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Lefort Damien"},
			"le fevre mor": {"Le Fèvre-Morin Chloé"},
			"D'ARC":        {"d'Arc Jeanne"},
			"dupont":       nil,
		} {
			if got := names(search(t, admin, &intakev1.SearchLearnersRequest{FamilyNamePrefix: prefix}).GetLearners()); !slices.Equal(got, want) {
				t.Errorf("%q: got %v, want %v", prefix, got, want)
			}
		}
	})
	t.Run("territory", func(t *testing.T) {
		got := names(search(t, admin, &intakev1.SearchLearnersRequest{TerritoryCode: "T05"}).GetLearners())
		if !slices.Equal(got, []string{"Lefèvre Anaïs", "Le Fèvre-Morin Chloé", "Martin Élodie"}) {
			t.Fatalf("T05: %v", got)
		}
		got = names(search(t, admin, &intakev1.SearchLearnersRequest{TerritoryCode: "T01", FamilyNamePrefix: "martin"}).GetLearners())
		if !slices.Equal(got, []string{"Martin Émile"}) {
			t.Fatalf("Martin in T01: %v", got)
		}
	})
	t.Run("France Travail id", func(t *testing.T) {
		resp := search(t, admin, &intakev1.SearchLearnersRequest{FranceTravailId: "1234567a"})
		if len(resp.GetLearners()) != 1 || resp.GetLearners()[0].GetLearnerId() != ids["Anaïs"] || !resp.GetLearners()[0].GetRqth() {
			t.Fatalf("by id: %v", resp)
		}
		for _, req := range []*intakev1.SearchLearnersRequest{
			{FranceTravailId: "7654321B"},
			{FranceTravailId: "1234567A", TerritoryCode: "T06"},
			{FranceTravailId: "1234567A", FamilyNamePrefix: "martin"},
		} {
			if got := search(t, admin, req).GetLearners(); len(got) != 0 {
				t.Errorf("%v: %v", req, names(got))
			}
		}
	})
	t.Run("page by page", func(t *testing.T) {
		var got []string
		token := ""
		pages := 0
		for {
			resp := search(t, admin, &intakev1.SearchLearnersRequest{PageSize: 2, PageToken: token, FamilyNamePrefix: ""})
			got = append(got, names(resp.GetLearners())...)
			pages++
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if pages != 4 || len(got) != len(people) || got[0] != "d'Arc Jeanne" || got[6] != "Martin Émile" {
			t.Fatalf("%d pages: %v", pages, got)
		}
		// A token continues the search it came from only.
		first := search(t, admin, &intakev1.SearchLearnersRequest{PageSize: 2})
		_, err := admin.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{PageSize: 2, PageToken: first.GetNextPageToken(), TerritoryCode: "T05"})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	})
	t.Run("scope", func(t *testing.T) {
		// op-5 reads the learners enrolled with it, in any territory; its
		// token's T05 gives it none.
		for _, given := range []string{"Anaïs", "Bruno", "Élodie"} {
			territory := "T05"
			if given == "Bruno" {
				territory = "T06"
			}
			enrol(t, env, ids[given], operatorT05.OperatorID, 1, territory)
		}
		for _, tc := range []struct {
			as   auth.Principal
			want []string
			rqth bool
		}{
			{referentT05, []string{"d'Arc Jeanne", "Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Martin Élodie"}, true},
			{referentT01, []string{"Lefort Damien", "Martin Émile"}, true},
			{operatorT05, []string{"Lefèvre Anaïs", "LEFEVRE Bruno", "Martin Élodie"}, false},
			{operatorT01, nil, false},
			{funder, []string{"d'Arc Jeanne", "Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Lefort Damien", "Martin Élodie", "Martin Émile"}, false},
		} {
			client := intakev1.NewIntakeServiceClient(env.ConnAs(t, tc.as))
			// Across territories, page by page.
			var got []*intakev1.Learner
			token := ""
			for {
				resp := search(t, client, &intakev1.SearchLearnersRequest{PageSize: 2, PageToken: token})
				got = append(got, resp.GetLearners()...)
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("%s: %v, want %v", tc.as.Subject, names(got), tc.want)
			}
			for _, l := range got {
				if l.GetLearnerId() == ids["Anaïs"] && (l.Rqth != nil) != tc.rqth {
					t.Errorf("%s: rqth present=%v", tc.as.Subject, l.Rqth != nil)
				}
			}
			if tc.as.Role == auth.RoleFunder {
				// Funders do not see the situation, nor search by it.
				_, err := client.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{FranceTravailId: "1234567A"})
				servicetest.Refused(t, err, codes.PermissionDenied)
			} else if got := search(t, client, &intakev1.SearchLearnersRequest{FranceTravailId: "1234567A"}).GetLearners(); (len(got) == 1) != slices.Contains(tc.want, "Lefèvre Anaïs") {
				t.Errorf("%s by France Travail id: %v", tc.as.Subject, names(got))
			}
		}
		_, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{TerritoryCode: "T01"})
		servicetest.Refused(t, err, codes.PermissionDenied)
	})
	t.Run("bad criteria", func(t *testing.T) {
		_, err := admin.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{
			FamilyNamePrefix: "--", TerritoryCode: "T99", FranceTravailId: "12", PageSize: -3, PageToken: "%%%",
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "family_name_prefix", "territory_code", "france_travail_id", "page_size", "page_token")
	})
	t.Run("changes reach the read model", func(t *testing.T) {
		id := ids["Anaïs"]
		if _, err := admin.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
			RequestId: "new-id", LearnerId: id, EffectiveDate: &commonv1.Date{Year: 2026, Month: 11, Day: 26}, FranceTravailId: proto.String("7654321B"),
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "move", LearnerId: id, CommuneCode: proto.String("27681")}); err != nil {
			t.Fatal(err)
		}
		servicetest.Eventually(t, 5*time.Second, func() error {
			got := search(t, admin, &intakev1.SearchLearnersRequest{FranceTravailId: "7654321B"}).GetLearners()
			if len(got) != 1 || got[0].GetContact().GetCommuneCode() != "27681" {
				return fmt.Errorf("by the new id: %v", got)
			}
			return nil
		})
		if got := search(t, admin, &intakev1.SearchLearnersRequest{FranceTravailId: "1234567A"}).GetLearners(); len(got) != 0 {
			t.Fatalf("still found by the old id: %v", names(got))
		}
		// The index holds the current identifiers only.
		members, err := store.Range(ctx(t), "intake-learners-v2", "ftid", projection.RangeQuery{})
		if err != nil || !slices.Equal(members, []string{"7654321B\x00" + id}) {
			t.Fatalf("ftid index %q %v", members, err)
		}
		want, err := admin.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
		if err != nil {
			t.Fatal(err)
		}
		got := search(t, admin, &intakev1.SearchLearnersRequest{FranceTravailId: "7654321B"}).GetLearners()[0]
		if !proto.Equal(got, want.GetLearner()) {
			t.Fatalf("read model %v\nevents %v", got, want.GetLearner())
		}
	})
}

// A fresh store is rebuilt from the stream when the service starts: the
// read model of a new instance answers as the old one did.
func TestSearchReadModelIsRebuiltFromTheStream(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	for i, p := range people {
		if _, err := admin.RegisterLearner(ctx(t), person(fmt.Sprintf("p%d", i), p.family, p.given, p.territory, p.commune)); err != nil {
			t.Fatal(err)
		}
	}
	// The process stops; another starts with an empty in-memory store.
	deps := env.Deps
	deps.Projections = projection.NewMemory()
	svc := env.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
	resp, err := svc.SearchLearners(auth.NewContext(ctx(t), servicetest.Admin), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "martin"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(resp.GetLearners()); !slices.Equal(got, []string{"Martin Élodie", "Martin Émile"}) {
		t.Fatalf("rebuilt read model: %v", got)
	}
}
