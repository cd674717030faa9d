package service_test

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestCommandsAreIdempotent(t *testing.T) {
	env, client := start(t, servicetest.Options{})
	req := &referentv1.RegisterReferentRequest{RequestId: "register-anne", Profile: profile("Anne", 2, []string{"T05"})}
	first, err := client.RegisterReferent(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := client.RegisterReferent(ctx(t), req)
	if err != nil || !proto.Equal(first, again) {
		t.Fatalf("retried registration: %v, %v", again, err)
	}
	anne := first.GetReferent().GetReferentId()
	if n := len(env.Events(t, "REFERENT", "avenir.referent.caseload."+anne+".>")); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}

	lea := registered(t, env, false, false)
	enter(t, env, lea, "T07", 1)
	waitAssignment(t, client, lea, "queued", pending)
	if _, err := client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{RequestId: event.NewID(), ReferentId: anne, Profile: profile("Anne", 2, []string{"T05", "T07"})}); err != nil {
		t.Fatal(err)
	}
	waitAssignment(t, client, lea, "assigned", assignedTo(anne))
	bruno := register(t, client, profile("Bruno", 2, []string{"T07"}))
	handover := &referentv1.HandoverRequest{RequestId: "handover-lea", LearnerId: lea, FromReferentId: anne, ToReferentId: bruno, Reason: "closer"}
	done, err := client.Handover(ctx(t), handover)
	if err != nil {
		t.Fatal(err)
	}
	redone, err := client.Handover(ctx(t), handover)
	if err != nil || !proto.Equal(done, redone) {
		t.Fatalf("retried handover: %v, %v", redone, err)
	}
	if n := len(env.Events(t, "REFERENT", "avenir.referent.caseload."+bruno+".>")); n != 2 {
		t.Fatalf("Bruno's caseload has %d events, want registered and one learner_taken", n)
	}
}

func TestInvalidInputNamesEveryField(t *testing.T) {
	env, client := start(t, servicetest.Options{})
	_, err := client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: "bad one", Profile: &referentv1.ReferentProfile{
		TerritoryCodes: []string{"T05", "T05"}, Capacity: 900, Specialties: []referentv1.Specialty{99}, Languages: []string{"French"},
		Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v", err)
	}
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	for _, want := range []string{"request_id", "profile.name", "profile.organisation", "profile.territory_codes", "profile.capacity", "profile.specialties", "profile.languages"} {
		if !slices.Contains(fields, want) {
			t.Errorf("no violation on %s in %v", want, fields)
		}
	}
	if n := len(env.Events(t, "REFERENT", "avenir.referent.>")); n != 0 {
		t.Fatalf("%d events appended", n)
	}
	_, err = client.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: event.NewID(), AbsentFrom: civilpb.FromDate(today)})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("an absence without its end: %v", err)
	}
}

func TestListsPage(t *testing.T) {
	_, client := start(t, servicetest.Options{})
	var ids []string
	for _, name := range []string{"Anne", "Bruno", "Claire"} {
		ids = append(ids, register(t, client, profile(name, 3, []string{"T05"})))
	}
	slices.Sort(ids)
	var got []string
	token := ""
	servicetest.Eventually(t, 5e9, func() error {
		got, token = nil, ""
		for {
			resp, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T05", PageSize: 2, PageToken: token})
			if err != nil {
				return err
			}
			for _, r := range resp.GetReferents() {
				got = append(got, r.GetReferentId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, ids) {
			return status.Errorf(codes.Unknown, "listed %v, want %v", got, ids)
		}
		return nil
	})
	_, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T06", PageToken: "bogus"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bogus page token: %v", err)
	}
}
