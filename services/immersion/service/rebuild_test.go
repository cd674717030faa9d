package service_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The read models, in memory or in Redis, are rebuilt from the streams into
// an empty store and answer the same: sessions found, a session's places
// and waitlist, bookings, statistics.
func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, store)
			opts := servicetest.Options{Store: fresh()}
			e := start(t, opts)
			ref, op5 := e.as(t, referentT05), e.as(t, operator5)
			offer := publishOffer(t, e, offerProfile("op-5", "H2909", "F1703"))
			s := scheduleSession(t, op5, offer, 10, 5, 2)
			a, b, c := learner(t, e, "T05", adult), learner(t, e, "T05", adult), learner(t, e, "T05", adult)
			e.CaughtUp(t)
			for _, id := range []string{a, b, c} {
				book(t, ref, s.GetSessionId(), id)
			}
			if _, err := ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{
				RequestId: event.NewID(), SessionId: s.GetSessionId(), LearnerId: a, Reason: "found a job",
			}); err != nil {
				t.Fatal(err)
			}
			e.CaughtUp(t)
			before := snapshot(t, ctx(t), e.admin, s.GetSessionId())

			// Restart with an empty store: the same durable consumers replay
			// the streams into it.
			deps := e.Deps
			deps.Projections = fresh()
			svc := e.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			after := snapshot(t, auth.NewContext(ctx(t), servicetest.Admin), direct{svc}, s.GetSessionId())
			for i := range before {
				if !proto.Equal(before[i], after[i]) {
					t.Fatalf("rebuilt read model %d differs:\nbefore %v\nafter  %v", i, before[i], after[i])
				}
			}
			if got := after[1].(*immersionv1.GetSessionResponse).GetSession(); got.GetBooked() != 2 || got.GetWaitlistLength() != 0 {
				t.Fatalf("session after a cancellation and a promotion: %v", got)
			}
		})
	}
}

// queries are the read-model queries, served over gRPC or called directly.
type queries interface {
	SearchSessions(context.Context, *immersionv1.SearchSessionsRequest, ...grpc.CallOption) (*immersionv1.SearchSessionsResponse, error)
	GetSession(context.Context, *immersionv1.GetSessionRequest, ...grpc.CallOption) (*immersionv1.GetSessionResponse, error)
	ListBookings(context.Context, *immersionv1.ListBookingsRequest, ...grpc.CallOption) (*immersionv1.ListBookingsResponse, error)
	GetImmersionStatistics(context.Context, *immersionv1.GetImmersionStatisticsRequest, ...grpc.CallOption) (*immersionv1.GetImmersionStatisticsResponse, error)
}

// direct calls a service that serves no gRPC.
type direct struct{ svc *service.Service }

func (d direct) SearchSessions(c context.Context, r *immersionv1.SearchSessionsRequest, _ ...grpc.CallOption) (*immersionv1.SearchSessionsResponse, error) {
	return d.svc.SearchSessions(c, r)
}

func (d direct) GetSession(c context.Context, r *immersionv1.GetSessionRequest, _ ...grpc.CallOption) (*immersionv1.GetSessionResponse, error) {
	return d.svc.GetSession(c, r)
}

func (d direct) ListBookings(c context.Context, r *immersionv1.ListBookingsRequest, _ ...grpc.CallOption) (*immersionv1.ListBookingsResponse, error) {
	return d.svc.ListBookings(c, r)
}

func (d direct) GetImmersionStatistics(c context.Context, r *immersionv1.GetImmersionStatisticsRequest, _ ...grpc.CallOption) (*immersionv1.GetImmersionStatisticsResponse, error) {
	return d.svc.GetImmersionStatistics(c, r)
}

func snapshot(t *testing.T, c context.Context, q queries, sessionID string) []proto.Message {
	t.Helper()
	search, err := q.SearchSessions(c, &immersionv1.SearchSessionsRequest{RomeCode: "H2909"})
	if err != nil || len(search.GetSessions()) != 1 {
		t.Fatalf("search: %v %v", search, err)
	}
	sess, err := q.GetSession(c, &immersionv1.GetSessionRequest{SessionId: sessionID})
	if err != nil {
		t.Fatal(err)
	}
	bookings, err := q.ListBookings(c, &immersionv1.ListBookingsRequest{SessionId: sessionID})
	if err != nil || len(bookings.GetBookings()) != 3 {
		t.Fatalf("bookings: %v %v", bookings, err)
	}
	stats, err := q.GetImmersionStatistics(c, &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(30))})
	if err != nil {
		t.Fatal(err)
	}
	return []proto.Message{search, sess, bookings, stats}
}
