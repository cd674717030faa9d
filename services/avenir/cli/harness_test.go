package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// cliHarness runs every service in-process on the clock of now, with a CLI
// runner that takes the token to use (run), a token minter (mint) and a
// function that registers an adult learner (as intake would, straight into
// INTAKE).
type cliHarness struct {
	t        *testing.T
	run      func(token string, args ...string) (int, string, string)
	mint     func(auth.Principal) string
	register func(territory string) string
}

func newCLIHarness(t *testing.T) *cliHarness {
	t.Helper()
	var (
		run      func(token string, args ...string) (int, string, string)
		mint     func(auth.Principal) string
		register func(territory string) string
	)
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Now, cfg.Out = func() time.Time { return now }, io.Discard
	addrs, _ := servertest.Run(t, cfg)
	mint = func(p auth.Principal) string { return servertest.Token(t, cfg.DataDir, p, now) }
	// The dev server's NATS requires credentials: the tests write as ops.
	js, err := jetstream.New(servertest.NATS(t, cfg.DataDir, addrs))
	if err != nil {
		t.Fatal(err)
	}
	keys := servertest.Keys(t, cfg.DataDir, js)
	store, err := eventstore.New(js, eventstore.Options{Source: "intake", Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	register = func(territory string) string {
		id := event.NewID()
		_, err := store.Append(context.Background(), "INTAKE", "avenir.intake.learner."+id+".>", 0, eventstore.Command{RequestID: id, Time: now},
			event.Draft{Subject: "avenir.intake.learner." + id + ".registered", AggregateID: id, Data: &intakev1.LearnerRegistered{
				LearnerId: id, FamilyName: "Morel", GivenName: "Jade", BirthDate: &commonv1.Date{Year: 1998, Month: 3, Day: 2},
				TerritoryCode: territory, RegisteredOn: &commonv1.Date{Year: 2026, Month: 10, Day: 1},
			}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	run = func(token string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(slices.Clip(args), "--addr", addrs.GRPC, "--token", token), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	return &cliHarness{t: t, run: run, mint: mint, register: register}
}

// expect runs a command as token, wants its exit code and every string
// of wants in its output.
func (h *cliHarness) expect(token string, code int, args []string, wants ...string) string {
	t, run := h.t, h.run
	t.Helper()
	got, out, errOut := run(token, args...)
	if got != code {
		t.Fatalf("avenir %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, code, out, errOut)
	}
	for _, w := range wants {
		if !strings.Contains(out+errOut, w) {
			t.Fatalf("avenir %s: no %q in\n%s%s", strings.Join(args, " "), w, out, errOut)
		}
	}
	return out + errOut
}

// eventually retries a command until it succeeds with every string of
// wants in its output: read models and the other services' events
// follow in moments.
func (h *cliHarness) eventually(token string, args []string, wants ...string) string {
	t, run := h.t, h.run
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out, errOut := run(token, args...)
		ok := code == 0
		for _, w := range wants {
			ok = ok && strings.Contains(out, w)
		}
		if ok {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("avenir %s: exit %d, no %q in\n%s%s", strings.Join(args, " "), code, wants, out, errOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// id reads a string field of a JSON answer.
func (h *cliHarness) id(out, field string) string {
	t := h.t
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s, _ := m[field].(string)
	if s == "" {
		t.Fatalf("no %s in\n%s", field, out)
	}
	return s
}
