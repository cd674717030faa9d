package service_test

import (
	"fmt"
	"slices"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

var (
	referentT16 = auth.Principal{Subject: "u-ref16", Role: auth.RoleReferent, ReferentID: "ref-16", Territories: []string{"T16"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operatorT16 = auth.Principal{Subject: "u-op16", Role: auth.RoleOperator, OperatorID: "op-16", Territories: []string{"T16"}}
	// operatorEnrolled is op-e, with a token of T01.
	operatorEnrolled = auth.Principal{Subject: "u-ope", Role: auth.RoleOperator, OperatorID: "op-e", Territories: []string{"T01"}}
	funder           = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

// Every role against every RPC: allowed, denied by role, or hidden because
// the learner is outside the caller's scope; and a refusal appends nothing.
func TestAccess(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	shown := registered(t, env, "T16") // has a pathway, for the reads
	enter(t, admin, shown, nov2)
	// Enrolled with op-e, whose token names another territory: an
	// operator reads by enrolment, never by its token's territories.
	enrol(t, admin, shown, contract(t, env, "op-e", avenir, "T16"), accompaniment, nov2)
	env.CaughtUp(t)

	type want struct {
		enter, refer, outcome, exit codes.Code
		get, list, timeline, stats  codes.Code
		// sees: ListPathways of T16 lists the pathway.
		sees bool
	}
	ok, pd, nf, fp, un := codes.OK, codes.PermissionDenied, codes.NotFound, codes.FailedPrecondition, codes.Unauthenticated
	tests := []struct {
		name string
		as   *auth.Principal
		want want
	}{
		{"admin", &servicetest.Admin, want{ok, ok, ok, ok, ok, ok, ok, ok, true}},
		{"referent of the territory", &referentT16, want{ok, ok, ok, ok, ok, ok, ok, ok, true}},
		// Out of scope reads as unknown: a learner not registered (a
		// precondition of entering), a pathway not found (changing and
		// reading); its statistics are refused.
		{"referent of another territory", &referentT01, want{fp, nf, nf, nf, nf, ok, nf, pd, false}},
		// An operator not enrolled with the learner reads nothing of it,
		// whatever territory its token names.
		{"operator with a token of the territory, not enrolled", &operatorT16, want{pd, pd, pd, pd, nf, ok, nf, pd, false}},
		{"operator the learner is enrolled with", &operatorEnrolled, want{pd, pd, pd, pd, ok, ok, ok, pd, true}},
		{"funder", &funder, want{pd, pd, pd, pd, ok, ok, ok, ok, true}},
		{"anonymous", nil, want{un, un, un, un, un, un, un, un, false}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
			}
			client := pathwayv1.NewPathwayServiceClient(conn)
			fresh := registered(t, env, "T16") // no pathway yet, for EnterPathway
			open := registered(t, env, "T16")  // an open episode with a referral, for the other commands
			enter(t, admin, open, nov2)
			refer(t, admin, open, pathwayv1.Programme_PROGRAMME_QUALIF, nov2)
			env.CaughtUp(t)

			check := func(rpc string, err error, want codes.Code) {
				t.Helper()
				if status.Code(err) != want {
					t.Errorf("%s: %v, want %v", rpc, err, want)
				}
			}
			rid := func(what string) string { return fmt.Sprintf("%s-%d", what, i) }
			_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: rid("enter"), LearnerId: fresh, EntryDate: today})
			check("EnterPathway", err, tc.want.enter)
			_, err = client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
				RequestId: rid("refer"), LearnerId: open, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: today, Organisation: "CLPS",
			})
			check("RecordReferral", err, tc.want.refer)
			_, err = client.RecordReferralOutcome(ctx(t), &pathwayv1.RecordReferralOutcomeRequest{
				RequestId: rid("outcome"), LearnerId: open, ReferralNumber: 1, Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, OutcomeDate: today,
			})
			check("RecordReferralOutcome", err, tc.want.outcome)
			_, err = client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
				RequestId: rid("exit"), LearnerId: open, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT,
				PendingReferrals: pathwayv1.PendingReferrals_PENDING_REFERRALS_CARRY_OVER,
			})
			check("ExitPathway", err, tc.want.exit)
			if tc.want.enter != codes.OK {
				nothingAppended(t, env, fresh, 0)
			}
			if tc.want.exit != codes.OK {
				nothingAppended(t, env, open, 2)
			}

			_, err = client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: shown})
			check("GetPathway", err, tc.want.get)
			list, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: "T16"})
			check("ListPathways", err, tc.want.list)
			sees := slices.ContainsFunc(list.GetPathways(), func(p *pathwayv1.Pathway) bool { return p.GetLearnerId() == shown })
			if sees != tc.want.sees {
				t.Errorf("ListPathways lists the pathway: %v, want %v", sees, tc.want.sees)
			}
			_, err = client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: shown})
			check("GetTimeline", err, tc.want.timeline)
			_, err = client.GetFlowStatistics(ctx(t), &pathwayv1.GetFlowStatisticsRequest{
				FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}, TerritoryCode: "T16",
			})
			check("GetFlowStatistics", err, tc.want.stats)
		})
	}
	// Commands record who made them.
	actors := map[string]bool{}
	for _, ev := range env.Events(t, service.Stream, "avenir.pathway.>") {
		actors[ev.Actor] = true
	}
	if !actors["admin:test-admin"] || !actors["referent:ref-16"] || len(actors) != 2 {
		t.Fatalf("actors recorded: %v", actors)
	}
}

// The free text of an exit is for those who act for the learner: not for
// the operator it was enrolled with (which still reads it after the exit),
// nor for funders.
func TestExitDetailIsForThoseWhoActForTheLearner(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	enter(t, admin, id, nov2)
	enrol(t, admin, id, contract(t, env, "op-16", avenir, "T16"), accompaniment, nov2)
	p := exit(t, admin, id, today, pathwayv1.ExitReason_EXIT_REASON_OTHER, "moved abroad for family reasons")
	readModel(t, env, admin, p)
	env.CaughtUp(t)
	for _, tc := range []struct {
		as     auth.Principal
		detail bool
	}{
		{servicetest.Admin, true}, {referentT16, true}, {operatorT16, false}, {funder, false},
	} {
		client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, tc.as))
		got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if err != nil {
			t.Fatal(err)
		}
		list, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
		if err != nil || len(list.GetPathways()) != 1 {
			t.Fatalf("list as %v: %v %v", tc.as, list, err)
		}
		for _, ep := range []*pathwayv1.Episode{got.GetPathway().GetEpisodes()[0], list.GetPathways()[0].GetEpisodes()[0]} {
			if ep.GetExitReason() != pathwayv1.ExitReason_EXIT_REASON_OTHER || (ep.ExitDetail != nil) != tc.detail ||
				(tc.detail && ep.GetExitDetail() != "moved abroad for family reasons") {
				t.Errorf("as %v: episode %v", tc.as, ep)
			}
		}
	}
}

// An operator reads exactly the learners enrolled with it, and for 30 days
// after its last enrolment with them ended: its pathway, its timeline, the
// listings. A token naming the learner's territory gives nothing.
func TestOperatorsReadTheLearnersEnrolledWithThem(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	opA := contract(t, env, "op-a", avenir, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	env.CaughtUp(t)
	opAT05 := auth.Principal{Subject: "u-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}
	opBT05 := auth.Principal{Subject: "u-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05"}}

	// reads reports what the operator reads of the learner, failing the
	// test when its answers disagree.
	reads := func(t *testing.T, as auth.Principal) bool {
		t.Helper()
		client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as))
		_, getErr := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		_, timelineErr := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
		for _, err := range []error{getErr, timelineErr} {
			if c := status.Code(err); c != codes.OK && c != codes.NotFound {
				t.Fatalf("read as %v: %v", as, err)
			}
		}
		var listed []bool
		for _, territory := range []string{"", "T05"} {
			list, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: territory})
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, len(list.GetPathways()) == 1 && list.GetPathways()[0].GetLearnerId() == id)
		}
		enrolments, err := client.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, len(enrolments.GetEnrolments()) == 1 && enrolments.GetEnrolments()[0].GetLearnerId() == id)
		got := []bool{getErr == nil, timelineErr == nil, listed[0], listed[1], listed[2]}
		if slices.Contains(got, !got[0]) {
			t.Fatalf("as %v: get, timeline, list, list T05, enrolments: %v", as, got)
		}
		return got[0]
	}

	if reads(t, opAT05) || reads(t, opBT05) {
		t.Fatal("an operator reads a learner not enrolled with it")
	}
	opC := contract(t, env, "op-c", avenir, "T05")
	opCT05 := auth.Principal{Subject: "u-c", Role: auth.RoleOperator, OperatorID: "op-c", Territories: []string{"T05"}}
	enrol(t, admin, id, opC, accompaniment, civilpb.FromDate(civil.Of(env.Now()).AddDays(7)))
	env.CaughtUp(t)
	if reads(t, opCT05) {
		t.Fatal("op-c reads the learner before its enrolment's first day")
	}
	resp := enrol(t, admin, id, opA, accompaniment, nov2)
	env.CaughtUp(t)
	if !reads(t, opAT05) || reads(t, opBT05) {
		t.Fatal("enrolled: only op-a reads the learner")
	}
	if _, err := admin.EndEnrolment(ctx(t), endReq(id, resp.GetEnrolment().GetNumber(), today)); err != nil {
		t.Fatal(err)
	}
	env.CaughtUp(t)
	// Ended on 26 November: op-a reads it until 26 December included.
	t0 := env.Now()
	for _, tc := range []struct {
		days  int
		reads bool
	}{{0, true}, {30, true}, {31, false}} {
		env.SetNow(t0.AddDate(0, 0, tc.days))
		if got := reads(t, opAT05); got != tc.reads {
			t.Fatalf("%d days after the enrolment's end: reads %v, want %v", tc.days, got, tc.reads)
		}
	}

	// op-c, enrolled from a week later, reads the learner from that day on.
	if !reads(t, opCT05) {
		t.Fatal("op-c does not read the learner after its enrolment's first day")
	}
}
