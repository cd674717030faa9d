package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, a command whose decision needs no read
// model is stored and answered from the state it decided (and its retry
// answers the same); one whose decision needs a read model (the learner's
// episodes, the caseload, the eligibility of a promotion) answers
// Unavailable and stores nothing, and its retry with the same request id,
// once the store is back, answers as a first run would. Reads of the read
// models answer Unavailable; reads of an aggregate's events still answer.
// Nothing answers Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	e := start(t, servicetest.Options{Store: store})
	ref, op5 := e.as(t, referentT05), e.as(t, operator5)
	offer := publishOffer(t, e, offerProfile("op-5"))
	full := scheduleSession(t, e.admin, offer, 10, 5, 1).GetSessionId()
	a, b, c, d := learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult)
	e.CaughtUp(t)
	book(t, ref, full, a)
	book(t, ref, full, b) // waitlisted
	book(t, ref, full, d) // waitlisted
	e.CaughtUp(t)
	store.SetDown(true)

	// Scheduling, resizing an empty session, updating an offer and the
	// operator's cancellation of a waitlist entry need no read model.
	from := today.AddDays(20)
	schedule := &immersionv1.ScheduleSessionRequest{
		RequestId: "schedule-down", OfferId: offer, FromDate: civilpb.FromDate(from), ToDate: civilpb.FromDate(from.AddDays(2)),
		DailyMinutes: 420, Capacity: 4, BookingDeadline: civilpb.FromDate(from.AddDays(-1)),
	}
	scheduled, err := op5.ScheduleSession(ctx(t), schedule)
	if err != nil || scheduled.GetSession().GetCapacity() != 4 || scheduled.GetSession().GetOperatorId() != "op-5" {
		t.Fatalf("schedule with the read models down: %v %v", scheduled, err)
	}
	again, err := op5.ScheduleSession(ctx(t), schedule)
	if err != nil || !proto.Equal(again, scheduled) {
		t.Fatalf("retried scheduling: %v %v", again, err)
	}
	fresh := scheduled.GetSession().GetSessionId()
	resized, err := op5.ChangeSessionCapacity(ctx(t), &immersionv1.ChangeSessionCapacityRequest{RequestId: "resize-down", SessionId: fresh, Capacity: 6})
	if err != nil || resized.GetSession().GetCapacity() != 6 || resized.GetSession().GetFreePlaces() != 6 {
		t.Fatalf("resize with the read models down: %v %v", resized, err)
	}
	profile := offerProfile("op-5")
	profile.Description = "Soudage à l'arc et TIG"
	updated, err := e.admin.UpdateOffer(ctx(t), &immersionv1.UpdateOfferRequest{RequestId: "update-down", OfferId: offer, Profile: profile})
	if err != nil || updated.GetOffer().GetProfile().GetDescription() != "Soudage à l'arc et TIG" || len(updated.GetOffer().GetSessionIds()) != 2 {
		t.Fatalf("update with the read models down: %v %v", updated, err)
	}
	cancelled, err := op5.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: "cancel-down", SessionId: full, LearnerId: d, Reason: "withdrew"})
	if err != nil || cancelled.GetBooking().GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED ||
		cancelled.GetBooking().GetCancellationCause() != immersionv1.CancellationCause_CANCELLATION_CAUSE_OPERATOR {
		t.Fatalf("operator's cancellation with the read models down: %v %v", cancelled, err)
	}

	// A booking (episodes, caseload), a referent's cancellation (caseload)
	// and a growth that promotes (eligibility) cannot decide.
	stored := len(e.Events(t, service.Stream, "avenir.immersion.>"))
	booking := &immersionv1.BookPlaceRequest{RequestId: "book-down", SessionId: fresh, LearnerId: c}
	_, err = ref.BookPlace(ctx(t), booking)
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: "ref-cancel-down", SessionId: full, LearnerId: a, Reason: "ill"})
	servicetest.Refused(t, err, codes.Unavailable)
	growth := &immersionv1.ChangeSessionCapacityRequest{RequestId: "grow-down", SessionId: full, Capacity: 2}
	_, err = op5.ChangeSessionCapacity(ctx(t), growth)
	servicetest.Refused(t, err, codes.Unavailable)
	if n := len(e.Events(t, service.Stream, "avenir.immersion.>")); n != stored {
		t.Fatalf("refused commands appended %d events", n-stored)
	}

	// Reads of the read models answer Unavailable; an offer and a session
	// as an administrator sees them come from their events.
	_, err = ref.SearchSessions(ctx(t), &immersionv1.SearchSessionsRequest{})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = op5.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{SessionId: full})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = e.admin.GetImmersionStatistics(ctx(t), &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(30))})
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = ref.GetSession(ctx(t), &immersionv1.GetSessionRequest{SessionId: full}) // which learners the referent reaches
	servicetest.Refused(t, err, codes.Unavailable)
	if got, err := e.admin.GetOffer(ctx(t), &immersionv1.GetOfferRequest{OfferId: offer}); err != nil || !proto.Equal(got.GetOffer(), updated.GetOffer()) {
		t.Fatalf("offer with the read models down: %v %v", got, err)
	}
	if got := getSession(t, e.admin, full); !slices.Equal(placesOf(got), []string{a}) || !slices.Equal(waitlistOf(got), []string{b}) {
		t.Fatalf("session with the read models down: %v", got)
	}

	// Back up: the same requests decide as first runs.
	store.SetDown(false)
	booked, err := ref.BookPlace(ctx(t), booking)
	if err != nil || booked.GetBooking().GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_BOOKED {
		t.Fatalf("booking retried with the store back: %v %v", booked, err)
	}
	grown, err := op5.ChangeSessionCapacity(ctx(t), growth)
	if err != nil || !slices.Equal(placesOf(grown.GetSession()), []string{a, b}) || !grown.GetSession().GetPlaces()[1].GetPromotedFromWaitlist() {
		t.Fatalf("growth retried with the store back: %v %v", grown, err)
	}
	// The read models heal: the catalogue lists what was stored while down.
	e.CaughtUp(t)
	list, err := op5.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{SessionId: full})
	if err != nil || len(list.GetBookings()) != 3 {
		t.Fatalf("bookings of the full session after recovery: %v %v", list, err)
	}
}
