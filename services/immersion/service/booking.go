package service

import (
	"context"
	"fmt"
	"maps"
	"slices"

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
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// BookPlace implements immersionv1.ImmersionServiceServer. The booking is
// decided over the session and the learner's reservations, and appended to
// both in one atomic batch: places are never overbooked and a learner is
// never booked twice on the same dates, whatever the concurrency. Who may
// book is checked in the decision, against the caseload read model. A
// learner whose personal data was erased is refused (FailedPrecondition
// LEARNER_ERASED, per the people read model).
func (s *Service) BookPlace(ctx context.Context, req *immersionv1.BookPlaceRequest) (*immersionv1.BookPlaceResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "session_id", req.GetSessionId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id, learnerID := req.GetSessionId(), req.GetLearnerId()
	cmd := domain.BookPlace{SessionID: id, Today: s.deps.Today()}
	out, err := s.execSession(ctx, s.deps.Command(ctx, req.GetRequestId()), id,
		func(domain.Session, int) []string { return []string{learnerID} },
		func(sess domain.Session, loaded map[string]domain.LearnerSchedule, _ domain.Eligibility) ([]domain.Event, error) {
			facts, territory, err := s.learnerFacts(ctx, learnerID)
			if err != nil {
				return nil, err
			}
			scope, err := s.caseload.Scope(ctx, learnerID, territory)
			if err != nil {
				return nil, err
			}
			if !mayBook(caller, scope) {
				// Out of scope reads as unknown, so existence does not leak.
				return nil, auth.Denied("learner", learnerID)
			}
			if err := seeSession(caller, sess, id); err != nil {
				return nil, err
			}
			if err := s.refuseErased(ctx, learnerID); err != nil {
				return nil, err
			}
			offer, err := s.offers.Load(ctx, sess.OfferID)
			if err != nil {
				return nil, err
			}
			c := cmd
			c.Learner = facts
			return domain.DecideBook(sess, offer.State, loaded[learnerID], c)
		})
	if err != nil {
		return nil, err
	}
	return &immersionv1.BookPlaceResponse{Booking: bookingOf(out.State, learnerID)}, nil
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

// CancelBooking implements immersionv1.ImmersionServiceServer. The session's
// operator cancels on its sessions; anyone else only for a learner it acts
// for, checked in the decision against the caseload read model. The reason
// is the learner's personal data, sealed with its key: for a learner whose
// personal data was erased, it cannot be, and the cancellation is refused
// (FailedPrecondition LEARNER_ERASED), without a read model.
func (s *Service) CancelBooking(ctx context.Context, req *immersionv1.CancelBookingRequest) (*immersionv1.CancelBookingResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "session_id", req.GetSessionId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	domain.CheckReason(&v, req.GetReason())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id, learnerID := req.GetSessionId(), req.GetLearnerId()
	cause := domain.CauseAdmin
	switch caller.Role {
	case auth.RoleReferent:
		cause = domain.CauseReferent
	case auth.RoleOperator:
		cause = domain.CauseOperator
	}
	cmd := domain.CancelBooking{SessionID: id, LearnerID: learnerID, Cause: cause, Reason: req.GetReason(), Today: s.deps.Today()}
	out, err := s.cancel(ctx, s.deps.Command(ctx, req.GetRequestId()), cmd, func(sess domain.Session) error {
		if err := seeSession(caller, sess, id); err != nil {
			return err
		}
		if operates(caller, sess.OperatorID) {
			return nil
		}
		scope, err := s.scope(ctx, learnerID)
		if err != nil {
			return err
		}
		if !mayCancel(caller, scope, sess.OperatorID) {
			return auth.Denied("booking of learner", learnerID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := bookingOf(out.State, learnerID)
	for _, ev := range out.Events {
		if e, ok := ev.(domain.BookingCancelled); ok && e.LearnerID == learnerID {
			b.Status, b.CancellationCause, b.CancellationReason = immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED, causes[e.Cause], e.Reason
		}
	}
	return &immersionv1.CancelBookingResponse{Booking: b}, nil
}

// cancel runs a cancellation, with the promotion it allows, once allowed
// accepts the session.
func (s *Service) cancel(ctx context.Context, meta eventstore.Command, cmd domain.CancelBooking, allowed func(domain.Session) error) (eventstore.Outcome[domain.Session, domain.Event], error) {
	return s.execSession(ctx, meta, cmd.SessionID,
		func(sess domain.Session, window int) []string { return waitlistWindow(sess, window, cmd.LearnerID) },
		func(sess domain.Session, _ map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error) {
			if err := allowed(sess); err != nil {
				return nil, err
			}
			return domain.DecideCancelBooking(sess, cmd, eligible)
		})
}

// RecordOutcome implements immersionv1.ImmersionServiceServer. The comment
// is the learner's personal data, sealed with its key: for a learner whose
// personal data was erased, an outcome with a comment is refused
// (FailedPrecondition LEARNER_ERASED); one without, a fact of the session
// and its statistics, is recorded.
func (s *Service) RecordOutcome(ctx context.Context, req *immersionv1.RecordOutcomeRequest) (*immersionv1.RecordOutcomeResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "session_id", req.GetSessionId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	outcome := domain.Outcome{
		Status: platform.FromWire(outcomes, req.GetStatus()), LastDay: civilpb.OptionalDate(&v, "last_day_present", req.GetLastDayPresent()),
		Minutes: int(req.GetMinutesDone()), Fit: platform.FromWire(fits, req.GetTradeFit()), Comment: req.GetComment(),
	}
	domain.CheckOutcome(&v, outcome)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := req.GetSessionId()
	cmd := domain.RecordOutcome{SessionID: id, LearnerID: req.GetLearnerId(), Outcome: outcome, Today: s.deps.Today()}
	out, err := s.sessions.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(sess domain.Session) ([]domain.Event, error) {
		if err := seeSession(caller, sess, id); err != nil {
			return nil, err
		}
		if !operates(caller, sess.OperatorID) {
			scope, err := s.scope(ctx, req.GetLearnerId())
			if err != nil {
				return nil, err
			}
			if !mayRecord(caller, scope, sess.OperatorID) {
				return nil, apperr.PermissionDenied("not allowed on session %s", id)
			}
		}
		return domain.DecideOutcome(sess, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &immersionv1.RecordOutcomeResponse{Booking: bookingOf(out.State, req.GetLearnerId())}, nil
}

// everybody lets the service's own commands act on any session.
func everybody(domain.Session) error { return nil }

// onWithdrawal cancels the sessions of a withdrawn offer that start after
// the withdrawal, with their bookings and waitlists. Request ids derive
// from the consumed event, so a redelivery changes nothing.
func (s *Service) onWithdrawal(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*immersionv1.OfferWithdrawn)
	if !ok {
		return nil
	}
	o, err := s.offers.Load(ctx, m.GetOfferId())
	if err != nil {
		return err
	}
	on := civilpb.Date(m.GetWithdrawnOn())
	for _, ref := range o.State.Sessions {
		if !ref.From.After(on) {
			continue
		}
		cmd := domain.CancelSession{SessionID: ref.ID, Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"}
		out, err := s.execSession(ctx, s.own("withdrawal/"+ev.ID+"/"+ref.ID), ref.ID,
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
		if len(out.Events) > 0 && !out.Replayed {
			s.log.InfoContext(ctx, "offer withdrawn: session cancelled", "offer_id", m.GetOfferId(), "session_id", ref.ID, "events", len(out.Events))
		}
	}
	return nil
}

// onExit cancels the bookings and waitlist entries of a learner who left the
// pathway on the sessions starting after the exit date (a back-dated exit
// included), unless a later episode covers them. The promotions they allow
// follow. The consumer comes after the learners read model (Wiring), so
// the exit is known to it. Request ids derive from the consumed event, so a
// redelivery changes nothing.
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
	if _, err := s.reservations.Execute(ctx, learnerID, s.own("exit/"+ev.ID+"/mark"), func(l domain.LearnerSchedule) ([]domain.Event, error) {
		return domain.DecideLeave(l, learnerID, episode, exit), nil
	}); err != nil {
		return err
	}
	// The catalogue lists the waitlist entries: it must hold every booking
	// the service stored so far.
	last, err := natsx.LastSequence(ctx, s.deps.JS, Stream)
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
	// The reason is the learner's personal data: none can be sealed for a
	// learner whose data key is erased.
	reason := fmt.Sprintf("left the pathway on %s", exit)
	if erased, err := s.erased(ctx, learnerID); err != nil {
		return err
	} else if erased {
		reason = ""
	}
	for _, id := range sessions {
		sess, err := s.sessions.Load(ctx, id)
		if err != nil {
			return err
		}
		if !sess.State.From.After(exit) || domain.ActiveThrough(facts.Episodes, sess.State.From, sess.State.To) {
			continue
		}
		cmd := domain.CancelBooking{
			SessionID: id, LearnerID: learnerID, Cause: domain.CausePathwayExit, IfAny: true, Today: s.deps.Today(),
			Reason: reason,
		}
		out, err := s.cancel(ctx, s.own("exit/"+ev.ID+"/"+id), cmd, everybody)
		if err != nil {
			return err
		}
		if len(out.Events) > 0 && !out.Replayed {
			s.log.InfoContext(ctx, "learner left the pathway: booking cancelled", "learner_id", learnerID, "session_id", id, "exit_date", exit.String())
		}
	}
	return nil
}

// sessionsOf returns the sessions a learner has a place on (its
// reservations) or has ever been waitlisted on (the catalogue), by id.
func (s *Service) sessionsOf(ctx context.Context, learnerID string) ([]string, error) {
	l, err := s.reservations.Load(ctx, learnerID)
	if err != nil {
		return nil, err
	}
	ids := slices.Collect(maps.Keys(l.State.Reserved))
	err = projection.Scan(ctx, s.store, catalogueProjection, learnerBookingsIndex(learnerID), projection.RangeQuery{Limit: projection.MaxRangeLimit},
		func(members []string) (bool, error) {
			for _, m := range members {
				ids = append(ids, memberSession(m))
			}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}
