package consumer_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// A sealed event reaches the handler opened; without a sealer it is a
// configuration error: retried, then dead-lettered with the reason after
// MaxDeliver deliveries, not at once like an undecodable message.
func TestSealedEventsNeedTheSealer(t *testing.T) {
	h := newHarness(t)
	if _, err := natsx.EnsureStream(ctx(t), h.js, privacy.StreamSpec(), natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	master, err := privacy.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.New(h.js, privacy.Options{Master: master, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	data := &intakev1.LearnerRegistered{LearnerId: "l1", FamilyName: "Zyxwarnowska", TerritoryCode: "T05"}
	msg, err := event.Codec{Sealer: keys}.Encode(ctx(t), event.Draft{Subject: "avenir.test.learner.l1.registered", AggregateID: "l1", Data: data},
		event.Meta{ID: event.NewID(), Source: testSource})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := h.js.PublishMsg(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu  sync.Mutex
		got []event.Event
	)
	handle := func(_ context.Context, ev event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	}
	start := func(name string, sealer event.Sealer) {
		s := spec(name)
		s.MaxDeliver = 3
		r, err := consumer.Start(ctx(t), h.js, s, handle, consumer.Options{Logger: slog.New(slog.DiscardHandler), Source: testSource, Sealer: sealer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stop(t, r) })
	}

	start("unsealed", nil)
	h.waitAcked("unsealed", ack.Sequence) // dead-lettering terminates it
	dls := h.deadLetters()
	if len(dls) != 1 {
		t.Fatalf("%d dead letters", len(dls))
	}
	if d := dls[0].Header.Get(consumer.HeaderDLQDeliveries); d != "3" {
		t.Errorf("dead-lettered after %s deliveries, want 3 (retried, not terminated as undecodable)", d)
	}
	if r := dls[0].Header.Get(consumer.HeaderDLQReason); !strings.Contains(r, "no sealer") {
		t.Errorf("reason %q does not say the sealer is missing", r)
	}

	start("sealed", keys)
	h.waitAcked("sealed", ack.Sequence)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !proto.Equal(got[0].Data, data) || got[0].Erased {
		t.Fatalf("handled %v", got)
	}
}
