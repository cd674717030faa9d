package service_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestExitAndReEntryKeepEveryEpisode(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))

	req := &pathwayv1.ExitPathwayRequest{
		RequestId: "exit-1", LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG, Detail: " CDD 8 mois, Safran ",
	}
	resp, err := client.ExitPathway(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPathway()
	ep := p.GetEpisodes()[0]
	if p.GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_EXITED || p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED ||
		!proto.Equal(ep.GetExitDate(), today) || ep.GetExitReason() != req.GetReason() || ep.GetExitDetail() != "CDD 8 mois, Safran" {
		t.Fatalf("after exit: %v", p)
	}
	// An exit today is not late: one event.
	evs := pathwayEvents(t, env, id)
	want := &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: 1, EntryDate: date(2026, 11, 3), ExitDate: today,
		Reason: req.GetReason(), Detail: "CDD 8 mois, Safran", TerritoryCode: "T05",
	}
	if len(evs) != 2 || !proto.Equal(evs[1].Data, want) || evs[1].Subject != "avenir.pathway.pathway."+id+".exited" {
		t.Fatalf("events %v", evs)
	}
	readModel(t, env, client, p)

	// The retried exit answers the same and records nothing.
	again, err := client.ExitPathway(ctx(t), req)
	if err != nil || !proto.Equal(again.GetPathway(), p) {
		t.Fatalf("retried exit: %v %v", again, err)
	}
	// A second exit is refused: no open episode.
	req.RequestId = "exit-2"
	_, err = client.ExitPathway(ctx(t), req)
	servicetest.Refused(t, err, codes.FailedPrecondition)
	// Re-entering on the exit day would overlap.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "reenter-1", LearnerId: id, EntryDate: today})
	servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
	nothingAppended(t, env, id, 2)

	// Re-entry after the exit date opens episode 2; episode 1 is kept.
	// The next day (with a token of that day).
	env.SetNow(env.Now().Add(24 * time.Hour))
	client = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin))
	p = enter(t, client, id, date(2026, 11, 27))
	if p.GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE || p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED ||
		len(p.GetEpisodes()) != 2 || p.GetEpisodes()[1].GetNumber() != 2 || !proto.Equal(p.GetEpisodes()[0], ep) ||
		p.GetEpisodes()[1].GetExitDate() != nil {
		t.Fatalf("after re-entry: %v", p)
	}
	readModel(t, env, client, p)
}

// A late exit is accepted and announced, in the same atomic append, to the
// services that recorded facts after its date.
func TestLateExitAlsoRecordsExitBackdated(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	p := exit(t, client, id, date(2026, 11, 10), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, "")
	if !proto.Equal(p.GetEpisodes()[0].GetExitDate(), date(2026, 11, 10)) {
		t.Fatalf("pathway %v", p)
	}
	evs := pathwayEvents(t, env, id)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	exited, backdated := evs[1], evs[2]
	want := &pathwayv1.ExitBackdated{LearnerId: id, EpisodeNumber: 1, ExitDate: date(2026, 11, 10), RecordedOn: today, TerritoryCode: "T05"}
	if _, ok := exited.Data.(*pathwayv1.PathwayExited); !ok || !proto.Equal(backdated.Data, want) ||
		backdated.Subject != "avenir.pathway.pathway."+id+".exit_backdated" {
		t.Fatalf("events %v %v", exited, backdated)
	}
	// One append: consecutive sequences, one request, one time.
	if backdated.Sequence != exited.Sequence+1 || backdated.RequestID != exited.RequestID || !backdated.Time.Equal(exited.Time) {
		t.Fatalf("not one append: %+v %+v", exited, backdated)
	}
	readModel(t, env, client, p)
}

func TestExitRefusesBadInputWithoutAppending(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	other := pathwayv1.ExitReason_EXIT_REASON_OTHER
	tests := []struct {
		name   string
		req    *pathwayv1.ExitPathwayRequest
		fields []string
	}{
		{"every problem at once", &pathwayv1.ExitPathwayRequest{LearnerId: "x", ExitDate: date(2026, 11, 27), Reason: other},
			[]string{"request_id", "learner_id", "exit_date", "detail"}},
		{"no date, no reason", &pathwayv1.ExitPathwayRequest{}, []string{"exit_date", "reason"}},
		{"before the entry", &pathwayv1.ExitPathwayRequest{ExitDate: date(2026, 11, 2), Reason: pathwayv1.ExitReason_EXIT_REASON_HEALTH}, []string{"exit_date"}},
		{"in the future", &pathwayv1.ExitPathwayRequest{ExitDate: date(2026, 11, 27), Reason: pathwayv1.ExitReason_EXIT_REASON_HEALTH}, []string{"exit_date"}},
		{"an unknown reason", &pathwayv1.ExitPathwayRequest{ExitDate: today, Reason: 99}, []string{"reason"}},
		{"other without detail", &pathwayv1.ExitPathwayRequest{ExitDate: today, Reason: other, Detail: "  "}, []string{"detail"}},
		{"a detail too long", &pathwayv1.ExitPathwayRequest{ExitDate: today, Reason: other, Detail: strings.Repeat("a", 501)}, []string{"detail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.LearnerId == "" {
				tc.req.RequestId, tc.req.LearnerId = event.NewID(), id
			}
			_, err := client.ExitPathway(ctx(t), tc.req)
			servicetest.Refused(t, err, codes.InvalidArgument, tc.fields...)
		})
	}
	nothingAppended(t, env, id, 1)
	// Never entered: no pathway to exit.
	never := registered(t, env, "T05")
	_, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{RequestId: "r", LearnerId: never, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_HEALTH})
	servicetest.Refused(t, err, codes.NotFound)
	nothingAppended(t, env, never, 0)
}

func TestReferralsAndTheirOutcomesDriveThePhase(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))

	resp, err := client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: "refer-1", LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: date(2026, 11, 5), Organisation: " CLPS Évreux ",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &pathwayv1.Referral{Number: 1, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: date(2026, 11, 5), Organisation: "CLPS Évreux"}
	if !proto.Equal(resp.GetReferral(), want) || resp.GetPathway().GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_BUILDING_PROJECT ||
		!proto.Equal(resp.GetPathway().GetEpisodes()[0].GetReferrals()[0], want) {
		t.Fatalf("referral %v", resp)
	}
	// The retried request answers the same referral.
	again, err := client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: "refer-1", LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_SAVOIRS, ReferralDate: date(2026, 11, 5), Organisation: " CLPS Évreux ",
	})
	if err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry %v %v", again, err)
	}

	qualif := refer(t, client, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 11, 12))
	if qualif.GetNumber() != 2 || qualif.GetOutcome() != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_UNSPECIFIED {
		t.Fatalf("second referral %v", qualif)
	}
	p := outcome(t, client, id, 2, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, date(2026, 11, 20))
	if got := p.GetEpisodes()[0].GetReferrals()[1]; p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_IN_QUALIFYING_TRAINING ||
		got.GetOutcome() != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED || !proto.Equal(got.GetOutcomeDate(), date(2026, 11, 20)) {
		t.Fatalf("after acceptance %v", p)
	}
	evs := pathwayEvents(t, env, id)
	wantEvent := &pathwayv1.ReferralOutcomeRecorded{
		LearnerId: id, EpisodeNumber: 1, ReferralNumber: 2, Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, OutcomeDate: date(2026, 11, 20),
	}
	if len(evs) != 4 || !proto.Equal(evs[3].Data, wantEvent) || evs[3].Subject != "avenir.pathway.pathway."+id+".referral_outcome_recorded" ||
		evs[1].Subject != "avenir.pathway.pathway."+id+".referral_recorded" {
		t.Fatalf("events %v", evs)
	}
	readModel(t, env, client, p)

	// The rules, each refused with nothing appended.
	outcomeReq := func(n int32, o pathwayv1.ReferralOutcome, on *commonv1.Date) *pathwayv1.RecordReferralOutcomeRequest {
		return &pathwayv1.RecordReferralOutcomeRequest{RequestId: event.NewID(), LearnerId: id, ReferralNumber: n, Outcome: o, OutcomeDate: on}
	}
	_, err = client.RecordReferralOutcome(ctx(t), outcomeReq(2, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_REFUSED, today))
	servicetest.Refused(t, err, codes.FailedPrecondition) // accepted cannot become refused
	_, err = client.RecordReferralOutcome(ctx(t), outcomeReq(2, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED, date(2026, 11, 19)))
	servicetest.Refused(t, err, codes.InvalidArgument, "outcome_date") // before the acceptance
	_, err = client.RecordReferralOutcome(ctx(t), outcomeReq(3, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED, today))
	servicetest.Refused(t, err, codes.NotFound)
	_, err = client.RecordReferralOutcome(ctx(t), &pathwayv1.RecordReferralOutcomeRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "referral_number", "outcome", "outcome_date")
	_, err = client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: "bad", LearnerId: id, ReferralDate: date(2026, 11, 2), Organisation: strings.Repeat("o", 201),
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "programme", "referral_date", "organisation")
	nothingAppended(t, env, id, 4)

	// No step may be recorded in a closed episode: the Savoirs referral
	// closed at the exit stays closed (the Qualif one is followed: see
	// qualif_test.go).
	if _, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
		RequestId: event.NewID(), LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING,
		PendingReferrals: pathwayv1.PendingReferrals_PENDING_REFERRALS_CLOSE,
	}); err != nil {
		t.Fatal(err)
	}
	_, err = client.RecordReferralOutcome(ctx(t), outcomeReq(1, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED, today))
	servicetest.Refused(t, err, codes.FailedPrecondition)
	_, err = client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: "closed", LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_QUALIF, ReferralDate: today, Organisation: "AFPA",
	})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, id, 6)
}

// 50 entries of one learner at once, with different request ids: one wins.
func TestConcurrentEntriesOpenOneEpisode(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	const n = 50
	codesSeen := make(chan codes.Code, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
				RequestId: fmt.Sprintf("enter-%d", i), LearnerId: id, EntryDate: date(2026, 11, int32(3+i%20)),
			})
			codesSeen <- status.Code(err)
		})
	}
	wg.Wait()
	close(codesSeen)
	count := map[codes.Code]int{}
	for c := range codesSeen {
		count[c]++
	}
	if count[codes.OK] != 1 || count[codes.OK]+count[codes.FailedPrecondition]+count[codes.Aborted] != n {
		t.Fatalf("outcomes %v", count)
	}
	evs := pathwayEvents(t, env, id)
	if len(evs) != 1 {
		t.Fatalf("%d events, want one entry", len(evs))
	}
	assertEpisodesNeverOverlap(t, evs)
}

// Exits and re-entries racing on one learner, round after round, never
// leave two open episodes nor overlapping ones. The rounds take two days
// each, from 1 November to 27 December, within the months whose
// statistics are not frozen yet.
func TestConcurrentExitAndReEntryNeverOverlap(t *testing.T) {
	t.Parallel()
	env, client := startWith(t, servicetest.Options{Now: time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC)}, service.Config{MaxEntryBackdateDays: 200})
	id := registeredOn(t, env, "T05", date(2026, 11, 1))
	first := civilDate(2026, 11, 1)
	enter(t, client, id, civilpb.FromDate(first))
	const rounds, racers = 28, 4
	for r := range rounds {
		exitOn, reenterOn := civilpb.FromDate(first.AddDays(2*r+1)), civilpb.FromDate(first.AddDays(2*r+2))
		var wg sync.WaitGroup
		for k := range racers {
			wg.Go(func() {
				_, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
					RequestId: fmt.Sprintf("exit-%d-%d", r, k), LearnerId: id, ExitDate: exitOn, Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION,
				})
				expectRaceOutcome(t, "exit", err)
			})
			wg.Go(func() {
				_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
					RequestId: fmt.Sprintf("enter-%d-%d", r, k), LearnerId: id, EntryDate: reenterOn,
				})
				expectRaceOutcome(t, "enter", err)
			})
		}
		wg.Wait()
	}
	evs := pathwayEvents(t, env, id)
	if len(evs) < rounds/2 {
		t.Fatalf("only %d events in %d rounds: the race never let anything through", len(evs), rounds)
	}
	assertEpisodesNeverOverlap(t, evs)
}

// expectRaceOutcome accepts what a racing command may answer: done, refused
// by the state it found (open or closed episode, an exit before the entry
// that won), or aborted after too many conflicts.
func expectRaceOutcome(t *testing.T, what string, err error) {
	switch status.Code(err) {
	case codes.OK, codes.FailedPrecondition, codes.InvalidArgument, codes.Aborted:
	default:
		t.Errorf("%s: %v", what, err)
	}
}

// assertEpisodesNeverOverlap replays a pathway's events: episodes follow
// each other, one open at most, each entered after the previous exit.
func assertEpisodesNeverOverlap(t *testing.T, evs []event.Event) {
	t.Helper()
	open := false
	var lastExit *commonv1.Date
	episode := int32(0)
	for _, ev := range evs {
		switch m := ev.Data.(type) {
		case *pathwayv1.PathwayEntered:
			if open {
				t.Fatalf("seq %d: entered while an episode is open", ev.Sequence)
			}
			if lastExit != nil && !civilFrom(m.GetEntryDate()).After(civilFrom(lastExit)) {
				t.Fatalf("seq %d: entered on %v, not after the exit on %v", ev.Sequence, m.GetEntryDate(), lastExit)
			}
			if episode++; m.GetEpisodeNumber() != episode {
				t.Fatalf("seq %d: episode %d, want %d", ev.Sequence, m.GetEpisodeNumber(), episode)
			}
			open = true
		case *pathwayv1.PathwayExited:
			if !open || m.GetEpisodeNumber() != episode {
				t.Fatalf("seq %d: exit of episode %d without it being open", ev.Sequence, m.GetEpisodeNumber())
			}
			if civilFrom(m.GetExitDate()).Before(civilFrom(m.GetEntryDate())) {
				t.Fatalf("seq %d: exit before entry", ev.Sequence)
			}
			open, lastExit = false, m.GetExitDate()
		}
	}
}

// What people type is stored only when it displays as it reads: a
// right-to-left override (U+202E) or a control character in the detail of
// an exit or the name of an organisation is refused on its field, and
// nothing is appended.
func TestTypedTextsRefuseBidiOverridesAndControlCharacters(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	for _, bad := range []struct{ name, text string }{
		{"a right-to-left override", "AFPA \u202enaeC"},
		{"a control character", "AFPA\x07Caen"},
		{"an escape sequence", "AFPA \x1b[31mCaen"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
				RequestId: event.NewID(), LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_OTHER, Detail: bad.text,
			})
			servicetest.Refused(t, err, codes.InvalidArgument, "detail")
			_, err = client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
				RequestId: event.NewID(), LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_OTHER, ReferralDate: today, Organisation: bad.text,
			})
			servicetest.Refused(t, err, codes.InvalidArgument, "organisation")
		})
	}
	nothingAppended(t, env, id, 1)

	// A detail may span lines; an organisation's name may not.
	_, err := client.RecordReferral(ctx(t), &pathwayv1.RecordReferralRequest{
		RequestId: event.NewID(), LearnerId: id, Programme: pathwayv1.Programme_PROGRAMME_OTHER, ReferralDate: today, Organisation: "AFPA\nCaen",
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "organisation")
	p := exit(t, client, id, today, pathwayv1.ExitReason_EXIT_REASON_OTHER, "Left for Canada.\n\tBack in 2027?")
	if got := p.GetEpisodes()[0].GetExitDetail(); got != "Left for Canada.\n\tBack in 2027?" {
		t.Fatalf("exit detail %q", got)
	}
	nothingAppended(t, env, id, 2)
}
