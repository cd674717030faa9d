package service_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// readsAnalysis lists how a caller reads an analysis: by id, as its
// learner's current one, in its learner's listing and in its territory's.
// Whatever it reads is the recommended steps only.
func readsAnalysis(t *testing.T, c needsv1.NeedsServiceClient, a *needsv1.Analysis) []string {
	t.Helper()
	var out, seen []string
	var shown []*needsv1.Analysis
	for name, req := range map[string]*needsv1.GetAnalysisRequest{
		"get":     {AnalysisId: a.GetAnalysisId()},
		"current": {LearnerId: a.GetLearnerId()},
	} {
		resp, err := c.GetAnalysis(ctx(t), req)
		switch status.Code(err) {
		case codes.OK:
			out, shown = append(out, name), append(shown, resp.GetAnalysis())
		case codes.NotFound:
		default:
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, req := range map[string]*needsv1.ListAnalysesRequest{
		"learner's list":   {LearnerId: a.GetLearnerId()},
		"territory's list": {TerritoryCode: a.GetTerritoryCode()},
	} {
		resp, err := c.ListAnalyses(ctx(t), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, l := range resp.GetAnalyses() {
			if l.GetAnalysisId() == a.GetAnalysisId() {
				out, shown = append(out, name), append(shown, l)
			}
		}
	}
	for _, s := range shown {
		if !s.GetStepsOnly() || !proto.Equal(s.GetContent(), &needsv1.AnalysisContent{RecommendedSteps: steps()}) {
			seen = append(seen, s.String())
		}
	}
	if len(seen) > 0 {
		t.Errorf("an operator reads more than the steps: %v", seen)
	}
	slices.Sort(out)
	return out
}

var everyAnalysisRead = []string{"current", "get", "learner's list", "territory's list"}

// An operator reads the analyses of the learners enrolled with it (their
// steps), and for 30 days after its last enrolment with them ended,
// whatever territories its token carries: op-b's token with territory T05
// and no enrolment reads nothing of a T05 learner enrolled with op-a.
func TestOperatorsReadTheAnalysesOfLearnersEnrolledWithThem(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	a := analysed(t, env, admin, "T05")
	env.CaughtUp(t)
	opA := auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T01"}}
	opB := auth.Principal{Subject: "u-op-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05"}}
	conns := func() (a, b needsv1.NeedsServiceClient) {
		return needsv1.NewNeedsServiceClient(env.ConnAs(t, opA)), needsv1.NewNeedsServiceClient(env.ConnAs(t, opB))
	}
	clientA, clientB := conns()
	expect := func(who string, c needsv1.NeedsServiceClient, want []string) {
		t.Helper()
		if got := readsAnalysis(t, c, a); !slices.Equal(got, want) {
			t.Errorf("%s reads %v, want %v", who, got, want)
		}
	}

	expect("op-a before any enrolment", clientA, nil)
	expect("op-b with a T05 token", clientB, nil)

	enrol(t, env, a.GetLearnerId(), "op-a", 1, "T05")
	expect("op-a, enrolled", clientA, everyAnalysisRead)
	expect("op-b, not enrolled, with a T05 token", clientB, nil)
	// Its territory filter narrows within its learners: never refused.
	resp, err := clientA.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: "T01"})
	if err != nil || len(resp.GetAnalyses()) != 0 {
		t.Errorf("op-a's listing of T01: %v %v", resp, err)
	}

	// Ended on 26 November: op-a reads until 26 December.
	endEnrolment(t, env, a.GetLearnerId(), "op-a", 1, "T05", &commonv1.Date{Year: 2026, Month: 11, Day: 26})
	expect("op-a, the day its enrolment ended", clientA, everyAnalysisRead)
	env.SetNow(time.Date(2026, 12, 26, 22, 0, 0, 0, time.UTC)) // 23:00 in Paris: still the 26th
	clientA, clientB = conns()
	expect("op-a, 30 days after", clientA, everyAnalysisRead)
	env.SetNow(time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC))
	clientA, clientB = conns()
	expect("op-a, 31 days after", clientA, nil)
	expect("op-b", clientB, nil)
}

// An operator lists a territory's analyses among its learners' only, in the
// order and pages of an admin's listing (by date, then id), with the
// period and status filters.
func TestOperatorListsTheAnalysesOfItsLearners(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	t0 := env.Now()
	at := func(days int) {
		// The clock moves, and tokens are minted on its time.
		env.SetNow(t0.AddDate(0, 0, days))
		admin = needsv1.NewNeedsServiceClient(env.ConnAs(t, servicetest.Admin))
	}
	enrolled := func(a *needsv1.Analysis) *needsv1.Analysis {
		enrol(t, env, a.GetLearnerId(), "op-a", 1, a.GetTerritoryCode())
		return a
	}
	at(-3)
	first := enrolled(analysed(t, env, admin, "T05")) // started and completed on 23 November
	at(-2)
	drafting := enrolled(startAnalysis(t, admin, inPathway(t, env, "T05"))) // started on 24 November
	analysed(t, env, admin, "T05")                                          // not enrolled with op-a
	at(-1)
	late := enrolled(startAnalysis(t, admin, inPathway(t, env, "T05"))) // started on 25 November,
	draft(t, admin, late.GetAnalysisId(), content())
	elsewhere := enrolled(analysed(t, env, admin, "T09"))
	at(0)
	late = complete(t, admin, late.GetAnalysisId())   // completed on 26 November
	second := revise(t, admin, first.GetAnalysisId()) // the first learner's second version, started on 26 November
	env.CaughtUp(t)
	// Another operator's learner, in T05 too.
	other := analysed(t, env, admin, "T05")
	enrol(t, env, other.GetLearnerId(), "op-b", 1, "T05")

	opA := needsv1.NewNeedsServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}))
	ids := func(req *needsv1.ListAnalysesRequest) []string {
		t.Helper()
		var out []string
		for pages := 1; ; pages++ {
			resp, err := opA.ListAnalyses(ctx(t), req)
			if err != nil || pages > 6 {
				t.Fatalf("list %v: %v (page %d)", req, err, pages)
			}
			for _, a := range resp.GetAnalyses() {
				if !a.GetStepsOnly() {
					t.Errorf("op-a reads %v", a)
				}
				out = append(out, a.GetAnalysisId())
			}
			if resp.GetNextPageToken() == "" {
				return out
			}
			if len(resp.GetAnalyses()) != int(req.GetPageSize()) {
				t.Errorf("a page of %d analyses before the last, asked %d", len(resp.GetAnalyses()), req.GetPageSize())
			}
			req = proto.CloneOf(req)
			req.PageToken = resp.GetNextPageToken()
		}
	}
	id := func(as ...*needsv1.Analysis) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.GetAnalysisId())
		}
		return out
	}
	day := func(d int) *commonv1.Date { return civilpb.FromDate(today.AddDays(d)) }
	for _, tc := range []struct {
		name string
		req  *needsv1.ListAnalysesRequest
		want []string
	}{
		{"T05", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1}, id(first, drafting, late, second)},
		{"T05, two a page", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 2}, id(first, drafting, late, second)},
		{"started 24-25 November", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1, From: day(-2), To: day(-1)}, id(drafting, late)},
		{"completed", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1, Status: needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED}, id(first, late)},
		{"completed from 26 November", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1, Status: needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED, From: day(0)}, id(late)},
		{"drafts", &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1, Status: needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT}, id(drafting, second)},
		{"T09", &needsv1.ListAnalysesRequest{TerritoryCode: "T09", PageSize: 1}, id(elsewhere)},
		{"T01", &needsv1.ListAnalysesRequest{TerritoryCode: "T01", PageSize: 1}, nil},
		{"a learner's", &needsv1.ListAnalysesRequest{LearnerId: first.GetLearnerId()}, id(first, second)},
		{"another operator's learner's", &needsv1.ListAnalysesRequest{LearnerId: other.GetLearnerId()}, nil},
	} {
		if got := ids(tc.req); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// A token continues the listing it came from only.
	page, err := opA.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = opA.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: "T09", PageSize: 1, PageToken: page.GetNextPageToken()})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
}

// For every role but admin, a barrier count from 1 to 4 is withheld, in
// each territory and in the total, after the counts shown: a referent of
// the territory who follows none of the learners with a health barrier
// does not get their count, nor does their referent while it is under
// five; health barriers count only for those who act for the learners of
// the territory (not funders).
func TestSummaryWithholdsCountsUnderFive(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	for range 4 {
		// Health and mobility, of learners ref-5 follows.
		learner := analysed(t, env, admin, "T05").GetLearnerId()
		publishAssignment(t, env, learner, "assigned", &referentv1.ReferentAssigned{
			LearnerId: learner, ReferentId: referentT05.ReferentID, TerritoryCode: "T05", EpisodeNumber: 1,
			FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2}, Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		})
	}
	c := content()
	c.Barriers = []*needsv1.Barrier{
		{Kind: needsv1.BarrierKind_BARRIER_KIND_MOBILITY, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_LOW},
		{Kind: needsv1.BarrierKind_BARRIER_KIND_HOUSING, Severity: needsv1.BarrierSeverity_BARRIER_SEVERITY_HIGH},
	}
	a := startAnalysis(t, admin, inPathway(t, env, "T05"))
	draft(t, admin, a.GetAnalysisId(), c)
	complete(t, admin, a.GetAnalysisId())
	env.CaughtUp(t)

	count := func(k needsv1.BarrierKind, n int32) *needsv1.BarrierCount {
		return &needsv1.BarrierCount{Kind: k, Count: n}
	}
	few := func(k needsv1.BarrierKind) *needsv1.BarrierCount {
		return &needsv1.BarrierCount{Kind: k, FewerThanFive: true}
	}
	mobility, health, housing := needsv1.BarrierKind_BARRIER_KIND_MOBILITY, needsv1.BarrierKind_BARRIER_KIND_HEALTH, needsv1.BarrierKind_BARRIER_KIND_HOUSING
	// A referent of T05 following none of these learners.
	stranger := auth.Principal{Subject: "u-ref-x", Role: auth.RoleReferent, ReferentID: "ref-x", Territories: []string{"T05"}}
	req := &needsv1.GetAnalysisSummaryRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
	for _, tc := range []struct {
		name string
		as   auth.Principal
		want []*needsv1.BarrierCount
	}{
		{"admin", servicetest.Admin, []*needsv1.BarrierCount{count(mobility, 5), count(health, 4), count(housing, 1)}},
		{"their referent", referentT05, []*needsv1.BarrierCount{count(mobility, 5), few(housing), few(health)}},
		{"referent following none of them", stranger, []*needsv1.BarrierCount{count(mobility, 5), few(housing), few(health)}},
		{"funder", funder, []*needsv1.BarrierCount{count(mobility, 5), few(housing)}},
	} {
		resp, err := needsv1.NewNeedsServiceClient(env.ConnAs(t, tc.as)).GetAnalysisSummary(ctx(t), req)
		if err != nil || len(resp.GetTerritories()) != 1 {
			t.Fatalf("%s: %v %v", tc.name, resp, err)
		}
		for _, s := range []*needsv1.AnalysisSummary{resp.GetTerritories()[0], resp.GetTotal()} {
			if !slices.EqualFunc(s.GetBarriers(), tc.want, func(a, b *needsv1.BarrierCount) bool { return proto.Equal(a, b) }) {
				t.Errorf("%s: barriers %v, want %v", tc.name, s.GetBarriers(), tc.want)
			}
			if s.GetMonths()[0].GetCompleted() != 5 {
				t.Errorf("%s: months %v", tc.name, s.GetMonths())
			}
		}
	}
}
