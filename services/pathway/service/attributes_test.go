package service_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// attrs is a map of attributes written briefly: "k=v" pairs.
func attrs(pairs ...string) map[string]string {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		out[k] = v
	}
	return out
}

// Every entry of a journey's timeline carries the facts of its event as
// attributes (codes by enum value name, dates as YYYY-MM-DD, ids, numbers),
// and nothing personal: no exit detail, no cancellation reason, no outcome
// comment, no explanation nor name. A funder does not read the trade fit an
// operator assessed, as its summary does not tell it.
func TestTimelineEntriesCarryTheirFacts(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	referent := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, referentT16))

	id := registered(t, env, "T16")
	enter(t, admin, id, date(2026, 11, 3))
	assign := func(a *referentv1.ReferentAssigned) {
		env.Publish(t, "avenir.referent.assignment."+id+".assigned", a)
	}
	assign(&referentv1.ReferentAssigned{
		LearnerId: id, ReferentId: "ref-9", TerritoryCode: "T16", EpisodeNumber: 1, FromDate: date(2026, 11, 3),
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	assign(&referentv1.ReferentAssigned{
		LearnerId: id, ReferentId: "ref-16", PreviousReferentId: "ref-9", TerritoryCode: "T16", EpisodeNumber: 1, FromDate: date(2026, 11, 4),
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER, Explanation: "secret: handover note", ReferentName: "Claire Dubois",
	})
	env.CaughtUp(t)
	refer(t, referent, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 11, 5))
	outcome(t, referent, id, 1, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, date(2026, 11, 6))
	agreement := contract(t, env, "op-16", avenir, "T16")
	enrol(t, referent, id, agreement, accompaniment, date(2026, 11, 3))
	analyse(t, env, id, 1)
	publishSession(t, env, "s-1",
		&immersionv1.PlaceBooked{SessionId: "s-1", LearnerId: id, PromotedFromWaitlist: true, FromDate: date(2026, 11, 9), ToDate: date(2026, 11, 13)},
		&immersionv1.OutcomeRecorded{
			SessionId: "s-1", LearnerId: id, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, MinutesDone: 2100, MinutesScheduled: 2100,
			TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED, Comment: "private remark", RomeCodes: []string{"H2909"},
		})
	publishSession(t, env, "s-2", &immersionv1.Waitlisted{SessionId: "s-2", LearnerId: id, Position: 3})
	env.Publish(t, "avenir.immersion.session.s-2.waitlist_dropped", &immersionv1.WaitlistDropped{
		SessionId: "s-2", LearnerId: id, Reason: immersionv1.DropReason_DROP_REASON_OVERLAPPING_BOOKING,
	})
	publishSession(t, env, "s-3", &immersionv1.PlaceBooked{SessionId: "s-3", LearnerId: id, FromDate: date(2026, 12, 7), ToDate: date(2026, 12, 11)})
	env.Publish(t, "avenir.immersion.session.s-3.booking_cancelled", &immersionv1.BookingCancelled{
		SessionId: "s-3", LearnerId: id, Cause: immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT, Reason: "secret: moved away",
	})
	exit(t, referent, id, date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, "secret detail")
	env.Publish(t, "avenir.referent.assignment."+id+".ended", &referentv1.AssignmentEnded{
		LearnerId: id, ReferentId: "ref-16", TerritoryCode: "T16", EpisodeNumber: 1, ToDate: date(2026, 11, 20),
	})
	env.Publish(t, "avenir.referent.assignment."+id+".pending", &referentv1.AssignmentPending{
		LearnerId: id, TerritoryCode: "T16", EpisodeNumber: 2, Since: today, Explanation: "secret: waiting",
	})
	erase(t, env, id, "T16")

	timeline := func(as auth.Principal) map[string][]map[string]string {
		t.Helper()
		resp, err := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as)).GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 200})
		if err != nil {
			t.Fatalf("timeline as %s: %v", as.Role, err)
		}
		out := map[string][]map[string]string{}
		for _, e := range resp.GetEntries() {
			typ := e.GetEventType()[strings.LastIndexByte(e.GetEventType(), '.')+1:]
			out[typ] = append(out[typ], e.GetAttributes())
			for k, v := range e.GetAttributes() {
				for _, secret := range []string{"secret", "private", "Claire", "Dubois", "Martin", "Léa", "2001-05-14"} {
					if strings.Contains(v, secret) {
						t.Errorf("%s: attribute %s=%q tells %q", typ, k, v, secret)
					}
				}
			}
		}
		return out
	}
	want := map[string][]map[string]string{
		"LearnerRegistered": {attrs("territory_code=T16", "date=2026-11-02")},
		"PathwayEntered":    {attrs("date=2026-11-03", "episode=1")},
		"ReferentAssigned": {
			attrs("referent_id=ref-9", "date=2026-11-03", "reason=ASSIGNMENT_REASON_AUTOMATIC"),
			attrs("referent_id=ref-16", "previous_referent_id=ref-9", "date=2026-11-04", "reason=ASSIGNMENT_REASON_HANDOVER"),
		},
		"ReferralRecorded":        {attrs("programme=PROGRAMME_QUALIF", "organisation=AFPA Caen", "date=2026-11-05", "referral=1")},
		"ReferralOutcomeRecorded": {attrs("referral=1", "outcome=REFERRAL_OUTCOME_ACCEPTED", "date=2026-11-06")},
		"LearnerEnrolled": {attrs("operator_id=op-16", "contract_id="+agreement, "kind=ENROLMENT_KIND_ACCOMPANIMENT",
			"programme=FUNDING_PROGRAMME_AVENIR", "date=2026-11-03", "enrolment=1")},
		"AnalysisStarted":   {attrs("date=2026-11-26", "version=1", "episode=1")},
		"AnalysisDrafted":   {attrs("date=2026-11-26", "version=1")},
		"AnalysisCompleted": {attrs("date=2026-11-26", "version=1", "episode=1")},
		"PlaceBooked": {
			attrs("session_id=s-1", "from=2026-11-09", "to=2026-11-13", "promoted=true"),
			attrs("session_id=s-3", "from=2026-12-07", "to=2026-12-11", "promoted=false"),
		},
		"OutcomeRecorded":   {attrs("session_id=s-1", "status=OUTCOME_STATUS_COMPLETED", "trade_fit=TRADE_FIT_CONFIRMED")},
		"Waitlisted":        {attrs("session_id=s-2", "position=3")},
		"WaitlistDropped":   {attrs("session_id=s-2", "reason=DROP_REASON_OVERLAPPING_BOOKING")},
		"BookingCancelled":  {attrs("session_id=s-3", "cause=CANCELLATION_CAUSE_REFERENT", "waitlisted=false")},
		"PathwayExited":     {attrs("date=2026-11-20", "episode=1", "reason=EXIT_REASON_QUALIFYING_TRAINING", "days=17")},
		"EnrolmentEnded":    {attrs("enrolment=1", "date=2026-11-20", "reason=ENROLMENT_END_REASON_PATHWAY_EXIT")},
		"ExitBackdated":     {attrs("date=2026-11-20", "recorded_on=2026-11-26")},
		"AssignmentEnded":   {attrs("date=2026-11-20", "episode=1")},
		"AssignmentPending": {attrs("territory_code=T16", "date=2026-11-26")},
		"LearnerErased":     {attrs("date=2026-11-26", "ground=ERASURE_GROUND_REQUEST")},
	}
	same := func(who string, got, want map[string][]map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: event types %v, want %v", who, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for typ, w := range want {
			g := got[typ]
			if len(g) != len(w) {
				t.Errorf("%s: %s: %v, want %v", who, typ, g, w)
				continue
			}
			for i := range w {
				if !maps.Equal(g[i], w[i]) {
					t.Errorf("%s: %s #%d: %v, want %v", who, typ, i+1, g[i], w[i])
				}
			}
		}
	}
	same("admin", timeline(servicetest.Admin), want)
	same("referent", timeline(referentT16), want)
	want["OutcomeRecorded"] = []map[string]string{attrs("session_id=s-1", "status=OUTCOME_STATUS_COMPLETED")}
	same("funder", timeline(funder), want)
}
