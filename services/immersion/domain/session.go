package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Bounds of a session.
const (
	MaxSessionDays   = 30
	MaxDailyMinutes  = 600
	MaxCapacity      = 200
	MaxWaitlist      = 500
	MinAge           = 16
	MaxCommentLength = 1000
)

// commentRule is the rule of an outcome's comment: free text, optional.
var commentRule = text.Rule{Kind: text.Block, Max: MaxCommentLength}

// Schedule is when a session runs and how many it takes.
type Schedule struct {
	From, To     civil.Date // both included
	DailyMinutes int
	Capacity     int
	Deadline     civil.Date // last day to book
}

// Days is the number of calendar days of the session.
func (s Schedule) Days() int { return s.From.DaysUntil(s.To) + 1 }

// MinutesUntil is the scheduled minutes from the first day to day included.
func (s Schedule) MinutesUntil(day civil.Date) int {
	return (s.From.DaysUntil(day) + 1) * s.DailyMinutes
}

// MinutesScheduled is the scheduled total.
func (s Schedule) MinutesScheduled() int { return s.Days() * s.DailyMinutes }

// Overlaps reports whether the session's days meet [from, to].
func (s Schedule) Overlaps(from, to civil.Date) bool { return !s.To.Before(from) && !to.Before(s.From) }

// Place is a booked place.
type Place struct {
	LearnerID string
	Promoted  bool
	Position  int // waitlist position when joining, for a promotion
}

// Waiter is a learner in the waitlist.
type Waiter struct {
	LearnerID string
	Position  int // rank when joining
}

// OutcomeStatus is what became of a booked learner.
type OutcomeStatus string

// The outcomes.
const (
	OutcomeCompleted OutcomeStatus = "completed"
	OutcomePartial   OutcomeStatus = "partially-completed"
	OutcomeNoShow    OutcomeStatus = "did-not-show"
)

// TradeFit is the operator's assessment of the trade fit.
type TradeFit string

// The assessments.
const (
	FitConfirmed TradeFit = "confirmed"
	FitExplore   TradeFit = "to-explore-further"
	FitNotForMe  TradeFit = "not-for-me"
)

// Outcome is what the operator recorded.
type Outcome struct {
	Status    OutcomeStatus
	LastDay   civil.Date // partial only
	Minutes   int
	Scheduled int
	Fit       TradeFit // not for a no-show
	Comment   string
}

// CancellationCause is why a booking or waitlist entry ended.
type CancellationCause string

// The causes.
const (
	CauseReferent       CancellationCause = "referent"
	CauseOperator       CancellationCause = "operator"
	CauseAdmin          CancellationCause = "admin"
	CausePathwayExit    CancellationCause = "pathway-exit"
	CauseOfferWithdrawn CancellationCause = "offer-withdrawn"
)

// DropReason is why a waitlisted learner was skipped at a promotion; ""
// means eligible.
type DropReason string

// The reasons.
const (
	DropNotInPathway DropReason = "not-in-pathway"
	DropOverlapping  DropReason = "overlapping-booking"
)

// Session is a session aggregate, folded from its events.
type Session struct {
	ID         string
	OfferID    string
	OperatorID string
	Territory  string
	Trades     []string
	Accessible bool
	Schedule
	AccreditedTo civil.Date
	Cancelled    bool
	CancelReason string
	// Places are the booked learners, in booking order.
	Places []Place
	// Waitlist is in rank order.
	Waitlist []Waiter
	// Outcomes by learner id.
	Outcomes map[string]Outcome
}

// Exists reports whether the session was scheduled.
func (s Session) Exists() bool { return s.OfferID != "" }

// Booked is the number of places taken.
func (s Session) Booked() int { return len(s.Places) }

// Free is the number of places left.
func (s Session) Free() int { return max(s.Capacity-len(s.Places), 0) }

// PlaceOf returns the learner's place.
func (s Session) PlaceOf(learner string) (Place, bool) {
	i := slices.IndexFunc(s.Places, func(p Place) bool { return p.LearnerID == learner })
	if i < 0 {
		return Place{}, false
	}
	return s.Places[i], true
}

// RankOf returns the learner's rank in the waitlist (from 1), 0 if absent.
func (s Session) RankOf(learner string) int {
	return slices.IndexFunc(s.Waitlist, func(w Waiter) bool { return w.LearnerID == learner }) + 1
}

// Events of a session and of a learner's reservations.
type (
	// SessionScheduled: a new session, with what it copies of its offer.
	SessionScheduled struct {
		SessionID    string
		OfferID      string
		OperatorID   string
		Territory    string
		Trades       []string
		Accessible   bool
		Schedule     Schedule
		AccreditedTo civil.Date
	}
	// CapacityChanged: the number of places.
	CapacityChanged struct {
		SessionID string
		Previous  int
		Capacity  int
	}
	// SessionCancelled: the session will not run (each booking and waitlist
	// entry has its BookingCancelled).
	SessionCancelled struct {
		SessionID string
		Reason    string
	}
	// PlaceBooked: a learner got a place.
	PlaceBooked struct {
		SessionID  string
		LearnerID  string
		Promoted   bool
		Booked     int // places taken after this one
		Capacity   int
		OfferID    string
		OperatorID string
		From, To   civil.Date
	}
	// Waitlisted: the session was full.
	Waitlisted struct {
		SessionID string
		LearnerID string
		Position  int
	}
	// BookingCancelled: a place freed, or a waitlist entry removed.
	BookingCancelled struct {
		SessionID     string
		LearnerID     string
		WasWaitlisted bool
		Cause         CancellationCause
		Reason        string
	}
	// WaitlistDropped: a waitlisted learner no longer eligible was skipped.
	WaitlistDropped struct {
		SessionID string
		LearnerID string
		Reason    DropReason
	}
	// OutcomeRecorded: what became of a booked learner.
	OutcomeRecorded struct {
		SessionID  string
		LearnerID  string
		Outcome    Outcome
		OfferID    string
		OperatorID string
		Trades     []string
	}
	// DatesReserved: a learner's place reserves the session's dates.
	DatesReserved struct {
		LearnerID string
		SessionID string
		From, To  civil.Date
	}
	// DatesReleased: the reservation ended.
	DatesReleased struct {
		LearnerID string
		SessionID string
		From, To  civil.Date
	}
)

func (SessionScheduled) isEvent() {}
func (CapacityChanged) isEvent()  {}
func (SessionCancelled) isEvent() {}
func (PlaceBooked) isEvent()      {}
func (Waitlisted) isEvent()       {}
func (BookingCancelled) isEvent() {}
func (WaitlistDropped) isEvent()  {}
func (OutcomeRecorded) isEvent()  {}
func (DatesReserved) isEvent()    {}
func (DatesReleased) isEvent()    {}
func (PathwayLeft) isEvent()      {}

// PathwayLeft: the learner left the pathway (episode Episode, last day
// Exit), marked on the learner's reservations before the later bookings are
// cancelled, so that a booking decided on a read model that has not seen
// the exit cannot slip in after them.
type PathwayLeft struct {
	LearnerID string
	Episode   int
	Exit      civil.Date
}

// EvolveSession applies one event to a session; events of other aggregates
// leave it unchanged.
func EvolveSession(s Session, ev Event) Session {
	switch e := ev.(type) {
	case SessionScheduled:
		s = Session{
			ID: e.SessionID, OfferID: e.OfferID, OperatorID: e.OperatorID, Territory: e.Territory, Trades: e.Trades,
			Accessible: e.Accessible, Schedule: e.Schedule, AccreditedTo: e.AccreditedTo,
		}
	case CapacityChanged:
		s.Capacity = e.Capacity
	case SessionCancelled:
		s.Cancelled, s.CancelReason = true, e.Reason
	case PlaceBooked:
		p := Place{LearnerID: e.LearnerID, Promoted: e.Promoted}
		if r := s.RankOf(e.LearnerID); r > 0 {
			p.Position = s.Waitlist[r-1].Position
		}
		s.Waitlist = withoutWaiter(s.Waitlist, e.LearnerID)
		s.Places = append(slices.Clone(s.Places), p)
	case Waitlisted:
		s.Waitlist = append(slices.Clone(s.Waitlist), Waiter{LearnerID: e.LearnerID, Position: e.Position})
	case BookingCancelled:
		s.Waitlist = withoutWaiter(s.Waitlist, e.LearnerID)
		s.Places = slices.DeleteFunc(slices.Clone(s.Places), func(p Place) bool { return p.LearnerID == e.LearnerID })
	case WaitlistDropped:
		s.Waitlist = withoutWaiter(s.Waitlist, e.LearnerID)
	case OutcomeRecorded:
		s.Outcomes = maps.Clone(s.Outcomes)
		if s.Outcomes == nil {
			s.Outcomes = map[string]Outcome{}
		}
		s.Outcomes[e.LearnerID] = e.Outcome
	}
	return s
}

func withoutWaiter(ws []Waiter, learner string) []Waiter {
	return slices.DeleteFunc(slices.Clone(ws), func(w Waiter) bool { return w.LearnerID == learner })
}

// Reservation is a session whose dates a learner has reserved.
type Reservation struct {
	SessionID string
	From, To  civil.Date
}

// LearnerSchedule is a learner's reservations aggregate.
type LearnerSchedule struct {
	LearnerID string
	Reserved  map[string]Reservation // by session id
	// Left are the exits marked, last day by episode.
	Left map[int]civil.Date
}

// Known completes the episodes a read model knows with the exits marked on
// the reservations, which the read model may not have seen yet.
func (l LearnerSchedule) Known(episodes []Episode) []Episode {
	if len(l.Left) == 0 {
		return episodes
	}
	out := slices.Clone(episodes)
	for i, e := range out {
		if exit, ok := l.Left[e.Number]; ok && (e.Exit.IsZero() || exit.Before(e.Exit)) {
			out[i].Exit = exit
		}
	}
	return out
}

// EvolveLearner applies one event to a learner's reservations.
func EvolveLearner(l LearnerSchedule, ev Event) LearnerSchedule {
	switch e := ev.(type) {
	case DatesReserved:
		l.LearnerID = e.LearnerID
		l.Reserved = maps.Clone(l.Reserved)
		if l.Reserved == nil {
			l.Reserved = map[string]Reservation{}
		}
		l.Reserved[e.SessionID] = Reservation{SessionID: e.SessionID, From: e.From, To: e.To}
	case DatesReleased:
		l.Reserved = maps.Clone(l.Reserved)
		delete(l.Reserved, e.SessionID)
	case PathwayLeft:
		l.LearnerID = e.LearnerID
		l.Left = maps.Clone(l.Left)
		if l.Left == nil {
			l.Left = map[int]civil.Date{}
		}
		l.Left[e.Episode] = e.Exit
	}
	return l
}

// DecideLeave marks the learner's exit of episode on exit, once.
func DecideLeave(l LearnerSchedule, learnerID string, episode int, exit civil.Date) []Event {
	if marked, ok := l.Left[episode]; ok && marked == exit {
		return nil
	}
	return []Event{PathwayLeft{LearnerID: learnerID, Episode: episode, Exit: exit}}
}

// Overlapping returns a reservation of another session meeting [from, to].
func (l LearnerSchedule) Overlapping(session string, from, to civil.Date) (Reservation, bool) {
	ids := slices.Sorted(maps.Keys(l.Reserved))
	for _, id := range ids {
		r := l.Reserved[id]
		if id != session && !r.To.Before(from) && !to.Before(r.From) {
			return r, true
		}
	}
	return Reservation{}, false
}

// Episode is one of a learner's periods in the pathway, from pathway's
// events: Exit is zero while open.
type Episode struct {
	Number      int
	Entry, Exit civil.Date
}

// ActiveThrough reports whether the learner is in the pathway every day from
// from to to: an episode entered on or before from and not exited before to.
func ActiveThrough(episodes []Episode, from, to civil.Date) bool {
	return slices.ContainsFunc(episodes, func(e Episode) bool {
		return !e.Entry.After(from) && (e.Exit.IsZero() || !e.Exit.Before(to))
	})
}

// Learner is what immersion knows of a learner from intake and pathway.
type Learner struct {
	ID       string
	Born     civil.Date // zero when intake's registration was not seen
	Episodes []Episode
}

// Eligibility tells whether a waitlisted learner may be promoted now, and
// why not.
type Eligibility func(learnerID string) DropReason

// Session commands.
type (
	// ScheduleSession schedules a session of an offer.
	ScheduleSession struct {
		SessionID string
		OfferID   string
		Schedule  Schedule
		Today     civil.Date
	}
	// ChangeCapacity grows or shrinks a session.
	ChangeCapacity struct {
		SessionID string
		Capacity  int
		Today     civil.Date
	}
	// CancelSession cancels a session with its bookings and waitlist.
	CancelSession struct {
		SessionID string
		Cause     CancellationCause
		Reason    string
	}
	// BookPlace books a place for a learner, or waitlists them.
	BookPlace struct {
		SessionID string
		Learner   Learner
		Today     civil.Date
	}
	// CancelBooking cancels a learner's place or waitlist entry. IfAny (the
	// service's own cancellations) makes a missing booking, or one with an
	// outcome, a no-op rather than an error.
	CancelBooking struct {
		SessionID string
		LearnerID string
		Cause     CancellationCause
		Reason    string
		Today     civil.Date
		IfAny     bool
	}
	// RecordOutcome records what became of a booked learner.
	RecordOutcome struct {
		SessionID string
		LearnerID string
		Outcome   Outcome
		Today     civil.Date
	}
)

// CheckSchedule records the problems of a schedule.
func CheckSchedule(v *apperr.Violations, s Schedule, today civil.Date) {
	switch {
	case !s.From.Valid():
		v.Add("from_date", "is required: a valid date")
	case !s.To.Valid():
		v.Add("to_date", "is required: a valid date")
	case s.To.Before(s.From):
		v.Add("to_date", "must not be before from_date")
	case s.Days() > MaxSessionDays:
		v.Addf("to_date", "a session lasts at most %d calendar days, from_date and to_date included (%d asked)", MaxSessionDays, s.Days())
	}
	if s.From.Valid() && s.From.Before(today) {
		v.Add("from_date", "must not be in the past")
	}
	if s.DailyMinutes < 1 || s.DailyMinutes > MaxDailyMinutes {
		v.Addf("daily_minutes", "must be 1 to %d minutes", MaxDailyMinutes)
	}
	checkCapacity(v, s.Capacity)
	switch {
	case !s.Deadline.Valid():
		v.Add("booking_deadline", "is required: a valid date")
	case s.From.Valid() && s.Deadline.After(s.From):
		v.Add("booking_deadline", "must not be after from_date")
	}
}

func checkCapacity(v *apperr.Violations, n int) {
	if n < 1 || n > MaxCapacity {
		v.Addf("capacity", "must be 1 to %d places", MaxCapacity)
	}
}

// DecideSchedule decides the scheduling of a session of offer: the
// session's SessionScheduled, then the offer's SessionAttached.
func DecideSchedule(o Offer, s Session, c ScheduleSession) ([]Event, error) {
	var v apperr.Violations
	CheckSchedule(&v, c.Schedule, c.Today)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, apperr.AlreadyExists("session %s already exists", s.ID).WithMeta("session_id", s.ID)
	}
	if !o.Exists() {
		return nil, apperr.NotFound("offer %s not found", c.OfferID)
	}
	if o.Withdrawn {
		return nil, refused(ReasonOfferWithdrawn, "offer %s was withdrawn on %s", o.ID, o.WithdrawnOn)
	}
	if o.ExpiredOn(c.Today) {
		return nil, refused(ReasonAccreditationExpired, "the accreditation of offer %s expired on %s", o.ID, o.Profile.AccreditedTo)
	}
	if c.Schedule.From.Before(o.Profile.AccreditedFrom) || c.Schedule.To.After(o.Profile.AccreditedTo) {
		return nil, refused(ReasonOutsideAccreditation, "the session must lie within the accreditation of offer %s, %s to %s", o.ID, o.Profile.AccreditedFrom, o.Profile.AccreditedTo)
	}
	p := o.Profile
	return []Event{
		SessionScheduled{
			SessionID: c.SessionID, OfferID: o.ID, OperatorID: p.OperatorID, Territory: p.Platform.Territory,
			Trades: p.Trades, Accessible: p.Accessible, Schedule: c.Schedule, AccreditedTo: p.AccreditedTo,
		},
		SessionAttached{OfferID: o.ID, Session: SessionRef{ID: c.SessionID, From: c.Schedule.From, To: c.Schedule.To}},
	}, nil
}

// Promote gives up to free places to the waitlist, in rank order: an
// eligible learner gets a place (PlaceBooked promoted, and the learner's
// DatesReserved); one no longer eligible is dropped (WaitlistDropped).
// Learners after the last promoted stay. Nothing happens once the session
// started or was cancelled.
func Promote(s Session, free int, today civil.Date, eligible Eligibility) []Event {
	if s.Cancelled || today.After(s.From) {
		return nil
	}
	var evs []Event
	booked := s.Booked()
	for _, w := range s.Waitlist {
		if free <= 0 {
			break
		}
		if why := eligible(w.LearnerID); why != "" {
			evs = append(evs, WaitlistDropped{SessionID: s.ID, LearnerID: w.LearnerID, Reason: why})
			continue
		}
		booked++
		free--
		evs = append(evs,
			PlaceBooked{SessionID: s.ID, LearnerID: w.LearnerID, Promoted: true, Booked: booked, Capacity: s.Capacity, OfferID: s.OfferID, OperatorID: s.OperatorID, From: s.From, To: s.To},
			DatesReserved{LearnerID: w.LearnerID, SessionID: s.ID, From: s.From, To: s.To})
	}
	return evs
}

// DecideCapacity decides a capacity change; a growth promotes waitlisted
// learners.
func DecideCapacity(s Session, c ChangeCapacity, eligible Eligibility) ([]Event, error) {
	var v apperr.Violations
	checkCapacity(&v, c.Capacity)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := open(s, c.SessionID); err != nil {
		return nil, err
	}
	if c.Today.After(s.To) {
		return nil, refused(ReasonSessionStarted, "session %s ended on %s: its places are history", s.ID, s.To)
	}
	if c.Capacity < s.Booked() {
		return nil, refused(ReasonCapacityBelowBooked, "session %s has %d places booked: capacity %d is too low", s.ID, s.Booked(), c.Capacity)
	}
	if c.Capacity == s.Capacity {
		return nil, nil
	}
	evs := []Event{CapacityChanged{SessionID: s.ID, Previous: s.Capacity, Capacity: c.Capacity}}
	grown := s
	grown.Capacity = c.Capacity
	return append(evs, Promote(grown, grown.Free(), c.Today, eligible)...), nil
}

func open(s Session, id string) error {
	if !s.Exists() {
		return apperr.NotFound("session %s not found", id)
	}
	if s.Cancelled {
		return refused(ReasonSessionCancelled, "session %s was cancelled", s.ID)
	}
	return nil
}

// DecideCancelSession cancels a session, its places (each learner's
// reservation released) and its waitlist. A cancelled session decides
// nothing.
func DecideCancelSession(s Session, c CancelSession) ([]Event, error) {
	if !s.Exists() {
		return nil, apperr.NotFound("session %s not found", c.SessionID)
	}
	if s.Cancelled {
		return nil, nil
	}
	evs := []Event{SessionCancelled{SessionID: s.ID, Reason: c.Reason}}
	var releases []Event
	for _, p := range s.Places {
		evs = append(evs, BookingCancelled{SessionID: s.ID, LearnerID: p.LearnerID, Cause: c.Cause, Reason: c.Reason})
		releases = append(releases, DatesReleased{LearnerID: p.LearnerID, SessionID: s.ID, From: s.From, To: s.To})
	}
	for _, w := range s.Waitlist {
		evs = append(evs, BookingCancelled{SessionID: s.ID, LearnerID: w.LearnerID, WasWaitlisted: true, Cause: c.Cause, Reason: c.Reason})
	}
	return append(evs, releases...), nil
}

// DecideBook decides a booking over the session, its offer and the
// learner's reservations.
func DecideBook(s Session, o Offer, l LearnerSchedule, c BookPlace) ([]Event, error) {
	if err := open(s, c.SessionID); err != nil {
		return nil, err
	}
	id := c.Learner.ID
	if _, ok := s.PlaceOf(id); ok {
		return nil, apperr.AlreadyExists("learner %s already has a place on session %s", id, s.ID).WithMeta("status", "booked")
	}
	if r := s.RankOf(id); r > 0 {
		return nil, apperr.AlreadyExists("learner %s is already on the waitlist of session %s (rank %d)", id, s.ID, r).WithMeta("status", "waitlisted")
	}
	if o.Withdrawn {
		return nil, refused(ReasonOfferWithdrawn, "offer %s was withdrawn on %s", o.ID, o.WithdrawnOn)
	}
	accreditedTo := s.AccreditedTo
	if o.Exists() {
		accreditedTo = o.Profile.AccreditedTo
	}
	if accreditedTo.Before(c.Today) {
		return nil, refused(ReasonAccreditationExpired, "the accreditation of offer %s expired on %s", s.OfferID, accreditedTo)
	}
	if c.Today.After(s.Deadline) {
		return nil, refused(ReasonDeadlinePassed, "bookings of session %s closed on %s", s.ID, s.Deadline)
	}
	if !ActiveThrough(l.Known(c.Learner.Episodes), s.From, s.To) {
		return nil, refused(ReasonNotInPathway, "learner %s is not in the pathway from %s to %s (as immersion knows it: retry in a moment after an entry)", id, s.From, s.To)
	}
	if c.Learner.Born.IsZero() {
		return nil, refused(ReasonLearnerUnknown, "learner %s is not known from intake yet: retry in a moment", id)
	}
	if age := c.Learner.Born.YearsOn(s.From); age < MinAge {
		return nil, refused(ReasonTooYoung, "learner %s is %d on %s: immersions start at %d", id, age, s.From, MinAge)
	}
	if r, ok := l.Overlapping(s.ID, s.From, s.To); ok {
		return nil, refused(ReasonOverlap, "learner %s is booked on session %s, %s to %s, which overlaps", id, r.SessionID, r.From, r.To).WithMeta("session_id", r.SessionID)
	}
	if s.Free() > 0 {
		return []Event{
			PlaceBooked{SessionID: s.ID, LearnerID: id, Booked: s.Booked() + 1, Capacity: s.Capacity, OfferID: s.OfferID, OperatorID: s.OperatorID, From: s.From, To: s.To},
			DatesReserved{LearnerID: id, SessionID: s.ID, From: s.From, To: s.To},
		}, nil
	}
	if len(s.Waitlist) >= MaxWaitlist {
		return nil, refused(ReasonWaitlistFull, "session %s is full and so is its waitlist (%d)", s.ID, MaxWaitlist)
	}
	return []Event{Waitlisted{SessionID: s.ID, LearnerID: id, Position: len(s.Waitlist) + 1}}, nil
}

// DecideCancelBooking cancels a place or a waitlist entry; a freed place is
// offered to the waitlist (Promote).
func DecideCancelBooking(s Session, c CancelBooking, eligible Eligibility) ([]Event, error) {
	var v apperr.Violations
	CheckReason(&v, c.Reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, apperr.NotFound("session %s not found", c.SessionID)
	}
	reason := strings.TrimSpace(c.Reason)
	_, booked := s.PlaceOf(c.LearnerID)
	waiting := s.RankOf(c.LearnerID) > 0
	if !booked && !waiting {
		if c.IfAny {
			return nil, nil
		}
		return nil, apperr.NotFound("learner %s has no place nor waitlist entry on session %s", c.LearnerID, s.ID)
	}
	if _, done := s.Outcomes[c.LearnerID]; done {
		if c.IfAny {
			return nil, nil
		}
		return nil, refused(ReasonOutcomeRecorded, "the outcome of learner %s on session %s is recorded: it cannot be cancelled", c.LearnerID, s.ID)
	}
	if c.Today.After(s.From) && !c.IfAny {
		// From the second day on, what became of the learner is the
		// operator's outcome to record (a no-show, a partial immersion).
		return nil, refused(ReasonSessionStarted, "session %s started on %s: record the outcome instead of cancelling", s.ID, s.From)
	}
	evs := []Event{BookingCancelled{SessionID: s.ID, LearnerID: c.LearnerID, WasWaitlisted: !booked, Cause: c.Cause, Reason: reason}}
	if !booked {
		return evs, nil
	}
	evs = append(evs, DatesReleased{LearnerID: c.LearnerID, SessionID: s.ID, From: s.From, To: s.To})
	after := EvolveSession(s, evs[0])
	return append(evs, Promote(after, after.Free(), c.Today, eligible)...), nil
}

// CheckOutcome records the problems of an outcome that do not depend on the
// session.
func CheckOutcome(v *apperr.Violations, o Outcome) {
	switch o.Status {
	case OutcomeCompleted:
		if !o.LastDay.IsZero() {
			v.Add("last_day_present", "only for a partially completed immersion")
		}
		if o.Minutes != 0 {
			v.Add("minutes_done", "only for a partially completed immersion: a completed one counts the scheduled total")
		}
		checkFit(v, o.Fit)
	case OutcomePartial:
		if !o.LastDay.Valid() {
			v.Add("last_day_present", "is required: a valid date within the session")
		}
		if o.Minutes < 1 {
			v.Add("minutes_done", "must be at least 1 minute")
		}
		checkFit(v, o.Fit)
	case OutcomeNoShow:
		if !o.LastDay.IsZero() {
			v.Add("last_day_present", "not for a no-show")
		}
		if o.Minutes != 0 {
			v.Add("minutes_done", "must be 0 for a no-show")
		}
		if o.Fit != "" {
			v.Add("trade_fit", "not for a no-show: nothing was assessed")
		}
	default:
		v.Add("status", "must be completed, partially completed or did not show")
	}
	text.Check(v, "comment", strings.TrimSpace(o.Comment), commentRule)
}

func checkFit(v *apperr.Violations, f TradeFit) {
	if !slices.Contains([]TradeFit{FitConfirmed, FitExplore, FitNotForMe}, f) {
		v.Add("trade_fit", "is required: confirmed, to explore further or not for me")
	}
}

// DecideOutcome records an outcome, once per booked learner, from the
// session's last day.
func DecideOutcome(s Session, c RecordOutcome) ([]Event, error) {
	var v apperr.Violations
	CheckOutcome(&v, c.Outcome)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := open(s, c.SessionID); err != nil {
		return nil, err
	}
	if c.Today.Before(s.To) {
		return nil, refused(ReasonSessionNotOver, "session %s ends on %s: record outcomes from that day", s.ID, s.To)
	}
	if _, ok := s.PlaceOf(c.LearnerID); !ok {
		if _, done := s.Outcomes[c.LearnerID]; !done {
			return nil, refused(ReasonNotBooked, "learner %s has no place on session %s", c.LearnerID, s.ID)
		}
	}
	if _, done := s.Outcomes[c.LearnerID]; done {
		return nil, apperr.AlreadyExists("the outcome of learner %s on session %s is already recorded", c.LearnerID, s.ID)
	}
	o := c.Outcome
	o.Comment = strings.TrimSpace(o.Comment)
	o.Scheduled = s.MinutesScheduled()
	switch o.Status {
	case OutcomeCompleted:
		o.Minutes = o.Scheduled
	case OutcomePartial:
		if o.LastDay.Before(s.From) || o.LastDay.After(s.To) {
			return nil, apperr.Invalid(apperr.FieldViolation{Field: "last_day_present", Description: fmt.Sprintf("must lie within the session, %s to %s", s.From, s.To)})
		}
		if most := s.MinutesUntil(o.LastDay); o.Minutes > most {
			return nil, apperr.Invalid(apperr.FieldViolation{Field: "minutes_done", Description: fmt.Sprintf("at most %d: %d days of %d minutes scheduled up to %s", most, s.From.DaysUntil(o.LastDay)+1, s.DailyMinutes, o.LastDay)})
		}
	case OutcomeNoShow:
		o.Minutes = 0
	}
	return []Event{OutcomeRecorded{SessionID: s.ID, LearnerID: c.LearnerID, Outcome: o, OfferID: s.OfferID, OperatorID: s.OperatorID, Trades: s.Trades}}, nil
}
