package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// reads lists what a caller reads of a learner, one entry per way of
// reading it: the learner, its history, and searches by every criterion
// that selects it (none, its territory, its France Travail id, its
// family name).
func reads(t *testing.T, c intakev1.IntakeServiceClient, l *intakev1.Learner) []string {
	t.Helper()
	var out []string
	got, err := c.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: l.GetLearnerId()})
	switch status.Code(err) {
	case codes.OK:
		if got.GetLearner().Rqth != nil {
			t.Errorf("%s reads the RQTH", l.GetLearnerId())
		}
		out = append(out, "get")
	case codes.NotFound:
	default:
		t.Fatalf("get: %v", err)
	}
	h, err := c.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: l.GetLearnerId()})
	switch status.Code(err) {
	case codes.OK:
		if len(h.GetChanges()) == 0 || h.GetChanges()[0].GetLearner().Rqth != nil {
			t.Errorf("history %v", h)
		}
		out = append(out, "history")
	case codes.NotFound:
	default:
		t.Fatalf("history: %v", err)
	}
	for name, req := range map[string]*intakev1.SearchLearnersRequest{
		"search":                 {},
		"search by territory":    {TerritoryCode: l.GetTerritoryCode()},
		"search by id":           {FranceTravailId: l.GetSituation().GetFranceTravailId()},
		"search by name":         {FamilyNamePrefix: l.GetFamilyName()},
		"search by name in area": {FamilyNamePrefix: l.GetFamilyName()[:3], TerritoryCode: l.GetTerritoryCode()},
	} {
		resp, err := c.SearchLearners(ctx(t), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, found := range resp.GetLearners() {
			if found.GetLearnerId() == l.GetLearnerId() {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// everyRead is what reads lists for a caller reading the learner.
var everyRead = []string{"get", "history", "search", "search by id", "search by name", "search by name in area", "search by territory"}

// An operator reads exactly the learners enrolled with it, and for 30 days
// after its last enrolment with them ended, whatever territories its token
// carries: op-b's token with territory T05 and no enrolment reads nothing
// of a T05 learner enrolled with op-a.
func TestOperatorsReadTheLearnersEnrolledWithThem(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	reg := validRequest("enrolled")
	reg.Rqth = true
	created, err := admin.RegisterLearner(ctx(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	l := created.GetLearner()
	env.CaughtUp(t)
	opA := auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T01"}}
	opB := auth.Principal{Subject: "u-op-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05"}}
	conns := func() (a, b intakev1.IntakeServiceClient) {
		return intakev1.NewIntakeServiceClient(env.ConnAs(t, opA)), intakev1.NewIntakeServiceClient(env.ConnAs(t, opB))
	}
	clientA, clientB := conns()
	expect := func(who string, c intakev1.IntakeServiceClient, want []string) {
		t.Helper()
		if got := reads(t, c, l); !slices.Equal(got, want) {
			t.Errorf("%s reads %v, want %v", who, got, want)
		}
	}

	expect("op-a before any enrolment", clientA, nil)
	expect("op-b with a T05 token", clientB, nil)

	enrol(t, env, l.GetLearnerId(), "op-a", 1, "T05")
	expect("op-a, enrolled", clientA, everyRead)
	expect("op-b, not enrolled, with a T05 token", clientB, nil)
	// Its territory filter narrows within its learners: never refused.
	resp, err := clientA.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{TerritoryCode: "T01"})
	if err != nil || len(resp.GetLearners()) != 0 {
		t.Errorf("op-a's search in T01: %v %v", resp, err)
	}
	// An operator never writes here.
	_, err = clientA.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "op-a-writes", LearnerId: l.GetLearnerId(), Email: proto.String("x@example.fr")})
	servicetest.Refused(t, err, codes.PermissionDenied)

	// Ended on 26 November: op-a reads until 26 December.
	endEnrolment(t, env, l.GetLearnerId(), "op-a", 1, "T05", nov26)
	expect("op-a, the day its enrolment ended", clientA, everyRead)
	env.SetNow(time.Date(2026, 12, 26, 22, 0, 0, 0, time.UTC)) // 23:00 in Paris: still the 26th
	clientA, clientB = conns()
	expect("op-a, 30 days after", clientA, everyRead)
	env.SetNow(time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC))
	clientA, clientB = conns()
	expect("op-a, 31 days after", clientA, nil)
	expect("op-b", clientB, nil)

	// Enrolled again: read again.
	enrol(t, env, l.GetLearnerId(), "op-a", 2, "T05")
	expect("op-a, enrolled again", clientA, everyRead)
}

// A funder sees of a learner what billing needs: id, names, territory and
// registration, in every answer; no contact, birth date, situation or RQTH.
func TestFundersSeeWhatBillingNeeds(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	reg := validRequest("billed")
	reg.Rqth = true
	created, err := admin.RegisterLearner(ctx(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	l := created.GetLearner()
	if _, err := admin.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "rsa", LearnerId: l.GetLearnerId(), EffectiveDate: nov26, RsaRecipient: proto.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "moved", LearnerId: l.GetLearnerId(), CommuneCode: proto.String("27681")}); err != nil {
		t.Fatal(err)
	}
	env.CaughtUp(t)
	want := &intakev1.Learner{
		LearnerId: l.GetLearnerId(), FamilyName: "Lefèvre", GivenName: "Anaïs", TerritoryCode: "T05",
		RegisteredAt: l.GetRegisteredAt(), RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 26},
	}
	client := intakev1.NewIntakeServiceClient(env.ConnAs(t, funder))
	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: l.GetLearnerId()})
	if err != nil || !proto.Equal(got.GetLearner(), want) {
		t.Fatalf("get: %v %v\nwant %v", got, err, want)
	}
	found, err := client.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "lefevre"})
	if err != nil || len(found.GetLearners()) != 1 || !proto.Equal(found.GetLearners()[0], want) {
		t.Fatalf("search: %v %v", found, err)
	}
	// Nor does a search by France Travail id tell whose it is.
	_, err = client.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{FranceTravailId: "1234567A"})
	servicetest.Refused(t, err, codes.PermissionDenied)
	h, err := client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: l.GetLearnerId()})
	if err != nil || len(h.GetChanges()) != 3 {
		t.Fatalf("history: %v %v", h, err)
	}
	for _, c := range h.GetChanges() {
		if !proto.Equal(c.GetLearner(), want) {
			t.Errorf("history's %v shows %v", c.GetKind(), c.GetLearner())
		}
	}
	// The others still see the rest: an admin the whole learner.
	whole, err := admin.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: l.GetLearnerId()})
	if err != nil || whole.GetLearner().GetContact().GetCommuneCode() != "27681" || !whole.GetLearner().GetSituation().GetRsaRecipient() ||
		whole.GetLearner().GetBirthDate() == nil || !whole.GetLearner().GetRqth() {
		t.Fatalf("admin: %v %v", whole, err)
	}
}

// An operator's search pages over its learners like any search: by name,
// with tokens continuing where the previous page ended, whatever the
// territories, and its filters narrow within them.
func TestOperatorSearchPagesOverItsLearners(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	ids := map[string]string{}
	for i, p := range people {
		r := person(fmt.Sprintf("p%d", i), p.family, p.given, p.territory, p.commune)
		resp, err := admin.RegisterLearner(ctx(t), r)
		if err != nil {
			t.Fatal(err)
		}
		ids[p.given] = resp.GetLearner().GetLearnerId()
	}
	env.CaughtUp(t)
	// Enrolled with op-a: everyone but Jeanne; Émile with op-b only.
	for i, p := range people {
		switch p.given {
		case "Jeanne":
		case "Émile":
			enrol(t, env, ids[p.given], "op-b", 1, p.territory)
		default:
			enrol(t, env, ids[p.given], "op-a", int32(i+1), p.territory)
		}
	}
	opA := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}))
	all := func(req *intakev1.SearchLearnersRequest) (got []string, pages int) {
		t.Helper()
		for {
			resp := search(t, opA, req)
			if len(resp.GetLearners()) > int(req.GetPageSize()) {
				t.Fatalf("a page of %d learners, asked %d", len(resp.GetLearners()), req.GetPageSize())
			}
			got, pages = append(got, names(resp.GetLearners())...), pages+1
			if resp.GetNextPageToken() == "" {
				return got, pages
			}
			if pages > len(people) {
				t.Fatalf("%v: more pages than learners: %v", req, got)
			}
			req = proto.CloneOf(req)
			req.PageToken = resp.GetNextPageToken()
		}
	}
	got, pages := all(&intakev1.SearchLearnersRequest{PageSize: 2})
	if want := []string{"Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Lefort Damien", "Martin Élodie"}; !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("op-a's learners: %d pages %v, want 3 pages %v", pages, got, want)
	}
	for _, tc := range []struct {
		req  *intakev1.SearchLearnersRequest
		want []string
	}{
		{&intakev1.SearchLearnersRequest{PageSize: 1, TerritoryCode: "T05"}, []string{"Lefèvre Anaïs", "Le Fèvre-Morin Chloé", "Martin Élodie"}},
		{&intakev1.SearchLearnersRequest{PageSize: 1, TerritoryCode: "T06"}, []string{"LEFEVRE Bruno"}},
		{&intakev1.SearchLearnersRequest{PageSize: 2, FamilyNamePrefix: "lef"}, []string{"Lefèvre Anaïs", "LEFEVRE Bruno", "Le Fèvre-Morin Chloé", "Lefort Damien"}},
		{&intakev1.SearchLearnersRequest{PageSize: 2, TerritoryCode: "T01"}, []string{"Lefort Damien"}},
		{&intakev1.SearchLearnersRequest{PageSize: 2, FamilyNamePrefix: "martin", TerritoryCode: "T01"}, nil},
		{&intakev1.SearchLearnersRequest{PageSize: 2, TerritoryCode: "T09"}, nil},
	} {
		if got, _ := all(tc.req); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.req, got, tc.want)
		}
	}
	// A token continues the search it came from only.
	first := search(t, opA, &intakev1.SearchLearnersRequest{PageSize: 2})
	_, err := opA.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{PageSize: 2, PageToken: first.GetNextPageToken(), TerritoryCode: "T05"})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	// A learner enrolled between two pages, sorting before the token, does
	// not shift the next page: it starts after the last learner shown.
	enrol(t, env, ids["Jeanne"], "op-a", 9, "T06")
	next := search(t, opA, &intakev1.SearchLearnersRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
	if got := names(next.GetLearners()); !slices.Equal(got, []string{"Le Fèvre-Morin Chloé", "Lefort Damien"}) {
		t.Fatalf("the page after %v: %v", names(first.GetLearners()), got)
	}
	if got, _ := all(&intakev1.SearchLearnersRequest{PageSize: 50}); !slices.Contains(got, "d'Arc Jeanne") || strings.Contains(strings.Join(got, ","), "Émile") {
		t.Fatalf("op-a's learners after Jeanne's enrolment: %v", got)
	}
}
