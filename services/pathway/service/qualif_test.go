package service_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// An exit to qualifying training: the Savoirs referral still open needs a
// choice, the Qualif referral is followed, gets its certified outcome after
// the exit, and that ends the follow-up in the same batch; the timeline
// tells it.
func TestQualifReferralOutcomeAfterTheExit(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	qualif := refer(t, client, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 11, 10))
	savoirs := refer(t, client, id, pathwayv1.Programme_PROGRAMME_SAVOIRS, date(2026, 11, 12))
	outcome(t, client, id, qualif.GetNumber(), pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, date(2026, 11, 20))

	req := &pathwayv1.ExitPathwayRequest{
		RequestId: event.NewID(), LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING,
	}
	_, err := client.ExitPathway(ctx(t), req)
	servicetest.Refused(t, err, codes.InvalidArgument, "pending_referrals")
	if !strings.Contains(status.Convert(err).Proto().String(), "referral 2") {
		t.Fatalf("the refusal does not name the Savoirs referral: %v", err)
	}
	nothingAppended(t, env, id, 4)

	req.PendingReferrals = pathwayv1.PendingReferrals_PENDING_REFERRALS_CLOSE
	resp, err := client.ExitPathway(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	ep := resp.GetPathway().GetEpisodes()[0]
	if !ep.GetFollowingInQualif() || !ep.GetReferrals()[0].GetFollowedInQualif() {
		t.Fatalf("episode after a Qualif exit: %v", ep)
	}
	if got := ep.GetReferrals()[1].GetOutcome(); got != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_CLOSED_AT_EXIT {
		t.Fatalf("Savoirs referral %d is %v, want closed at exit", savoirs.GetNumber(), got)
	}
	var exited *pathwayv1.PathwayExited
	for _, ev := range pathwayEvents(t, env, id) {
		if e, ok := ev.Data.(*pathwayv1.PathwayExited); ok {
			exited = e
		}
	}
	if exited.GetPendingReferrals() != pathwayv1.PendingReferrals_PENDING_REFERRALS_CLOSE || len(exited.GetFollowedReferralNumbers()) != 1 {
		t.Fatalf("stored exit %v", exited)
	}

	// After the exit: a bad RNCP code is refused, then the certification.
	bad := &pathwayv1.RecordReferralOutcomeRequest{
		RequestId: event.NewID(), LearnerId: id, ReferralNumber: qualif.GetNumber(),
		Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_CERTIFIED, OutcomeDate: today, RncpCode: "rncp12", CertificationDate: today,
	}
	_, err = client.RecordReferralOutcome(ctx(t), bad)
	servicetest.Refused(t, err, codes.InvalidArgument, "rncp_code")
	bad.RequestId, bad.RncpCode = event.NewID(), "RNCP35467"
	out, err := client.RecordReferralOutcome(ctx(t), bad)
	if err != nil {
		t.Fatalf("certified after the exit: %v", err)
	}
	ref := out.GetPathway().GetEpisodes()[0].GetReferrals()[0]
	if ref.GetRncpCode() != "RNCP35467" || out.GetPathway().GetEpisodes()[0].GetFollowingInQualif() {
		t.Fatalf("after the certification: %v", out.GetPathway())
	}
	evs := pathwayEvents(t, env, id)
	last, prev := evs[len(evs)-1], evs[len(evs)-2]
	ended, ok := last.Data.(*pathwayv1.QualifFollowUpEnded)
	if !ok || ended.GetOutcome() != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_CERTIFIED || ended.GetEndDate().GetDay() != 26 ||
		last.Subject != "avenir.pathway.pathway."+id+".qualif_follow_up_ended" {
		t.Fatalf("last event %s %v, want QualifFollowUpEnded", last.Subject, last.Data)
	}
	if _, ok := prev.Data.(*pathwayv1.ReferralOutcomeRecorded); !ok {
		t.Fatalf("the follow-up's end does not come with its outcome: %T", prev.Data)
	}
	readModel(t, env, client, out.GetPathway())

	tl, err := client.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, e := range tl.GetEntries() {
		summaries = append(summaries, e.GetSummary())
	}
	all := strings.Join(summaries, "\n")
	for _, want := range []string{"closed at exit", "completed with the certification on 2026-11-26 (certification RNCP35467", "Follow-up in Qualif ended on 2026-11-26"} {
		if !strings.Contains(all, want) {
			t.Errorf("timeline lacks %q:\n%s", want, all)
		}
	}
}

// A carried-over Savoirs referral keeps its outcome open after an exit for
// another reason; a referral left open without a choice (not Savoirs)
// stays closed to outcomes.
func TestCarriedOverReferralAfterTheExit(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	refer(t, client, id, pathwayv1.Programme_PROGRAMME_SAVOIRS, date(2026, 11, 10))
	_, err := client.ExitPathway(ctx(t), &pathwayv1.ExitPathwayRequest{
		RequestId: event.NewID(), LearnerId: id, ExitDate: today, Reason: pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT,
		PendingReferrals: pathwayv1.PendingReferrals_PENDING_REFERRALS_CARRY_OVER,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := outcome(t, client, id, 1, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED, today)
	if r := p.GetEpisodes()[0].GetReferrals()[0]; !r.GetCarriedOver() || r.GetOutcome() != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED {
		t.Fatalf("carried-over referral after its outcome: %v", r)
	}

	other := registered(t, env, "T05")
	enter(t, client, other, date(2026, 11, 3))
	refer(t, client, other, pathwayv1.Programme_PROGRAMME_PARCOURS_CROISES_ESRP, date(2026, 11, 10))
	exit(t, client, other, today, pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")
	_, err = client.RecordReferralOutcome(ctx(t), &pathwayv1.RecordReferralOutcomeRequest{
		RequestId: event.NewID(), LearnerId: other, ReferralNumber: 1, Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, OutcomeDate: today,
	})
	servicetest.Refused(t, err, codes.FailedPrecondition)
}

// The six-month follow-up: refused before it is due, recorded when due,
// shown on the pathway and counted in the outcomes.
func TestSixMonthFollowUp(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T05")
	enter(t, client, id, date(2026, 11, 3))
	p := exit(t, client, id, today, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT, "")
	if due := p.GetEpisodes()[0].GetFollowUpDueOn(); due.GetYear() != 2027 || due.GetMonth() != 5 || due.GetDay() != 26 {
		t.Fatalf("follow-up due on %v, want 2027-05-26", due)
	}
	req := &pathwayv1.RecordFollowUpRequest{
		RequestId: event.NewID(), LearnerId: id, Situation: pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_EMPLOYMENT,
		EmploymentType: pathwayv1.EmploymentType_EMPLOYMENT_TYPE_PERMANENT,
	}
	_, err := client.RecordFollowUp(ctx(t), req)
	servicetest.Refused(t, err, codes.FailedPrecondition)
	if !strings.Contains(status.Convert(err).Message(), "due on 2027-05-26") {
		t.Fatalf("the refusal does not say when it is due: %v", err)
	}
	_, err = client.RecordFollowUp(ctx(t), &pathwayv1.RecordFollowUpRequest{
		RequestId: event.NewID(), LearnerId: id, Situation: pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_EMPLOYMENT,
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "employment_type")

	env.SetNow(time.Date(2027, 5, 26, 8, 0, 0, 0, time.UTC))
	client = pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin)) // a token of the new day
	resp, err := client.RecordFollowUp(ctx(t), req)
	if err != nil {
		t.Fatalf("when due: %v", err)
	}
	f := resp.GetPathway().GetEpisodes()[0].GetFollowUp()
	if f.GetSituation() != pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_EMPLOYMENT || f.GetRecordedOn().GetYear() != 2027 {
		t.Fatalf("follow-up %v", f)
	}
	evs := env.Events(t, service.Stream, "avenir.pathway.pathway."+id+".follow_up_recorded")
	if len(evs) != 1 {
		t.Fatalf("%d FollowUpRecorded", len(evs))
	}
	_, err = client.RecordFollowUp(ctx(t), &pathwayv1.RecordFollowUpRequest{
		RequestId: event.NewID(), LearnerId: id, Situation: pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_UNKNOWN,
	})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	readModel(t, env, client, resp.GetPathway())

	// The outcomes of November 2026's exits count it (as an admin: exact).
	out, err := client.GetOutcomes(ctx(t), &pathwayv1.GetOutcomesRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 11}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}})
	if err != nil {
		t.Fatal(err)
	}
	total := out.GetTotal()
	if total.GetFollowUps().GetValue() != 1 || len(total.GetFollowUpsBySituation()) != 1 ||
		total.GetFollowUpsBySituation()[0].GetEmploymentType() != pathwayv1.EmploymentType_EMPLOYMENT_TYPE_PERMANENT {
		t.Fatalf("outcomes total %v", total)
	}
}
