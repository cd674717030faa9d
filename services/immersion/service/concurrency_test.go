package service_test

import (
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// TestConcurrentBookingsNeverOverbook races 200 bookings of 10 places on the
// real backbone: exactly 10 get a place and 190 wait, at distinct positions
// 1..190. Then cancellations of places and waitlist entries, exits from the
// pathway and a capacity growth race, each freeing places and promoting.
// Replaying the IMMERSION stream, no event ever holds more places than the
// capacity, no learner holds two places, and the learners' reservations
// match the places exactly.
func TestConcurrentBookingsNeverOverbook(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	ref := e.as(t, referentT05)
	offer := publishOffer(t, e, offerProfile("op-5"))
	s := scheduleSession(t, e.admin, offer, 10, 5, 10).GetSessionId()
	const n = 200
	learners := make([]string, n)
	for i := range learners {
		learners[i] = learner(t, e, "T05", adult)
	}
	e.CaughtUp(t)

	var wg sync.WaitGroup
	bookings := make([]*immersionv1.Booking, n)
	errs := make([]error, n)
	for i, l := range learners {
		wg.Go(func() {
			resp, err := ref.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: s, LearnerId: l})
			bookings[i], errs[i] = resp.GetBooking(), err
		})
	}
	wg.Wait()
	var booked []string
	var positions []int
	for i, b := range bookings {
		if errs[i] != nil {
			t.Fatalf("booking %d: %v", i, errs[i])
		}
		switch b.GetStatus() {
		case immersionv1.BookingStatus_BOOKING_STATUS_BOOKED:
			booked = append(booked, b.GetLearnerId())
		case immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED:
			positions = append(positions, int(b.GetWaitlistPosition()))
		default:
			t.Fatalf("booking %d: %v", i, b)
		}
	}
	slices.Sort(positions)
	want := make([]int, n-10)
	for i := range want {
		want[i] = i + 1
	}
	if len(booked) != 10 || !slices.Equal(positions, want) {
		t.Fatalf("%d booked, waitlist positions %v", len(booked), positions)
	}
	var placed, waited int
	for _, ev := range e.Events(t, "IMMERSION", "avenir.immersion.session."+s+".>") {
		switch ev.Data.(type) {
		case *immersionv1.PlaceBooked:
			placed++
		case *immersionv1.Waitlisted:
			waited++
		}
	}
	if placed != 10 || waited != n-10 {
		t.Fatalf("%d PlaceBooked and %d Waitlisted events", placed, waited)
	}

	// The race: 6 places and 20 waitlist entries cancelled, 15 waitlisted
	// learners leave the pathway (published while the commands run), the
	// capacity grows to 14.
	session := getSession(t, e.admin, s)
	waitlist := waitlistOf(session)
	unexpected := make(chan error, n)
	tolerate := func(err error) {
		switch status.Code(err) {
		case codes.OK, codes.NotFound, codes.FailedPrecondition:
		default:
			unexpected <- err
		}
	}
	for _, l := range booked[:6] {
		wg.Go(func() {
			_, err := ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s, LearnerId: l, Reason: "race"})
			tolerate(err)
		})
	}
	for _, l := range waitlist[:20] {
		wg.Go(func() {
			_, err := ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s, LearnerId: l, Reason: "race"})
			tolerate(err)
		})
	}
	wg.Go(func() {
		_, err := e.admin.ChangeSessionCapacity(ctx(t), &immersionv1.ChangeSessionCapacityRequest{RequestId: event.NewID(), SessionId: s, Capacity: 14})
		tolerate(err)
	})
	for _, l := range waitlist[20:35] {
		exit(t, e, l, "T05", today)
	}
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Errorf("unexpected error: %v", err)
	}

	// Settled, once the exits are handled: 14 places taken, none by a
	// learner who left or cancelled.
	e.CaughtUp(t)
	gone := map[string]bool{}
	for _, l := range append(slices.Clone(booked[:6]), waitlist[:35]...) {
		gone[l] = true
	}
	got := getSession(t, e.admin, s)
	if got.GetBooked() != 14 {
		t.Fatalf("%d booked, want 14", got.GetBooked())
	}
	for _, l := range append(placesOf(got), waitlistOf(got)...) {
		if gone[l] {
			t.Fatalf("learner %s left but is still in the session", l)
		}
	}
	checkHistory(t, e, s)
}

// checkHistory replays the IMMERSION stream: after each command (a run of
// events with one request id is one atomic batch), the session holds at
// most its capacity, no learner twice, and the learners' reservations are
// exactly its places.
func checkHistory(t *testing.T, e *env, session string) {
	t.Helper()
	evs := e.Events(t, "IMMERSION", "avenir.immersion.>")
	capacity := 0
	places := map[string]bool{}
	reserved := map[string]bool{}
	check := func(at int) {
		if len(places) > capacity {
			t.Fatalf("after event %d: %d places taken of %d", at, len(places), capacity)
		}
		for l := range places {
			if !reserved[l] {
				t.Fatalf("after event %d: learner %s has a place but no reservation", at, l)
			}
		}
		for l := range reserved {
			if !places[l] {
				t.Fatalf("after event %d: learner %s has a reservation but no place", at, l)
			}
		}
	}
	for i, ev := range evs {
		switch m := ev.Data.(type) {
		case *immersionv1.SessionScheduled:
			if m.GetSessionId() == session {
				capacity = int(m.GetCapacity())
			}
		case *immersionv1.SessionCapacityChanged:
			capacity = int(m.GetCapacity())
		case *immersionv1.PlaceBooked:
			if places[m.GetLearnerId()] {
				t.Fatalf("event %d: learner %s booked twice", i, m.GetLearnerId())
			}
			places[m.GetLearnerId()] = true
			if int(m.GetBooked()) != len(places) {
				t.Fatalf("event %d: says %d booked, %d are", i, m.GetBooked(), len(places))
			}
		case *immersionv1.BookingCancelled:
			delete(places, m.GetLearnerId())
		case *immersionv1.DatesReserved:
			reserved[m.GetLearnerId()] = true
		case *immersionv1.DatesReleased:
			delete(reserved, m.GetLearnerId())
		}
		if i == len(evs)-1 || evs[i+1].RequestID != ev.RequestID {
			check(i)
		}
	}
}
