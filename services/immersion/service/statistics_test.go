package service_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// count is a count of people given as it is; few, one withheld.
func count(n int32) *commonv1.Count { return &commonv1.Count{Value: n} }

func few() *commonv1.Count { return &commonv1.Count{FewerThanFive: true} }

// An admin reads every count of people exactly; a funder gets those from 1
// to 4 withheld (fewer_than_five, value 0, the deprecated int32 field 0),
// with the rates computed from them 0, in the rows and the total alike;
// counts of 5 and more, 0, sessions and places come through unchanged.
func TestStatisticsWithholdCountsUnderFive(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	welding := publishOffer(t, e, offerProfile("op-5", "H2913"))
	masonry := publishOffer(t, e, offerProfile("op-5", "F1703"))
	// Welding: 6 places, all booked, 2 learners waiting; masonry: 4 places,
	// 3 booked.
	big := scheduleSession(t, e.admin, welding, 3, 2, 6)
	small := scheduleSession(t, e.admin, masonry, 3, 2, 4)
	var learners []string
	for range 11 {
		learners = append(learners, learner(t, e, "T05", adult))
	}
	e.CaughtUp(t)
	for _, l := range learners[:8] {
		book(t, e.admin, big.GetSessionId(), l)
	}
	for _, l := range learners[8:] {
		book(t, e.admin, small.GetSessionId(), l)
	}

	// Once the sessions are over: welding 5 completed and 1 did not show;
	// masonry 2 completed and 1 partially.
	e.SetNow(e.Now().AddDate(0, 0, 15))
	admin := e.as(t, servicetest.Admin) // a token of the new day
	record := func(session, learner string, status immersionv1.OutcomeStatus) {
		t.Helper()
		req := &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: session, LearnerId: learner, Status: status}
		switch status {
		case immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED:
			req.TradeFit = immersionv1.TradeFit_TRADE_FIT_CONFIRMED
		case immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED:
			req.TradeFit, req.LastDayPresent, req.MinutesDone = immersionv1.TradeFit_TRADE_FIT_NOT_FOR_ME, civilpb.FromDate(today.AddDays(3)), 420
		}
		if _, err := admin.RecordOutcome(ctx(t), req); err != nil {
			t.Fatalf("RecordOutcome %v: %v", req, err)
		}
	}
	completed, partial, noShow := immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED, immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW
	for _, l := range learners[:5] {
		record(big.GetSessionId(), l, completed)
	}
	record(big.GetSessionId(), learners[5], noShow)
	record(small.GetSessionId(), learners[8], completed)
	record(small.GetSessionId(), learners[9], completed)
	record(small.GetSessionId(), learners[10], partial)
	e.CaughtUp(t)

	exact := &immersionv1.GetImmersionStatisticsResponse{
		Rows: []*immersionv1.ImmersionStatistics{
			{
				TerritoryCode: "T05", RomeCode: "F1703", Sessions: 1, PlacesOffered: 4,
				BookedLearners: count(3), WaitlistedLearners: count(0), LearnersWithOutcome: count(3),
				LearnersCompleted: count(2), LearnersPartiallyCompleted: count(1), LearnersNotShown: count(0),
				Booked: 3, OutcomesRecorded: 3, Completed: 2, PartiallyCompleted: 1,
				FillRatePerMille: 750, CompletionRatePerMille: 666,
			},
			{
				TerritoryCode: "T05", RomeCode: "H2913", Sessions: 1, PlacesOffered: 6,
				BookedLearners: count(6), WaitlistedLearners: count(2), LearnersWithOutcome: count(6),
				LearnersCompleted: count(5), LearnersPartiallyCompleted: count(0), LearnersNotShown: count(1),
				Booked: 6, Waitlisted: 2, OutcomesRecorded: 6, Completed: 5, DidNotShow: 1,
				FillRatePerMille: 1000, CompletionRatePerMille: 833, NoShowRatePerMille: 166,
			},
		},
		Total: &immersionv1.ImmersionStatistics{
			Sessions: 2, PlacesOffered: 10,
			BookedLearners: count(9), WaitlistedLearners: count(2), LearnersWithOutcome: count(9),
			LearnersCompleted: count(7), LearnersPartiallyCompleted: count(1), LearnersNotShown: count(1),
			Booked: 9, Waitlisted: 2, OutcomesRecorded: 9, Completed: 7, PartiallyCompleted: 1, DidNotShow: 1,
			FillRatePerMille: 900, CompletionRatePerMille: 777, NoShowRatePerMille: 111,
		},
	}
	withheld := &immersionv1.GetImmersionStatisticsResponse{
		Rows: []*immersionv1.ImmersionStatistics{
			{
				// Every rate hides a count: 0.
				TerritoryCode: "T05", RomeCode: "F1703", Sessions: 1, PlacesOffered: 4,
				BookedLearners: few(), WaitlistedLearners: count(0), LearnersWithOutcome: few(),
				LearnersCompleted: few(), LearnersPartiallyCompleted: few(), LearnersNotShown: count(0),
			},
			{
				// 6 outcomes, 0 partial: the 5 completed would give the no-show
				// back, so they are withheld with it (and their rate).
				TerritoryCode: "T05", RomeCode: "H2913", Sessions: 1, PlacesOffered: 6,
				BookedLearners: count(6), WaitlistedLearners: few(), LearnersWithOutcome: count(6),
				LearnersCompleted: few(), LearnersPartiallyCompleted: count(0), LearnersNotShown: few(),
				Booked: 6, OutcomesRecorded: 6,
				FillRatePerMille: 1000,
			},
		},
		Total: &immersionv1.ImmersionStatistics{
			Sessions: 2, PlacesOffered: 10,
			BookedLearners: count(9), WaitlistedLearners: few(), LearnersWithOutcome: count(9),
			LearnersCompleted: count(7), LearnersPartiallyCompleted: few(), LearnersNotShown: few(),
			Booked: 9, OutcomesRecorded: 9, Completed: 7,
			FillRatePerMille: 900, CompletionRatePerMille: 777,
		},
	}
	req := &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today.AddDays(30))}
	for _, tc := range []struct {
		name string
		as   auth.Principal
		want *immersionv1.GetImmersionStatisticsResponse
	}{
		{"admin", servicetest.Admin, exact},
		{"funder", funder, withheld},
	} {
		got, err := e.as(t, tc.as).GetImmersionStatistics(ctx(t), req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !proto.Equal(got, tc.want) {
			t.Errorf("%s reads\n%v\nwant\n%v", tc.name, got, tc.want)
		}
	}
}
