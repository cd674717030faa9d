// Package domain holds the rules of #Action immersions: accredited offers on
// technical platforms (one aggregate per offer), their sessions with limited
// places, a waitlist and the operators' outcomes (one aggregate per
// session), and the dates each learner has reserved (one aggregate per
// learner), so that "not booked on an overlapping session" is exact: a
// booking appends to the session and to the learner in one atomic batch. It
// is pure: no I/O.
package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Reason codes of the FailedPrecondition errors, in the error's "reason"
// metadata: what a client can test without parsing messages.
const (
	ReasonOfferWithdrawn       = "OFFER_WITHDRAWN"
	ReasonAccreditationExpired = "ACCREDITATION_EXPIRED"
	ReasonOutsideAccreditation = "OUTSIDE_ACCREDITATION"
	ReasonSessionCancelled     = "SESSION_CANCELLED"
	ReasonSessionStarted       = "SESSION_STARTED"
	ReasonSessionNotOver       = "SESSION_NOT_OVER"
	ReasonDeadlinePassed       = "BOOKING_DEADLINE_PASSED"
	ReasonNotInPathway         = "LEARNER_NOT_IN_PATHWAY"
	ReasonLearnerUnknown       = "LEARNER_UNKNOWN"
	ReasonTooYoung             = "LEARNER_TOO_YOUNG"
	ReasonOverlap              = "OVERLAPPING_BOOKING"
	ReasonCapacityBelowBooked  = "CAPACITY_BELOW_BOOKED"
	ReasonWaitlistFull         = "WAITLIST_FULL"
	ReasonNotBooked            = "NOT_BOOKED"
	ReasonOutcomeRecorded      = "OUTCOME_RECORDED"
	ReasonOperatorChanged      = "OPERATOR_CHANGED"
	// ReasonLearnerErased: the learner's personal data was erased (intake's
	// erasure): the learner is booked no more, and no text about it (a
	// cancellation's reason, an outcome's comment) is recorded.
	ReasonLearnerErased = "LEARNER_ERASED"
)

// refused is a FailedPrecondition error with its reason code.
func refused(code, format string, args ...any) *apperr.Error {
	return apperr.FailedPrecondition(format, args...).WithMeta("reason", code)
}

// ReasonOf returns the reason code of a domain error, "" if none.
func ReasonOf(err error) string {
	if e, ok := err.(*apperr.Error); ok {
		return e.Meta["reason"]
	}
	return ""
}

// Bounds of an offer.
const (
	MaxTrades             = 20
	MaxPlatformNameLength = 200
	MaxAddressLength      = 300
	MaxDescriptionLength  = 2000
	MaxReasonLength       = 500
)

// The texts people type, checked by package text: names and addresses are
// single lines; descriptions, reasons and comments may span lines. None may
// hold control characters or bidirectional overrides. Texts are checked
// trimmed, as they are stored.
var (
	platformNameRule = text.Rule{Kind: text.Line, Max: MaxPlatformNameLength, Required: true}
	addressRule      = text.Rule{Kind: text.Line, Max: MaxAddressLength, Required: true}
	descriptionRule  = text.Rule{Kind: text.Block, Max: MaxDescriptionLength}
	reasonRule       = text.Rule{Kind: text.Block, Max: MaxReasonLength, Required: true}
)

// Platform is an offer's accredited technical platform.
type Platform struct {
	Name        string
	Address     string
	CommuneCode string // INSEE
	Territory   string
}

// OfferProfile is what an offer is.
type OfferProfile struct {
	OperatorID     string
	Platform       Platform
	Trades         []string // ROME codes
	AccreditedFrom civil.Date
	AccreditedTo   civil.Date
	Accessible     bool
	Description    string
}

// SessionRef is a session of an offer.
type SessionRef struct {
	ID       string
	From, To civil.Date
}

// Offer is an offer aggregate, folded from its events.
type Offer struct {
	ID          string
	Profile     OfferProfile
	Withdrawn   bool
	WithdrawnOn civil.Date
	Reason      string
	Sessions    []SessionRef
}

// Exists reports whether the offer was published.
func (o Offer) Exists() bool { return o.Profile.OperatorID != "" }

// ExpiredOn reports whether the accreditation has ended before day.
func (o Offer) ExpiredOn(day civil.Date) bool { return o.Profile.AccreditedTo.Before(day) }

// Events of an offer.
type (
	// OfferPublished: a new offer.
	OfferPublished struct {
		OfferID string
		Profile OfferProfile
	}
	// OfferUpdated: the whole profile after the change.
	OfferUpdated struct {
		OfferID string
		Profile OfferProfile
	}
	// OfferWithdrawn: no more sessions; those starting after On are
	// cancelled.
	OfferWithdrawn struct {
		OfferID    string
		OperatorID string
		Reason     string
		On         civil.Date
	}
	// SessionAttached: a session of the offer was scheduled (in the same
	// batch as its SessionScheduled).
	SessionAttached struct {
		OfferID string
		Session SessionRef
	}
)

// Event is an event of any immersion aggregate.
type Event interface{ isEvent() }

func (OfferPublished) isEvent()  {}
func (OfferUpdated) isEvent()    {}
func (OfferWithdrawn) isEvent()  {}
func (SessionAttached) isEvent() {}

// EvolveOffer applies one event to an offer; events of other aggregates
// leave it unchanged.
func EvolveOffer(o Offer, ev Event) Offer {
	switch e := ev.(type) {
	case OfferPublished:
		o.ID, o.Profile = e.OfferID, e.Profile
	case OfferUpdated:
		o.Profile = e.Profile
	case OfferWithdrawn:
		o.Withdrawn, o.WithdrawnOn, o.Reason = true, e.On, e.Reason
	case SessionAttached:
		o.Sessions = append(slices.Clone(o.Sessions), e.Session)
	}
	return o
}

// Offer commands.
type (
	// PublishOffer publishes a new offer.
	PublishOffer struct {
		OfferID string
		Profile OfferProfile
		Today   civil.Date
	}
	// UpdateOffer replaces the profile; the operator stays.
	UpdateOffer struct {
		OfferID string
		Profile OfferProfile
		Today   civil.Date
	}
	// WithdrawOffer withdraws the offer.
	WithdrawOffer struct {
		OfferID string
		Reason  string
		Today   civil.Date
	}
)

var (
	romeCode    = regexp.MustCompile(`^[A-Z][0-9]{4}$`)
	communeCode = regexp.MustCompile(`^([0-9]{5}|2[AB][0-9]{3})$`)
)

// NormalizeTrade trims a ROME code and puts it in upper case; ok is false
// when it is not a letter and four digits.
func NormalizeTrade(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, romeCode.MatchString(s)
}

// CheckReason records the problem of the reason of a withdrawal or a
// cancellation, as field "reason".
func CheckReason(v *apperr.Violations, reason string) {
	text.Check(v, "reason", strings.TrimSpace(reason), reasonRule)
}

// NormalizeProfile trims the profile's texts and normalizes its trades.
func NormalizeProfile(p OfferProfile) OfferProfile {
	p.Platform.Name = strings.TrimSpace(p.Platform.Name)
	p.Platform.Address = strings.TrimSpace(p.Platform.Address)
	p.Platform.CommuneCode = strings.ToUpper(strings.TrimSpace(p.Platform.CommuneCode))
	p.Description = strings.TrimSpace(p.Description)
	trades := make([]string, len(p.Trades))
	for i, t := range p.Trades {
		trades[i], _ = NormalizeTrade(t)
	}
	p.Trades = trades
	return p
}

// CheckProfile records the problems of a (normalized) profile under field.
func CheckProfile(v *apperr.Violations, field string, p OfferProfile, today civil.Date) {
	ident.Code(v, field+".operator_id", p.OperatorID)
	text.Check(v, field+".platform.name", p.Platform.Name, platformNameRule)
	text.Check(v, field+".platform.address", p.Platform.Address, addressRule)
	if !communeCode.MatchString(p.Platform.CommuneCode) {
		v.Add(field+".platform.commune_code", "must be an INSEE commune code: five digits, or 2A/2B and three digits")
	}
	ident.Territory(v, field+".platform.territory_code", p.Platform.Territory)
	if len(p.Trades) == 0 || len(p.Trades) > MaxTrades {
		v.Addf(field+".rome_codes", "needs 1 to %d trades", MaxTrades)
	}
	for i, t := range p.Trades {
		f := fmt.Sprintf("%s.rome_codes[%d]", field, i)
		if !romeCode.MatchString(t) {
			v.Addf(f, "%q is not a ROME code: a letter and four digits, such as H2909", t)
		} else if slices.Contains(p.Trades[:i], t) {
			v.Addf(f, "%s is listed twice", t)
		}
	}
	from, to := p.AccreditedFrom, p.AccreditedTo
	switch {
	case !from.Valid():
		v.Add(field+".accredited_from", "is required: a valid date")
	case !to.Valid():
		v.Add(field+".accredited_to", "is required: a valid date")
	case to.Before(from):
		v.Add(field+".accredited_to", "must not be before accredited_from")
	case to.Before(today):
		v.Add(field+".accredited_to", "has passed: the accreditation has expired")
	}
	text.Check(v, field+".description", p.Description, descriptionRule)
}

// DecideOffer decides an offer command.
func DecideOffer(o Offer, cmd any) ([]Event, error) {
	switch c := cmd.(type) {
	case PublishOffer:
		var v apperr.Violations
		CheckProfile(&v, "profile", c.Profile, c.Today)
		if err := v.Err(); err != nil {
			return nil, err
		}
		if o.Exists() {
			return nil, apperr.AlreadyExists("offer %s already exists", o.ID).WithMeta("offer_id", o.ID)
		}
		return []Event{OfferPublished{OfferID: c.OfferID, Profile: c.Profile}}, nil
	case UpdateOffer:
		var v apperr.Violations
		CheckProfile(&v, "profile", c.Profile, c.Today)
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := changeable(o, c.OfferID); err != nil {
			return nil, err
		}
		if c.Profile.OperatorID != o.Profile.OperatorID {
			return nil, refused(ReasonOperatorChanged, "offer %s belongs to operator %s: publish another offer for another operator", o.ID, o.Profile.OperatorID)
		}
		if sameProfile(o.Profile, c.Profile) {
			return nil, nil
		}
		return []Event{OfferUpdated{OfferID: o.ID, Profile: c.Profile}}, nil
	case WithdrawOffer:
		var v apperr.Violations
		CheckReason(&v, c.Reason)
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := changeable(o, c.OfferID); err != nil {
			return nil, err
		}
		return []Event{OfferWithdrawn{OfferID: o.ID, OperatorID: o.Profile.OperatorID, Reason: strings.TrimSpace(c.Reason), On: c.Today}}, nil
	}
	return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
}

func changeable(o Offer, id string) error {
	if !o.Exists() {
		return apperr.NotFound("offer %s not found", id)
	}
	if o.Withdrawn {
		return refused(ReasonOfferWithdrawn, "offer %s was withdrawn on %s", o.ID, o.WithdrawnOn)
	}
	return nil
}

func sameProfile(a, b OfferProfile) bool {
	return a.OperatorID == b.OperatorID && a.Platform == b.Platform && slices.Equal(a.Trades, b.Trades) &&
		a.AccreditedFrom == b.AccreditedFrom && a.AccreditedTo == b.AccreditedTo && a.Accessible == b.Accessible &&
		a.Description == b.Description
}
