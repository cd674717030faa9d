package service_test

import (
	"fmt"
	"slices"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

var (
	referentT05 = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operatorT05 = auth.Principal{Subject: "u-op5", Role: auth.RoleOperator, OperatorID: "op-5", Territories: []string{"T05"}}
	operatorT01 = auth.Principal{Subject: "u-op1", Role: auth.RoleOperator, OperatorID: "op-1", Territories: []string{"T01"}}
	// operatorEnrolled has the learners it reads enrolled with it; its
	// token's territory is not theirs.
	operatorEnrolled = auth.Principal{Subject: "u-op-e", Role: auth.RoleOperator, OperatorID: "op-e", Territories: []string{"T01"}}
	funder           = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

// Every role against every RPC: allowed, denied by role, or hidden because
// the learner is outside the caller's scope; and a refusal appends nothing.
func TestAccess(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	shown := analysed(t, env, admin, "T05") // a completed analysis, for the reads
	enrol(t, env, shown.GetLearnerId(), operatorEnrolled.OperatorID, 1, "T05")

	type want struct {
		start, draft, complete, revise      codes.Code
		get, current, listLearner, listTerr codes.Code
		summary                             codes.Code
		// listed: ListAnalyses of the learner lists the analysis.
		listed bool
	}
	ok, pd, nf, fp, un := codes.OK, codes.PermissionDenied, codes.NotFound, codes.FailedPrecondition, codes.Unauthenticated
	tests := []struct {
		name string
		as   *auth.Principal
		want want
	}{
		{"admin", &servicetest.Admin, want{ok, ok, ok, ok, ok, ok, ok, ok, ok, true}},
		{"referent of the territory", &referentT05, want{ok, ok, ok, ok, ok, ok, ok, pd, ok, true}},
		// Out of scope reads as not in the pathway (starting) or not found.
		{"referent of another territory", &referentT01, want{fp, nf, nf, nf, nf, nf, ok, pd, pd, false}},
		// Operators read the learners enrolled with them, whatever their
		// token's territories; a territory's listing lists theirs.
		{"operator enrolled with the learner", &operatorEnrolled, want{pd, pd, pd, pd, ok, ok, ok, ok, pd, true}},
		{"operator with a token of the territory", &operatorT05, want{pd, pd, pd, pd, nf, nf, ok, ok, pd, false}},
		{"operator of another territory", &operatorT01, want{pd, pd, pd, pd, nf, nf, ok, ok, pd, false}},
		{"funder", &funder, want{pd, pd, pd, pd, pd, pd, pd, pd, ok, false}},
		{"anonymous", nil, want{un, un, un, un, un, un, un, un, un, false}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
			}
			client := needsv1.NewNeedsServiceClient(conn)
			fresh := inPathway(t, env, "T05")                             // in the pathway, no analysis yet
			drafting := startAnalysis(t, admin, inPathway(t, env, "T05")) // a draft to draft
			toComplete := startAnalysis(t, admin, inPathway(t, env, "T05"))
			draft(t, admin, toComplete.GetAnalysisId(), content())
			toRevise := analysed(t, env, admin, "T05")
			env.CaughtUp(t)
			before := allEvents(t, env)

			check := func(rpc string, err error, want codes.Code) {
				t.Helper()
				if status.Code(err) != want {
					t.Errorf("%s: %v, want %v", rpc, err, want)
				}
			}
			rid := func(what string) string { return fmt.Sprintf("%s-%d", what, i) }
			_, err := client.StartAnalysis(ctx(t), &needsv1.StartAnalysisRequest{RequestId: rid("start"), LearnerId: fresh})
			check("StartAnalysis", err, tc.want.start)
			_, err = client.DraftAnalysis(ctx(t), &needsv1.DraftAnalysisRequest{RequestId: rid("draft"), AnalysisId: drafting.GetAnalysisId(), Content: content()})
			check("DraftAnalysis", err, tc.want.draft)
			_, err = client.CompleteAnalysis(ctx(t), &needsv1.CompleteAnalysisRequest{RequestId: rid("complete"), AnalysisId: toComplete.GetAnalysisId()})
			check("CompleteAnalysis", err, tc.want.complete)
			_, err = client.ReviseAnalysis(ctx(t), &needsv1.ReviseAnalysisRequest{RequestId: rid("revise"), AnalysisId: toRevise.GetAnalysisId()})
			check("ReviseAnalysis", err, tc.want.revise)
			changes := 0
			for _, c := range []codes.Code{tc.want.start, tc.want.draft, tc.want.complete, tc.want.revise} {
				if c == codes.OK {
					changes++
				}
			}
			nothingAppended(t, env, before+changes)

			_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: shown.GetAnalysisId()})
			check("GetAnalysis", err, tc.want.get)
			_, err = client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{LearnerId: shown.GetLearnerId()})
			check("GetAnalysis (current)", err, tc.want.current)
			list, err := client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: shown.GetLearnerId()})
			check("ListAnalyses (learner)", err, tc.want.listLearner)
			if listed := len(list.GetAnalyses()) == 1; listed != tc.want.listed {
				t.Errorf("ListAnalyses lists the analysis: %v, want %v", listed, tc.want.listed)
			}
			terr, err := client.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{TerritoryCode: "T05"})
			check("ListAnalyses (territory)", err, tc.want.listTerr)
			if listed := slices.ContainsFunc(terr.GetAnalyses(), func(a *needsv1.Analysis) bool { return a.GetAnalysisId() == shown.GetAnalysisId() }); err == nil && listed != tc.want.listed {
				t.Errorf("ListAnalyses of T05 lists the analysis: %v, want %v", listed, tc.want.listed)
			}
			_, err = client.GetAnalysisSummary(ctx(t), &needsv1.GetAnalysisSummaryRequest{
				FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}, TerritoryCode: "T05",
			})
			check("GetAnalysisSummary", err, tc.want.summary)
		})
	}
	// Commands record who made them.
	actors := map[string]bool{}
	for _, ev := range env.Events(t, "NEEDS", "avenir.needs.>") {
		actors[ev.Actor] = true
	}
	if !actors["admin:test-admin"] || !actors["referent:ref-5"] || len(actors) != 2 {
		t.Fatalf("actors recorded: %v", actors)
	}
}

// The whole content is for those who act for the learner; operators get
// the recommended steps only; funders counts only; health data is absent
// (not empty) for anyone who does not act for the learner.
func TestWhatEachRoleSees(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	a := analysed(t, env, admin, "T05")
	env.CaughtUp(t)

	for _, as := range []auth.Principal{servicetest.Admin, referentT05} {
		client := needsv1.NewNeedsServiceClient(env.ConnAs(t, as))
		got, err := client.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: a.GetAnalysisId()})
		if err != nil || !proto.Equal(got.GetAnalysis(), a) || !hasHealth(got.GetAnalysis()) || got.GetAnalysis().GetStepsOnly() {
			t.Fatalf("as %v: %v %v", as, got, err)
		}
	}

	enrol(t, env, a.GetLearnerId(), operatorEnrolled.OperatorID, 1, "T05")
	operator := needsv1.NewNeedsServiceClient(env.ConnAs(t, operatorEnrolled))
	got, err := operator.GetAnalysis(ctx(t), &needsv1.GetAnalysisRequest{AnalysisId: a.GetAnalysisId()})
	if err != nil {
		t.Fatal(err)
	}
	list, err := operator.ListAnalyses(ctx(t), &needsv1.ListAnalysesRequest{LearnerId: a.GetLearnerId()})
	if err != nil || len(list.GetAnalyses()) != 1 {
		t.Fatalf("operator's list %v %v", list, err)
	}
	for _, seen := range []*needsv1.Analysis{got.GetAnalysis(), list.GetAnalyses()[0]} {
		c := seen.GetContent()
		if !seen.GetStepsOnly() || hasHealth(seen) || len(c.GetBarriers()) != 0 || len(c.GetSkills()) != 0 || len(c.GetDiplomas()) != 0 ||
			len(c.GetExperiences()) != 0 || c.Project != nil || !proto.Equal(&needsv1.AnalysisContent{RecommendedSteps: steps()}, c) ||
			seen.GetAnalysisId() != a.GetAnalysisId() || !seen.GetCurrent() {
			t.Fatalf("operator sees %v", seen)
		}
	}

	// The summary counts health barriers for those who act for the learners
	// only: not for funders; and withholds the counts under five from all
	// but admins.
	req := &needsv1.GetAnalysisSummaryRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
	one := func(k needsv1.BarrierKind) *needsv1.BarrierCount { return &needsv1.BarrierCount{Kind: k, Count: 1} }
	few := func(k needsv1.BarrierKind) *needsv1.BarrierCount {
		return &needsv1.BarrierCount{Kind: k, FewerThanFive: true}
	}
	mobility, health := needsv1.BarrierKind_BARRIER_KIND_MOBILITY, needsv1.BarrierKind_BARRIER_KIND_HEALTH
	for _, tc := range []struct {
		as       auth.Principal
		barriers []*needsv1.BarrierCount
		// The one analysis completed this month.
		completed *commonv1.Count
	}{
		{servicetest.Admin, []*needsv1.BarrierCount{one(mobility), one(health)}, &commonv1.Count{Value: 1}},
		{referentT05, []*needsv1.BarrierCount{few(mobility), few(health)}, &commonv1.Count{FewerThanFive: true}},
		{funder, []*needsv1.BarrierCount{few(mobility)}, &commonv1.Count{FewerThanFive: true}},
	} {
		summary, err := needsv1.NewNeedsServiceClient(env.ConnAs(t, tc.as)).GetAnalysisSummary(ctx(t), req)
		if err != nil || len(summary.GetTerritories()) != 1 {
			t.Fatalf("summary as %v: %v %v", tc.as, summary, err)
		}
		for _, s := range []*needsv1.AnalysisSummary{summary.GetTerritories()[0], summary.GetTotal()} {
			if !slices.EqualFunc(s.GetBarriers(), tc.barriers, func(a, b *needsv1.BarrierCount) bool { return proto.Equal(a, b) }) ||
				!proto.Equal(s.GetMonths()[0].GetFirstVersions(), tc.completed) || s.GetMonths()[0].GetCompleted() != tc.completed.GetValue() {
				t.Errorf("summary as %v: %v, want barriers %v", tc.as, s, tc.barriers)
			}
		}
	}
}
