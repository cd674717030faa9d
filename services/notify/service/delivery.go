package service

import (
	"context"
	"errors"
	"strconv"
	"strings"

	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

// onCreated sends a new notification by e-mail when its recipient has an
// address and wants its kind by e-mail, then records it sent. A failure is
// retried with the consumer's backoff (the mail server down for a while
// loses nothing); a refusal for good, or the last retry, dead-letters the
// notification, and onDeadLetter records it failed.
//
// A notification already recorded sent (or failed) is not sent again. A
// crash between the server's acceptance and the record sends it a second
// time, with the same Message-ID.
func (s *Service) onCreated(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*notifyv1.NotificationCreated)
	if !ok || s.cfg.Mailer == nil {
		return nil
	}
	snap, err := s.notifications.Load(ctx, m.GetNotificationId())
	if err != nil {
		return err
	}
	n := snap.State
	if !n.Exists() || n.Emailed() {
		return nil
	}
	to, err := s.address(ctx, n)
	if err != nil || to == "" {
		return err
	}
	t := render(n, s.cfg.ConsoleURL)
	id := messageID(n.ID, fromOf(s.cfg.Mailer))
	if err := s.cfg.Mailer.Send(ctx, Mail{To: to, Subject: t.Title, Body: mailBody(t), MessageID: id}); err != nil {
		// The reason is recorded and logged: never the address.
		scrubbed := errors.New(strings.ReplaceAll(err.Error(), to, "<destinataire>"))
		if errors.Is(err, ErrRejected) {
			return consumer.Permanent(scrubbed)
		}
		return scrubbed
	}
	_, err = s.notifications.Execute(ctx, n.ID, s.serviceCommand("sent:"+n.ID), func(st domain.Notification) ([]domain.Event, error) {
		return domain.MarkSent(st, id)
	})
	return err
}

// address is where n's e-mail goes, "" for none: a learner's address from
// intake (none once erased); a staff member's from their preferences, when
// they want n's kind by e-mail.
func (s *Service) address(ctx context.Context, n domain.Notification) (string, error) {
	if learnerID, ok := n.LearnerRecipient(); ok {
		if s.cfg.Contacts == nil {
			return "", nil
		}
		email, erased, err := s.cfg.Contacts.LearnerEmail(ctx, learnerID)
		if err != nil || erased {
			return "", err
		}
		return email, nil
	}
	p, err := s.loadPreferences(ctx, n.Recipient)
	if err != nil {
		return "", err
	}
	if !p.WantsEmail(n.Kind) {
		return "", nil
	}
	return p.Email, nil
}

// loadPreferences returns a recipient's preferences, the defaults until set.
func (s *Service) loadPreferences(ctx context.Context, recipient string) (domain.Preferences, error) {
	snap, err := s.preferences.Load(ctx, recipientKey(recipient))
	if err != nil {
		return domain.Preferences{}, err
	}
	if !snap.State.Set {
		return domain.DefaultPreferences(recipient), nil
	}
	return snap.State, nil
}

// onDeadLetter records as failed a notification whose e-mail was
// dead-lettered, with the reason the dead letter gives.
func (s *Service) onDeadLetter(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*notifyv1.NotificationCreated)
	if !ok {
		return nil
	}
	reason := ev.Header.Get(consumer.HeaderDLQReason)
	deliveries, _ := strconv.Atoi(ev.Header.Get(consumer.HeaderDLQDeliveries))
	_, err := s.notifications.Execute(ctx, m.GetNotificationId(), s.serviceCommand("failed:"+m.GetNotificationId()), func(st domain.Notification) ([]domain.Event, error) {
		return domain.MarkFailed(st, reason, deliveries)
	})
	return err
}

// fromOf is the sender address of a mailer, for Message-IDs.
func fromOf(m Mailer) string {
	if s, ok := m.(*SMTP); ok {
		return s.From
	}
	return ""
}
