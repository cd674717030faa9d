package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/service"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// A right-to-left override (U+202E, which makes a text display otherwise
// than it reads) or a control character in a name or a free text is refused
// as InvalidArgument on that field, and nothing is stored; so are territory
// and operator codes outside the shared rules.
func TestNamesFreeTextsAndCodesAreRefusedWithNothingStored(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	ref, op5 := e.as(t, referentT05), e.as(t, operator5)
	offer := publishOffer(t, e, offerProfile("op-5"))
	s := scheduleSession(t, op5, offer, 10, 5, 4).GetSessionId()
	lea := learner(t, e, "T05", adult)
	e.CaughtUp(t)
	book(t, ref, s, lea)

	stored := len(e.Events(t, service.Stream, "avenir.immersion.>"))
	with := func(change func(*immersionv1.OfferProfile)) *immersionv1.OfferProfile {
		p := offerProfile("op-5")
		change(p)
		return p
	}
	for _, c := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"an override in the platform's name", func() error {
			_, err := e.admin.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: event.NewID(),
				Profile: with(func(p *immersionv1.OfferProfile) { p.Platform.Name = "Plateau \u202Eerudnos" })})
			return err
		}, "profile.platform.name"},
		{"a control character in the address", func() error {
			_, err := e.admin.UpdateOffer(ctx(t), &immersionv1.UpdateOfferRequest{RequestId: event.NewID(), OfferId: offer,
				Profile: with(func(p *immersionv1.OfferProfile) { p.Platform.Address = "1 rue de l'Usine\x07" })})
			return err
		}, "profile.platform.address"},
		{"an override in the description", func() error {
			_, err := e.admin.UpdateOffer(ctx(t), &immersionv1.UpdateOfferRequest{RequestId: event.NewID(), OfferId: offer,
				Profile: with(func(p *immersionv1.OfferProfile) { p.Description = "Soudage \u202Ecra'l à" })})
			return err
		}, "profile.description"},
		{"an override in the withdrawal reason", func() error {
			_, err := e.admin.WithdrawOffer(ctx(t), &immersionv1.WithdrawOfferRequest{RequestId: event.NewID(), OfferId: offer, Reason: "accreditation \u202Etsol"})
			return err
		}, "reason"},
		{"a control character in the cancellation reason", func() error {
			_, err := ref.CancelBooking(ctx(t), &immersionv1.CancelBookingRequest{RequestId: event.NewID(), SessionId: s, LearnerId: lea, Reason: "found a job\x1b[2J"})
			return err
		}, "reason"},
		{"an override in the outcome's comment", func() error {
			_, err := op5.RecordOutcome(ctx(t), &immersionv1.RecordOutcomeRequest{RequestId: event.NewID(), SessionId: s, LearnerId: lea,
				Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, TradeFit: immersionv1.TradeFit_TRADE_FIT_CONFIRMED, Comment: "très \u202Eévitom"})
			return err
		}, "comment"},
		{"a territory that is not T and two digits", func() error {
			_, err := e.admin.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: event.NewID(),
				Profile: with(func(p *immersionv1.OfferProfile) { p.Platform.TerritoryCode = "Eure" })})
			return err
		}, "profile.platform.territory_code"},
		{"an operator id with a space", func() error {
			_, err := e.admin.PublishOffer(ctx(t), &immersionv1.PublishOfferRequest{RequestId: event.NewID(),
				Profile: with(func(p *immersionv1.OfferProfile) { p.OperatorId = "op 5" })})
			return err
		}, "profile.operator_id"},
		{"a territory filter that is not a territory", func() error {
			_, err := ref.SearchSessions(ctx(t), &immersionv1.SearchSessionsRequest{TerritoryCode: "T5"})
			return err
		}, "territory_code"},
		{"an operator filter that is not a code", func() error {
			_, err := e.admin.ListBookings(ctx(t), &immersionv1.ListBookingsRequest{OperatorId: "op/5"})
			return err
		}, "operator_id"},
		{"a territory of the statistics that is not a territory", func() error {
			_, err := e.admin.GetImmersionStatistics(ctx(t), &immersionv1.GetImmersionStatisticsRequest{
				FromDate: offerProfile("op-5").GetAccreditedFrom(), ToDate: offerProfile("op-5").GetAccreditedFrom(), TerritoryCodes: []string{"T05", "t06"}})
			return err
		}, "territory_codes[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			servicetest.Refused(t, c.call(), codes.InvalidArgument, c.field)
		})
	}
	if n := len(e.Events(t, service.Stream, "avenir.immersion.>")); n != stored {
		t.Fatalf("refused requests appended %d events", n-stored)
	}
}
