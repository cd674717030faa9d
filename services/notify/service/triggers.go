package service

import (
	"context"
	"errors"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// sessionView is what notify keeps of a session: its host operator and
// days (notify-sessions).
type sessionView struct {
	OperatorID string     `json:"operator_id"`
	From       civil.Date `json:"from"`
	To         civil.Date `json:"to"`
}

func sessionKey(id string) string { return "s/" + id }

// projectSession keeps each session's host operator and days, the index of
// sessions by first day (member "<YYYY-MM-DD>/<session id>") and each
// session's booked learners (index "b/<session id>"), for the reminders.
func (s *Service) projectSession(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var v sessionView
	var id string
	switch m := ev.Data.(type) {
	case *immersionv1.SessionScheduled:
		id, v = m.GetSessionId(), sessionView{OperatorID: m.GetOperatorId(), From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate())}
	case *immersionv1.PlaceBooked:
		// Booked places carry the session's facts too.
		id, v = m.GetSessionId(), sessionView{OperatorID: m.GetOperatorId(), From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate())}
		put, err := projection.PutJSON(sessionKey(id), v)
		if err != nil {
			return nil, err
		}
		return []projection.Op{put, projection.IndexAdd(startsIndex, startMember(v.From, id)),
			projection.IndexAdd(bookedIndex(id), m.GetLearnerId())}, nil
	case *immersionv1.BookingCancelled:
		return []projection.Op{projection.IndexRemove(bookedIndex(m.GetSessionId()), m.GetLearnerId())}, nil
	default:
		return nil, nil
	}
	op, err := projection.PutJSON(sessionKey(id), v)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op, projection.IndexAdd(startsIndex, startMember(v.From, id))}, nil
}

func learnerKey(id string) string { return "l/" + id }

// projectReferent keeps each learner's current referent.
func (s *Service) projectReferent(_ context.Context, ev event.Event) ([]projection.Op, error) {
	switch m := ev.Data.(type) {
	case *referentv1.ReferentAssigned:
		return []projection.Op{projection.Put(learnerKey(m.GetLearnerId()), []byte(m.GetReferentId()))}, nil
	case *referentv1.AssignmentPending:
		return []projection.Op{projection.Delete(learnerKey(m.GetLearnerId()))}, nil
	case *referentv1.AssignmentEnded:
		return []projection.Op{projection.Delete(learnerKey(m.GetLearnerId()))}, nil
	}
	return nil, nil
}

// referentOf returns the learner's current referent, "" when it has none
// (or notify has not seen its assignment yet).
func (s *Service) referentOf(ctx context.Context, learnerID string) (string, error) {
	b, err := s.store.Get(ctx, referentsProjection, learnerKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", apperr.Unavailable("notify: referents read model").WithCause(err)
	}
	return string(b), nil
}

// onImmersion turns a booking, a promotion or a cancellation into
// notifications for the learner, its referent and the host operator.
func (s *Service) onImmersion(ctx context.Context, ev event.Event) error {
	var (
		base       domain.Notification
		operatorID string
		toOperator = true
	)
	switch m := ev.Data.(type) {
	case *immersionv1.PlaceBooked:
		base = domain.Notification{Kind: domain.KindPlaceBooked, LearnerID: m.GetLearnerId(), SessionID: m.GetSessionId(),
			From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate())}
		if m.GetPromotedFromWaitlist() {
			base.Kind = domain.KindWaitlistPromoted
		}
		operatorID = m.GetOperatorId()
	case *immersionv1.BookingCancelled:
		session, found, err := projection.GetJSON[sessionView](ctx, s.store, sessionsProjection, sessionKey(m.GetSessionId()))
		if err != nil {
			return apperr.Unavailable("notify: sessions read model").WithCause(err)
		}
		if !found {
			return consumer.Permanent(errors.New("notify: cancellation of a booking on a session never scheduled"))
		}
		base = domain.Notification{Kind: domain.KindBookingCancelled, LearnerID: m.GetLearnerId(), SessionID: m.GetSessionId(),
			From: session.From, To: session.To, WasWaitlisted: m.GetWasWaitlisted()}
		operatorID = session.OperatorID
		// A waitlist entry held no place: the host has nothing to change.
		toOperator = !m.GetWasWaitlisted()
	default:
		return nil
	}
	recipients := []string{domain.LearnerPrefix + base.LearnerID}
	referent, err := s.referentOf(ctx, base.LearnerID)
	if err != nil {
		return err
	}
	if referent != "" {
		recipients = append(recipients, domain.ReferentPrefix+referent)
	}
	if toOperator && operatorID != "" {
		recipients = append(recipients, domain.OperatorPrefix+operatorID)
	}
	return s.notifyAll(ctx, ev, base, recipients)
}

// onReferent turns an assignment into notifications for the learner and
// its new referent, and, for a handover, the referent before.
func (s *Service) onReferent(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*referentv1.ReferentAssigned)
	if !ok {
		return nil
	}
	base := domain.Notification{Kind: domain.KindReferentAssigned, LearnerID: m.GetLearnerId(), From: civilpb.Date(m.GetFromDate())}
	handover := m.GetReason() == referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER && m.GetPreviousReferentId() != ""
	if handover {
		base.Kind = domain.KindReferentHandover
	}
	if err := s.notifyAll(ctx, ev, base, []string{domain.LearnerPrefix + m.GetLearnerId(), domain.ReferentPrefix + m.GetReferentId()}); err != nil {
		return err
	}
	if handover {
		base.PreviousReferent = true
		return s.notifyAll(ctx, ev, base, []string{domain.ReferentPrefix + m.GetPreviousReferentId()})
	}
	return nil
}

// notifyAll creates one notification per recipient from the triggering
// event ev: its id derives from ev's id and the recipient, and it is
// appended expecting the notification not to exist, so a redelivered event
// creates nothing more.
func (s *Service) notifyAll(ctx context.Context, ev event.Event, base domain.Notification, recipients []string) error {
	for _, r := range recipients {
		n := base
		n.Recipient = r
		n.ID = notificationID(ev.ID, r)
		n.TriggerEventID, n.TriggerSubject = ev.ID, ev.Subject
		if _, err := s.notifications.Execute(ctx, n.ID, s.serviceCommand(ev.ID), func(st domain.Notification) ([]domain.Event, error) {
			return domain.Create(st, n)
		}); err != nil {
			if apperr.KindOf(err) == apperr.KindInvalidArgument {
				return consumer.Permanent(err)
			}
			return err
		}
	}
	return nil
}
