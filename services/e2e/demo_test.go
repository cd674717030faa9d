package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/demo"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// The demo's year, scaled down to a quarter and 200 learners, through the
// binary on a demo clock, killed with SIGKILL halfway and restarted on its
// data dir: the simulation finishes, and the services agree with each
// other at the end.
func TestDemoQuarterSurvivesSIGKILLAndKeepsTheInvariants(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	from := demo.DefaultFrom(civil.Of(time.Now()))
	p := startServer(t, dataDir, "--demo-clock", from.String())
	conn := dial(t, p.GRPC)
	tokens, err := demo.DevTokens(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	const days = 90
	killedOn := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sum, err := demo.Run(ctx, demo.Options{
		Conn: conn, Clock: demo.HTTPClock{URL: "http://" + p.Admin + "/demo/clock"}, Tokens: tokens,
		Seed: 11, Learners: 200, Days: days, From: from,
		AfterDay: func(_ context.Context, day int) error {
			if day == days/2 {
				killedOn = day
				p.kill(t)
				p.restart(t)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("the simulation did not finish: %v\n%s", err, p.out)
	}
	if killedOn == 0 {
		t.Fatal("the server was never killed")
	}
	w := sum.World
	if sum.LearnersEntered < 150 || len(w.Sessions) == 0 || len(w.Operators) != 20 {
		t.Fatalf("a thin simulation: %d learners entered, %d sessions, %d operators", sum.LearnersEntered, len(w.Sessions), len(w.Operators))
	}
	last := from.AddDays(days - 1)
	checkInvariants(t, conn, tokens, last, w)
}

// checkInvariants checks, through the APIs on day, what the services must
// agree on after the simulation.
func checkInvariants(t *testing.T, conn grpc.ClientConnInterface, tokens demo.Tokens, day civil.Date, w *demo.World) {
	t.Helper()
	tok, err := tokens(auth.Principal{Subject: "e2e-admin", Role: auth.RoleAdmin}, day)
	if err != nil {
		t.Fatal(err)
	}
	as := grpc.PerRPCCredsCallOption{Creds: auth.BearerToken(tok)}
	pw := pathwayv1.NewPathwayServiceClient(conn)
	rf := referentv1.NewReferentServiceClient(conn)
	im := immersionv1.NewImmersionServiceClient(conn)
	fd := fundingv1.NewFundingServiceClient(conn)

	// Every learner in the pathway has exactly one referent, or is queued
	// (explicitly); the others have none.
	pathways := map[string]*pathwayv1.Pathway{}
	for _, l := range w.Learners {
		got, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: l.ID}, as)
		if err != nil {
			t.Fatalf("pathway of %s: %v", l.ID, err)
		}
		pathways[l.ID] = got.GetPathway()
		active := got.GetPathway().GetStatus() == pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE
		if active != l.Active() {
			t.Errorf("learner %s: pathway active %v, the simulation says %v", l.ID, active, l.Active())
		}
		a, err := rf.GetAssignment(callCtx(t), &referentv1.GetAssignmentRequest{LearnerId: l.ID}, as)
		if err != nil {
			t.Fatalf("assignment of %s: %v", l.ID, err)
		}
		asg := a.GetAssignment()
		switch {
		case active && (asg.GetReferentId() != "") == asg.GetPending():
			t.Errorf("active learner %s: referent %q, queued %v: want exactly one of them", l.ID, asg.GetReferentId(), asg.GetPending())
		case !active && (asg.GetActive() || asg.GetReferentId() != ""):
			t.Errorf("learner %s out of the pathway still assigned: %v", l.ID, asg)
		}
	}

	// No session holds more learners than its places, nor anyone twice.
	for _, s := range w.Sessions {
		got, err := im.GetSession(callCtx(t), &immersionv1.GetSessionRequest{SessionId: s.ID}, as)
		if err != nil {
			t.Fatalf("session %s: %v", s.ID, err)
		}
		sess := got.GetSession()
		var seen []string
		for _, pl := range sess.GetPlaces() {
			seen = append(seen, pl.GetLearnerId())
		}
		for _, wl := range sess.GetWaitlist() {
			seen = append(seen, wl.GetLearnerId())
		}
		slices.Sort(seen)
		if sess.GetBooked() > sess.GetCapacity() || int(sess.GetBooked()) != len(sess.GetPlaces()) || len(slices.Compact(seen)) != len(seen) {
			t.Errorf("session %s: %d booked of %d places, %d listed, learners %v", s.ID, sess.GetBooked(), sess.GetCapacity(), len(sess.GetPlaces()), seen)
		}
	}

	// Statement totals are the sum of their billed lines, the export's
	// total is the statement's, and every billed trainee hour falls in an
	// episode of the learner.
	statements := 0
	for _, o := range w.Operators {
		for m := civil.MonthOf(w.From); m.Compare(civil.MonthOf(day)) <= 0; m = m.Next() {
			period := &commonv1.Month{Year: int32(m.Year), Month: int32(m.Month)}
			var (
				lines []*fundingv1.StatementLine
				total *fundingv1.StatementTotals
				token string
			)
			for {
				got, err := fd.GetStatement(callCtx(t), &fundingv1.GetStatementRequest{ContractId: o.ContractID, Period: period, PageSize: 5000, PageToken: token}, as)
				if err != nil {
					t.Fatalf("statement %s %s: %v", o.ContractID, m, err)
				}
				lines, total = append(lines, got.GetStatement().GetLines()...), got.GetStatement().GetTotals()
				if token = got.GetNextPageToken(); token == "" {
					break
				}
			}
			var sum int64
			for _, ln := range lines {
				if ln.GetStatus() != fundingv1.LineStatus_LINE_STATUS_BILLED {
					continue
				}
				sum += ln.GetAmountCents()
				if ln.GetUnit() == fundingv1.Unit_UNIT_TRAINEE_HOUR && !ln.GetReversal() && ln.GetCorrectsLineId() == "" &&
					!inEpisode(pathways[ln.GetLearnerId()], civilpb.Date(ln.GetDate())) {
					t.Errorf("line %s billed for learner %s on %s, outside every episode", ln.GetOperatorLineId(), ln.GetLearnerId(), civilpb.Date(ln.GetDate()))
				}
			}
			if sum != total.GetAmountCents() {
				t.Errorf("statement %s %s: lines sum to %d cents, totals say %d", o.ContractID, m, sum, total.GetAmountCents())
			}
			exp, err := fd.ExportStatement(callCtx(t), &fundingv1.ExportStatementRequest{ContractId: o.ContractID, Period: period}, as)
			if err != nil {
				t.Fatalf("export %s %s: %v", o.ContractID, m, err)
			}
			rows := strings.Split(strings.TrimSpace(string(exp.GetCsv())), "\r\n")
			if !strings.Contains(rows[len(rows)-1], fmt.Sprintf(";%d;", total.GetAmountCents())) {
				t.Errorf("export %s %s ends %q, the statement's total is %d", o.ContractID, m, rows[len(rows)-1], total.GetAmountCents())
			}
			statements++
		}
	}
	if statements == 0 {
		t.Fatal("no statement checked")
	}
	t.Logf("checked %d learners, %d sessions, %d statements", len(w.Learners), len(w.Sessions), statements)

	// A learner who did an immersion: the timeline holds every service's
	// events about them, in order.
	var sampled string
	for _, l := range w.Learners {
		for _, b := range l.Bookings {
			if b.Outcome == "completed" && len(l.Episodes) > 0 && l.Episodes[0].AnalysisID != "" {
				sampled = l.ID
			}
		}
	}
	if sampled == "" {
		t.Fatal("no learner completed an immersion")
	}
	var entries []*pathwayv1.TimelineEntry
	token := ""
	for {
		got, err := pw.GetTimeline(callCtx(t), &pathwayv1.GetTimelineRequest{LearnerId: sampled, PageSize: 200, PageToken: token}, as)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, got.GetEntries()...)
		if token = got.GetNextPageToken(); token == "" {
			break
		}
	}
	first := map[string]int{}
	for i, e := range entries {
		if _, ok := first[e.GetSource()]; !ok {
			first[e.GetSource()] = i
		}
		if i > 0 && e.GetTime().AsTime().Before(entries[i-1].GetTime().AsTime()) {
			t.Errorf("timeline of %s out of order at %d: %v", sampled, i, entries)
		}
	}
	t.Logf("timeline of %s: %d entries", sampled, len(entries))
	order := []string{"intake", "pathway", "referent", "needs", "immersion"}
	for i, src := range order {
		at, ok := first[src]
		if !ok {
			t.Fatalf("timeline of %s lacks %s: %v", sampled, src, entries)
		}
		if i > 1 && at < first[order[1]] {
			t.Errorf("timeline of %s: %s before the entry into the pathway", sampled, src)
		}
	}
}

// inEpisode reports whether day falls in one of the pathway's episodes
// (entry ≤ day ≤ exit).
func inEpisode(p *pathwayv1.Pathway, day civil.Date) bool {
	for _, e := range p.GetEpisodes() {
		entry, exit := civilpb.Date(e.GetEntryDate()), civilpb.Date(e.GetExitDate())
		if !day.Before(entry) && (exit.IsZero() || !day.After(exit)) {
			return true
		}
	}
	return false
}
