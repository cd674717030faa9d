package service_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
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
