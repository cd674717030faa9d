package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// BookPlace implements immersionv1.ImmersionServiceServer. The booking is
// decided over the session and the learner's reservations, and appended to
// both in one atomic batch: places are never overbooked and a learner is
// never booked twice on the same dates, whatever the concurrency.
func (s *Service) BookPlace(ctx context.Context, req *immersionv1.BookPlaceRequest) (*immersionv1.BookPlaceResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "session_id", req.GetSessionId())
	checkID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	learnerID := req.GetLearnerId()
	facts, territory, err := s.learnerFacts(ctx, learnerID)
	if err != nil {
		return nil, err
	}
	scope, err := s.caseload.Scope(ctx, learnerID, territory)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !mayBook(caller, scope) {
		// Out of scope reads as unknown, so existence does not leak.
		return nil, auth.Denied("learner", learnerID)
	}
	sess, err := s.sessionFor(ctx, req.GetSessionId(), func(domain.Session) bool { return true })
	if err != nil {
		return nil, err
	}
	offer, err := s.loadOffer(ctx, sess.OfferID)
	if err != nil {
		return nil, err
	}
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	cmd := domain.BookPlace{SessionID: req.GetSessionId(), Learner: facts, Today: s.today()}
	after, _, err := s.execSession(ctx, meta, req.GetSessionId(),
		func(domain.Session, int) []string { return []string{learnerID} },
		func(sess domain.Session, loaded map[string]domain.LearnerSchedule, _ domain.Eligibility) ([]domain.Event, error) {
			return domain.DecideBook(sess, offer, loaded[learnerID], cmd)
		})
	if err != nil {
		return nil, err
	}
	return &immersionv1.BookPlaceResponse{Booking: bookingOf(after, learnerID)}, nil
}

// bookingOf is the learner's booking as the session holds it.
func bookingOf(sess domain.Session, learnerID string) *immersionv1.Booking {
	b := &immersionv1.Booking{
		SessionId: sess.ID, LearnerId: learnerID, OfferId: sess.OfferID, OperatorId: sess.OperatorID, TerritoryCode: sess.Territory,
		RomeCodes: sess.Trades, FromDate: civilpb.FromDate(sess.From), ToDate: civilpb.FromDate(sess.To),
	}
	if p, ok := sess.PlaceOf(learnerID); ok {
		b.Status, b.PromotedFromWaitlist, b.WaitlistPosition = immersionv1.BookingStatus_BOOKING_STATUS_BOOKED, p.Promoted, int32(p.Position)
	} else if r := sess.RankOf(learnerID); r > 0 {
		b.Status, b.WaitlistPosition = immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED, int32(sess.Waitlist[r-1].Position)
	}
	if o, ok := sess.Outcomes[learnerID]; ok {
		b.Outcome = outcomeToProto(o)
		b.Status = immersionv1.BookingStatus_BOOKING_STATUS_BOOKED
	}
	return b
}

// CancelBooking implements immersionv1.ImmersionServiceServer.
func (s *Service) CancelBooking(ctx context.Context, req *immersionv1.CancelBookingRequest) (*immersionv1.CancelBookingResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "session_id", req.GetSessionId())
	checkID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	learnerID := req.GetLearnerId()
	scope, err := s.scope(ctx, learnerID)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	sess, err := s.sessionFor(ctx, req.GetSessionId(), func(sess domain.Session) bool { return true })
	if err != nil {
		return nil, err
	}
	if !mayCancel(caller, scope, sess.OperatorID) {
		return nil, auth.Denied("booking of learner", learnerID)
	}
	cause := domain.CauseAdmin
	switch caller.Role {
	case auth.RoleReferent:
		cause = domain.CauseReferent
	case auth.RoleOperator:
		cause = domain.CauseOperator
	}
	cmd := domain.CancelBooking{SessionID: req.GetSessionId(), LearnerID: learnerID, Cause: cause, Reason: req.GetReason(), Today: s.today()}
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	after, res, err := s.cancel(ctx, meta, cmd)
	if err != nil {
		return nil, err
	}
	b := bookingOf(after, learnerID)
	for _, ev := range res.Events {
		if m, ok := ev.Data.(*immersionv1.BookingCancelled); ok && m.GetLearnerId() == learnerID {
			b.Status, b.CancellationCause, b.CancellationReason = immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED, m.GetCause(), m.GetReason()
		}
	}
	return &immersionv1.CancelBookingResponse{Booking: b}, nil
}

// cancel runs a cancellation, with the promotion it allows.
func (s *Service) cancel(ctx context.Context, meta eventstore.Command, cmd domain.CancelBooking) (domain.Session, eventstore.MultiResult, error) {
	return s.execSession(ctx, meta, cmd.SessionID,
		func(sess domain.Session, window int) []string { return waitlistWindow(sess, window, cmd.LearnerID) },
		func(sess domain.Session, _ map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error) {
			return domain.DecideCancelBooking(sess, cmd, eligible)
		})
}

// RecordOutcome implements immersionv1.ImmersionServiceServer.
func (s *Service) RecordOutcome(ctx context.Context, req *immersionv1.RecordOutcomeRequest) (*immersionv1.RecordOutcomeResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "session_id", req.GetSessionId())
	checkID(&v, "learner_id", req.GetLearnerId())
	outcome := domain.Outcome{
		Status: platform.FromWire(outcomes, req.GetStatus()), LastDay: checkDate(&v, "last_day_present", req.GetLastDayPresent()),
		Minutes: int(req.GetMinutesDone()), Fit: platform.FromWire(fits, req.GetTradeFit()), Comment: req.GetComment(),
	}
	domain.CheckOutcome(&v, outcome)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if _, err := s.sessionFor(ctx, req.GetSessionId(), func(sess domain.Session) bool { return mayRecord(caller, sess.OperatorID) }); err != nil {
		return nil, err
	}
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	cmd := domain.RecordOutcome{SessionID: req.GetSessionId(), LearnerID: req.GetLearnerId(), Outcome: outcome, Today: s.today()}
	after, _, err := s.execSession(ctx, meta, req.GetSessionId(),
		func(domain.Session, int) []string { return nil },
		func(sess domain.Session, _ map[string]domain.LearnerSchedule, _ domain.Eligibility) ([]domain.Event, error) {
			return domain.DecideOutcome(sess, cmd)
		})
	if err != nil {
		return nil, err
	}
	return &immersionv1.RecordOutcomeResponse{Booking: bookingOf(after, req.GetLearnerId())}, nil
}

// onWithdrawal cancels the sessions of a withdrawn offer that start after
// the withdrawal, with their bookings and waitlists.
func (s *Service) onWithdrawal(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*immersionv1.OfferWithdrawn)
	if !ok {
		return nil
	}
	o, err := s.loadOffer(ctx, m.GetOfferId())
	if err != nil {
		return err
	}
	on := civilpb.Date(m.GetWithdrawnOn())
	for _, ref := range o.Sessions {
		if !ref.From.After(on) {
			continue
		}
		meta := eventstore.Command{RequestID: "withdrawal/" + ev.ID + "/" + ref.ID, Actor: "service:" + Name, Time: s.deps.Now()}
		cmd := domain.CancelSession{SessionID: ref.ID, Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"}
		_, _, err := s.execSession(ctx, meta, ref.ID,
			func(sess domain.Session, _ int) []string {
				ids := make([]string, len(sess.Places))
				for i, p := range sess.Places {
					ids[i] = p.LearnerID
				}
				return ids
			},
			func(sess domain.Session, _ map[string]domain.LearnerSchedule, _ domain.Eligibility) ([]domain.Event, error) {
				return domain.DecideCancelSession(sess, cmd)
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// onExit cancels the bookings and waitlist entries of a learner who left the
// pathway on the sessions starting after the exit date (a back-dated exit
// included), unless a later episode covers them. The promotions they allow
// follow. Request ids derive from the consumed event, so a redelivery
// changes nothing.
func (s *Service) onExit(ctx context.Context, ev event.Event) error {
	var (
		learnerID string
		episode   int
		exit      civil.Date
	)
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayExited:
		learnerID, episode, exit = m.GetLearnerId(), int(m.GetEpisodeNumber()), civilpb.Date(m.GetExitDate())
	case *pathwayv1.ExitBackdated:
		learnerID, episode, exit = m.GetLearnerId(), int(m.GetEpisodeNumber()), civilpb.Date(m.GetExitDate())
	default:
		return nil
	}
	// Mark the exit on the learner's reservations first: a booking decided
	// before the read model saw the exit either conflicts with the mark and
	// is decided again with it, or was stored before it and is found below.
	mark := eventstore.Command{RequestID: "exit/" + ev.ID + "/mark", Actor: "service:" + Name, Time: s.deps.Now()}
	if _, err := s.events.Execute(ctx, Stream, learnerFilter(learnerID), mark, func(h eventstore.History) ([]event.Draft, error) {
		return drafts(domain.DecideLeave(foldLearner(learnerID, h.Events), learnerID, episode, exit))
	}); err != nil {
		return err
	}
	// The learners read model must know the exit (the decision of each
	// cancellation and promotion reads it), and the catalogue every
	// booking stored so far (it lists the waitlist entries).
	if err := projection.WaitApplied(ctx, s.store, learnersProjection, ev.Sequence, readModelWait); err != nil {
		return err
	}
	last, err := s.lastSequence(ctx)
	if err != nil {
		return err
	}
	if err := projection.WaitApplied(ctx, s.store, catalogueProjection, last, readModelWait); err != nil {
		return err
	}
	sessions, err := s.sessionsOf(ctx, learnerID)
	if err != nil {
		return err
	}
	facts, _, err := s.learnerFacts(ctx, learnerID)
	if err != nil {
		return err
	}
	for _, id := range sessions {
		sess, err := s.loadSession(ctx, id)
		if err != nil {
			return err
		}
		if !sess.From.After(exit) || domain.ActiveThrough(facts.Episodes, sess.From, sess.To) {
			continue
		}
		meta := eventstore.Command{RequestID: "exit/" + ev.ID + "/" + id, Actor: "service:" + Name, Time: s.deps.Now()}
		cmd := domain.CancelBooking{
			SessionID: id, LearnerID: learnerID, Cause: domain.CausePathwayExit, IfAny: true, Today: s.today(),
			Reason: fmt.Sprintf("left the pathway on %s", exit),
		}
		if _, _, err := s.cancel(ctx, meta, cmd); err != nil {
			return err
		}
	}
	return nil
}

// sessionsOf returns the sessions a learner has a place on (its
// reservations) or has ever been waitlisted on (the catalogue), by id.
func (s *Service) sessionsOf(ctx context.Context, learnerID string) ([]string, error) {
	h, err := s.events.Load(ctx, Stream, learnerFilter(learnerID))
	if err != nil {
		return nil, err
	}
	ids := slices.Collect(maps.Keys(foldLearner(learnerID, h.Events).Reserved))
	after := ""
	for {
		members, err := s.store.Range(ctx, catalogueProjection, learnerBookingsIndex(learnerID), projection.RangeQuery{After: after, Limit: projection.MaxRangeLimit})
		if err != nil {
			return nil, err
		}
		if len(members) == 0 {
			break
		}
		for _, m := range members {
			ids = append(ids, m[strings.IndexByte(m, '/')+1:])
		}
		after = members[len(members)-1]
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// lastSequence is the last sequence of the IMMERSION stream.
func (s *Service) lastSequence(ctx context.Context) (uint64, error) {
	st, err := s.deps.JS.Stream(ctx, Stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}
