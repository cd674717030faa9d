package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/demo"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// The acceptance of issue 16, as reviewers run it: the demo (a few dozen
// learners over some months) through the binary on a demo clock, a learner
// registered with a distinctive name, a learner who left the pathway months
// ago erased through the CLI. Nothing personal is in clear anywhere in the
// data dir, before and after; the erased learner reads as erased in every
// service, its billing lines stay; statements and statistics do not change
// by a cent or a count; its export says "personne effacée"; the embedded
// NATS refuses a client without credentials and a service publishing into
// another context. Then the server restarts on the same data dir (the read
// models rebuilt from the streams) and all of it still holds.
func TestPersonalDataSealedErasedAndTheFiguresKept(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	from := demo.DefaultFrom(civil.Of(time.Now()))
	p := startServer(t, dataDir, "--demo-clock", from.String())
	conn := dial(t, p.GRPC)
	tokens, err := demo.DevTokens(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for learners to have left more than two months before
	// the last day, their months frozen and their statements closed.
	const days = 180
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	sum, err := demo.Run(ctx, demo.Options{
		Conn: conn, Clock: demo.HTTPClock{URL: "http://" + p.Admin + "/demo/clock"}, Tokens: tokens,
		Seed: 16, Learners: 40, Days: days, From: from,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("the demo did not finish: %v\n%s", err, p.out)
	}
	t.Logf("demo: %d learners over %d days in %v", sum.LearnersEntered, days, time.Since(began).Round(time.Second))
	day := from.AddDays(days - 1)
	adminToken, err := tokens(auth.Principal{Subject: "e2e-admin", Role: auth.RoleAdmin}, day)
	if err != nil {
		t.Fatal(err)
	}
	as := grpc.PerRPCCredsCallOption{Creds: auth.BearerToken(adminToken)}
	in := intakev1.NewIntakeServiceClient(conn)

	// A learner with a distinctive name, e-mail and phone.
	reg, err := in.RegisterLearner(callCtx(t), &intakev1.RegisterLearnerRequest{
		RequestId: "privacy-distinctive", FamilyName: "Quinquampoix-Zéphyrine", GivenName: "Aurélienne",
		BirthDate: &commonv1.Date{Year: 1987, Month: 6, Day: 21}, TerritoryCode: "T05",
		Contact: &intakev1.Contact{Email: "zephyrine.quinquampoix@example.org", Phone: "06 12 34 56 78", CommuneCode: "27229"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_SELF,
			// Above the scheme's public: a free text, personal data too.
			EducationLevelJustification: "Ancienne ostréicultrice à Saint-Vaast, baccalauréat de 2005.",
		},
	}, as)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	distinctive := reg.GetLearner().GetLearnerId()
	// Its name is found by intake's search all the same (no clear text on
	// disk), once the search's read model has it.
	for deadline := time.Now().Add(readModelSettling); !searchFinds(t, in, as, "Quinquampoix", "T05", distinctive); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("searching for Quinquampoix does not find the learner just registered")
		}
	}
	distinctiveNeedles := []string{"ostréicultrice", "Quinquampoix", "quinquampoix", "QUINQUAMPOIX", "Zéphyrine", "zephyrine", "Aurélienne",
		"06 12 34 56 78", "0612345678", "+33612345678"}

	// Who may be erased: out of the pathway for over two months, with
	// names long enough (a short one could match any binary by chance) and
	// used by no referent (referents' names and organisations are in clear:
	// they are not the learners' personal data).
	staff := staffNames(t, referentv1.NewReferentServiceClient(conn), as)
	var candidates []erasable
	exited := 0
	learners := slices.Clone(sum.World.Learners)
	slices.SortStableFunc(learners, func(a, b *demo.Learner) int { return lastExit(a).Compare(lastExit(b)) })
	for _, l := range learners {
		exit := lastExit(l)
		if l.Active() || exit.IsZero() || exit.After(day.AddDays(-62)) {
			continue
		}
		if exited++; len(candidates) == 6 {
			continue
		}
		got, err := in.GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: l.ID}, as)
		if err != nil {
			t.Fatalf("learner %s: %v", l.ID, err)
		}
		ln := got.GetLearner()
		family, given, phone := ln.GetFamilyName(), ln.GetGivenName(), ln.GetContact().GetPhone()
		if len(family) < 5 || len(given) < 5 || strings.Contains(staff, family) || strings.Contains(staff, given) {
			continue
		}
		candidates = append(candidates, erasable{id: l.ID, territory: ln.GetTerritoryCode(), family: family, given: given,
			email: ln.GetContact().GetEmail(), phone: phone, before: viewsOf(t, conn, as, l.ID)})
	}
	t.Logf("%d learners out of the pathway since before %s, %d candidates", exited, day.AddDays(-62), len(candidates))
	if len(candidates) == 0 {
		t.Fatalf("no learner out of the pathway since before %s to erase", day.AddDays(-62))
	}
	needles := slices.Clone(distinctiveNeedles)
	for _, c := range candidates {
		needles = append(needles, c.needles()...)
	}
	// The data dir is read: the learner's id is in clear (subjects), its
	// personal data is not.
	if found := grepDataDir(t, dataDir, distinctive); len(found) == 0 {
		t.Fatalf("the distinctive learner's id %s is nowhere in %s: the search reads nothing", distinctive, dataDir)
	}
	assertNotInDataDir(t, "before the erasure", dataDir, needles)

	figures := stableFigures(t, conn, as, sum.World, day)

	// Erase, through the CLI, the first candidate whose months are frozen
	// and statements closed (the services freeze months on their clock
	// every 30 s: a refusal may only mean "not yet").
	var erased *erasable
	deadline := time.Now().Add(75 * time.Second)
	for erased == nil {
		var refusals []string
		for i := range candidates {
			c := &candidates[i]
			out, err := runCLI(p, adminToken, "learners", "erase", c.id, "--ground", "request", "--reference", "e2e-privacy")
			if err == nil {
				erased = c
				t.Logf("erased %s (%d candidates): %s", c.id, len(candidates), strings.TrimSpace(out))
				break
			}
			if !strings.Contains(out, "FailedPrecondition") {
				t.Fatalf("learners erase %s: %v\n%s", c.id, err, out)
			}
			refusals = append(refusals, c.id+": "+strings.TrimSpace(out))
		}
		if erased == nil && time.Now().After(deadline) {
			t.Fatalf("no candidate could be erased:\n%s", strings.Join(refusals, "\n"))
		}
		if erased == nil {
			time.Sleep(2 * time.Second)
		}
	}

	checkAfterErasure(t, conn, as, dataDir, *erased, distinctive, needles, figures, sum.World, day)

	// The export says who it is about: nobody any more.
	out, err := runCLI(p, adminToken, "learners", "export", erased.id, "--format", "md")
	if err != nil || !strings.Contains(out, "# Données détenues sur une "+intakecontract.ErasedName) {
		t.Errorf("export of the erased learner: %v\n%s", err, out)
	}
	for _, n := range erased.needles() {
		if strings.Contains(out, n) {
			t.Errorf("the erased learner's export holds %q", n)
		}
	}
	if out, err := runCLI(p, adminToken, "learners", "export", erased.id, "--format", "json"); err != nil || !strings.Contains(out, `"erased": true`) {
		t.Errorf("export -o json of the erased learner: %v\n%s", err, out)
	}

	checkNATSIdentities(t, "nats://"+p.NATS, dataDir)

	// The read models rebuilt from the streams say the same.
	p.stop(t)
	p.restart(t)
	checkAfterErasure(t, dial(t, p.GRPC), as, dataDir, *erased, distinctive, needles, figures, sum.World, day)
}

// erasable is a learner the test may erase, with what the services showed
// of it before.
type erasable struct {
	id, territory               string
	family, given, email, phone string
	before                      views
}

// needles are the learner's personal values as they could be stored.
func (e erasable) needles() []string {
	n := []string{e.family, e.given, e.email}
	if national, ok := strings.CutPrefix(e.phone, "+33"); ok {
		national = "0" + national
		spaced := national[:2]
		for i := 2; i+2 <= len(national); i += 2 {
			spaced += " " + national[i:i+2]
		}
		n = append(n, e.phone, national, spaced)
	}
	return n
}

// lastExit is the exit of the learner's last episode (zero: none).
func lastExit(l *demo.Learner) civil.Date {
	if len(l.Episodes) == 0 {
		return civil.Date{}
	}
	return l.Episodes[len(l.Episodes)-1].Exit
}

// views is what every service shows of one learner.
type views struct {
	pathway    *pathwayv1.Pathway
	timeline   []*pathwayv1.TimelineEntry
	analyses   []*needsv1.Analysis
	assignment *referentv1.Assignment
	bookings   []*immersionv1.Booking
	lines      []*fundingv1.LearnerLine
}

func viewsOf(t *testing.T, conn grpc.ClientConnInterface, as grpc.CallOption, id string) views {
	t.Helper()
	v, err := tryViewsOf(conn, as, id)
	if err != nil {
		t.Fatalf("learner %s: %v", id, err)
	}
	return v
}

func tryViewsOf(conn grpc.ClientConnInterface, as grpc.CallOption, id string) (views, error) {
	var v views
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pw := pathwayv1.NewPathwayServiceClient(conn)
	p, err := pw.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: id}, as)
	if err != nil {
		return v, fmt.Errorf("pathway: %w", err)
	}
	v.pathway = p.GetPathway()
	if v.timeline, err = pages(func(token string) ([]*pathwayv1.TimelineEntry, string, error) {
		r, err := pw.GetTimeline(ctx, &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 200, PageToken: token}, as)
		return r.GetEntries(), r.GetNextPageToken(), err
	}); err != nil {
		return v, fmt.Errorf("timeline: %w", err)
	}
	if v.analyses, err = pages(func(token string) ([]*needsv1.Analysis, string, error) {
		r, err := needsv1.NewNeedsServiceClient(conn).ListAnalyses(ctx, &needsv1.ListAnalysesRequest{LearnerId: id, PageSize: 200, PageToken: token}, as)
		return r.GetAnalyses(), r.GetNextPageToken(), err
	}); err != nil {
		return v, fmt.Errorf("analyses: %w", err)
	}
	a, err := referentv1.NewReferentServiceClient(conn).GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: id}, as)
	if err != nil {
		return v, fmt.Errorf("assignment: %w", err)
	}
	v.assignment = a.GetAssignment()
	if v.bookings, err = pages(func(token string) ([]*immersionv1.Booking, string, error) {
		r, err := immersionv1.NewImmersionServiceClient(conn).ListBookings(ctx, &immersionv1.ListBookingsRequest{LearnerId: id, PageSize: 200, PageToken: token}, as)
		return r.GetBookings(), r.GetNextPageToken(), err
	}); err != nil {
		return v, fmt.Errorf("bookings: %w", err)
	}
	if v.lines, err = pages(func(token string) ([]*fundingv1.LearnerLine, string, error) {
		r, err := fundingv1.NewFundingServiceClient(conn).ListLearnerLines(ctx, &fundingv1.ListLearnerLinesRequest{LearnerId: id, PageSize: 500, PageToken: token}, as)
		return r.GetLines(), r.GetNextPageToken(), err
	}); err != nil {
		return v, fmt.Errorf("funding lines: %w", err)
	}
	return v, nil
}

// pages collects every page of a listing.
func pages[T any](next func(token string) ([]T, string, error)) ([]T, error) {
	var out []T
	token := ""
	for range 1000 {
		items, nextToken, err := next(token)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if token = nextToken; token == "" {
			return out, nil
		}
	}
	return nil, errors.New("more than 1000 pages")
}

// erasedViews is what the services must show of a learner erased on a
// day, from what they showed before: the same facts, without the free
// texts (exit details, the explanations of assignments, cancellation
// reasons, outcome comments, the analyses' contents), the analyses saying
// the learner is erased; billing lines as they were.
func erasedViews(before views, erasedOn civil.Date) views {
	after := views{pathway: proto.CloneOf(before.pathway), assignment: proto.CloneOf(before.assignment)}
	after.pathway.Version = 0
	for _, e := range after.pathway.GetEpisodes() {
		e.ExitDetail = nil
	}
	for _, h := range after.assignment.GetHistory() {
		h.Explanation = ""
	}
	for _, a := range before.analyses {
		a = proto.CloneOf(a)
		a.Content, a.StepsOnly = nil, false
		a.LearnerErased, a.LearnerErasedOn = true, civilpb.FromDate(erasedOn)
		after.analyses = append(after.analyses, a)
	}
	for _, b := range before.bookings {
		b = proto.CloneOf(b)
		b.CancellationReason = ""
		if b.Outcome != nil {
			b.Outcome.Comment = ""
		}
		after.bookings = append(after.bookings, b)
	}
	after.lines = before.lines
	return after
}

// differences lists where got differs from want (views made comparable:
// no pathway version, empty contents as none).
func (want views) differences(got views) []string {
	got.pathway = proto.CloneOf(got.pathway)
	got.pathway.Version = 0
	for _, e := range got.pathway.GetEpisodes() {
		if e.GetExitDetail() == "" {
			e.ExitDetail = nil
		}
	}
	var diffs []string
	differ := func(what string, a, b proto.Message) {
		if !proto.Equal(a, b) {
			diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", what, b, a))
		}
	}
	differ("pathway", want.pathway, got.pathway)
	differ("assignment", want.assignment, got.assignment)
	lists := func(what string, a, b []proto.Message) {
		if len(a) != len(b) {
			diffs = append(diffs, fmt.Sprintf("%s: %d, want %d", what, len(b), len(a)))
			return
		}
		for i := range a {
			differ(fmt.Sprintf("%s[%d]", what, i), a[i], b[i])
		}
	}
	var ga []proto.Message
	for _, a := range got.analyses {
		if a.GetContent() != nil && proto.Size(a.GetContent()) == 0 {
			a = proto.CloneOf(a)
			a.Content = nil
		}
		ga = append(ga, a)
	}
	lists("analyses", messages(want.analyses), ga)
	lists("bookings", messages(want.bookings), messages(got.bookings))
	lists("funding lines", messages(want.lines), messages(got.lines))
	return diffs
}

func messages[M proto.Message](ms []M) []proto.Message {
	out := make([]proto.Message, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

// checkAfterErasure checks, as the read models settle, that the learner
// reads as erased everywhere, that nothing personal is in the data dir and
// that the figures are those recorded before.
func checkAfterErasure(t *testing.T, conn grpc.ClientConnInterface, as grpc.CallOption, dataDir string, e erasable, distinctive string,
	needles []string, figures []proto.Message, w *demo.World, day civil.Date) {
	t.Helper()
	in := intakev1.NewIntakeServiceClient(conn)
	want := erasedViews(e.before, day)
	var problems []string
	deadline := time.Now().Add(readModelSettling)
	for {
		problems = nil
		l, err := in.GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: e.id}, as)
		switch ln := l.GetLearner(); {
		case err != nil:
			problems = append(problems, fmt.Sprintf("intake: %v", err))
		case !ln.GetErased() || ln.GetErasedOn() == nil || ln.GetFamilyName() != "" || ln.GetGivenName() != "" || ln.GetBirthDate() != nil ||
			ln.GetContact().GetEmail() != "" || ln.GetContact().GetPhone() != "" || ln.GetTerritoryCode() != e.territory:
			problems = append(problems, fmt.Sprintf("intake reads %v", ln))
		}
		if searchFinds(t, in, as, e.family, e.territory, e.id) {
			problems = append(problems, "intake's search by "+e.family+" finds the erased learner")
		}
		got, err := tryViewsOf(conn, as, e.id)
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			problems = append(problems, want.differences(got)...)
			if !slices.ContainsFunc(got.timeline, func(en *pathwayv1.TimelineEntry) bool {
				return en.GetEventType() == "avenir.intake.v1.LearnerErased"
			}) {
				problems = append(problems, "the timeline does not show the erasure")
			}
			for _, en := range e.before.timeline {
				if !slices.ContainsFunc(got.timeline, func(g *pathwayv1.TimelineEntry) bool { return g.GetEventId() == en.GetEventId() }) {
					problems = append(problems, "the timeline lost "+en.GetEventType()+" "+en.GetEventId())
				}
			}
			for _, en := range got.timeline {
				for _, n := range e.needles() {
					if strings.Contains(en.GetSummary()+en.GetActor(), n) {
						problems = append(problems, fmt.Sprintf("the timeline entry %q holds %q", en.GetSummary(), n))
					}
				}
			}
		}
		if len(problems) == 0 {
			got, err := figuresOf(conn, as, w, day)
			if err != nil {
				problems = append(problems, err.Error())
			}
			problems = append(problems, figuresDiffer(figures, got)...)
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, pr := range problems {
		t.Errorf("learner %s after its erasure: %s", e.id, pr)
	}
	if !searchFinds(t, in, as, "Quinquampoix", "T05", distinctive) {
		t.Error("searching for Quinquampoix no longer finds the distinctive learner")
	}
	assertNotInDataDir(t, "after the erasure", dataDir, needles)
}

// searchFinds reports whether intake's search by family name in the
// territory lists the learner.
func searchFinds(t *testing.T, in intakev1.IntakeServiceClient, as grpc.CallOption, family, territory, id string) bool {
	t.Helper()
	found, err := pages(func(token string) ([]*intakev1.Learner, string, error) {
		r, err := in.SearchLearners(callCtx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: family, TerritoryCode: territory, PageSize: 200, PageToken: token}, as)
		return r.GetLearners(), r.GetNextPageToken(), err
	})
	if err != nil {
		t.Fatalf("search %s in %s: %v", family, territory, err)
	}
	return slices.ContainsFunc(found, func(l *intakev1.Learner) bool { return l.GetLearnerId() == id })
}

// staffNames are the referents' names and organisations, one a line.
func staffNames(t *testing.T, rf referentv1.ReferentServiceClient, as grpc.CallOption) string {
	t.Helper()
	var b strings.Builder
	for n := 1; n <= 18; n++ {
		refs, err := pages(func(token string) ([]*referentv1.Referent, string, error) {
			r, err := rf.ListReferents(callCtx(t), &referentv1.ListReferentsRequest{TerritoryCode: fmt.Sprintf("T%02d", n), IncludeDeactivated: true, PageSize: 200, PageToken: token}, as)
			return r.GetReferents(), r.GetNextPageToken(), err
		})
		if err != nil {
			t.Fatalf("referents of T%02d: %v", n, err)
		}
		for _, r := range refs {
			fmt.Fprintf(&b, "%s\n%s\n", r.GetProfile().GetName(), r.GetProfile().GetOrganisation())
		}
	}
	return b.String()
}

// figuresOf reads, as an admin, every statement of every contract and
// month of the run, and the scheme's statistics over the run: pathway's
// breakdowns and outcomes, needs' summary, immersion's statistics.
func figuresOf(conn grpc.ClientConnInterface, as grpc.CallOption, w *demo.World, day civil.Date) ([]proto.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fd := fundingv1.NewFundingServiceClient(conn)
	var out []proto.Message
	first, last := civil.MonthOf(w.From), civil.MonthOf(day)
	for _, c := range w.Contracts {
		for m := first; m.Compare(last) <= 0; m = m.Next() {
			var st *fundingv1.Statement
			lines, err := pages(func(token string) ([]*fundingv1.StatementLine, string, error) {
				r, err := fd.GetStatement(ctx, &fundingv1.GetStatementRequest{ContractId: c.ID, Period: civilpb.FromMonth(m), PageSize: 5000, PageToken: token}, as)
				st = r.GetStatement()
				return r.GetStatement().GetLines(), r.GetNextPageToken(), err
			})
			if err != nil {
				return nil, fmt.Errorf("statement %s %s: %w", c.ID, m, err)
			}
			st = proto.CloneOf(st)
			st.Lines = lines
			out = append(out, st)
		}
	}
	for m := first; m.Compare(last) <= 0; m = m.Next() {
		list, err := fd.ListStatements(ctx, &fundingv1.ListStatementsRequest{Period: civilpb.FromMonth(m), PageSize: 500}, as)
		if err != nil {
			return nil, fmt.Errorf("statements of %s: %w", m, err)
		}
		out = append(out, list)
	}
	fm, tm := civilpb.FromMonth(first), civilpb.FromMonth(last)
	pw := pathwayv1.NewPathwayServiceClient(conn)
	breakdowns, err := pw.GetBreakdowns(ctx, &pathwayv1.GetBreakdownsRequest{FromMonth: fm, ToMonth: tm}, as)
	if err != nil {
		return nil, fmt.Errorf("breakdowns: %w", err)
	}
	outcomes, err := pw.GetOutcomes(ctx, &pathwayv1.GetOutcomesRequest{FromMonth: fm, ToMonth: tm}, as)
	if err != nil {
		return nil, fmt.Errorf("outcomes: %w", err)
	}
	summary, err := needsv1.NewNeedsServiceClient(conn).GetAnalysisSummary(ctx, &needsv1.GetAnalysisSummaryRequest{FromMonth: fm, ToMonth: tm}, as)
	if err != nil {
		return nil, fmt.Errorf("needs summary: %w", err)
	}
	immersions, err := immersionv1.NewImmersionServiceClient(conn).GetImmersionStatistics(ctx, &immersionv1.GetImmersionStatisticsRequest{
		FromDate: civilpb.FromDate(w.From), ToDate: civilpb.FromDate(day)}, as)
	if err != nil {
		return nil, fmt.Errorf("immersion statistics: %w", err)
	}
	return append(out, breakdowns, outcomes, summary, immersions), nil
}

// figuresDiffer lists the figures of got that are not those of want.
func figuresDiffer(want, got []proto.Message) []string {
	if len(want) != len(got) {
		return []string{fmt.Sprintf("%d figures, want %d", len(got), len(want))}
	}
	var diffs []string
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			diffs = append(diffs, fmt.Sprintf("%T changed:\n  before %v\n  after  %v", want[i], want[i], got[i]))
		}
	}
	return diffs
}

// stableFigures reads the figures until two readings a second apart agree
// (the read models have settled after the demo).
func stableFigures(t *testing.T, conn grpc.ClientConnInterface, as grpc.CallOption, w *demo.World, day civil.Date) []proto.Message {
	t.Helper()
	deadline := time.Now().Add(readModelSettling)
	prev, err := figuresOf(conn, as, w, day)
	for {
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		got, err2 := figuresOf(conn, as, w, day)
		if err = err2; err == nil && len(figuresDiffer(prev, got)) == 0 {
			t.Logf("%d figures recorded", len(got))
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the figures do not settle: %v %v", err, figuresDiffer(prev, got))
		}
		prev = got
	}
}

// grepDataDir lists the files of dir holding needle, as bytes.
func grepDataDir(t *testing.T, dir, needle string) []string {
	t.Helper()
	return grepAll(t, dir, []string{needle})[needle]
}

// grepAll finds, as grep -r would, the files of dir holding each needle.
func grepAll(t *testing.T, dir string, needles []string) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file the server removed meanwhile
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found[n] = append(found[n], path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no file in %s", dir)
	}
	return found
}

// assertNotInDataDir fails for each needle found in a file of dataDir.
func assertNotInDataDir(t *testing.T, when, dataDir string, needles []string) {
	t.Helper()
	found := grepAll(t, dataDir, needles)
	for _, n := range needles {
		for _, f := range found[n] {
			t.Errorf("%s: %q in clear in %s", when, n, f)
		}
	}
}

// runCLI runs the binary against the server with a token.
func runCLI(p *process, token string, args ...string) (string, error) {
	cmd := exec.Command(binary, append(args, "--addr", p.GRPC, "--token", token)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkNATSIdentities: the dev server's NATS refuses a client without
// credentials, and the pathway service's identity may not publish into
// intake's subjects (nothing reaches INTAKE).
func checkNATSIdentities(t *testing.T, url, dataDir string) {
	t.Helper()
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("the dev server's NATS accepted a client without credentials")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("a client without credentials: %v, want an authorization violation", err)
	}

	identities := filepath.Join(dataDir, natsx.IdentitiesDir)
	connect := func(identity string, opts ...nats.Option) *nats.Conn {
		key, err := natsx.NKeyOption(natsx.NKeyFile(identities, identity))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(url, append(opts, key, nats.Timeout(5*time.Second))...)
		if err != nil {
			t.Fatalf("connect as %s: %v", identity, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	ops, err := jetstream.New(connect(natsx.IdentityOps))
	if err != nil {
		t.Fatal(err)
	}
	intakeStream, err := ops.Stream(callCtx(t), "INTAKE")
	if err != nil {
		t.Fatal(err)
	}
	info, err := intakeStream.Info(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	before := info.State.LastSeq

	violations := make(chan error, 10)
	pathway := connect("pathway", nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	const forged = "avenir.intake.learner.x.registered"
	msg := &nats.Msg{Subject: forged, Data: []byte("forged"), Header: nats.Header{"avenir-actor": []string{"admin:attacker"}}}
	if err := pathway.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	if err := pathway.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Errorf("publishing into intake as pathway: %v, want a permissions violation", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("publishing into intake as pathway: no permissions violation")
	}
	// Through the JetStream API too (a publish waiting for the stream's
	// acknowledgement): refused, never stored.
	pjs, err := jetstream.New(pathway)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if ack, err := pjs.PublishMsg(ctx, msg); err == nil {
		t.Errorf("a JetStream publish into intake as pathway was stored: %+v", ack)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := intakeStream.GetLastMsgForSubject(callCtx(t), forged); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("%s in INTAKE: %v", forged, err)
	}
	after, err := intakeStream.Info(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.State.LastSeq != before {
		t.Errorf("INTAKE moved from sequence %d to %d while pathway published into it", before, after.State.LastSeq)
	}
}
