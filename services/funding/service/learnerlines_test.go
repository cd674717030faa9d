package service_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// billLearners bills, under two contracts of two operators, the lines of
// learners a and b of every kind: trainee hours, a correction, a group
// session both attended, a flat fee; October of the first contract is
// closed, then a's exit, back-dated, reverses a line of it in November.
// It returns the contracts and the learners.
func billLearners(t *testing.T, e *env, reason string) (c1, c2, a, b string) {
	t.Helper()
	op5, op6, fund := e.as(t, operator5), e.as(t, operator6), e.as(t, funder)
	c1, c2 = createContract(t, e, terms("op-5")), createContract(t, e, terms("op-6"))
	entry := day(time.September, 1)
	a, b = learner(t, e, entry, c1, c2), learner(t, e, entry, c1)
	e.Publish(t, "avenir.pathway.pathway."+a+".needs_analysis_noted",
		&pathwayv1.NeedsAnalysisNoted{LearnerId: a, EpisodeNumber: 1, AnalysisId: "an-1", CompletedOn: civilpb.FromDate(day(time.October, 2)), TerritoryCode: "T05"})
	e.CaughtUp(t)
	report(t, op5, c1, line("R1", a, day(time.October, 5), 95), line("R2", b, day(time.October, 6), 61), line("R3", a, day(time.October, 20), 60))
	report(t, op6, c2, line("S1", a, day(time.October, 5), 30))
	if _, err := op5.ReportGroupHours(ctx(t), &fundingv1.ReportGroupHoursRequest{RequestId: event.NewID(), ContractId: c1, GroupSessionId: "g-1",
		OperatorLineId: "G1", Date: civilpb.FromDate(day(time.October, 7)), Minutes: 120, Trainer: "M. Leroy", AttendeeLearnerIds: []string{b, a}}); err != nil {
		t.Fatal(err)
	}
	if _, err := op5.ClaimFlatFee(ctx(t), &fundingv1.ClaimFlatFeeRequest{RequestId: event.NewID(), ContractId: c1, LearnerId: a,
		FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, OperatorLineId: "F1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := op5.CorrectLine(ctx(t), &fundingv1.CorrectLineRequest{RequestId: event.NewID(), ContractId: c1, LearnerId: a,
		Date: civilpb.FromDate(day(time.October, 5)), CorrectsLineId: "R1", OperatorLineId: "R1-fix", Minutes: 120,
		Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, Reason: reason}); err != nil {
		t.Fatal(err)
	}
	e.CaughtUp(t)
	if _, err := fund.CloseStatement(ctx(t), &fundingv1.CloseStatementRequest{RequestId: event.NewID(), ContractId: c1, Period: october}); err != nil {
		t.Fatal(err)
	}
	exit(t, e, a, entry, day(time.October, 15), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT)
	return c1, c2, a, b
}

// expectedLines reads, from the statements, every line naming the learner,
// as ListLearnerLines should list them: by date, contract and line id, in
// stream order for the same line (a line before its reversal), a group
// line naming the learner alone among its attendees.
func expectedLines(t *testing.T, e *env, learner string, contracts ...string) []*fundingv1.LearnerLine {
	t.Helper()
	var out []*fundingv1.LearnerLine
	for _, c := range contracts {
		for _, p := range []*commonv1.Month{october, november} {
			st := statement(t, e.admin, c, p)
			for _, l := range st.GetLines() {
				if l.GetLearnerId() != learner && !slices.Contains(l.GetAttendeeLearnerIds(), learner) {
					continue
				}
				if l.GetUnit() == fundingv1.Unit_UNIT_GROUP_HOUR {
					l.AttendeeLearnerIds = []string{learner}
				}
				out = append(out, &fundingv1.LearnerLine{ContractId: c, OperatorId: st.GetOperatorId(), Period: p, StatementClosed: st.GetClosed(), Line: l})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y *fundingv1.LearnerLine) int {
		return cmp.Or(strings.Compare(civilpb.Date(x.GetLine().GetDate()).String(), civilpb.Date(y.GetLine().GetDate()).String()),
			strings.Compare(x.GetContractId(), y.GetContractId()), strings.Compare(x.GetLine().GetOperatorLineId(), y.GetLine().GetOperatorLineId()))
	})
	return out
}

// learnerLines lists every line of the learner, page by page.
func learnerLines(t *testing.T, c fundingv1.FundingServiceClient, learner string, size int32) []*fundingv1.LearnerLine {
	t.Helper()
	var out []*fundingv1.LearnerLine
	token := ""
	for range 100 {
		resp, err := c.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: learner, PageSize: size, PageToken: token})
		if err != nil {
			t.Fatalf("ListLearnerLines: %v", err)
		}
		if size > 0 && len(resp.GetLines()) > int(size) {
			t.Fatalf("a page of %d lines, asked %d", len(resp.GetLines()), size)
		}
		out = append(out, resp.GetLines()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
	t.Fatal("the pages never end")
	return nil
}

func sameLines(t *testing.T, what string, got, want []*fundingv1.LearnerLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d:\n%v\nwant\n%v", what, len(got), len(want), got, want)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: line %d\n%v\nwant\n%v", what, i, got[i], want[i])
		}
	}
}

// ListLearnerLines lists every line naming a learner across contracts and
// statements, as the statements hold them, in order and page by page; it
// is for administrators (and, without amounts, the learner's referents:
// TestReferentsListTheirLearnersLinesWithoutAmounts).
func TestListLearnerLines(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	c1, c2, a, b := billLearners(t, e, "left early")

	want := expectedLines(t, e, a, c1, c2)
	// R1, R1-fix, R3 and its reversal, G1, F1 under the first contract, S1
	// under the second.
	if len(want) != 7 {
		t.Fatalf("the statements hold %d lines of the learner, want 7: %v", len(want), want)
	}
	var reversal, closed, group bool
	for _, l := range want {
		reversal = reversal || l.GetLine().GetReversal()
		closed = closed || l.GetStatementClosed()
		group = group || l.GetLine().GetUnit() == fundingv1.Unit_UNIT_GROUP_HOUR
	}
	if !reversal || !closed || !group {
		t.Fatalf("the scenario lacks a reversal, a closed statement or a group line: %v", want)
	}
	sameLines(t, "one page", learnerLines(t, e.admin, a, 0), want)
	sameLines(t, "pages of 2", learnerLines(t, e.admin, a, 2), want)
	sameLines(t, "pages of 1", learnerLines(t, e.admin, a, 1), want)
	sameLines(t, "another learner", learnerLines(t, e.admin, b, 0), expectedLines(t, e, b, c1, c2))
	if got := learnerLines(t, e.admin, event.NewID(), 0); len(got) != 0 {
		t.Fatalf("a learner never billed has lines: %v", got)
	}

	for _, p := range []struct {
		name   string
		client fundingv1.FundingServiceClient
	}{{"operator", e.as(t, operator5)}, {"funder", e.as(t, funder)}} {
		_, err := p.client.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: a})
		servicetest.Refused(t, err, codes.PermissionDenied)
	}
	_, err := e.admin.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: "lea", PageSize: 501})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id", "page_size")
	_, err = e.admin.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: a, PageSize: -1})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_size")
	first, err := e.admin.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: a, PageSize: 3})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	_, err = e.admin.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: b, PageToken: first.GetNextPageToken()})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
}

// withoutAmounts is lines as a referent reads them: every money field 0.
func withoutAmounts(lines []*fundingv1.LearnerLine) []*fundingv1.LearnerLine {
	out := make([]*fundingv1.LearnerLine, len(lines))
	for i, l := range lines {
		c := proto.Clone(l).(*fundingv1.LearnerLine)
		c.Line.RateCents, c.Line.AmountCents = 0, 0
		out[i] = c
	}
	return out
}

// The referents acting for a learner (its referent, the coordinators of its
// territory) list its lines, page by page, with every amount hidden; the
// other referents do not find the learner; admins still read the amounts.
func TestReferentsListTheirLearnersLinesWithoutAmounts(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	c1, c2, a, b := billLearners(t, e, "left early")
	for learner, ref := range map[string]string{a: "ref-5", b: "ref-6"} {
		e.Publish(t, "avenir.referent.assignment."+learner+".assigned", &referentv1.ReferentAssigned{
			LearnerId: learner, ReferentId: ref, TerritoryCode: "T05", EpisodeNumber: 1, FromDate: civilpb.FromDate(day(time.September, 1)),
			Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		})
	}
	e.CaughtUp(t)

	full := expectedLines(t, e, a, c1, c2)
	priced := 0
	for _, l := range full {
		if l.GetLine().GetRateCents() != 0 && l.GetLine().GetAmountCents() != 0 {
			priced++
		}
	}
	if len(full) != 7 || priced == 0 {
		t.Fatalf("the scenario has %d lines, %d priced: %v", len(full), priced, full)
	}
	sameLines(t, "admin", learnerLines(t, e.admin, a, 0), full)
	resp, err := e.admin.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: a})
	if err != nil || resp.GetAmountsHidden() {
		t.Fatalf("admin: amounts hidden %v, %v", resp.GetAmountsHidden(), err)
	}

	coordinator := auth.Principal{Subject: "u-c5", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}
	for name, p := range map[string]auth.Principal{"the learner's referent": referent, "a coordinator of its territory": coordinator} {
		c := e.as(t, p)
		sameLines(t, name, learnerLines(t, c, a, 0), withoutAmounts(full))
		sameLines(t, name+", pages of 2", learnerLines(t, c, a, 2), withoutAmounts(full))
		resp, err := c.ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: a, PageSize: 2})
		if err != nil || !resp.GetAmountsHidden() || resp.GetNextPageToken() == "" {
			t.Fatalf("%s: amounts hidden %v, next %q, %v", name, resp.GetAmountsHidden(), resp.GetNextPageToken(), err)
		}
	}

	// Another referent of the territory, a referent of another one: the
	// learner is not found, nor is one funding never heard of.
	other := auth.Principal{Subject: "u-ref6", Role: auth.RoleReferent, ReferentID: "ref-6", Territories: []string{"T05"}}
	far := auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	for _, c := range []struct {
		as      auth.Principal
		learner string
	}{{other, a}, {far, a}, {referent, b}, {referent, event.NewID()}} {
		_, err := e.as(t, c.as).ListLearnerLines(ctx(t), &fundingv1.ListLearnerLinesRequest{LearnerId: c.learner})
		servicetest.Refused(t, err, codes.NotFound)
	}
	// ref-6 follows b.
	sameLines(t, "b's referent", learnerLines(t, e.as(t, other), b, 0), withoutAmounts(expectedLines(t, e, b, c1, c2)))
}
