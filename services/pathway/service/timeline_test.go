package service_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestTimelineGathersEveryContextInOrder(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	referent := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, referentT16))
	t0 := env.Now()
	at := func(minutes int) { env.SetNow(t0.Add(time.Duration(minutes) * time.Minute)) }

	id := registered(t, env, "T16")
	at(1)
	enter(t, admin, id, date(2026, 11, 3))
	at(2)
	// An intake event of a type the timeline has no words for.
	env.Publish(t, "avenir.intake.learner."+id+".noted", &intakev1.GetLearnerRequest{LearnerId: id})
	at(3)
	refer(t, referent, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 11, 5))
	at(4)
	outcome(t, referent, id, 1, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, date(2026, 11, 6))
	at(5)
	exit(t, referent, id, date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, "secret detail")
	other := registered(t, env, "T16")
	env.CaughtUp(t)

	want := []struct {
		minute                      int
		source, typ, actor, summary string
	}{
		{0, "intake", "avenir.intake.v1.LearnerRegistered", "service:intake", "Registered in territory T16 on 2026-11-02"},
		{1, "pathway", "avenir.pathway.v1.PathwayEntered", "admin:test-admin", "Entered the pathway on 2026-11-03 (episode 1)"},
		{2, "intake", "avenir.intake.v1.GetLearnerRequest", "service:intake", "Get learner request"},
		{3, "pathway", "avenir.pathway.v1.ReferralRecorded", "referent:ref-16", "Referred to Qualif (qualifying training) at AFPA Caen on 2026-11-05 (referral 1)"},
		{4, "pathway", "avenir.pathway.v1.ReferralOutcomeRecorded", "referent:ref-16", "Referral 1 accepted on 2026-11-06"},
		{5, "pathway", "avenir.pathway.v1.PathwayExited", "referent:ref-16", "Exited the pathway on 2026-11-20 (episode 1, 17 days): qualifying training (Qualif)"},
		{5, "pathway", "avenir.pathway.v1.ExitBackdated", "referent:ref-16", "Exit of 2026-11-20 recorded late, on 2026-11-26"},
	}
	resp, err := admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEntries()) != len(want) || resp.GetNextPageToken() != "" {
		t.Fatalf("%d entries (token %q), want %d: %v", len(resp.GetEntries()), resp.GetNextPageToken(), len(want), resp)
	}
	stored := append(env.Events(t, "INTAKE", "avenir.intake.learner."+id+".>"), pathwayEvents(t, env, id)...)
	for i, w := range want {
		e := resp.GetEntries()[i]
		if e.GetSource() != w.source || e.GetEventType() != w.typ || e.GetActor() != w.actor || e.GetSummary() != w.summary ||
			!e.GetTime().AsTime().Equal(t0.Add(time.Duration(w.minute)*time.Minute)) {
			t.Errorf("entry %d: %v\nwant %+v", i, e, w)
		}
		found := false
		for _, ev := range stored {
			found = found || (ev.ID == e.GetEventId() && ev.Stream == e.GetStream() && ev.Sequence == e.GetSequence())
		}
		if !found {
			t.Errorf("entry %d does not name a stored event: %v", i, e)
		}
		// Names and the free text of exits stay out of summaries.
		if strings.Contains(e.GetSummary(), "Martin") || strings.Contains(e.GetSummary(), "secret") {
			t.Errorf("entry %d leaks personal data: %q", i, e.GetSummary())
		}
	}

	// Page after page, the same entries.
	var paged []*pathwayv1.TimelineEntry
	req := &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 3}
	for pages := 1; ; pages++ {
		page, err := admin.GetTimeline(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetEntries()) > 3 || pages > 3 {
			t.Fatalf("page %d: %v", pages, page)
		}
		paged = append(paged, page.GetEntries()...)
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if !proto.Equal(&pathwayv1.GetTimelineResponse{Entries: paged}, resp) {
		t.Fatalf("paged %v\nwant %v", paged, resp.GetEntries())
	}

	// Another learner's timeline is its own; a token does not move to it.
	mine, err := admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: other})
	if err != nil || len(mine.GetEntries()) != 1 || mine.GetEntries()[0].GetEventType() != "avenir.intake.v1.LearnerRegistered" {
		t.Fatalf("other learner's timeline: %v %v", mine, err)
	}
	first, err := admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: other, PageToken: first.GetNextPageToken()})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	_, err = admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: "nope", PageSize: -2})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id", "page_size")
	_, err = admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: event.NewID()})
	servicetest.Refused(t, err, codes.NotFound)
}

// Funders see what billing needs and no more: the timeline tells them what
// happened, when and who (the same entries as anyone), not what an
// analysis recommends nor how an operator assessed an immersion; no
// contact, no birth date, no exit detail reaches them, in the timeline or
// the pathway.
func TestFundersReadWhatHappenedNotWhatItSays(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	enter(t, admin, id, nov2)
	env.Publish(t, "avenir.intake.learner."+id+".contact_updated", &intakev1.LearnerContactUpdated{
		LearnerId: id, Contact: &intakev1.Contact{Email: "lea.martin@example.org", Phone: "+33612345678", CommuneCode: "14118"}, EffectiveOn: today,
	})
	analyse(t, env, id, 1)
	publishSession(t, env, "s-1",
		&immersionv1.PlaceBooked{SessionId: "s-1", LearnerId: id, Booked: 1, Capacity: 2, FromDate: date(2026, 11, 16), ToDate: date(2026, 11, 20)},
		&immersionv1.OutcomeRecorded{
			SessionId: "s-1", LearnerId: id, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, MinutesDone: 2100, MinutesScheduled: 2100,
			TradeFit: immersionv1.TradeFit_TRADE_FIT_NOT_FOR_ME, Comment: "private remark", RomeCodes: []string{"H2909"},
		})
	exit(t, admin, id, today, pathwayv1.ExitReason_EXIT_REASON_OTHER, "secret detail")
	env.CaughtUp(t)

	timeline := func(as auth.Principal) []*pathwayv1.TimelineEntry {
		t.Helper()
		resp, err := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as)).GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
		if err != nil {
			t.Fatalf("timeline as %v: %v", as, err)
		}
		return resp.GetEntries()
	}
	full, brief := timeline(servicetest.Admin), timeline(funder)
	if len(brief) != len(full) {
		t.Fatalf("a funder reads %d entries, an admin %d", len(brief), len(full))
	}
	changed := map[string]string{}
	for i, e := range brief {
		a := full[i]
		if e.GetEventId() != a.GetEventId() || e.GetEventType() != a.GetEventType() || e.GetActor() != a.GetActor() || !e.GetTime().AsTime().Equal(a.GetTime().AsTime()) {
			t.Errorf("entry %d: %v, an admin reads %v", i, e, a)
		}
		if e.GetSummary() != a.GetSummary() {
			changed[a.GetSummary()] = e.GetSummary()
		}
		for _, secret := range []string{"recommending", "workshops", "K2204", "H2909", "trade", "private", "secret", "lea.martin", "+336", "14118", "2001-05-14", "Martin"} {
			if strings.Contains(e.GetSummary(), secret) {
				t.Errorf("a funder reads %q in %q", secret, e.GetSummary())
			}
		}
	}
	// Nobody reads an analysis's recommended steps in a timeline: sealed
	// with the learner's key, they are for the analysis alone.
	want := map[string]string{
		"Immersion completed: session s-1, trades H2909; trade fit: not for me": "Immersion completed: session s-1",
	}
	if !maps.Equal(changed, want) {
		t.Fatalf("a funder reads, instead of an admin's summaries: %q\nwant %q", changed, want)
	}
	// Those who act for the learner read it whole, as admins do.
	if got := timeline(referentT16); !proto.Equal(&pathwayv1.GetTimelineResponse{Entries: got}, &pathwayv1.GetTimelineResponse{Entries: full}) {
		t.Fatalf("a referent reads %v", got)
	}

	// The pathway a funder reads holds no exit detail (it holds no contact
	// nor birth date for anyone).
	p, err := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, funder)).GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if ep := p.GetPathway().GetEpisodes()[0]; ep.ExitDetail != nil || ep.GetExitReason() != pathwayv1.ExitReason_EXIT_REASON_OTHER {
		t.Fatalf("a funder reads the episode %v", ep)
	}
}
