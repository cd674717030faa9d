package cli_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// TestNotificationsCommands: a learner assigned to a referent (the event
// appended as referent would) makes a notification the referent lists,
// reads and no longer counts unread; preferences are set and shown; an
// admin lists what was kept for the learner (no SMTP server: nothing sent).
func TestNotificationsCommands(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Now, cfg.Out = func() time.Time { return now }, io.Discard
	addrs, _ := servertest.Run(t, cfg)
	js, err := jetstream.New(servertest.NATS(t, cfg.DataDir, addrs))
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(js, eventstore.Options{Source: "referent", Sealer: servertest.Keys(t, cfg.DataDir, js)})
	if err != nil {
		t.Fatal(err)
	}
	learner, referentID := event.NewID(), event.NewID()
	if _, err := store.Append(context.Background(), "REFERENT", "avenir.referent.assignment."+learner+".>", 0, eventstore.Command{RequestID: learner, Time: now},
		event.Draft{Subject: "avenir.referent.assignment." + learner + ".assigned", AggregateID: learner, Data: &referentv1.ReferentAssigned{
			LearnerId: learner, ReferentId: referentID, TerritoryCode: "T05", EpisodeNumber: 1,
			FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 26}, Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		}}); err != nil {
		t.Fatal(err)
	}
	run := func(p auth.Principal, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(slices.Clip(args), "--addr", addrs.GRPC, "--token", servertest.Token(t, cfg.DataDir, p, now)), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	ref := auth.Principal{Subject: "anne", Role: auth.RoleReferent, ReferentID: referentID, Territories: []string{"T05"}}
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var code int
		code, out = run(ref, "notifications", "list", "-o", "json")
		if code == 0 && strings.Contains(out, "Une nouvelle personne vous est confiée") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notification listed: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out, `"unread_count": 1`) {
		t.Fatalf("unread count: %s", out)
	}
	_, table := run(ref, "notifications", "list")
	if !strings.Contains(table, "1 unread") || !strings.Contains(table, "not_sent") || !strings.Contains(table, "/personnes/"+learner) {
		t.Fatalf("table:\n%s", table)
	}
	i := strings.Index(out, `"notification_id": "`)
	id := out[i+len(`"notification_id": "`):][:36]
	if code, got := run(ref, "notifications", "read", id); code != 0 || !strings.Contains(got, "yes") {
		t.Fatalf("read: %d %s", code, got)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, got := run(ref, "notifications", "list", "--unread")
		if strings.Contains(got, "0 unread") && !strings.Contains(got, id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still unread:\n%s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, got := run(ref, "notifications", "preferences", "--set", "--email", "anne@afpa.example", "--kinds", "referent_assigned,booking_cancelled"); code != 0 ||
		!strings.Contains(got, "anne@afpa.example") || !strings.Contains(got, "referent_assigned, booking_cancelled") {
		t.Fatalf("preferences: %d %s", code, got)
	}
	if code, got := run(ref, "notifications", "preferences", "--set", "--kinds", "nope"); code != 2 || !strings.Contains(got, "unknown kind") {
		t.Fatalf("a bad kind: %d %s", code, got)
	}
	admin := auth.Principal{Subject: "adm", Role: auth.RoleAdmin}
	if code, got := run(admin, "notifications", "list", "--recipient", "learner:"+learner); code != 0 || !strings.Contains(got, "Votre référent pédagogique") {
		t.Fatalf("admin reads the learner's: %d %s", code, got)
	}
	if code, got := run(ref, "notifications", "list", "--recipient", "learner:"+learner); code == 0 {
		t.Fatalf("a referent read another recipient's: %s", got)
	}
}
