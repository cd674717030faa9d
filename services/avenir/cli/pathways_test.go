package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// now is the server's clock: 26 November 2026 in Paris.
var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// pathwaysServer runs the dev server in-process and returns its gRPC
// address, an admin token, and a function that registers a learner (as
// intake would, straight into INTAKE) and returns its id.
func pathwaysServer(t *testing.T) (addr, token string, register func(territory string) string) {
	t.Helper()
	s := startPathwaysServer(t)
	return s.addr, s.token, s.register
}

// pathwaysTestServer is a dev server running in-process.
type pathwaysTestServer struct {
	addr, token string
	// mint makes a token for anyone.
	mint func(auth.Principal) string
	// register registers a learner as intake would and returns its id.
	register func(territory string) string
	// append stores an event on a stream as its context would, first of
	// its aggregate.
	append func(stream, subject, aggregateID string, data proto.Message)
}

func startPathwaysServer(t *testing.T) pathwaysTestServer {
	t.Helper()
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Now, cfg.Out = func() time.Time { return now }, io.Discard
	addrs, _ := servertest.Run(t, cfg)
	s := pathwaysTestServer{
		addr:  addrs.GRPC,
		token: servertest.Token(t, cfg.DataDir, auth.Principal{Subject: "cli-test", Role: auth.RoleAdmin}, now),
		mint:  func(p auth.Principal) string { return servertest.Token(t, cfg.DataDir, p, now) },
	}
	nc, err := nats.Connect(addrs.NATS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s.append = func(stream, subject, aggregateID string, data proto.Message) {
		t.Helper()
		source := strings.ToLower(stream)
		store, err := eventstore.New(js, eventstore.Options{Source: source})
		if err != nil {
			t.Fatal(err)
		}
		prefix := subject[:strings.LastIndexByte(subject, '.')]
		_, err = store.Append(context.Background(), stream, prefix+".>", 0,
			eventstore.Command{RequestID: event.NewID(), Actor: "service:" + source, Time: now},
			event.Draft{Subject: subject, AggregateID: aggregateID, Data: data})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.register = func(territory string) string {
		id := event.NewID()
		s.append("INTAKE", "avenir.intake.learner."+id+".registered", id, &intakev1.LearnerRegistered{
			LearnerId: id, FamilyName: "Martin", GivenName: "Léa", BirthDate: &commonv1.Date{Year: 2001, Month: 5, Day: 14},
			TerritoryCode: territory, RegisteredOn: &commonv1.Date{Year: 2026, Month: 10, Day: 1},
		})
		return id
	}
	return s
}

func TestPathwaysCommands(t *testing.T) {
	addr, token, register := pathwaysServer(t)
	run := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--addr", addr, "--token", token), &out, &errOut)
		if code != want {
			t.Fatalf("avenir %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	// contains runs a command that must succeed and checks its output.
	contains := func(args []string, wants ...string) string {
		t.Helper()
		out := run(0, args...)
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("avenir %s: no %q in\n%s", strings.Join(args, " "), w, out)
			}
		}
		return out
	}

	a, b := register("T05"), register("T06")
	// The registration reaches pathway in moments.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errOut bytes.Buffer
		if cli.Main(context.Background(), []string{"pathways", "enter", a, "--entry-date", "2026-11-02", "--addr", addr, "--token", token}, &out, &errOut) == 0 {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(errOut.String(), "FailedPrecondition") {
			t.Fatalf("enter: %s%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	contains([]string{"pathways", "refer", a, "--programme", "qualif", "--organisation", "AFPA Caen", "--date", "2026-11-05"},
		"REFERRAL", "#1 qualif, AFPA Caen, 2026-11-05: pending", "building-project")
	contains([]string{"pathways", "referral-outcome", a, "1", "--outcome", "accepted", "--date", "2026-11-06"},
		"in-qualifying-training", "#1 qualif, AFPA Caen, 2026-11-05: accepted 2026-11-06")
	contains([]string{"pathways", "exit", a, "--exit-date", "2026-11-20", "--reason", "qualifying-training", "--detail", "Qualif Caen"},
		"EXITED", "#1 entered 2026-11-02, exited 2026-11-20 (qualifying-training: Qualif Caen)")
	contains([]string{"pathways", "enter", b, "--entry-date", "2026-11-10"}, "ACTIVE", "welcomed")
	contains([]string{"pathways", "get", a}, "EXITED", "exited", "T05")

	// JSON for scripts.
	var got struct {
		Status   string `json:"status"`
		Phase    string `json:"phase"`
		Episodes []struct {
			ExitReason string `json:"exit_reason"`
		} `json:"episodes"`
	}
	if err := json.Unmarshal([]byte(run(0, "pathways", "get", a, "-o", "json")), &got); err != nil ||
		got.Status != "PATHWAY_STATUS_EXITED" || got.Phase != "PATHWAY_PHASE_EXITED" || got.Episodes[0].ExitReason != "EXIT_REASON_QUALIFYING_TRAINING" {
		t.Fatalf("get -o json: %+v %v", got, err)
	}

	// Lists page by page (the read model follows in moments).
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(run(0, "pathways", "list"), b) {
		if time.Now().After(deadline) {
			t.Fatal("list never showed the second pathway")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := contains([]string{"pathways", "list", "--page-size", "1"}, "LEARNER ID", a, "NEXT PAGE TOKEN: ")
	tok := strings.TrimSpace(first[strings.Index(first, "NEXT PAGE TOKEN: ")+len("NEXT PAGE TOKEN: "):])
	second := contains([]string{"pathways", "list", "--page-size", "1", "--page-token", tok}, b)
	if strings.Contains(second, a) {
		t.Fatalf("second page repeats the first:\n%s", second)
	}
	contains([]string{"pathways", "list", "--phase", "exited", "-o", "json"}, `"learner_id": "`+a+`"`)
	contains([]string{"pathways", "list", "--territory", "T06", "--active-on", "2026-11-20"}, b)

	timeline := contains([]string{"pathways", "timeline", a, "--page-size", "3"}, "Registered in territory T05", "Entered the pathway on 2026-11-02", "NEXT PAGE TOKEN: ")
	tok = strings.TrimSpace(timeline[strings.Index(timeline, "NEXT PAGE TOKEN: ")+len("NEXT PAGE TOKEN: "):])
	contains([]string{"pathways", "timeline", a, "--page-size", "3", "--page-token", tok}, "Exited the pathway on 2026-11-20", "recorded late")

	contains([]string{"pathways", "stats", "--period", "2026-11"},
		"MEDIAN DAYS", "T05", "T06", "TOTAL", "qualifying-training 1")
	contains([]string{"pathways", "stats", "--period", "2026-10..2026-11", "--territory", "T05", "-o", "json"},
		`"median_days_in_pathway": 18`, `"month": 10`)
	// Several territories: each asked in turn, shown together without a
	// total (medians do not add up); one JSON document names each.
	both := contains([]string{"pathways", "stats", "--period", "2026-11", "--territory", "T05", "--territory", "T06"}, "T05", "T06")
	if strings.Contains(both, "TOTAL") {
		t.Fatalf("a total across territories asked one by one:\n%s", both)
	}
	var doc struct {
		Territories []struct {
			TerritoryCode string          `json:"territory_code"`
			Answer        json.RawMessage `json:"answer"`
		} `json:"territories"`
	}
	if err := json.Unmarshal([]byte(run(0, "pathways", "stats", "--period", "2026-11", "--territory", "T05,T06", "-o", "json")), &doc); err != nil ||
		len(doc.Territories) != 2 || doc.Territories[0].TerritoryCode != "T05" || doc.Territories[1].TerritoryCode != "T06" ||
		!strings.Contains(string(doc.Territories[0].Answer), `"median_days_in_pathway": 18`) {
		t.Fatalf("stats of two territories -o json: %+v %v", doc, err)
	}
	// Lists of several territories: together, each page token naming its
	// territory; --page-token continues one territory only.
	two := contains([]string{"pathways", "list", "--territory", "T05", "--territory", "T06", "--page-size", "1"}, a, b)
	if !strings.Contains(two, "LEARNER ID") || strings.Count(two, "LEARNER ID") != 1 {
		t.Fatalf("two territories in one table:\n%s", two)
	}
	run(2, "pathways", "list", "--territory", "T05,T06", "--page-token", tok)

	// Refusals: bad flags are usage errors (2), refused calls exit 1 naming the fields.
	out := run(2, "pathways", "exit", a, "--reason", "bored")
	if !strings.Contains(out, "employment-permanent") {
		t.Fatalf("unknown reason: %s", out)
	}
	run(2, "pathways", "stats", "--period", "2026/11")
	run(2, "pathways", "stats", "--period", "2026-11..2026-10")
	run(2, "pathways", "stats", "--from", "2026-11", "--to", "2026-11")
	run(2, "pathways", "referral-outcome", a, "one", "--outcome", "accepted")
	out = run(1, "pathways", "exit", b, "--exit-date", "2026-11-09", "--reason", "other")
	if !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "exit_date") || !strings.Contains(out, "detail") {
		t.Fatalf("bad exit: %s", out)
	}
}
