package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, the directory commands, whose decisions
// need no read model, are stored and answered from the state they decided;
// the reads of the read models answer Unavailable; the entry of a learner,
// whose assignment needs them, waits for them, never decided without them. Once the store is back, the
// read models catch up, the learner is assigned, and the same requests
// answer as their first run did, storing nothing more. Nothing answers
// Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, client := start(t, servicetest.Options{Store: store})
	store.SetDown(true)

	registration := &referentv1.RegisterReferentRequest{RequestId: "register-anne", Profile: profile("Anne", 2, []string{"T05"})}
	created, err := client.RegisterReferent(ctx(t), registration)
	if err != nil {
		t.Fatalf("register with the read models down: %v", err)
	}
	anne := created.GetReferent().GetReferentId()
	if !proto.Equal(created.GetReferent().GetProfile(), registration.GetProfile()) || !created.GetReferent().GetAvailable() {
		t.Fatalf("register answered %v", created.GetReferent())
	}
	update := &referentv1.UpdateReferentRequest{
		RequestId: "anne-capacity", ReferentId: anne, Profile: &referentv1.ReferentProfile{Capacity: 3},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}},
	}
	updated, err := client.UpdateReferent(ctx(t), update)
	if err != nil || updated.GetReferent().GetProfile().GetCapacity() != 3 || updated.GetReferent().GetProfile().GetName() != "Anne" {
		t.Fatalf("update with the read models down: %v %v", updated, err)
	}
	absence := &referentv1.SetAvailabilityRequest{
		RequestId: "anne-away", ReferentId: anne, AbsentFrom: civilpb.FromDate(today.AddDays(10)), AbsentTo: civilpb.FromDate(today.AddDays(12)),
	}
	away, err := client.SetAvailability(ctx(t), absence)
	if err != nil || civilpb.Date(away.GetReferent().GetAbsentFrom()) != today.AddDays(10) || away.GetReferent().GetProfile().GetCapacity() != 3 {
		t.Fatalf("availability with the read models down: %v %v", away, err)
	}
	bruno := register(t, client, profile("Bruno", 2, []string{"T06"}))
	deactivate := &referentv1.DeactivateReferentRequest{RequestId: "bruno-leaves", ReferentId: bruno}
	gone, err := client.DeactivateReferent(ctx(t), deactivate)
	if err != nil || !gone.GetReferent().GetDeactivated() || civilpb.Date(gone.GetReferent().GetDeactivatedOn()) != today {
		t.Fatalf("deactivation with the read models down: %v %v", gone, err)
	}

	// Reads of the read models are Unavailable, not Internal.
	_, err = client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T05"})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.GetTerritoryLoad(ctx(t), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05"}})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = client.ListPendingAssignments(ctx(t), &referentv1.ListPendingAssignmentsRequest{TerritoryCode: "T05"})
	servicetest.Refused(t, err, codes.Unavailable)

	// A learner with RQTH enters meanwhile: the assignment needs intake's
	// facts and the directory, so it waits for the store, and then goes by
	// the facts: to the specialist.
	claire := register(t, client, profile("Claire", 2, []string{"T05"}, referentv1.Specialty_SPECIALTY_DISABILITY))
	lea := registered(t, env, true, false)
	enter(t, env, lea, "T05", 1)

	store.SetDown(false)
	waitAssignment(t, client, lea, "with the specialist", assignedTo(claire))
	env.CaughtUp(t)
	list, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T05"})
	if err != nil {
		t.Fatal(err)
	}
	load := map[string][2]int32{} // capacity, active learners
	for _, r := range list.GetReferents() {
		load[r.GetReferentId()] = [2]int32{r.GetProfile().GetCapacity(), r.GetActiveLearners()}
	}
	if len(load) != 2 || load[anne] != [2]int32{3, 0} || load[claire] != [2]int32{2, 1} {
		t.Fatalf("the directory once the store is back: %v", list.GetReferents())
	}

	// The same requests answer as their first run, and store nothing.
	stored := events(t, env, "avenir.referent.>")
	for _, call := range []struct {
		name  string
		first proto.Message
		again func() (proto.Message, error)
	}{
		{"register", created, func() (proto.Message, error) { return client.RegisterReferent(ctx(t), registration) }},
		{"update", updated, func() (proto.Message, error) { return client.UpdateReferent(ctx(t), update) }},
		{"availability", away, func() (proto.Message, error) { return client.SetAvailability(ctx(t), absence) }},
		{"deactivation", gone, func() (proto.Message, error) { return client.DeactivateReferent(ctx(t), deactivate) }},
	} {
		again, err := call.again()
		if status.Code(err) != codes.OK || !proto.Equal(again, call.first) {
			t.Errorf("%s retried: %v %v, want %v", call.name, again, err, call.first)
		}
	}
	if n := events(t, env, "avenir.referent.>"); n != stored {
		t.Fatalf("retried requests appended %d events", n-stored)
	}
}
