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
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
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
	// The dev server's NATS requires credentials: the tests write as ops.
	js, err := jetstream.New(servertest.NATS(t, cfg.DataDir, addrs))
	if err != nil {
		t.Fatal(err)
	}
	keys := servertest.Keys(t, cfg.DataDir, js)
	s.append = func(stream, subject, aggregateID string, data proto.Message) {
		t.Helper()
		source := strings.ToLower(stream)
		store, err := eventstore.New(js, eventstore.Options{Source: source, Sealer: keys})
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

	// After the exit to qualifying training: the followed Qualif referral
	// gets its certification; the six-month follow-up waits for its day.
	contains([]string{"pathways", "referral-outcome", a, "1", "--outcome", "completed-certified", "--rncp", "RNCP35467", "--certified-on", "2026-11-24", "--date", "2026-11-25"},
		"#1 qualif, AFPA Caen, 2026-11-05 (followed in Qualif): completed-certified 2026-11-25 (RNCP35467, 2026-11-24)",
		"6-month follow-up due 2027-05-20")
	if out := run(1, "pathways", "follow-up", a, "--situation", "job-seeking"); !strings.Contains(out, "FailedPrecondition") || !strings.Contains(out, "due on 2027-05-20") {
		t.Fatalf("follow-up before it is due: %s", out)
	}
	run(2, "pathways", "follow-up", a, "--situation", "retired")
	// An open Savoirs referral needs a choice at exit.
	contains([]string{"pathways", "refer", b, "--programme", "savoirs", "--organisation", "GRETA Évreux", "--date", "2026-11-12"}, "#1 savoirs")
	if out := run(1, "pathways", "exit", b, "--exit-date", "2026-11-20", "--reason", "relocation"); !strings.Contains(out, "pending_referrals") || !strings.Contains(out, "referral 1") {
		t.Fatalf("exit with an open Savoirs referral and no choice: %s", out)
	}
	contains([]string{"pathways", "exit", b, "--exit-date", "2026-11-20", "--reason", "relocation", "--pending-referrals", "carry-over"},
		"EXITED", "#1 savoirs, GRETA Évreux, 2026-11-12 (carried over): pending")
}

// The scheme's figures as a funder and an admin read them: seven learners
// entered on 2 November 2026, six in T05 (two of them, accompanied by
// op-evreux, left on the 20th) and one in T06. An admin reads every count;
// a funder reads <5 for a count of 1 to 4, and - for what would give it
// back (the median of two exits).
func TestPathwaysSchemeFigures(t *testing.T) {
	s := startPathwaysServer(t)
	funder := s.mint(auth.Principal{Subject: "u-fund", Role: auth.RoleFunder})
	referent := s.mint(auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05"}})
	runAs := func(token string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(slices.Clip(args), "--addr", s.addr, "--token", token), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	// flat is out with each line's cells separated by one space.
	flat := func(out string) string {
		lines := strings.Split(out, "\n")
		for i, l := range lines {
			lines[i] = strings.Join(strings.Fields(l), " ")
		}
		return strings.Join(lines, "\n")
	}
	// expect runs a command as token, wants its exit code and every line
	// of rows (cells separated by one space) in its output.
	expect := func(token string, code int, args []string, rows ...string) string {
		t.Helper()
		got, out := runAs(token, args...)
		if got != code {
			t.Fatalf("avenir %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, out)
		}
		for _, r := range rows {
			if !strings.Contains(flat(out), r) {
				t.Fatalf("avenir %s: no %q in\n%s", strings.Join(args, " "), r, out)
			}
		}
		return out
	}
	// eventually retries a command as admin until its output holds every
	// row: commands reach the read models in moments.
	eventually := func(args []string, rows ...string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, out := runAs(s.token, args...)
			ok := code == 0
			for _, r := range rows {
				ok = ok && strings.Contains(flat(out), r)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("avenir %s: exit %d, no %q in\n%s", strings.Join(args, " "), code, rows, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	contract := event.NewID()
	s.append("FUNDING", "avenir.funding.contract."+contract+".created", contract, &fundingv1.ContractCreated{ContractId: contract, Terms: &fundingv1.ContractTerms{
		OperatorId: "op-evreux", Reference: "Lot 5 Eure", TerritoryCodes: []string{"T05"},
		PeriodFrom: &commonv1.Date{Year: 2026, Month: 1, Day: 1}, PeriodTo: &commonv1.Date{Year: 2026, Month: 12, Day: 31},
		TraineeHourRateCents: 1800, AnnualEnvelopeCents: 50_000_00, DailyCapMinutes: 420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
		Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
	}})
	var learners []string
	for i := range 7 {
		territory := "T05"
		if i == 6 {
			territory = "T06"
		}
		id := s.register(territory)
		// The registration reaches pathway in moments.
		eventually([]string{"pathways", "enter", id, "--entry-date", "2026-11-02"}, "ACTIVE")
		learners = append(learners, id)
	}
	for i, reason := range []string{"employment-permanent", "abandonment"} {
		eventually([]string{"pathways", "enrol", learners[i], "--contract", contract, "--kind", "accompaniment", "--from", "2026-11-02"}, "op-evreux")
		expect(s.token, 0, []string{"pathways", "exit", learners[i], "--exit-date", "2026-11-20", "--reason", reason}, "EXITED")
	}

	stats := []string{"pathways", "stats", "--period", "2026-11"}
	eventually(stats,
		"T05 2026-11 6 2 4 18 employment-permanent 1, abandonment 1",
		"T06 2026-11 1 0 1 -",
		"TOTAL 2026-11 7 2 5 18 employment-permanent 1, abandonment 1")
	expect(funder, 0, stats,
		"TERRITORY MONTH ENTRIES EXITS ACTIVE MEDIAN DAYS EXITS BY REASON",
		"T05 2026-11 6 <5 <5 - employment-permanent <5, abandonment <5",
		"T06 2026-11 <5 0 <5 -",
		"TOTAL 2026-11 7 <5 5 - employment-permanent <5, abandonment <5")
	expect(referent, 0, stats, "T05 2026-11 6 <5 <5 - employment-permanent <5, abandonment <5")

	targets := []string{"pathways", "targets", "--year", "2026"}
	eventually(targets, "avenir T05 6", "avenir T06 1", "avenir TOTAL 7 4500 0%", "action TOTAL 0 3000 0%")
	out := expect(funder, 0, targets,
		"PROGRAMME TERRITORY BENEFICIARIES TARGET % OF TARGET",
		"avenir T05 6\navenir T06 <5\navenir TOTAL 7 4500 0%\naction TOTAL 0 3000 0%")
	if strings.Contains(out, " 1 ") {
		t.Fatalf("a funder reads a count of 1:\n%s", out)
	}
	expect(funder, 0, append(targets, "--territory", "T06", "--months"),
		"PROGRAMME TERRITORY MONTH NEW SINCE JANUARY",
		"avenir T06 2026-10 0 0\navenir T06 2026-11 <5 <5",
		"avenir TOTAL 2026-11 7 7", "action T06 2026-11 0 0", "action TOTAL 2026-11 0 0")
	// Several territories: each asked, the scheme's totals once.
	if out := expect(funder, 0, append(targets, "--territory", "T05,T06"), "avenir T05 6\navenir T06 <5\navenir TOTAL 7"); strings.Count(out, "TOTAL") != 2 {
		t.Fatalf("the scheme's totals repeated:\n%s", out)
	}

	outcomes := []string{"pathways", "outcomes", "--period", "2026-11"}
	eventually(outcomes,
		"OPERATOR TERRITORY EXITS MEDIAN DAYS EXITS BY REASON IMMERSIONS COMPLETED PARTIAL COMPLETION",
		"op-evreux T05 2 18 employment-permanent 1, abandonment 1 0 0 0 -",
		"TOTAL 2 18 employment-permanent 1, abandonment 1 0 0 0 -")
	expect(funder, 0, outcomes,
		"op-evreux T05 <5 - employment-permanent <5, abandonment <5 0 0 0 -",
		"TOTAL <5 - employment-permanent <5, abandonment <5 0 0 0 -")
	if out := expect(funder, 0, append(outcomes, "--territory", "T05", "--operator", "op-other"), "TOTAL 0 - 0 0 0 -"); strings.Contains(out, "op-evreux") {
		t.Fatalf("another operator's outcomes:\n%s", out)
	}

	breakdowns := []string{"pathways", "breakdowns", "--period", "2026-11"}
	eventually(breakdowns,
		"TERRITORY ENTRIES RQTH QPV ZRR RSA AGE UNDER-26 AGE 26-TO-49 AGE 50-AND-OVER EDUCATION LEVELS ABOVE PUBLIC",
		"T05 6 0 0 0 0 6 0 0", "T06 1 0 0 0 0 1 0 0", "TOTAL 7 0 0 0 0 7 0 0")
	expect(funder, 0, breakdowns, "T05 6 0 0 0 0 6 0 0", "T06 <5 0 0 0 0 <5 0 0", "TOTAL 7 0 0 0 0 7 0 0")
	expect(funder, 0, append(breakdowns, "--territory", "T06", "-o", "json"), `"fewer_than_five": true`)

	// Refusals: the scheme's figures are not for a plain referent (exit
	// 1); bad flags are usage errors (2), bad values named by the server.
	expect(referent, 1, targets, "PermissionDenied")
	expect(referent, 1, outcomes, "PermissionDenied")
	expect(referent, 1, breakdowns, "PermissionDenied")
	expect(s.token, 2, []string{"pathways", "targets"})
	expect(s.token, 2, []string{"pathways", "outcomes", "--period", "2026/11"})
	expect(s.token, 2, []string{"pathways", "breakdowns", "--period", "2026-11..2026-10"})
	expect(s.token, 1, []string{"pathways", "targets", "--year", "1999"}, "InvalidArgument", "year")
}
