package service_test

import (
	"context"
	"fmt"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestEnterPathwayRecordsTheEntryAndGetPathwayReadsIt(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	entry := date(2026, 11, 20)
	resp, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPathway()
	if p.GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE || p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED ||
		p.GetTerritoryCode() != "T16" || len(p.GetEpisodes()) != 1 || !proto.Equal(p.GetEpisodes()[0].GetEntryDate(), entry) ||
		p.GetEpisodes()[0].GetExitDate() != nil || p.GetEpisodes()[0].ExitDetail != nil || p.GetVersion() == 0 {
		t.Fatalf("pathway %v", p)
	}
	evs := pathwayEvents(t, env, id)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	want := &pathwayv1.PathwayEntered{LearnerId: id, EpisodeNumber: 1, EntryDate: entry, TerritoryCode: "T16"}
	if !proto.Equal(evs[0].Data, want) || evs[0].Subject != "avenir.pathway.pathway."+id+".entered" || evs[0].Source != "pathway" {
		t.Fatalf("event %s %v", evs[0].Subject, evs[0].Data)
	}
	readModel(t, env, client, p)

	// A retry of the same command returns the same pathway and appends nothing.
	again, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})
	if err != nil || !proto.Equal(again.GetPathway(), p) {
		t.Fatalf("retry: %v %v", again.GetPathway(), err)
	}
	// A new command while the episode is open is refused.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-2", LearnerId: id, EntryDate: entry})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, id, 1)
}

func TestEnterPathwayRefusesUnknownLearnersAndBadInput(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	unknown := event.NewID()
	_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "r", LearnerId: unknown, EntryDate: date(2026, 11, 20)})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	// Every problem at once.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{LearnerId: "nope", EntryDate: date(2026, 12, 1)})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "learner_id", "entry_date")

	id := registered(t, env, "T01")
	tests := []struct {
		name  string
		entry *pathwayv1.EnterPathwayRequest
	}{
		{"in the future", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 11, 27)}},
		{"missing", &pathwayv1.EnterPathwayRequest{}},
		{"not a date", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 2, 29)}},
		{"before the registration (2 November)", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 11, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.entry.RequestId, tc.entry.LearnerId = event.NewID(), id
			_, err := client.EnterPathway(ctx(t), tc.entry)
			servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		})
	}
	_, err = client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.NotFound)

	// Not before the learner turned 16 (a registration recorded before
	// registered_on existed bounds nothing else).
	young := event.NewID()
	env.Publish(t, "avenir.intake.learner."+young+".registered", &intakev1.LearnerRegistered{
		LearnerId: young, TerritoryCode: "T01", BirthDate: date(2010, 11, 20),
	})
	env.CaughtUp(t)
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "young", LearnerId: young, EntryDate: date(2026, 11, 19)})
	servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
	if n := len(env.Events(t, service.Stream, "avenir.pathway.>")); n != 0 {
		t.Fatalf("refused commands appended %d events", n)
	}
}

func TestEntryMayBeBackdatedByAConfigurableNumberOfDays(t *testing.T) {
	t.Parallel()
	t.Run("30 days by default", func(t *testing.T) {
		t.Parallel()
		env, client := start(t, servicetest.Options{})
		id := registeredOn(t, env, "T05", date(2026, 9, 1))
		_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "old", LearnerId: id, EntryDate: date(2026, 10, 26)})
		servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		if st := status.Convert(err); st.Message() != "invalid argument: entry_date: must not be more than 30 days before today (2026-10-27 at the earliest)" {
			t.Fatalf("message %q", st.Message())
		}
		nothingAppended(t, env, id, 0)
		enter(t, client, id, date(2026, 10, 27))
	})
	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		env, client := startWith(t, servicetest.Options{}, service.Config{MaxEntryBackdateDays: 3})
		id := registered(t, env, "T05")
		_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "old", LearnerId: id, EntryDate: date(2026, 11, 22)})
		servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		nothingAppended(t, env, id, 0)
		enter(t, client, id, date(2026, 11, 23))
	})
	t.Run("never negative", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, servicetest.Options{})
		if _, err := service.New(env.Deps, service.Config{MaxEntryBackdateDays: -1}); err == nil {
			t.Fatal("a negative maximum was accepted")
		}
	})
}

// Read models are rebuilt from the streams into a fresh store (an in-memory
// store after a process restart, a new Redis), the same as they were built.
func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, store)
			opts := servicetest.Options{Store: fresh()}
			env, client := start(t, opts)
			id := registeredOn(t, env, "T09", date(2026, 10, 1))
			enter(t, client, id, date(2026, 10, 28))
			refer(t, client, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 10, 29))
			exit(t, client, id, date(2026, 11, 3), pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, "")
			p := enter(t, client, id, date(2026, 11, 4))
			readModel(t, env, client, p)
			env.CaughtUp(t)
			stats := &pathwayv1.GetFlowStatisticsRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 10}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
			before := snapshot(t, client, id, stats)

			// Restart with an empty store: the same durable consumers replay
			// the streams into it.
			deps := env.Deps
			deps.Projections = fresh()
			svc := env.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			got, err := deps.Projections.Get(ctx(t), "pathway-pathways-v2", "pathway:"+id)
			if err != nil {
				t.Fatalf("rebuilt read model: %v", err)
			}
			var stored pathwayv1.Pathway
			if err := proto.Unmarshal(got, &stored); err != nil || !proto.Equal(&stored, p) {
				t.Fatalf("rebuilt %v, want %v (%v)", &stored, p, err)
			}
			after := snapshotFrom(t, svc, id, stats)
			if !proto.Equal(after.flows, before.flows) || !proto.Equal(after.timeline, before.timeline) || !proto.Equal(after.list, before.list) {
				t.Fatalf("rebuilt read models differ:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// readModels is what the read models answer about one learner.
type readModels struct {
	list     *pathwayv1.ListPathwaysResponse
	timeline *pathwayv1.GetTimelineResponse
	flows    *pathwayv1.GetFlowStatisticsResponse
}

func snapshot(t *testing.T, client pathwayv1.PathwayServiceClient, id string, stats *pathwayv1.GetFlowStatisticsRequest) readModels {
	t.Helper()
	list, err := client.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
	if err != nil || len(list.GetPathways()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	timeline, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil || len(timeline.GetEntries()) != 6 {
		t.Fatalf("timeline: %v %v", timeline, err)
	}
	flows, err := client.GetFlowStatistics(ctx(t), stats)
	if err != nil || len(flows.GetTerritories()) != 2 {
		t.Fatalf("flows: %v %v", flows, err)
	}
	return readModels{list, timeline, flows}
}

// snapshotFrom reads the same from a service that serves no gRPC, as an admin.
func snapshotFrom(t *testing.T, svc *service.Service, id string, stats *pathwayv1.GetFlowStatisticsRequest) readModels {
	t.Helper()
	c := adminContext(t)
	list, err := svc.ListPathways(c, &pathwayv1.ListPathwaysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	timeline, err := svc.GetTimeline(c, &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	flows, err := svc.GetFlowStatistics(c, stats)
	if err != nil {
		t.Fatal(err)
	}
	return readModels{list, timeline, flows}
}

func (r readModels) String() string {
	return fmt.Sprintf("list %v\ntimeline %v\nflows %v", r.list, r.timeline, r.flows)
}

func adminContext(t *testing.T) context.Context {
	return auth.NewContext(ctx(t), servicetest.Admin)
}
