package service_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// publishSession appends events to an immersion session, as immersion would.
func publishSession(t *testing.T, env *servicetest.Env, sessionID string, evs ...proto.Message) {
	t.Helper()
	for _, data := range evs {
		name := map[string]string{
			"PlaceBooked": "booked", "Waitlisted": "waitlisted", "OutcomeRecorded": "outcome_recorded",
		}[string(data.ProtoReflect().Descriptor().Name())]
		env.Publish(t, "avenir.immersion.session."+sessionID+"."+name, data)
	}
}

// An immersion done, as the immersion service records it, moves the
// learner to discovering trades; a no-show does not; the timeline shows
// the booking and the outcome, without the operator's comment.
func TestImmersionOutcomesMoveThePhaseAndShowInTheTimeline(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	done, absent := registered(t, env, "T16"), registered(t, env, "T16")
	enter(t, client, done, nov2)
	enter(t, client, absent, nov2)

	booked := func(id string) *immersionv1.PlaceBooked {
		return &immersionv1.PlaceBooked{SessionId: "s-1", LearnerId: id, Booked: 1, Capacity: 2, FromDate: date(2026, 11, 16), ToDate: date(2026, 11, 20)}
	}
	publishSession(t, env, "s-1", booked(done), booked(absent),
		&immersionv1.OutcomeRecorded{
			SessionId: "s-1", LearnerId: done, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED,
			LastDayPresent: date(2026, 11, 18), MinutesDone: 1260, MinutesScheduled: 2100,
			TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED, Comment: "private remark", RomeCodes: []string{"H2909"},
		},
		&immersionv1.OutcomeRecorded{SessionId: "s-1", LearnerId: absent, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW, RomeCodes: []string{"H2909"}},
	)
	phaseIs(t, env, client, done, pathwayv1.PathwayPhase_PATHWAY_PHASE_DISCOVERING_TRADES)
	phaseIs(t, env, client, absent, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED)
	got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: done})
	if err != nil || got.GetPathway().GetEpisodes()[0].GetImmersionsDone() != 1 {
		t.Fatalf("pathway %v %v", got, err)
	}

	resp, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: done})
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, e := range resp.GetEntries() {
		if e.GetSource() == "immersion" {
			entries = append(entries, e.GetSummary())
		}
	}
	want := []string{
		"Immersion booked: session s-1, 2026-11-16 to 2026-11-20",
		"Immersion partially completed: session s-1, trades H2909; trade fit: confirmed",
	}
	if !slices.Equal(entries, want) {
		t.Fatalf("immersion entries %q, want %q", entries, want)
	}
}
