package service

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The aggregates: offers on avenir.immersion.offer.<offer id>.<event>,
// sessions on avenir.immersion.session.<session id>.<event> and each
// learner's reservations on avenir.immersion.learner.<learner id>.<event>.
var (
	offerKind        = kind("offer", domain.EvolveOffer)
	sessionKind      = kind("session", domain.EvolveSession)
	reservationsKind = kind("learner", domain.EvolveLearner)
)

// kind is the aggregate kind whose events lie on avenir.immersion.<agg>.
func kind[S any](agg string, evolve func(S, domain.Event) S) eventstore.Kind[S, domain.Event] {
	prefix := "avenir.immersion." + agg + "."
	return eventstore.Kind[S, domain.Event]{
		Stream: Stream,
		Prefix: prefix,
		Decode: func(ev event.Event) (domain.Event, bool) {
			if !strings.HasPrefix(ev.Subject, prefix) {
				return nil, false
			}
			return decode(ev)
		},
		Evolve: evolve,
		Encode: drafts,
	}
}

var (
	outcomes = map[domain.OutcomeStatus]immersionv1.OutcomeStatus{
		domain.OutcomeCompleted: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED,
		domain.OutcomePartial:   immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED,
		domain.OutcomeNoShow:    immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW,
	}
	fits = map[domain.TradeFit]immersionv1.TradeFit{
		domain.FitConfirmed: immersionv1.TradeFit_TRADE_FIT_CONFIRMED,
		domain.FitExplore:   immersionv1.TradeFit_TRADE_FIT_TO_EXPLORE_FURTHER,
		domain.FitNotForMe:  immersionv1.TradeFit_TRADE_FIT_NOT_FOR_ME,
	}
	causes = map[domain.CancellationCause]immersionv1.CancellationCause{
		domain.CauseReferent:       immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT,
		domain.CauseOperator:       immersionv1.CancellationCause_CANCELLATION_CAUSE_OPERATOR,
		domain.CauseAdmin:          immersionv1.CancellationCause_CANCELLATION_CAUSE_ADMIN,
		domain.CausePathwayExit:    immersionv1.CancellationCause_CANCELLATION_CAUSE_PATHWAY_EXIT,
		domain.CauseOfferWithdrawn: immersionv1.CancellationCause_CANCELLATION_CAUSE_OFFER_WITHDRAWN,
	}
	drops = map[domain.DropReason]immersionv1.DropReason{
		domain.DropNotInPathway: immersionv1.DropReason_DROP_REASON_NOT_IN_PATHWAY,
		domain.DropOverlapping:  immersionv1.DropReason_DROP_REASON_OVERLAPPING_BOOKING,
	}
)

func profileFromProto(p *immersionv1.OfferProfile) domain.OfferProfile {
	return domain.NormalizeProfile(domain.OfferProfile{
		OperatorID: p.GetOperatorId(),
		Platform: domain.Platform{
			Name: p.GetPlatform().GetName(), Address: p.GetPlatform().GetAddress(),
			CommuneCode: p.GetPlatform().GetCommuneCode(), Territory: p.GetPlatform().GetTerritoryCode(),
		},
		Trades:         p.GetRomeCodes(),
		AccreditedFrom: civilpb.Date(p.GetAccreditedFrom()), AccreditedTo: civilpb.Date(p.GetAccreditedTo()),
		Accessible: p.GetAccessible(), Description: p.GetDescription(),
	})
}

func profileToProto(p domain.OfferProfile) *immersionv1.OfferProfile {
	return &immersionv1.OfferProfile{
		OperatorId: p.OperatorID,
		Platform: &immersionv1.TechnicalPlatform{
			Name: p.Platform.Name, Address: p.Platform.Address, CommuneCode: p.Platform.CommuneCode, TerritoryCode: p.Platform.Territory,
		},
		RomeCodes:      p.Trades,
		AccreditedFrom: civilpb.FromDate(p.AccreditedFrom), AccreditedTo: civilpb.FromDate(p.AccreditedTo),
		Accessible: p.Accessible, Description: p.Description,
	}
}

func outcomeToProto(o domain.Outcome) *immersionv1.Outcome {
	return &immersionv1.Outcome{
		Status: outcomes[o.Status], LastDayPresent: civilpb.FromDate(o.LastDay), MinutesDone: int32(o.Minutes),
		MinutesScheduled: int32(o.Scheduled), TradeFit: fits[o.Fit], Comment: o.Comment,
	}
}

func dateOf(p *commonv1.Date) civil.Date { return civilpb.Date(p) }

// draft turns a domain event into the draft of its aggregate.
func draft(ev domain.Event) (event.Draft, error) {
	var (
		agg, id, name string
		data          proto.Message
	)
	switch e := ev.(type) {
	case domain.OfferPublished:
		agg, id, name = "offer", e.OfferID, "published"
		data = &immersionv1.OfferPublished{OfferId: e.OfferID, Profile: profileToProto(e.Profile)}
	case domain.OfferUpdated:
		agg, id, name = "offer", e.OfferID, "updated"
		data = &immersionv1.OfferUpdated{OfferId: e.OfferID, Profile: profileToProto(e.Profile)}
	case domain.OfferWithdrawn:
		agg, id, name = "offer", e.OfferID, "withdrawn"
		data = &immersionv1.OfferWithdrawn{OfferId: e.OfferID, Reason: e.Reason, WithdrawnOn: civilpb.FromDate(e.On), OperatorId: e.OperatorID}
	case domain.SessionAttached:
		agg, id, name = "offer", e.OfferID, "session_attached"
		data = &immersionv1.SessionAttached{OfferId: e.OfferID, SessionId: e.Session.ID, FromDate: civilpb.FromDate(e.Session.From), ToDate: civilpb.FromDate(e.Session.To)}
	case domain.SessionScheduled:
		agg, id, name = "session", e.SessionID, "scheduled"
		data = &immersionv1.SessionScheduled{
			SessionId: e.SessionID, OfferId: e.OfferID, OperatorId: e.OperatorID, TerritoryCode: e.Territory, RomeCodes: e.Trades,
			Accessible: e.Accessible, FromDate: civilpb.FromDate(e.Schedule.From), ToDate: civilpb.FromDate(e.Schedule.To),
			DailyMinutes: int32(e.Schedule.DailyMinutes), Capacity: int32(e.Schedule.Capacity),
			BookingDeadline: civilpb.FromDate(e.Schedule.Deadline), AccreditedTo: civilpb.FromDate(e.AccreditedTo),
		}
	case domain.CapacityChanged:
		agg, id, name = "session", e.SessionID, "capacity_changed"
		data = &immersionv1.SessionCapacityChanged{SessionId: e.SessionID, PreviousCapacity: int32(e.Previous), Capacity: int32(e.Capacity)}
	case domain.SessionCancelled:
		agg, id, name = "session", e.SessionID, "cancelled"
		data = &immersionv1.SessionCancelled{SessionId: e.SessionID, Cause: immersionv1.SessionCancellation_SESSION_CANCELLATION_OFFER_WITHDRAWN, Reason: e.Reason}
	case domain.PlaceBooked:
		agg, id, name = "session", e.SessionID, "booked"
		data = &immersionv1.PlaceBooked{
			SessionId: e.SessionID, LearnerId: e.LearnerID, PromotedFromWaitlist: e.Promoted, Booked: int32(e.Booked), Capacity: int32(e.Capacity),
			OfferId: e.OfferID, OperatorId: e.OperatorID, FromDate: civilpb.FromDate(e.From), ToDate: civilpb.FromDate(e.To),
		}
	case domain.Waitlisted:
		agg, id, name = "session", e.SessionID, "waitlisted"
		data = &immersionv1.Waitlisted{SessionId: e.SessionID, LearnerId: e.LearnerID, Position: int32(e.Position)}
	case domain.BookingCancelled:
		agg, id, name = "session", e.SessionID, "booking_cancelled"
		data = &immersionv1.BookingCancelled{SessionId: e.SessionID, LearnerId: e.LearnerID, WasWaitlisted: e.WasWaitlisted, Cause: causes[e.Cause], Reason: e.Reason}
	case domain.WaitlistDropped:
		agg, id, name = "session", e.SessionID, "waitlist_dropped"
		data = &immersionv1.WaitlistDropped{SessionId: e.SessionID, LearnerId: e.LearnerID, Reason: drops[e.Reason]}
	case domain.OutcomeRecorded:
		agg, id, name = "session", e.SessionID, "outcome_recorded"
		o := e.Outcome
		data = &immersionv1.OutcomeRecorded{
			SessionId: e.SessionID, LearnerId: e.LearnerID, Status: outcomes[o.Status], LastDayPresent: civilpb.FromDate(o.LastDay),
			MinutesDone: int32(o.Minutes), MinutesScheduled: int32(o.Scheduled), TradeFit: fits[o.Fit], Comment: o.Comment,
			OfferId: e.OfferID, OperatorId: e.OperatorID, RomeCodes: e.Trades,
		}
	case domain.DatesReserved:
		agg, id, name = "learner", e.LearnerID, "reserved"
		data = &immersionv1.DatesReserved{LearnerId: e.LearnerID, SessionId: e.SessionID, FromDate: civilpb.FromDate(e.From), ToDate: civilpb.FromDate(e.To)}
	case domain.DatesReleased:
		agg, id, name = "learner", e.LearnerID, "released"
		data = &immersionv1.DatesReleased{LearnerId: e.LearnerID, SessionId: e.SessionID, FromDate: civilpb.FromDate(e.From), ToDate: civilpb.FromDate(e.To)}
	case domain.PathwayLeft:
		agg, id, name = "learner", e.LearnerID, "pathway_left"
		data = &immersionv1.PathwayLeft{LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ExitDate: civilpb.FromDate(e.Exit)}
	default:
		return event.Draft{}, fmt.Errorf("immersion: no codec for %T", ev)
	}
	return event.Draft{Subject: "avenir.immersion." + agg + "." + id + "." + name, AggregateID: id, Data: data}, nil
}

// drafts gives a decision's events their wire form, in order: the Encode of
// every kind, so that a command over several aggregates encodes its events
// in one batch.
func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, len(evs))
	for i, ev := range evs {
		d, err := draft(ev)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// decode turns a stored event into a domain event; events of other types
// (added by a later version) are skipped.
func decode(ev event.Event) (domain.Event, bool) {
	switch m := ev.Data.(type) {
	case *immersionv1.OfferPublished:
		return domain.OfferPublished{OfferID: m.GetOfferId(), Profile: profileFromProto(m.GetProfile())}, true
	case *immersionv1.OfferUpdated:
		return domain.OfferUpdated{OfferID: m.GetOfferId(), Profile: profileFromProto(m.GetProfile())}, true
	case *immersionv1.OfferWithdrawn:
		return domain.OfferWithdrawn{OfferID: m.GetOfferId(), OperatorID: m.GetOperatorId(), Reason: m.GetReason(), On: dateOf(m.GetWithdrawnOn())}, true
	case *immersionv1.SessionAttached:
		return domain.SessionAttached{OfferID: m.GetOfferId(), Session: domain.SessionRef{ID: m.GetSessionId(), From: dateOf(m.GetFromDate()), To: dateOf(m.GetToDate())}}, true
	case *immersionv1.SessionScheduled:
		return domain.SessionScheduled{
			SessionID: m.GetSessionId(), OfferID: m.GetOfferId(), OperatorID: m.GetOperatorId(), Territory: m.GetTerritoryCode(),
			Trades: m.GetRomeCodes(), Accessible: m.GetAccessible(), AccreditedTo: dateOf(m.GetAccreditedTo()),
			Schedule: domain.Schedule{
				From: dateOf(m.GetFromDate()), To: dateOf(m.GetToDate()), DailyMinutes: int(m.GetDailyMinutes()),
				Capacity: int(m.GetCapacity()), Deadline: dateOf(m.GetBookingDeadline()),
			},
		}, true
	case *immersionv1.SessionCapacityChanged:
		return domain.CapacityChanged{SessionID: m.GetSessionId(), Previous: int(m.GetPreviousCapacity()), Capacity: int(m.GetCapacity())}, true
	case *immersionv1.SessionCancelled:
		return domain.SessionCancelled{SessionID: m.GetSessionId(), Reason: m.GetReason()}, true
	case *immersionv1.PlaceBooked:
		return domain.PlaceBooked{
			SessionID: m.GetSessionId(), LearnerID: m.GetLearnerId(), Promoted: m.GetPromotedFromWaitlist(), Booked: int(m.GetBooked()),
			Capacity: int(m.GetCapacity()), OfferID: m.GetOfferId(), OperatorID: m.GetOperatorId(), From: dateOf(m.GetFromDate()), To: dateOf(m.GetToDate()),
		}, true
	case *immersionv1.Waitlisted:
		return domain.Waitlisted{SessionID: m.GetSessionId(), LearnerID: m.GetLearnerId(), Position: int(m.GetPosition())}, true
	case *immersionv1.BookingCancelled:
		return domain.BookingCancelled{
			SessionID: m.GetSessionId(), LearnerID: m.GetLearnerId(), WasWaitlisted: m.GetWasWaitlisted(),
			Cause: platform.FromWire(causes, m.GetCause()), Reason: m.GetReason(),
		}, true
	case *immersionv1.WaitlistDropped:
		return domain.WaitlistDropped{SessionID: m.GetSessionId(), LearnerID: m.GetLearnerId(), Reason: platform.FromWire(drops, m.GetReason())}, true
	case *immersionv1.OutcomeRecorded:
		return domain.OutcomeRecorded{
			SessionID: m.GetSessionId(), LearnerID: m.GetLearnerId(), OfferID: m.GetOfferId(), OperatorID: m.GetOperatorId(), Trades: m.GetRomeCodes(),
			Outcome: domain.Outcome{
				Status: platform.FromWire(outcomes, m.GetStatus()), LastDay: dateOf(m.GetLastDayPresent()), Minutes: int(m.GetMinutesDone()),
				Scheduled: int(m.GetMinutesScheduled()), Fit: platform.FromWire(fits, m.GetTradeFit()), Comment: m.GetComment(),
			},
		}, true
	case *immersionv1.DatesReserved:
		return domain.DatesReserved{LearnerID: m.GetLearnerId(), SessionID: m.GetSessionId(), From: dateOf(m.GetFromDate()), To: dateOf(m.GetToDate())}, true
	case *immersionv1.PathwayLeft:
		return domain.PathwayLeft{LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Exit: dateOf(m.GetExitDate())}, true
	case *immersionv1.DatesReleased:
		return domain.DatesReleased{LearnerID: m.GetLearnerId(), SessionID: m.GetSessionId(), From: dateOf(m.GetFromDate()), To: dateOf(m.GetToDate())}, true
	}
	return nil, false
}
