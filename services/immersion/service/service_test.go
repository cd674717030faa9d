package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestOffersAndSessions(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	op5, op6 := e.as(t, operator5), e.as(t, operator6)

	// Bad input names every field and appends nothing.
	bad := offerProfile("op-5", "H2913", "h29", "H2913")
	bad.Platform.CommuneCode = "2C123"
	bad.AccreditedTo = civilpb.FromDate(today.AddDays(-1))
	_, err := e.admin.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: "bad one", Profile: bad})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "profile.platform.commune_code", "profile.rome_codes[1]", "profile.rome_codes[2]", "profile.accredited_to")
	if n := len(e.Events(t, "IMMERSION", "avenir.immersion.>")); n != 0 {
		t.Fatalf("%d events appended", n)
	}

	// Publication is idempotent.
	req := &immersionv1.PublishOfferRequest{RequestId: "publish-welding", Profile: offerProfile("op-5")}
	first, err := e.admin.PublishOffer(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.admin.PublishOffer(ctx(t), req)
	if err != nil || !proto.Equal(first, again) {
		t.Fatalf("retried publication: %v, %v", again, err)
	}
	offer := first.GetOffer().GetOfferId()
	if _, err := op5.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: event.NewID(), Profile: offerProfile("op-5")}); err == nil {
		t.Fatal("an operator published an offer")
	}

	// The operator schedules its own offer's sessions, not another's.
	s := scheduleSession(t, op5, offer, 10, 5, 8)
	if s.GetCapacity() != 8 || s.GetOperatorId() != "op-5" || s.GetTerritoryCode() != "T05" || !slices.Equal(s.GetRomeCodes(), []string{"H2913"}) {
		t.Fatalf("session %v", s)
	}
	_, err = op6.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: event.NewID(), OfferId: offer, FromDate: civilpb.FromDate(today.AddDays(10)), ToDate: civilpb.FromDate(today.AddDays(12)),
		DailyMinutes: 420, Capacity: 4, BookingDeadline: civilpb.FromDate(today.AddDays(9)),
	})
	servicetest.Refused(t, err, codes.NotFound)
	if _, err := op6.GetOffer(ctx(t), &immersionv1.GetOfferRequest{OfferId: offer}); err == nil {
		t.Fatal("another operator reads the offer")
	}

	// 31 calendar days, in the past, beyond the accreditation.
	_, err = op5.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: event.NewID(), OfferId: offer, FromDate: civilpb.FromDate(today.AddDays(10)), ToDate: civilpb.FromDate(today.AddDays(40)),
		DailyMinutes: 420, Capacity: 4, BookingDeadline: civilpb.FromDate(today.AddDays(9)),
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "to_date")
	_, err = op5.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: event.NewID(), OfferId: offer, FromDate: civilpb.FromDate(today.AddDays(198)), ToDate: civilpb.FromDate(today.AddDays(202)),
		DailyMinutes: 420, Capacity: 4, BookingDeadline: civilpb.FromDate(today.AddDays(190)),
	})
	servicetest.Refused(t, err, codes.FailedPrecondition, "OUTSIDE_ACCREDITATION")

	got, err := e.admin.GetOffer(ctx(t), &immersionv1.GetOfferRequest{OfferId: offer})
	if err != nil || !slices.Equal(got.GetOffer().GetSessionIds(), []string{s.GetSessionId()}) {
		t.Fatalf("offer %v, %v", got, err)
	}

	// Capacity shrinks only down to the places booked.
	lea := learner(t, e, "T05", adult)
	e.CaughtUp(t)
	book(t, e.as(t, referentT05), s.GetSessionId(), lea)
	_, err = op5.ChangeSessionCapacity(ctx(t), &immersionv1.ChangeSessionCapacityRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), Capacity: 0})
	servicetest.Refused(t, err, codes.InvalidArgument, "capacity")
	resized, err := op5.ChangeSessionCapacity(ctx(t), &immersionv1.ChangeSessionCapacityRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), Capacity: 1})
	if err != nil || resized.GetSession().GetCapacity() != 1 || resized.GetSession().GetFreePlaces() != 0 {
		t.Fatalf("resized %v, %v", resized, err)
	}

	// Search: by trade and territory, free places, accessibility, paging.
	other := publishOffer(t, e, offerProfile("op-6", "G1602"))
	for i := range 3 {
		scheduleSession(t, e.admin, other, 20+i, 2, 4)
	}
	e.CaughtUp(t)
	search := func(client immersionv1.ImmersionServiceClient, req *immersionv1.SearchSessionsRequest) []string {
		t.Helper()
		var ids []string
		req.PageSize = 2
		for {
			resp, err := client.SearchSessions(ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range resp.GetSessions() {
				ids = append(ids, s.GetSessionId())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return ids
			}
		}
	}
	if ids := search(e.admin, &immersionv1.SearchSessionsRequest{}); len(ids) != 4 || ids[0] != s.GetSessionId() {
		t.Fatalf("all sessions: %v", ids)
	}
	if ids := search(e.admin, &immersionv1.SearchSessionsRequest{RomeCode: "g1602"}); len(ids) != 3 {
		t.Fatalf("G1602: %v", ids)
	}
	if ids := search(e.admin, &immersionv1.SearchSessionsRequest{OnlyWithFreePlaces: true, TerritoryCode: "T05"}); len(ids) != 3 || slices.Contains(ids, s.GetSessionId()) {
		t.Fatalf("with free places: %v", ids)
	}
	if ids := search(e.admin, &immersionv1.SearchSessionsRequest{FromDate: civilpb.FromDate(today.AddDays(21)), ToDate: civilpb.FromDate(today.AddDays(21))}); len(ids) != 1 {
		t.Fatalf("starting on day 21: %v", ids)
	}
	if ids := search(op5, &immersionv1.SearchSessionsRequest{}); !slices.Equal(ids, []string{s.GetSessionId()}) {
		t.Fatalf("an operator finds %v", ids)
	}

	// Withdrawal cancels the future sessions with their bookings.
	w, err := e.admin.WithdrawOffer(ctx(t), &immersionv1.WithdrawOfferRequest{RequestId: event.NewID(), OfferId: offer, Reason: "accreditation lost"})
	if err != nil || !w.GetOffer().GetWithdrawn() {
		t.Fatalf("withdraw: %v %v", w, err)
	}
	e.CaughtUp(t)
	if got := getSession(t, e.admin, s.GetSessionId()); !got.GetCancelled() || got.GetBooked() != 0 {
		t.Fatalf("session after the withdrawal: %v", got)
	}
	var released int
	for _, ev := range e.Events(t, "IMMERSION", "avenir.immersion.learner."+lea+".>") {
		if _, ok := ev.Data.(*immersionv1.DatesReleased); ok {
			released++
		}
	}
	if released != 1 {
		t.Fatalf("%d releases of the learner's dates, want 1", released)
	}
	_, err = e.admin.ScheduleSession(ctx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: event.NewID(), OfferId: offer, FromDate: civilpb.FromDate(today.AddDays(10)), ToDate: civilpb.FromDate(today.AddDays(12)),
		DailyMinutes: 420, Capacity: 4, BookingDeadline: civilpb.FromDate(today.AddDays(9)),
	})
	servicetest.Refused(t, err, codes.FailedPrecondition, "OFFER_WITHDRAWN")
}

func TestBookingRules(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	ref, op5 := e.as(t, referentT05), e.as(t, operator5)
	offer := publishOffer(t, e, offerProfile("op-5"))
	s := scheduleSession(t, op5, offer, 10, 5, 2)
	overlapping := scheduleSession(t, op5, offer, 14, 3, 5)
	later := scheduleSession(t, op5, offer, 15, 3, 5)
	a, b, c, d := learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult)
	sixteenth := today.AddDays(16) // the day after later's first day
	young := learner(t, e, "T05", civil.Date{Year: sixteenth.Year - 16, Month: sixteenth.Month, Day: sixteenth.Day})
	elsewhere := learner(t, e, "T01", adult)
	e.CaughtUp(t)

	if got := book(t, ref, s.GetSessionId(), a); got.GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_BOOKED {
		t.Fatalf("booking %v", got)
	}
	_, err := ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: a})
	servicetest.Refused(t, err, codes.AlreadyExists)
	book(t, ref, s.GetSessionId(), b)
	w := book(t, ref, s.GetSessionId(), c)
	if w.GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED || w.GetWaitlistPosition() != 1 {
		t.Fatalf("third booking %v", w)
	}
	if w := book(t, ref, s.GetSessionId(), d); w.GetWaitlistPosition() != 2 {
		t.Fatalf("fourth booking %v", w)
	}
	_, err = ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: overlapping.GetSessionId(), LearnerId: a})
	servicetest.Refused(t, err, codes.FailedPrecondition, "OVERLAPPING_BOOKING")
	book(t, ref, later.GetSessionId(), a)
	_, err = ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: later.GetSessionId(), LearnerId: young})
	servicetest.Refused(t, err, codes.FailedPrecondition, "LEARNER_TOO_YOUNG")
	_, err = ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: later.GetSessionId(), LearnerId: elsewhere})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = e.as(t, referentT01).BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: later.GetSessionId(), LearnerId: a})
	servicetest.Refused(t, err, codes.NotFound)

	// The learner's assigned referent acts for it; the territory's pool
	// does not any more.
	e.Publish(t, "avenir.referent.assignment."+d+".assigned", &referentv1.ReferentAssigned{LearnerId: d, ReferentId: "ref-9", TerritoryCode: "T05", EpisodeNumber: 1})
	e.CaughtUp(t)
	_, err = ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: d, Reason: "x"})
	servicetest.Refused(t, err, codes.NotFound)
	ref9 := e.as(t, referentT05WithID("ref-9"))
	if v := getSession(t, ref, s.GetSessionId()); !slices.Equal(waitlistOf(v), []string{c, ""}) {
		t.Fatalf("a referent sees the waitlist %v", waitlistOf(v))
	}

	// Cancelling a place promotes the first waitlisted learner still
	// eligible: c has left the pathway, d is promoted.
	exit(t, e, c, "T05", today)
	e.CaughtUp(t)
	if got := waitlistOf(getSession(t, e.admin, s.GetSessionId())); !slices.Equal(got, []string{d}) {
		t.Fatalf("waitlist after c's exit: %v", got)
	}
	cancelled, err := op5.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: b, Reason: "absent twice at the info session"})
	if err != nil || cancelled.GetBooking().GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED ||
		cancelled.GetBooking().GetCancellationCause() != immersionv1.CancellationCause_CANCELLATION_CAUSE_OPERATOR {
		t.Fatalf("cancel %v %v", cancelled, err)
	}
	got := getSession(t, ref9, s.GetSessionId())
	if !slices.Equal(placesOf(got), []string{a, d}) || len(got.GetWaitlist()) != 0 || !got.GetPlaces()[1].GetPromotedFromWaitlist() {
		t.Fatalf("after the cancellation: %v", got)
	}

	// Outcomes: from the last day, by the operator, once.
	outcome := &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: a, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED}
	_, err = op5.RecordOutcome(ctx(t), outcome)
	servicetest.Refused(t, err, codes.FailedPrecondition, "SESSION_NOT_OVER")
	e.SetNow(e.Now().AddDate(0, 0, 15))
	op5, ref = e.as(t, operator5), e.as(t, referentT05) // tokens of the new day
	if _, err := e.as(t, operator6).RecordOutcome(ctx(t), outcome); err == nil {
		t.Fatal("another operator recorded an outcome")
	}
	rec, err := op5.RecordOutcome(ctx(t), outcome)
	if err != nil || rec.GetBooking().GetOutcome().GetMinutesDone() != 5*420 {
		t.Fatalf("outcome %v %v", rec, err)
	}
	_, err = op5.RecordOutcome(ctx(t), &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: a, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW})
	servicetest.Refused(t, err, codes.AlreadyExists)
	_, err = op5.RecordOutcome(ctx(t), &immersionv1.RecordOutcomeRequest{
		RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: d, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED,
		LastDayPresent: civilpb.FromDate(today.AddDays(11)), MinutesDone: 841, TradeFit: immersionv1.TradeFit_TRADE_FIT_NOT_FOR_ME,
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "minutes_done")
	// The learner's referent records it too (she debriefs the immersion);
	// a referent who does not act for the learner does not.
	didNotShow := &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: d, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW}
	_, err = ref.RecordOutcome(ctx(t), didNotShow)
	servicetest.Refused(t, err, codes.PermissionDenied)
	ref9 = e.as(t, referentT05WithID("ref-9"))
	if _, err := ref9.RecordOutcome(ctx(t), didNotShow); err != nil {
		t.Fatal(err)
	}
	e.CaughtUp(t)

	// Listings and statistics, from the read model.
	byLearner, err := ref.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{LearnerId: a})
	if err != nil || len(byLearner.GetBookings()) != 2 || byLearner.GetBookings()[0].GetOutcome().GetStatus() != immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED {
		t.Fatalf("bookings of a: %v %v", byLearner, err)
	}
	bySession, err := op5.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{SessionId: s.GetSessionId(), PageSize: 3})
	if err != nil || len(bySession.GetBookings()) != 3 || bySession.GetNextPageToken() == "" {
		t.Fatalf("first page of the session's bookings: %v %v", bySession, err)
	}
	rest, err := op5.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{SessionId: s.GetSessionId(), PageSize: 3, PageToken: bySession.GetNextPageToken()})
	if err != nil || len(rest.GetBookings()) != 1 || rest.GetNextPageToken() != "" {
		t.Fatalf("second page: %v %v", rest, err)
	}
	if _, err := e.as(t, operator6).ListBookings(ctx(t), &immersionv1.ListBookingsRequest{OperatorId: "op-5"}); err == nil {
		t.Fatal("an operator lists another's bookings")
	}
	byOperator, err := op5.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{OperatorId: "op-5"})
	if err != nil || len(byOperator.GetBookings()) != 5 {
		t.Fatalf("bookings of op-5: %v %v", byOperator, err)
	}
	if _, err := ref.GetImmersionStatistics(ctx(t), &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(30))}); err == nil {
		t.Fatal("a referent read the statistics")
	}
	// Exact for an admin (what a funder reads is TestStatisticsWithholdCountsUnderFive's).
	stats, err := e.as(t, servicetest.Admin).GetImmersionStatistics(ctx(t), &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(30))})
	if err != nil {
		t.Fatal(err)
	}
	want := &immersionv1.ImmersionStatistics{
		TerritoryCode: "T05", RomeCode: "H2913", Sessions: 3, PlacesOffered: 12, Booked: 3, OutcomesRecorded: 2, Completed: 1, DidNotShow: 1,
		FillRatePerMille: 250, CompletionRatePerMille: 500, NoShowRatePerMille: 500,
		BookedLearners: count(3), WaitlistedLearners: count(0), LearnersWithOutcome: count(2), LearnersCompleted: count(1),
		LearnersPartiallyCompleted: count(0), LearnersNotShown: count(1),
	}
	if len(stats.GetRows()) != 1 || !proto.Equal(stats.GetRows()[0], want) {
		t.Fatalf("statistics %v, want %v", stats, want)
	}
}

func referentT05WithID(id string) (p auth.Principal) {
	p = referentT05
	p.Subject, p.ReferentID = "u-"+id, id
	return p
}

func TestExitCancelsLaterBookings(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	ref := e.as(t, referentT05)
	offer := publishOffer(t, e, offerProfile("op-5"))
	soon := scheduleSession(t, e.admin, offer, 3, 2, 1)
	later := scheduleSession(t, e.admin, offer, 10, 2, 1)
	leaving, other, waiting := learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult)
	e.CaughtUp(t)
	book(t, ref, later.GetSessionId(), leaving)
	book(t, ref, later.GetSessionId(), waiting)
	book(t, ref, soon.GetSessionId(), other)
	book(t, ref, soon.GetSessionId(), leaving) // waitlisted

	// Recorded today, dated yesterday: both sessions start after it.
	exit(t, e, leaving, "T05", today.AddDays(-1))
	e.CaughtUp(t)
	l, s := getSession(t, e.admin, later.GetSessionId()), getSession(t, e.admin, soon.GetSessionId())
	if !slices.Equal(placesOf(l), []string{waiting}) || len(l.GetWaitlist()) != 0 || len(s.GetWaitlist()) != 0 {
		t.Fatalf("after the exit: later %v, soon %v", l, s)
	}
	// The exit and its back-dating are each consumed once; redelivered or
	// not, nothing more happens.
	var cancels int
	for _, ev := range e.Events(t, "IMMERSION", "avenir.immersion.session.>") {
		if m, ok := ev.Data.(*immersionv1.BookingCancelled); ok {
			if m.GetCause() != immersionv1.CancellationCause_CANCELLATION_CAUSE_PATHWAY_EXIT || m.GetLearnerId() != leaving {
				t.Fatalf("cancellation %v", m)
			}
			cancels++
		}
	}
	if cancels != 2 {
		t.Fatalf("%d cancellations, want 2", cancels)
	}
	// The exit is marked once on the learner's reservations (the exit and
	// its back-dating carry the same date), before the cancellations: a
	// booking racing the exit conflicts with the mark.
	marks := e.Events(t, "IMMERSION", "avenir.immersion.learner."+leaving+".pathway_left")
	if len(marks) != 1 || marks[0].Data.(*immersionv1.PathwayLeft).GetEpisodeNumber() != 1 {
		t.Fatalf("exit marks %v", marks)
	}
	_, err := ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: later.GetSessionId(), LearnerId: leaving})
	servicetest.Refused(t, err, codes.FailedPrecondition, "LEARNER_NOT_IN_PATHWAY")
}
