package service_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The read models (service.go).
const (
	peopleProjection    = "immersion-people"
	catalogueProjection = "immersion-catalogue-v2"
)

// value reads a read model's key, "" and false when absent.
func value(t *testing.T, store projection.Store, p, key string) (string, bool) {
	t.Helper()
	b, err := store.Get(ctx(t), p, key)
	if errors.Is(err, projection.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// bookingsOf lists the bookings of a learner.
func bookingsOf(t *testing.T, c context.Context, q queries, learner string) *immersionv1.ListBookingsResponse {
	t.Helper()
	resp, err := q.ListBookings(c, &immersionv1.ListBookingsRequest{LearnerId: learner})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The read models never copy a cancellation's reason or an outcome's
// comment: they are opened from the sealed events when read. A learner's
// erasure drops its birth date and leaves its texts unreadable, while its
// bookings, outcomes and the statistics stay; commands naming the learner
// are refused. Rebuilt from the streams afterwards, the read models hold
// and answer exactly the same.
func TestErasurePurgesTheLearnersPersonalData(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			const (
				reason   = "déménage chez sa sœur à Rouen"
				commentA = "très à l'aise malgré son dos"
				commentB = "ponctuel, soigneux"
			)
			fresh := storetest.Fresh(t, kind)
			e := start(t, servicetest.Options{Store: fresh()})
			ref, op5 := e.as(t, referentT05), e.as(t, operator5)
			offer := publishOffer(t, e, offerProfile("op-5", "H2909"))
			s1 := scheduleSession(t, op5, offer, 2, 5, 3).GetSessionId()
			s2 := scheduleSession(t, op5, offer, 8, 5, 3).GetSessionId()
			s4 := scheduleSession(t, op5, offer, 13, 2, 3).GetSessionId()
			s3 := scheduleSession(t, op5, offer, 30, 5, 3).GetSessionId()
			s5 := scheduleSession(t, op5, offer, 40, 5, 3).GetSessionId()
			a, b := learner(t, e, "T05", adult), learner(t, e, "T05", adult)
			e.CaughtUp(t)
			book(t, ref, s1, a)
			if _, err := ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s1, LearnerId: a, Reason: reason}); err != nil {
				t.Fatal(err)
			}
			book(t, ref, s2, a)
			book(t, ref, s2, b)
			book(t, ref, s4, a)
			e.SetNow(e.Now().AddDate(0, 0, 15))
			op5, adm := e.as(t, operator5), e.as(t, servicetest.Admin) // tokens of the new day
			book(t, adm, s3, a)
			for id, comment := range map[string]string{a: commentA, b: commentB} {
				if _, err := op5.RecordOutcome(ctx(t), &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s2, LearnerId: id,
					Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED, Comment: comment}); err != nil {
					t.Fatal(err)
				}
			}
			e.CaughtUp(t)
			admin := auth.NewContext(ctx(t), servicetest.Admin)
			// texts are the cancellation reasons and outcome comments of
			// bookings, by session.
			texts := func(r *immersionv1.ListBookingsResponse) map[string]string {
				out := map[string]string{}
				for _, bk := range r.GetBookings() {
					if x := bk.GetCancellationReason() + bk.GetOutcome().GetComment(); x != "" {
						out[bk.GetSessionId()] = x
					}
				}
				return out
			}
			if got := texts(bookingsOf(t, admin, adm, a)); !maps.Equal(got, map[string]string{s1: reason, s2: commentA}) {
				t.Fatalf("the texts read %v", got)
			}
			for _, s := range []string{s1, s2} {
				if v, _ := value(t, e.Deps.Projections, catalogueProjection, "booking:"+s+"/"+a); strings.Contains(v, reason) || strings.Contains(v, commentA) {
					t.Fatalf("the catalogue copies a text: %s", v)
				}
			}
			stats := func(c context.Context, q queries) *immersionv1.GetImmersionStatisticsResponse {
				resp, err := q.GetImmersionStatistics(c, &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(60))})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			before := stats(admin, adm)

			e.Publish(t, "avenir.intake.learner."+a+".erased", &intakev1.LearnerErased{
				LearnerId: a, TerritoryCode: "T05", ErasedOn: civilpb.FromDate(today.AddDays(15)), Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "case 17",
			})
			if err := e.Keys.Erase(ctx(t), privacy.LearnerKey(a)); err != nil {
				t.Fatal(err)
			}
			e.CaughtUp(t)
			if after := stats(admin, adm); !proto.Equal(after, before) {
				t.Fatalf("statistics changed:\n%v\nwant\n%v", after, before)
			}
			cancelled := e.Events(t, service.Stream, "avenir.immersion.session."+s1+".booking_cancelled")
			if len(cancelled) != 1 || !cancelled[0].Erased || cancelled[0].Data.(*immersionv1.BookingCancelled).GetReason() != "" {
				t.Fatalf("the cancellation still opens: %v", cancelled)
			}

			// No new booking, nor text, for the erased learner; an outcome
			// without a comment is a fact of the session.
			_, err := adm.BookPlace(ctx(t), &immersionv1.BookPlaceRequest{RequestId: event.NewID(), SessionId: s5, LearnerId: a})
			servicetest.Refused(t, err, codes.FailedPrecondition, domain.ReasonLearnerErased)
			_, err = adm.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s3, LearnerId: a, Reason: "moved away"})
			servicetest.Refused(t, err, codes.FailedPrecondition, domain.ReasonLearnerErased)
			noShow := &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s4, LearnerId: a,
				Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW, Comment: "never came"}
			_, err = op5.RecordOutcome(ctx(t), noShow)
			servicetest.Refused(t, err, codes.FailedPrecondition, domain.ReasonLearnerErased)
			noShow.RequestId, noShow.Comment = event.NewID(), ""
			if _, err := op5.RecordOutcome(ctx(t), noShow); err != nil {
				t.Fatal(err)
			}
			e.CaughtUp(t)

			// What every check reads, live then rebuilt.
			read := func(c context.Context, q queries, store projection.Store) []proto.Message {
				t.Helper()
				if v, ok := value(t, store, peopleProjection, "born:"+a); ok {
					t.Fatalf("the erased learner's birth date is kept: %s", v)
				}
				if v, ok := value(t, store, peopleProjection, "erased:"+a); !ok || v != today.AddDays(15).String() {
					t.Fatalf("erasure recorded as %q, %v", v, ok)
				}
				if _, ok := value(t, store, peopleProjection, "born:"+b); !ok {
					t.Fatal("another learner's birth date was dropped")
				}
				byA := bookingsOf(t, c, q, a)
				if got := texts(byA); len(got) != 0 {
					t.Fatalf("the erased learner's texts read %v", got)
				}
				got := map[string]*immersionv1.Booking{}
				for _, bk := range byA.GetBookings() {
					got[bk.GetSessionId()] = bk
				}
				if len(got) != 4 || got[s1].GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED ||
					got[s1].GetCancellationCause() != immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT ||
					got[s2].GetOutcome().GetStatus() != immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED ||
					got[s2].GetOutcome().GetTradeFit() != immersionv1.TradeFit_TRADE_FIT_CONFIRMED || got[s2].GetOutcome().GetMinutesDone() != 5*420 ||
					got[s4].GetOutcome().GetStatus() != immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW ||
					got[s3].GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_BOOKED {
					t.Fatalf("the erased learner's bookings: %v", byA)
				}
				byB := bookingsOf(t, c, q, b)
				if got := texts(byB); !maps.Equal(got, map[string]string{s2: commentB}) {
					t.Fatalf("another learner's texts read %v", got)
				}
				sess, err := q.GetSession(c, &immersionv1.GetSessionRequest{SessionId: s2})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range sess.GetSession().GetPlaces() {
					if want := map[string]string{a: "", b: commentB}[p.GetLearnerId()]; p.GetOutcome().GetComment() != want {
						t.Fatalf("%s's outcome comment reads %q", p.GetLearnerId(), p.GetOutcome().GetComment())
					}
				}
				bySession, err := q.ListBookings(c, &immersionv1.ListBookingsRequest{SessionId: s2})
				if err != nil {
					t.Fatal(err)
				}
				return []proto.Message{byA, byB, sess, bySession, stats(c, q)}
			}
			live := read(admin, adm, e.Deps.Projections)

			store := fresh()
			svc := e.Rebuild(t, store, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			rebuilt := read(admin, direct{svc}, store)
			for i := range live {
				if !proto.Equal(live[i], rebuilt[i]) {
					t.Fatalf("rebuilt answer %d differs:\n%v\nlive\n%v", i, rebuilt[i], live[i])
				}
			}
			for _, key := range []string{"booking:" + s1 + "/" + a, "booking:" + s2 + "/" + a, "booking:" + s2 + "/" + b} {
				l, _ := value(t, e.Deps.Projections, catalogueProjection, key)
				r, _ := value(t, store, catalogueProjection, key)
				if l == "" || l != r {
					t.Fatalf("%s: rebuilt %s, live %s", key, r, l)
				}
			}
		})
	}
}

// The catalogue of the earlier version, which copied texts, is deleted by
// the job (run here by hand: it runs once at start, then hourly); the
// current read models are left alone.
func TestEarlierReadModelsAreDeleted(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	publishOffer(t, e, offerProfile("op-5"))
	e.CaughtUp(t)
	store := e.Deps.Projections
	gen, err := store.Generation(ctx(t), "immersion-catalogue")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(ctx(t), "immersion-catalogue", gen, 7, projection.Put("booking:s/l", []byte(`{"reason":"moved to Rouen"}`))); err != nil {
		t.Fatal(err)
	}
	if err := platform.RetireReadModels(ctx(t), store, e.Services[0].Wiring().Retired, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if v, ok := value(t, store, "immersion-catalogue", "booking:s/l"); ok {
		t.Fatalf("the earlier catalogue is still there: %s", v)
	}
	if cp, err := store.Checkpoint(ctx(t), catalogueProjection); err != nil || cp == 0 {
		t.Fatalf("the current catalogue: checkpoint %d, %v", cp, err)
	}
}
