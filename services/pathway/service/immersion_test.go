package service_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// immersionStream stands for the stream the immersion service owns.
var immersionStream = natsx.StreamSpec{Name: "IMMERSION", Subjects: []string{"avenir.immersion.>"}}

// publishSession appends events to an immersion session, as immersion would.
func publishSession(t *testing.T, env *servicetest.Env, sessionID string, evs ...proto.Message) {
	t.Helper()
	store, err := eventstore.New(env.JS, eventstore.Options{Source: "immersion"})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.immersion.session." + sessionID + ".>"
	for _, data := range evs {
		name := map[string]string{
			"PlaceBooked": "booked", "Waitlisted": "waitlisted", "OutcomeRecorded": "outcome_recorded",
		}[string(data.ProtoReflect().Descriptor().Name())]
		h, err := store.Load(ctx(t), "IMMERSION", filter)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx(t), "IMMERSION", filter, h.LastSeq,
			eventstore.Command{RequestID: event.NewID(), Actor: "operator:op-1", Time: env.Now()},
			event.Draft{Subject: "avenir.immersion.session." + sessionID + "." + name, AggregateID: sessionID, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
}

// An immersion done, as the immersion service records it, moves the
// learner to discovering trades; a no-show does not; the timeline shows
// the booking and the outcome, without the operator's comment.
func TestImmersionOutcomesMoveThePhaseAndShowInTheTimeline(t *testing.T) {
	env, client := start(t, servicetest.Options{Streams: []natsx.StreamSpec{immersionStream}})
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
	phaseIs(t, client, done, pathwayv1.PathwayPhase_PATHWAY_PHASE_DISCOVERING_TRADES)
	servicetest.Eventually(t, 5*time.Second, func() error {
		c, err := env.JS.Consumer(ctx(t), "IMMERSION", "pathway-notes-immersion")
		if err != nil {
			return err
		}
		info, err := c.Info(ctx(t))
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 {
			return fmt.Errorf("%d outcomes to note", info.NumPending+uint64(info.NumAckPending))
		}
		return nil
	})
	caughtUp(t, env)
	phaseIs(t, client, absent, pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED)
	got, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: done})
	if err != nil || got.GetPathway().GetEpisodes()[0].GetImmersionsDone() != 1 {
		t.Fatalf("pathway %v %v", got, err)
	}

	servicetest.Eventually(t, 5*time.Second, func() error {
		resp, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: done})
		if err != nil {
			return err
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
			return fmt.Errorf("immersion entries %q, want %q", entries, want)
		}
		return nil
	})
}
