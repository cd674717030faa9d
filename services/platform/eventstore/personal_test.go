package eventstore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// keys creates the key store on js and returns a Keyring on it.
func keys(tb testing.TB, js jetstream.JetStream) *privacy.Keyring {
	tb.Helper()
	if _, err := natsx.EnsureStream(context.Background(), js, privacy.StreamSpec(), natsx.Topology{Replicas: 1}); err != nil {
		tb.Fatal(err)
	}
	m, err := privacy.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	k, err := privacy.New(js, privacy.Options{Master: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(k.Close)
	return k
}

const learnerID = "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"

// registered is a registration with every personal field set, and
// distinctive values to look for on disk.
func registered() *intakev1.LearnerRegistered {
	return &intakev1.LearnerRegistered{
		LearnerId:     learnerID,
		FamilyName:    "Zyxwarnowska",
		GivenName:     "Quillane",
		BirthDate:     &commonv1.Date{Year: 1971, Month: 3, Day: 14},
		TerritoryCode: "T05",
		RegisteredOn:  &commonv1.Date{Year: 2026, Month: 11, Day: 26},
		Rqth:          true,
		Contact:       &intakev1.Contact{Email: "quillane.zyx@example.org", Phone: "0699887766", CommuneCode: "14118"},
		Situation:     &intakev1.Situation{JobSeeker: true, FranceTravailId: "FT99887766Z"},
		SeniorAtEntry: true,
	}
}

// secrets are the personal values of registered.
var secrets = []string{"Zyxwarnowska", "Quillane", "quillane.zyx@example.org", "0699887766", "FT99887766Z"}

func TestPersonalDataIsSealedInTheStream(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	js := connect(t, srv)
	ensureStream(t, js)
	k := keys(t, js)
	store, err := eventstore.New(js, eventstore.Options{Source: "intake", Sealer: k})
	if err != nil {
		t.Fatal(err)
	}
	filter := "avenir.estest.learner." + learnerID + ".>"
	subject := "avenir.estest.learner." + learnerID + ".registered"
	draft := registered()
	evs, err := store.Append(ctx, spec.Name, filter, 0, eventstore.Command{RequestID: "r1"},
		event.Draft{Subject: subject, AggregateID: learnerID, Data: draft})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(evs[0].Data, registered()) || !proto.Equal(draft, registered()) {
		t.Fatalf("appended %v, draft now %v", evs[0].Data, draft)
	}
	h, err := store.Load(ctx, spec.Name, filter)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 1 || h.Events[0].Erased || !proto.Equal(h.Events[0].Data, registered()) {
		t.Fatalf("loaded %v", h.Events)
	}
	if ev, ok, err := store.Lookup(ctx, spec.Name, subject); err != nil || !ok || !proto.Equal(ev.Data, registered()) {
		t.Fatalf("lookup: %v %v %v", ev.Data, ok, err)
	}
	// The stored message holds no personal value in clear, nor does the disk.
	st, err := js.Stream(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetMsg(ctx, evs[0].Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw.Data, []byte("T05")) {
		t.Fatal("the stored message does not hold the territory in clear: the checks below prove nothing")
	}
	for _, s := range secrets {
		if bytes.Contains(raw.Data, []byte(s)) {
			t.Errorf("%q stored in clear", s)
		}
		if f := grep(t, srv.Dir, s); f != "" {
			t.Errorf("%q found in %s", s, f)
		}
	}
	if grep(t, srv.Dir, "T05") == "" {
		t.Fatal("the territory is not found on disk: the disk check proves nothing")
	}

	// Without a sealer, the store can neither append nor read personal data,
	// and reading is not "undecodable" (a configuration error).
	bare, err := eventstore.New(js, eventstore.Options{Source: "intake"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Load(ctx, spec.Name, filter); err == nil || errors.Is(err, event.ErrUndecodable) {
		t.Fatalf("load without a sealer: %v", err)
	}
	if _, err := bare.Append(ctx, spec.Name, "avenir.estest.learner.other.>", 0, eventstore.Command{RequestID: "r2"},
		event.Draft{Subject: "avenir.estest.learner.other.registered", Data: registered()}); err == nil {
		t.Fatal("personal data appended without a sealer")
	}

	// Erased: the event stays, its personal fields read empty.
	if err := k.Erase(ctx, privacy.LearnerKey(learnerID)); err != nil {
		t.Fatal(err)
	}
	h, err = store.Load(ctx, spec.Name, filter)
	if err != nil {
		t.Fatal(err)
	}
	want := &intakev1.LearnerRegistered{LearnerId: learnerID, TerritoryCode: "T05", RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 26}}
	if len(h.Events) != 1 || !h.Events[0].Erased || !proto.Equal(h.Events[0].Data, want) {
		t.Fatalf("loaded after erasure %v (erased %v)", h.Events[0].Data, h.Events[0].Erased)
	}
	// ... and nothing personal can be recorded about the learner any more.
	_, err = store.Append(ctx, spec.Name, filter, h.LastSeq, eventstore.Command{RequestID: "r3"},
		event.Draft{Subject: "avenir.estest.learner." + learnerID + ".registered", Data: registered()})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindFailedPrecondition || ae.Meta["reason"] != event.ReasonErased {
		t.Fatalf("append for an erased learner: %v", err)
	}
}

// grep returns a file under dir holding s, "" when none does.
func grep(t *testing.T, dir, s string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// BenchmarkCodecLearnerRegistered measures the encoding and decoding of a
// registration as the store does them on append (Encode, then Decode to
// check it), with its personal fields sealed by a real Keyring (warm key
// cache) and, for comparison, without personal fields and sealer: the path
// of every event without personal data (hour reports).
func BenchmarkCodecLearnerRegistered(b *testing.B) {
	ctx := context.Background()
	srv := natstest.Start(b)
	k := keys(b, connect(b, srv))
	full := registered()
	bare := &intakev1.LearnerRegistered{LearnerId: learnerID, TerritoryCode: "T05", RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 26}}
	meta := event.Meta{ID: "id-1", Source: "intake", Actor: "admin:me", RequestID: "r1"}
	subject := "avenir.intake.learner." + learnerID + ".registered"
	for _, bc := range []struct {
		name  string
		codec event.Codec
		data  proto.Message
	}{
		{"sealed", event.Codec{Sealer: k}, full},
		{"no-personal-fields", event.Codec{}, bare},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msg, err := bc.codec.Encode(ctx, event.Draft{Subject: subject, AggregateID: learnerID, Data: bc.data}, meta)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bc.codec.Decode(ctx, msg.Subject, msg.Header, msg.Data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
