package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func referentOf(id string, territories ...string) auth.Principal {
	return auth.Principal{Subject: "u-" + id, Role: auth.RoleReferent, ReferentID: id, Territories: territories}
}

// Every role against every RPC: allowed, denied by role, or hidden because
// the object is outside the caller's scope.
func TestAccess(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	anne := register(t, admin, profile("Anne", 5, []string{"T05"}))
	lea := registered(t, env, false, false)
	enter(t, env, lea, "T05", 1)
	waitAssignment(t, admin, lea, "with Anne", assignedTo(anne))
	// Coordinators, as the directory holds them: of T05; of T01 only; of
	// T01 in the directory but T05 in the token; deactivated.
	coordinator := func(id string, token ...string) *auth.Principal {
		p := referentOf(id, token...)
		p.Coordinator = true
		return &p
	}
	cT05 := register(t, admin, profile("Chloé", 5, []string{"T05"}))
	cT01 := register(t, admin, profile("Denis", 5, []string{"T01"}))
	gone := register(t, admin, profile("Éric", 5, []string{"T05"}))
	if _, err := admin.DeactivateReferent(ctx(t), &referentv1.DeactivateReferentRequest{RequestId: event.NewID(), ReferentId: gone}); err != nil {
		t.Fatal(err)
	}

	type want struct {
		register, update, availability, deactivate, assign, handover, queue codes.Code
		get, caseload, list, load                                           codes.Code
	}
	ok, pd, nf, un := codes.OK, codes.PermissionDenied, codes.NotFound, codes.Unauthenticated
	// Commands that pass the access check fail on their content (a bogus
	// id), which proves the handler ran: InvalidArgument.
	ia := codes.InvalidArgument
	tests := []struct {
		name string
		as   *auth.Principal
		want want
	}{
		{"admin", &servicetest.Admin, want{ia, ia, ia, ia, ia, ia, ok, ok, ok, ok, ok}},
		{"the learner's referent", ptr(referentOf(anne, "T09")), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"referent of the territory", ptr(referentOf("ref-x", "T05")), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"referent of another territory", ptr(referentOf("ref-y", "T01")), want{pd, pd, pd, pd, pd, pd, pd, nf, nf, ok, ok}},
		// Coordinators pass to the content of the managing RPCs (a bogus
		// id: InvalidArgument); the queue of T05 tells their scope.
		{"coordinator of the territory", coordinator(cT05, "T05"), want{pd, pd, ia, pd, ia, ia, ok, ok, ok, ok, ok}},
		{"coordinator of another territory", coordinator(cT01, "T01"), want{pd, pd, ia, pd, ia, ia, pd, nf, nf, ok, ok}},
		{"coordinator claim for a territory its profile lacks", coordinator(cT01, "T05"), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"coordinator claim, not in the directory", coordinator("5b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d", "T05"), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"coordinator claim, deactivated", coordinator(gone, "T05"), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"coordinator claim, not a referent id", coordinator("ref-z", "T05"), want{pd, pd, pd, pd, pd, pd, pd, ok, ok, ok, ok}},
		{"operator", &auth.Principal{Subject: "u-op", Role: auth.RoleOperator, OperatorID: "op", Territories: []string{"T05"}}, want{pd, pd, pd, pd, pd, pd, pd, pd, pd, pd, pd}},
		{"funder", &auth.Principal{Subject: "u-f", Role: auth.RoleFunder}, want{pd, pd, pd, pd, pd, pd, pd, pd, pd, pd, ok}},
		{"anonymous", nil, want{un, un, un, un, un, un, un, un, un, un, un}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
			}
			c := referentv1.NewReferentServiceClient(conn)
			cx := ctx(t)
			check := func(rpc string, want codes.Code, err error) {
				t.Helper()
				if got := status.Code(err); got != want {
					t.Errorf("%s: %v, want %v", rpc, err, want)
				}
			}
			_, err := c.RegisterReferent(cx, &referentv1.RegisterReferentRequest{RequestId: event.NewID()})
			check("RegisterReferent", tc.want.register, err)
			_, err = c.UpdateReferent(cx, &referentv1.UpdateReferentRequest{RequestId: event.NewID(), ReferentId: "bogus"})
			check("UpdateReferent", tc.want.update, err)
			_, err = c.SetAvailability(cx, &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: "bogus"})
			check("SetAvailability", tc.want.availability, err)
			_, err = c.DeactivateReferent(cx, &referentv1.DeactivateReferentRequest{RequestId: event.NewID(), ReferentId: "bogus"})
			check("DeactivateReferent", tc.want.deactivate, err)
			_, err = c.AssignReferent(cx, &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: lea, ReferentId: "bogus"})
			check("AssignReferent", tc.want.assign, err)
			_, err = c.Handover(cx, &referentv1.HandoverRequest{RequestId: event.NewID(), LearnerId: lea, FromReferentId: anne, ToReferentId: "bogus"})
			check("Handover", tc.want.handover, err)
			_, err = c.ListPendingAssignments(cx, &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T05"})
			check("ListPendingAssignments", tc.want.queue, err)
			_, err = c.GetAssignment(cx, &referentv1.GetAssignmentRequest{LearnerId: lea})
			check("GetAssignment", tc.want.get, err)
			_, err = c.ListCaseload(cx, &referentv1.ListCaseloadRequest{ReferentId: anne})
			check("ListCaseload", tc.want.caseload, err)
			_, err = c.ListReferents(cx, &referentv1.ListReferentsRequest{TerritoryCode: "T05"})
			check("ListReferents", tc.want.list, err)
			_, err = c.GetTerritoryLoad(cx, &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05"}})
			check("GetTerritoryLoad", tc.want.load, err)
		})
	}
}

func ptr[T any](v T) *T { return &v }
