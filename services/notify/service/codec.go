package service

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The aggregates: notifications on avenir.notify.notification.<id>.<event>,
// preferences on avenir.notify.preferences.<recipient key>.<event>.
const (
	notificationPrefix = "avenir.notify.notification."
	preferencesPrefix  = "avenir.notify.preferences."
)

var notificationKind = eventstore.Kind[domain.Notification, domain.Event]{
	Stream: Stream,
	Prefix: notificationPrefix,
	Decode: func(ev event.Event) (domain.Event, bool) {
		if !strings.HasPrefix(ev.Subject, notificationPrefix) {
			return nil, false
		}
		return fromProto(ev.Data)
	},
	Evolve: domain.Evolve,
	Encode: encode,
}

var preferencesKind = eventstore.Kind[domain.Preferences, domain.Event]{
	Stream: Stream,
	Prefix: preferencesPrefix,
	Decode: func(ev event.Event) (domain.Event, bool) {
		if !strings.HasPrefix(ev.Subject, preferencesPrefix) {
			return nil, false
		}
		return fromProto(ev.Data)
	},
	Evolve: domain.EvolvePreferences,
	Encode: encode,
}

// recipientKey is the aggregate id of a recipient's preferences: recipients
// hold characters subjects cannot ("." in a token's subject).
func recipientKey(recipient string) string { return event.DeriveID("notify-recipient", recipient) }

// notificationID derives a notification's id from its triggering event and
// its recipient: one notification per recipient and event.
func notificationID(triggerEventID, recipient string) string {
	return event.DeriveID("notification", triggerEventID+"\x00"+recipient)
}

func encode(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		var (
			id, name, prefix string
			data             proto.Message
		)
		switch e := e.(type) {
		case domain.Created:
			id, name, prefix, data = e.Notification.ID, "created", notificationPrefix, createdToProto(e.Notification)
		case domain.Sent:
			id, name, prefix, data = e.ID, "sent", notificationPrefix, &notifyv1.NotificationSent{NotificationId: e.ID, MessageId: e.MessageID}
		case domain.Failed:
			id, name, prefix, data = e.ID, "failed", notificationPrefix, &notifyv1.NotificationFailed{NotificationId: e.ID, Reason: e.Reason, Deliveries: int32(e.Deliveries)}
		case domain.Read:
			id, name, prefix, data = e.ID, "read", notificationPrefix, &notifyv1.NotificationRead{NotificationId: e.ID}
		case domain.PreferencesSet:
			p := e.Preferences
			id, name, prefix, data = recipientKey(p.Recipient), "set", preferencesPrefix, &notifyv1.PreferencesSet{
				Recipient: p.Recipient, Email: p.Email, EmailKinds: kindsToProto(p.EmailKinds),
			}
		default:
			return nil, fmt.Errorf("notify: no wire form for %T", e)
		}
		out = append(out, event.Draft{Subject: prefix + id + "." + name, AggregateID: id, Data: data})
	}
	return out, nil
}

func fromProto(m proto.Message) (domain.Event, bool) {
	switch m := m.(type) {
	case *notifyv1.NotificationCreated:
		return domain.Created{Notification: createdFromProto(m)}, true
	case *notifyv1.NotificationSent:
		return domain.Sent{ID: m.GetNotificationId(), MessageID: m.GetMessageId()}, true
	case *notifyv1.NotificationFailed:
		return domain.Failed{ID: m.GetNotificationId(), Reason: m.GetReason(), Deliveries: int(m.GetDeliveries())}, true
	case *notifyv1.NotificationRead:
		return domain.Read{ID: m.GetNotificationId()}, true
	case *notifyv1.PreferencesSet:
		return domain.PreferencesSet{Preferences: domain.Preferences{
			Recipient: m.GetRecipient(), Email: m.GetEmail(), EmailKinds: kindsFromProto(m.GetEmailKinds()), Set: true,
		}}, true
	}
	return nil, false
}

func createdToProto(n domain.Notification) *notifyv1.NotificationCreated {
	m := &notifyv1.NotificationCreated{
		NotificationId: n.ID, Recipient: n.Recipient, Kind: notifyv1.NotificationKind(n.Kind),
		TriggerEventId: n.TriggerEventID, TriggerSubject: n.TriggerSubject,
		LearnerId: n.LearnerID, SessionId: n.SessionID,
		WasWaitlisted: n.WasWaitlisted, PreviousReferent: n.PreviousReferent, HoursBefore: int32(n.HoursBefore),
	}
	if !n.From.IsZero() {
		m.FromDate = civilpb.FromDate(n.From)
	}
	if !n.To.IsZero() {
		m.ToDate = civilpb.FromDate(n.To)
	}
	return m
}

func createdFromProto(m *notifyv1.NotificationCreated) domain.Notification {
	return domain.Notification{
		ID: m.GetNotificationId(), Recipient: m.GetRecipient(), Kind: domain.Kind(m.GetKind()),
		TriggerEventID: m.GetTriggerEventId(), TriggerSubject: m.GetTriggerSubject(),
		LearnerID: m.GetLearnerId(), SessionID: m.GetSessionId(),
		From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate()),
		WasWaitlisted: m.GetWasWaitlisted(), PreviousReferent: m.GetPreviousReferent(), HoursBefore: int(m.GetHoursBefore()),
	}
}

func kindsToProto(ks []domain.Kind) []notifyv1.NotificationKind {
	out := make([]notifyv1.NotificationKind, len(ks))
	for i, k := range ks {
		out[i] = notifyv1.NotificationKind(k)
	}
	return out
}

func kindsFromProto(ks []notifyv1.NotificationKind) []domain.Kind {
	out := make([]domain.Kind, len(ks))
	for i, k := range ks {
		out[i] = domain.Kind(k)
	}
	return out
}
