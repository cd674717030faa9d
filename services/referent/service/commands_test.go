package service_test

import (
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestCommandsAreIdempotent(t *testing.T) {
	t.Parallel()
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
	if n := events(t, env, "avenir.referent.caseload."+anne+".>"); n != 1 {
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
	if n := events(t, env, "avenir.referent.caseload."+bruno+".>"); n != 2 {
		t.Fatalf("Bruno's caseload has %d events, want registered and one learner_taken", n)
	}
}

func TestInvalidInputNamesEveryField(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	_, err := client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: "bad one", Profile: &referentv1.ReferentProfile{
		TerritoryCodes: []string{"T05", "T05"}, Capacity: 900, Specialties: []referentv1.Specialty{99}, Languages: []string{"French"},
		Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	servicetest.Refused(t, err, codes.InvalidArgument,
		"request_id", "profile.name", "profile.organisation", "profile.territory_codes", "profile.capacity", "profile.specialties", "profile.languages")
	// Territory codes are T and two digits, as everywhere.
	_, err = client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: event.NewID(), Profile: profile("Anne", 2, []string{"T05", "NORD-1"})})
	servicetest.Refused(t, err, codes.InvalidArgument, "profile.territory_codes")
	if n := events(t, env, "avenir.referent.>"); n != 0 {
		t.Fatalf("%d events appended", n)
	}
	_, err = client.SetAvailability(ctx(t), &referentv1.SetAvailabilityRequest{RequestId: event.NewID(), ReferentId: event.NewID(), AbsentFrom: civilpb.FromDate(today)})
	servicetest.Refused(t, err, codes.InvalidArgument, "absent_to")
	_, err = client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "Calvados"})
	servicetest.Refused(t, err, codes.InvalidArgument, "territory_code")
}

// A name or an organisation that would display otherwise than it reads (a
// bidirectional override, a control character) is refused, naming the
// field, and nothing is stored.
func TestNamesRefuseControlCharacters(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	for field, p := range map[string]*referentv1.ReferentProfile{
		"profile.name": profile("Anne \u202Ereyorel", 2, []string{"T05"}),
		"profile.organisation": func() *referentv1.ReferentProfile {
			p := profile("Anne", 2, []string{"T05"})
			p.Organisation = "AFPA\x07"
			return p
		}(),
	} {
		_, err := client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: event.NewID(), Profile: p})
		servicetest.Refused(t, err, codes.InvalidArgument, field)
	}
	if n := events(t, env, "avenir.referent.>"); n != 0 {
		t.Fatalf("refused registrations appended %d events", n)
	}

	anne := register(t, client, profile("Anne", 2, []string{"T05"}))
	for _, mask := range []*fieldmaskpb.FieldMask{nil, {Paths: []string{"name"}}} {
		_, err := client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{
			RequestId: event.NewID(), ReferentId: anne, Profile: profile("Anne\nLeroy", 2, []string{"T05"}), UpdateMask: mask,
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "profile.name")
	}
	// A handover's reason is a free text: several lines, but no override.
	_, err := client.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{
		RequestId: event.NewID(), LearnerId: event.NewID(), ReferentId: anne, Reason: "line one\nline \u202Etwo",
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "reason")
	if n := events(t, env, "avenir.referent.>"); n != 1 {
		t.Fatalf("%d events, want only Anne's registration", n)
	}
}

// With an update mask, only the fields named change: the others keep the
// values the caseload holds when the command is decided, so concurrent
// updates of different fields are all kept. Without a mask, the whole
// profile is replaced.
func TestUpdateHonoursTheMask(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	anne := register(t, client, profile("Anne", 2, []string{"T05"}, referentv1.Specialty_SPECIALTY_SENIORS))

	// The request's other fields are stale or empty: they are ignored.
	stale := &referentv1.ReferentProfile{Name: "Someone else", Capacity: 5, TerritoryCodes: []string{"T01"}}
	resp, err := client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{
		RequestId: event.NewID(), ReferentId: anne, Profile: stale, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := profile("Anne", 5, []string{"T05"}, referentv1.Specialty_SPECIALTY_SENIORS)
	if got := resp.GetReferent().GetProfile(); !proto.Equal(got, want) {
		t.Fatalf("after a capacity update: %v, want %v", got, want)
	}

	// Two administrators change different fields at once: both changes stay.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, req := range []*referentv1.UpdateReferentRequest{
		{RequestId: event.NewID(), ReferentId: anne, Profile: &referentv1.ReferentProfile{Name: "Anne Leroy"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}},
		{RequestId: event.NewID(), ReferentId: anne, Profile: &referentv1.ReferentProfile{TerritoryCodes: []string{"T05", "T06"}, Languages: []string{"fr", "en"}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"territory_codes", "languages"}}},
	} {
		wg.Go(func() {
			_, err := client.UpdateReferent(ctx(t), req)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	list, err := client.ListCaseload(ctx(t), &referentv1.ListCaseloadRequest{ReferentId: anne})
	if err != nil {
		t.Fatal(err)
	}
	want = &referentv1.ReferentProfile{
		Name: "Anne Leroy", Organisation: "AFPA Évreux", TerritoryCodes: []string{"T05", "T06"}, Capacity: 5,
		Specialties: []referentv1.Specialty{referentv1.Specialty_SPECIALTY_SENIORS}, Languages: []string{"fr", "en"},
		Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}
	if got := list.GetReferent().GetProfile(); !proto.Equal(got, want) {
		t.Fatalf("after concurrent updates: %v, want %v", got, want)
	}
	// The event carries the whole profile after the change.
	evs := env.Events(t, "REFERENT", "avenir.referent.caseload."+anne+".>")
	last, ok := evs[len(evs)-1].Data.(*referentv1.ReferentUpdated)
	if !ok || !proto.Equal(last.GetProfile(), want) {
		t.Fatalf("last event %v, want the whole profile %v", evs[len(evs)-1].Data, want)
	}

	// An unknown path (the kind never changes) or an empty mask is refused,
	// and nothing is stored.
	before := len(evs)
	for _, paths := range [][]string{{"capacity", "kind"}, {"profile.name"}, {}} {
		_, err = client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{
			RequestId: event.NewID(), ReferentId: anne, Profile: profile("Anne", 3, []string{"T05"}), UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "update_mask")
	}
	// A masked field is checked once merged: capacity 0 for a pedagogical
	// referent.
	_, err = client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{
		RequestId: event.NewID(), ReferentId: anne, Profile: &referentv1.ReferentProfile{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}},
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "profile.capacity")
	if n := events(t, env, "avenir.referent.caseload."+anne+".>"); n != before {
		t.Fatalf("refused updates appended %d events", n-before)
	}

	// Without a mask, the whole profile is replaced: specialties and
	// languages not given are gone.
	resp, err = client.UpdateReferent(ctx(t), &referentv1.UpdateReferentRequest{
		RequestId: event.NewID(), ReferentId: anne, Profile: &referentv1.ReferentProfile{
			Name: "Anne L.", Organisation: "Greta", TerritoryCodes: []string{"T05"}, Capacity: 4, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.GetReferent().GetProfile(); p.GetName() != "Anne L." || p.GetOrganisation() != "Greta" || len(p.GetSpecialties()) != 0 ||
		len(p.GetLanguages()) != 0 || !slices.Equal(p.GetTerritoryCodes(), []string{"T05"}) || p.GetCapacity() != 4 {
		t.Fatalf("after a whole update: %v", p)
	}
}

func TestListsPage(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	var ids []string
	for _, name := range []string{"Anne", "Bruno", "Claire"} {
		ids = append(ids, register(t, client, profile(name, 3, []string{"T05"})))
	}
	slices.Sort(ids)
	env.CaughtUp(t)
	var got []string
	token := ""
	for {
		resp, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T05", PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetReferents()) > 2 {
			t.Fatalf("a page of %d, want at most 2", len(resp.GetReferents()))
		}
		for _, r := range resp.GetReferents() {
			got = append(got, r.GetReferentId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("listed %v, want %v", got, ids)
	}
	_, err := client.ListReferents(ctx(t), &referentv1.ListReferentsRequest{TerritoryCode: "T06", PageToken: "bogus"})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
}
