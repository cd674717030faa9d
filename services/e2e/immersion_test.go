package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// An #Action immersion through the public APIs: an admin publishes an offer
// and schedules a one-day session today; the learner's referent books it
// (the pathway read model of immersion must know the learner first); the
// operator records the outcome; pathway moves the learner to discovering
// trades and the timeline shows the booking and the outcome.
func TestImmersionJourney(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	addrs, _ := servertest.Run(t, cfg)
	learner, _ := journey(t, dialAs(t, addrs.GRPC, cfg.DataDir, referent), "immersion-journey")
	id := learner.GetLearnerId()

	today := civil.Of(time.Now())
	admin := immersionv1.NewImmersionServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))
	offer, err := admin.PublishOffer(callCtx(t), &immersionv1.PublishOfferRequest{RequestId: "e2e-offer", Profile: &immersionv1.OfferProfile{
		OperatorId: "op-e2e",
		Platform:   &immersionv1.TechnicalPlatform{Name: "Plateau bâtiment AFPA", Address: "1 rue de la Forge, Alençon", CommuneCode: "61001", TerritoryCode: "T13"},
		RomeCodes:  []string{"F1703"}, AccreditedFrom: civilpb.FromDate(today.AddDays(-10)), AccreditedTo: civilpb.FromDate(today.AddDays(365)),
		Accessible: true,
	}})
	if err != nil {
		t.Fatalf("publish offer: %v", err)
	}
	sess, err := admin.ScheduleSession(callCtx(t), &immersionv1.ScheduleSessionRequest{
		RequestId: "e2e-session", OfferId: offer.GetOffer().GetOfferId(), FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today),
		DailyMinutes: 420, Capacity: 1, BookingDeadline: civilpb.FromDate(today),
	})
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	sessionID := sess.GetSession().GetSessionId()

	ref := immersionv1.NewImmersionServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, referent))
	servicetest.Eventually(t, 10*time.Second, func() error {
		// Immersion learns the entry from PATHWAY asynchronously.
		resp, err := ref.BookPlace(callCtx(t), &immersionv1.BookPlaceRequest{RequestId: "e2e-book", SessionId: sessionID, LearnerId: id})
		if err != nil {
			return err
		}
		if resp.GetBooking().GetStatus() != immersionv1.BookingStatus_BOOKING_STATUS_BOOKED {
			t.Fatalf("booking %v", resp.GetBooking())
		}
		return nil
	})

	operator := auth.Principal{Subject: "e2e-operator", Role: auth.RoleOperator, OperatorID: "op-e2e", Territories: []string{"T13"}}
	op := immersionv1.NewImmersionServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, operator))
	if _, err := op.RecordOutcome(callCtx(t), &immersionv1.RecordOutcomeRequest{
		RequestId: "e2e-outcome", SessionId: sessionID, LearnerId: id, Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED,
		TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED,
	}); err != nil {
		t.Fatalf("outcome: %v", err)
	}

	pw := pathwayv1.NewPathwayServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, referent))
	servicetest.Eventually(t, 10*time.Second, func() error {
		got, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
		if err != nil {
			return err
		}
		if got.GetPathway().GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_DISCOVERING_TRADES {
			return fmt.Errorf("phase %v", got.GetPathway().GetPhase())
		}
		timeline, err := pw.GetTimeline(callCtx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
		if err != nil {
			return err
		}
		var immersion []string
		for _, e := range timeline.GetEntries() {
			if e.GetSource() == "immersion" {
				immersion = append(immersion, e.GetSummary())
			}
		}
		if len(immersion) != 2 || !strings.HasPrefix(immersion[0], "Immersion booked: session "+sessionID) ||
			!strings.HasPrefix(immersion[1], "Immersion completed: session "+sessionID+", trades F1703; trade fit: confirmed") {
			return fmt.Errorf("immersion entries %q", immersion)
		}
		return nil
	})

	// Admins read the figures exactly: one place offered, booked and
	// completed.
	servicetest.Eventually(t, 10*time.Second, func() error {
		stats, err := admin.GetImmersionStatistics(callCtx(t), &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today)})
		if err != nil {
			return err
		}
		if tot := stats.GetTotal(); tot.GetPlacesOffered() != 1 || tot.GetBookedLearners().GetValue() != 1 || tot.GetLearnersCompleted().GetValue() != 1 ||
			tot.GetFillRatePerMille() != 1000 || tot.GetCompletionRatePerMille() != 1000 {
			return fmt.Errorf("statistics %v", tot)
		}
		return nil
	})
	// A funder reads the place offered; one learner booked and completed is
	// fewer than five, withheld with the rates computed from it.
	funder := immersionv1.NewImmersionServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, auth.Principal{Subject: "e2e-funder", Role: auth.RoleFunder}))
	stats, err := funder.GetImmersionStatistics(callCtx(t), &immersionv1.GetImmersionStatisticsRequest{FromDate: civilpb.FromDate(today), ToDate: civilpb.FromDate(today)})
	if err != nil {
		t.Fatal(err)
	}
	if tot := stats.GetTotal(); tot.GetPlacesOffered() != 1 || !tot.GetBookedLearners().GetFewerThanFive() || !tot.GetLearnersCompleted().GetFewerThanFive() ||
		tot.GetBooked() != 0 || tot.GetCompleted() != 0 || tot.GetFillRatePerMille() != 0 || tot.GetCompletionRatePerMille() != 0 {
		t.Fatalf("a funder reads %v", tot)
	}
}
