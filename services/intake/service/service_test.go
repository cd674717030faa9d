package service_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func start(t *testing.T) (*servicetest.Env, intakev1.IntakeServiceClient) {
	t.Helper()
	env := servicetest.Start(t, servicetest.Options{}, func(d platform.Deps) (platform.Service, error) {
		return service.New(d, service.Config{})
	})
	return env, intakev1.NewIntakeServiceClient(env.Conn)
}

func validRequest(requestID string) *intakev1.RegisterLearnerRequest {
	return &intakev1.RegisterLearnerRequest{
		RequestId:     requestID,
		FamilyName:    "Lefèvre",
		GivenName:     "Anaïs",
		BirthDate:     &commonv1.Date{Year: 1990, Month: 4, Day: 12},
		TerritoryCode: "T05",
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRegisterLearnerAppendsOneEventAndAnswersTheLearner(t *testing.T) {
	env, client := start(t)
	resp, err := client.RegisterLearner(ctx(t), validRequest("req-1"))
	if err != nil {
		t.Fatal(err)
	}
	l := resp.GetLearner()
	if l.GetLearnerId() == "" || l.GetFamilyName() != "Lefèvre" || l.GetTerritoryCode() != "T05" || l.GetRegisteredAt() == nil {
		t.Fatalf("learner %v", l)
	}

	evs := env.Events(t, service.Stream, "avenir.intake.>")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	reg, ok := ev.Data.(*intakev1.LearnerRegistered)
	if !ok {
		t.Fatalf("event %T", ev.Data)
	}
	if ev.Subject != "avenir.intake.learner."+l.GetLearnerId()+".registered" || ev.Type != "avenir.intake.v1.LearnerRegistered" ||
		ev.Source != "intake" || ev.AggregateID != l.GetLearnerId() || ev.RequestID != "req-1" || ev.Actor != "admin:test-admin" {
		t.Errorf("envelope %+v", ev)
	}
	want := &intakev1.LearnerRegistered{
		LearnerId: l.GetLearnerId(), FamilyName: "Lefèvre", GivenName: "Anaïs",
		BirthDate: &commonv1.Date{Year: 1990, Month: 4, Day: 12}, TerritoryCode: "T05",
		RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 26},
	}
	if !proto.Equal(reg, want) {
		t.Errorf("payload %v, want %v", reg, want)
	}

	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: l.GetLearnerId()})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.GetLearner(), l) {
		t.Errorf("GetLearner %v, want %v", got.GetLearner(), l)
	}
}

func TestRegisterLearnerIsIdempotentOnRequestID(t *testing.T) {
	env, client := start(t)
	// Concurrent retries of one command, as a client with a flaky network sends them.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			resp, err := client.RegisterLearner(ctx(t), validRequest("same-request"))
			ids[i], errs[i] = resp.GetLearner().GetLearnerId(), err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("retry %d: id %q err %v (first id %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if n := len(env.Events(t, service.Stream, "avenir.intake.>")); n != 1 {
		t.Fatalf("%d events after retries, want 1", n)
	}
	// A different request is a different learner.
	other, err := client.RegisterLearner(ctx(t), validRequest("other-request"))
	if err != nil {
		t.Fatal(err)
	}
	if other.GetLearner().GetLearnerId() == ids[0] {
		t.Fatal("two requests gave one learner")
	}
}

func TestBadInputIsInvalidArgumentWithFieldsAndWritesNothing(t *testing.T) {
	env, client := start(t)
	cases := map[string]struct {
		req    *intakev1.RegisterLearnerRequest
		fields []string
	}{
		"empty names": {
			req: func() *intakev1.RegisterLearnerRequest {
				r := validRequest("r1")
				r.FamilyName, r.GivenName = "", "  "
				return r
			}(),
			fields: []string{"family_name", "given_name"},
		},
		"birth date in the future": {
			req: func() *intakev1.RegisterLearnerRequest {
				r := validRequest("r2")
				r.BirthDate = &commonv1.Date{Year: 2027, Month: 1, Day: 1}
				return r
			}(),
			fields: []string{"birth_date"},
		},
		"no birth date": {
			req:    func() *intakev1.RegisterLearnerRequest { r := validRequest("r3"); r.BirthDate = nil; return r }(),
			fields: []string{"birth_date"},
		},
		"unknown territory": {
			req:    func() *intakev1.RegisterLearnerRequest { r := validRequest("r4"); r.TerritoryCode = "T42"; return r }(),
			fields: []string{"territory_code"},
		},
		"missing request id": {
			req:    validRequest(""),
			fields: []string{"request_id"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.RegisterLearner(ctx(t), tc.req)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("want InvalidArgument, got %v", err)
			}
			var fields []string
			for _, f := range grpcx.FieldViolations(err) {
				fields = append(fields, f.Field)
			}
			if len(fields) != len(tc.fields) {
				t.Fatalf("fields %v, want %v", fields, tc.fields)
			}
			for i := range fields {
				if fields[i] != tc.fields[i] {
					t.Fatalf("fields %v, want %v", fields, tc.fields)
				}
			}
		})
	}
	if n := len(env.Events(t, service.Stream, "avenir.intake.>")); n != 0 {
		t.Fatalf("bad input appended %d events", n)
	}
}

func TestGetLearnerErrors(t *testing.T) {
	_, client := start(t)
	_, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: "not-a-uuid"})
	if status.Code(err) != codes.InvalidArgument || len(grpcx.FieldViolations(err)) != 1 {
		t.Fatalf("malformed id: %v", err)
	}
	_, err = client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: %v", err)
	}
}

var (
	referentT05 = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05", "T06"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operatorT05 = auth.Principal{Subject: "u-op5", Role: auth.RoleOperator, OperatorID: "op-5", Territories: []string{"T05"}}
	operatorT01 = auth.Principal{Subject: "u-op1", Role: auth.RoleOperator, OperatorID: "op-1", Territories: []string{"T01"}}
	funder      = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

// Every role against every RPC: allowed, denied by role, or hidden because
// the learner is outside the caller's scope.
func TestAccess(t *testing.T) {
	env, admin := start(t)
	reg := validRequest("access-setup")
	reg.Rqth = true
	created, err := admin.RegisterLearner(ctx(t), reg) // a learner in T05
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetLearner().GetLearnerId()
	type want struct {
		code codes.Code
		rqth bool // the special-category field is present
	}
	tests := []struct {
		name     string
		as       *auth.Principal // nil: no token
		register want
		get      want
	}{
		{"admin", &servicetest.Admin, want{codes.OK, true}, want{codes.OK, true}},
		{"referent of the territory", &referentT05, want{codes.OK, true}, want{codes.OK, true}},
		{"referent of another territory", &referentT01, want{code: codes.PermissionDenied}, want{code: codes.NotFound}},
		{"operator of the territory", &operatorT05, want{code: codes.PermissionDenied}, want{code: codes.OK}},
		{"operator of another territory", &operatorT01, want{code: codes.PermissionDenied}, want{code: codes.NotFound}},
		{"funder", &funder, want{code: codes.PermissionDenied}, want{code: codes.OK}},
		{"anonymous", nil, want{code: codes.Unauthenticated}, want{code: codes.Unauthenticated}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
			}
			client := intakev1.NewIntakeServiceClient(conn)
			r := validRequest("register-as-" + strings.ReplaceAll(tc.name, " ", "-"))
			r.Rqth = true
			resp, err := client.RegisterLearner(ctx(t), r)
			if status.Code(err) != tc.register.code {
				t.Fatalf("RegisterLearner: %v, want %v", err, tc.register.code)
			}
			if err == nil && (resp.GetLearner().Rqth != nil) != tc.register.rqth {
				t.Errorf("RegisterLearner: rqth present=%v, want %v", resp.GetLearner().Rqth != nil, tc.register.rqth)
			}
			got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
			if status.Code(err) != tc.get.code {
				t.Fatalf("GetLearner: %v, want %v", err, tc.get.code)
			}
			if err == nil && (got.GetLearner().Rqth != nil) != tc.get.rqth {
				t.Errorf("GetLearner: rqth present=%v, want %v", got.GetLearner().Rqth != nil, tc.get.rqth)
			}
		})
	}
}

// The special-category field is absent, not false, for an operator; the
// learner's referent sees its value. The event records who registered.
func TestRQTHIsVisibleOnlyToTheLearnersReferent(t *testing.T) {
	env, _ := start(t)
	reg := validRequest("rqth")
	reg.Rqth = true
	created, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).RegisterLearner(ctx(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetLearner().GetLearnerId()
	asOperator, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, operatorT05)).GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if asOperator.GetLearner().Rqth != nil {
		t.Fatalf("operator sees rqth=%v", *asOperator.GetLearner().Rqth)
	}
	if asOperator.GetLearner().ProtoReflect().Has(asOperator.GetLearner().ProtoReflect().Descriptor().Fields().ByName("rqth")) {
		t.Fatal("rqth present on the wire for an operator")
	}
	asReferent, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if asReferent.GetLearner().Rqth == nil || !asReferent.GetLearner().GetRqth() {
		t.Fatalf("referent sees rqth %v, want true", asReferent.GetLearner().Rqth)
	}
	evs := env.Events(t, service.Stream, "avenir.intake.learner."+id+".>")
	if len(evs) != 1 || evs[0].Actor != "referent:ref-5" {
		t.Fatalf("actor of the registration: %+v", evs)
	}
}

func TestTokensAreChecked(t *testing.T) {
	env, _ := start(t)
	expired := env.Token(t, referentT05)
	env.SetNow(env.Now().Add(2 * time.Hour))
	client := intakev1.NewIntakeServiceClient(env.ConnAnonymous(t))
	_, err := client.GetLearner(metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+expired),
		&intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), expired) {
		t.Fatalf("expired token: %v", err)
	}
	_, err = client.GetLearner(metadata.AppendToOutgoingContext(ctx(t), "authorization", "Basic dXNlcjpwYXNz"),
		&intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("basic auth: %v", err)
	}
}
