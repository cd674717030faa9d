// Package domain holds notify's rules: a notification is created once per
// recipient and triggering event, its e-mail is recorded sent or failed at
// most once, it is read by its recipient; a person's preferences say where
// e-mails go and which kinds go by e-mail. Pure: no NATS, no protobuf.
package domain

import (
	"net/mail"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Kind is what a notification is about (the values of the wire enum).
type Kind int32

// The kinds.
const (
	KindUnspecified Kind = iota
	KindPlaceBooked
	KindWaitlistPromoted
	KindBookingCancelled
	KindReferentAssigned
	KindReferentHandover
	KindSessionReminder
)

// Kinds lists every kind.
var Kinds = []Kind{KindPlaceBooked, KindWaitlistPromoted, KindBookingCancelled, KindReferentAssigned, KindReferentHandover, KindSessionReminder}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// DefaultEmailKinds are the kinds sent by e-mail to a person who has not set
// preferences (once they give an address; learners: intake's address):
// every kind is one its recipient acts on.
var DefaultEmailKinds = Kinds

// Recipient prefixes.
const (
	LearnerPrefix  = "learner:"
	ReferentPrefix = "referent:"
	OperatorPrefix = "operator:"
)

// Notification is one notification's state.
type Notification struct {
	ID        string
	Recipient string
	Kind      Kind
	// Subject of the texts.
	LearnerID, SessionID string
	From, To             civil.Date
	WasWaitlisted        bool
	PreviousReferent     bool
	HoursBefore          int
	TriggerEventID       string
	TriggerSubject       string

	Sent, Failed, Read bool
	Reason             string
}

// Exists reports whether the notification was created.
func (n Notification) Exists() bool { return n.ID != "" }

// Emailed reports whether its e-mail's fate is recorded (sent or failed).
func (n Notification) Emailed() bool { return n.Sent || n.Failed }

// LearnerRecipient reports whether the notification is for a learner, and
// which.
func (n Notification) LearnerRecipient() (string, bool) {
	return strings.CutPrefix(n.Recipient, LearnerPrefix)
}

// Event is a domain event of notify.
type Event interface{ isEvent() }

// Created: a notification was created.
type Created struct{ Notification Notification }

// Sent: its e-mail was accepted by the SMTP server.
type Sent struct {
	ID, MessageID string
}

// Failed: its e-mail could not be sent.
type Failed struct {
	ID, Reason string
	Deliveries int
}

// Read: its recipient read it.
type Read struct{ ID string }

// PreferencesSet: a person's whole preferences.
type PreferencesSet struct{ Preferences Preferences }

func (Created) isEvent()        {}
func (Sent) isEvent()           {}
func (Failed) isEvent()         {}
func (Read) isEvent()           {}
func (PreferencesSet) isEvent() {}

// Evolve applies an event to a notification.
func Evolve(n Notification, e Event) Notification {
	switch e := e.(type) {
	case Created:
		return e.Notification
	case Sent:
		n.Sent = true
	case Failed:
		n.Failed, n.Reason = true, e.Reason
	case Read:
		n.Read = true
	}
	return n
}

// Create creates the notification n, once: a notification that exists (the
// same triggering event delivered again) decides nothing.
func Create(s Notification, n Notification) ([]Event, error) {
	if s.Exists() {
		return nil, nil
	}
	var v apperr.Violations
	if n.ID == "" {
		v.Add("notification_id", "is required")
	}
	if n.Recipient == "" || !strings.Contains(n.Recipient, ":") {
		v.Add("recipient", "must be <role>:<id>")
	}
	if !n.Kind.Valid() {
		v.Add("kind", "is not a known kind")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	n.Sent, n.Failed, n.Read, n.Reason = false, false, false, ""
	return []Event{Created{Notification: n}}, nil
}

// MarkSent records that the e-mail was accepted, unless its fate is
// already recorded.
func MarkSent(s Notification, messageID string) ([]Event, error) {
	if !s.Exists() {
		return nil, notFound()
	}
	if s.Emailed() {
		return nil, nil
	}
	return []Event{Sent{ID: s.ID, MessageID: messageID}}, nil
}

// MarkFailed records that the e-mail could not be sent, unless its fate is
// already recorded.
func MarkFailed(s Notification, reason string, deliveries int) ([]Event, error) {
	if !s.Exists() {
		return nil, notFound()
	}
	if s.Emailed() {
		return nil, nil
	}
	return []Event{Failed{ID: s.ID, Reason: reason, Deliveries: deliveries}}, nil
}

// MarkRead records that the recipient read it; again, nothing.
func MarkRead(s Notification) ([]Event, error) {
	if !s.Exists() {
		return nil, notFound()
	}
	if s.Read {
		return nil, nil
	}
	return []Event{Read{ID: s.ID}}, nil
}

func notFound() error { return apperr.NotFound("notification not found") }

// Preferences are a person's notification preferences.
type Preferences struct {
	Recipient string
	// Email is where e-mails go; empty: none.
	Email string
	// EmailKinds are the kinds also sent by e-mail.
	EmailKinds []Kind
	// Set is false until the person sets them: the defaults apply.
	Set bool
}

// DefaultPreferences are a recipient's preferences until set: no address
// (staff give theirs), DefaultEmailKinds.
func DefaultPreferences(recipient string) Preferences {
	return Preferences{Recipient: recipient, EmailKinds: slices.Clone(DefaultEmailKinds)}
}

// WantsEmail reports whether kind goes by e-mail too.
func (p Preferences) WantsEmail(kind Kind) bool { return slices.Contains(p.EmailKinds, kind) }

// EvolvePreferences applies an event to preferences.
func EvolvePreferences(p Preferences, e Event) Preferences {
	if e, ok := e.(PreferencesSet); ok {
		return e.Preferences
	}
	return p
}

// MaxEmailLength bounds an address (RFC 5321).
const MaxEmailLength = 254

// SetPreferences replaces the preferences by want, validated; the same
// preferences again decide nothing.
func SetPreferences(s Preferences, want Preferences) ([]Event, error) {
	var v apperr.Violations
	want.Email = strings.TrimSpace(want.Email)
	if want.Email != "" {
		a, err := mail.ParseAddress(want.Email)
		switch {
		case len(want.Email) > MaxEmailLength:
			v.Addf("email", "must have at most %d characters", MaxEmailLength)
		case err != nil || a.Address != want.Email || a.Name != "":
			v.Add("email", "is not an e-mail address (name@example.fr)")
		}
	}
	for i, k := range want.EmailKinds {
		if !k.Valid() {
			v.Addf("email_kinds", "item %d is not a known kind", i)
		} else if slices.Contains(want.EmailKinds[:i], k) {
			v.Addf("email_kinds", "item %d repeats a kind", i)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	want.Set = true
	want.Recipient = s.Recipient
	if want.EmailKinds == nil {
		want.EmailKinds = []Kind{}
	}
	if s.Set && s.Email == want.Email && slices.Equal(sorted(s.EmailKinds), sorted(want.EmailKinds)) {
		return nil, nil
	}
	return []Event{PreferencesSet{Preferences: want}}, nil
}

func sorted(ks []Kind) []Kind {
	out := slices.Clone(ks)
	slices.Sort(out)
	return out
}
