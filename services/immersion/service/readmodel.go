package service

import (
	"context"
	"errors"
	"slices"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The people read model (peopleProjection), from intake's registrations
// and erasures: only the birth date, for the minimum age, and which
// learners' personal data was erased. An erasure drops the birth date; a
// read model rebuilt later holds the same (the registration then reads
// without its sealed birth date).
//
//	born:<learner id>     YYYY-MM-DD
//	erased:<learner id>   the erasure's date, YYYY-MM-DD
func bornKey(id string) string   { return "born:" + id }
func erasedKey(id string) string { return "erased:" + id }

func (s *Service) projectPerson(_ context.Context, ev event.Event) ([]projection.Op, error) {
	if e, ok := intakecontract.ErasureOf(ev.Data); ok {
		return []projection.Op{
			projection.Delete(bornKey(e.LearnerID)),
			projection.Put(erasedKey(e.LearnerID), []byte(civilpb.Date(e.ErasedOn).String())),
		}, nil
	}
	m, ok := ev.Data.(*intakev1.LearnerRegistered)
	if !ok || ev.Erased {
		return nil, nil
	}
	born := civilpb.Date(m.GetBirthDate())
	if !born.Valid() {
		return nil, nil
	}
	return []projection.Op{projection.Put(bornKey(m.GetLearnerId()), []byte(born.String()))}, nil
}

// The learners read model (learnersProjection), from pathway's entries and
// exits: the territory and the dated episodes, what "active in the pathway
// on the session's dates" and the caseload scope need.
//
//	learner:<id>   storedLearner, JSON
func learnerKey(id string) string { return "learner:" + id }

type storedEpisode struct {
	Number int    `json:"n"`
	Entry  string `json:"entry"`
	Exit   string `json:"exit,omitempty"`
}

type storedLearner struct {
	Territory string          `json:"territory"`
	Episodes  []storedEpisode `json:"episodes"`
}

// storedLearner reads a learner; one pathway never mentioned reads as empty.
func (s *Service) storedLearner(ctx context.Context, id string) (storedLearner, error) {
	l, _, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
	return l, err
}

func (s *Service) projectLearner(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id, territory string
		apply         func(*storedLearner)
	)
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			l.Episodes = slices.DeleteFunc(l.Episodes, func(e storedEpisode) bool { return e.Number == int(m.GetEpisodeNumber()) })
			l.Episodes = append(l.Episodes, storedEpisode{Number: int(m.GetEpisodeNumber()), Entry: civilpb.Date(m.GetEntryDate()).String()})
		}
	case *pathwayv1.PathwayExited:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			exit := civilpb.Date(m.GetExitDate()).String()
			for i := range l.Episodes {
				if l.Episodes[i].Number == int(m.GetEpisodeNumber()) {
					l.Episodes[i].Exit = exit
					return
				}
			}
			l.Episodes = append(l.Episodes, storedEpisode{Number: int(m.GetEpisodeNumber()), Entry: civilpb.Date(m.GetEntryDate()).String(), Exit: exit})
		}
	default:
		return nil, nil
	}
	l, err := s.storedLearner(ctx, id)
	if err != nil {
		return nil, err
	}
	apply(&l)
	if territory != "" {
		l.Territory = territory
	}
	op, err := projection.PutJSON(learnerKey(id), l)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// erased reports whether the learner's personal data was erased, per the
// people read model.
func (s *Service) erased(ctx context.Context, id string) (bool, error) {
	_, err := s.store.Get(ctx, peopleProjection, erasedKey(id))
	switch {
	case errors.Is(err, projection.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// refuseErased answers a FailedPrecondition when the learner's personal
// data was erased: such a learner is booked no more.
func (s *Service) refuseErased(ctx context.Context, id string) error {
	erased, err := s.erased(ctx, id)
	if err != nil || !erased {
		return err
	}
	return apperr.FailedPrecondition("the learner's personal data was erased").WithMeta("reason", domain.ReasonLearnerErased)
}

// learnerFacts is what immersion knows of a learner: birth date and
// episodes (domain.Learner), and its territory.
func (s *Service) learnerFacts(ctx context.Context, id string) (domain.Learner, string, error) {
	l, err := s.storedLearner(ctx, id)
	if err != nil {
		return domain.Learner{}, "", err
	}
	out := domain.Learner{ID: id}
	for _, e := range l.Episodes {
		entry, _ := civil.Parse(e.Entry)
		var exit civil.Date
		if e.Exit != "" {
			exit, _ = civil.Parse(e.Exit)
		}
		out.Episodes = append(out.Episodes, domain.Episode{Number: e.Number, Entry: entry, Exit: exit})
	}
	b, err := s.store.Get(ctx, peopleProjection, bornKey(id))
	switch {
	case errors.Is(err, projection.ErrNotFound):
	case err != nil:
		return domain.Learner{}, "", err
	default:
		out.Born, _ = civil.Parse(string(b))
	}
	return out, l.Territory, nil
}

// scope is the caseload scope of a learner, from its territory.
func (s *Service) scope(ctx context.Context, id string) (auth.LearnerScope, error) {
	l, err := s.storedLearner(ctx, id)
	if err != nil {
		return auth.LearnerScope{}, err
	}
	return s.caseload.Scope(ctx, id, l.Territory)
}

// scopes is scope for several learners, by id.
func (s *Service) scopes(ctx context.Context, ids []string) (map[string]auth.LearnerScope, error) {
	out := make(map[string]auth.LearnerScope, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = learnerKey(id)
	}
	stored, err := projection.GetManyJSON[storedLearner](ctx, s.store, learnersProjection, keys)
	if err != nil {
		return nil, err
	}
	territories := make([]string, len(ids))
	for i, l := range stored {
		if l != nil {
			territories[i] = l.Territory
		}
	}
	sc, err := s.caseload.Scopes(ctx, ids, territories)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		out[id] = sc[i]
	}
	return out, nil
}

// The catalogue read model (catalogueProjection), from the whole IMMERSION
// stream. It keeps no personal text: a booking's cancellation reason and an
// outcome's comment stay sealed in their events, which the catalogue points
// at by stream sequence, and are opened when read (texts). Once a learner's
// data key is erased they read empty, in this read model as in one rebuilt
// from the stream, and nothing is left to purge.
//
//	session:<id>                 storedSession, JSON: the session and its counts
//	booking:<session>/<learner>  storedBooking, JSON: a learner's booking of a session
//	sessions                     index of every session, "<from>/<session id>"
//	trade:<rome code>            index of the trade's sessions, same members
//	territory:<code>             index of the territory's sessions, same members
//	operator:<id>                index of the operator's sessions, same members
//	learner-bookings:<learner>   index of a learner's bookings, "<from>/<session id>"
//	operator-bookings:<id>       index of the bookings of an operator's sessions, "<from>/<session id>/<learner id>"
//	session-bookings:<session>   index of a session's bookings, "<learner id>"
func sessionKey(id string) string                     { return "session:" + id }
func bookingKey(session, learner string) string       { return "booking:" + session + "/" + learner }
func tradeIndex(code string) string                   { return "trade:" + code }
func territoryIndex(code string) string               { return "territory:" + code }
func operatorIndex(id string) string                  { return "operator:" + id }
func learnerBookingsIndex(id string) string           { return "learner-bookings:" + id }
func operatorBookingsIndex(id string) string          { return "operator-bookings:" + id }
func sessionBookingsIndex(id string) string           { return "session-bookings:" + id }
func sessionMember(from civil.Date, id string) string { return from.String() + "/" + id }

const sessionsIndex = "sessions"

type storedSession struct {
	ID           string          `json:"id"`
	OfferID      string          `json:"offer"`
	OperatorID   string          `json:"operator"`
	Territory    string          `json:"territory"`
	Trades       []string        `json:"trades"`
	Accessible   bool            `json:"accessible"`
	Schedule     domain.Schedule `json:"schedule"`
	Cancelled    bool            `json:"cancelled"`
	CancelReason string          `json:"cancel_reason,omitempty"`
	Booked       int             `json:"booked"`
	Waiting      int             `json:"waiting"`
	Completed    int             `json:"completed"`
	Partial      int             `json:"partial"`
	NoShow       int             `json:"no_show"`
}

// Booking statuses of the read model.
const (
	statusBooked     = "booked"
	statusWaitlisted = "waitlisted"
	statusCancelled  = "cancelled"
	statusDropped    = "dropped"
)

// storedBooking is a learner's booking of a session. Its outcome is kept
// without its comment: CommentAt is the stream sequence of the
// OutcomeRecorded event holding it, ReasonAt that of the BookingCancelled
// event holding the cancellation's reason (0: none).
type storedBooking struct {
	SessionID string                   `json:"session"`
	LearnerID string                   `json:"learner"`
	Status    string                   `json:"status"`
	Position  int                      `json:"position,omitempty"`
	Promoted  bool                     `json:"promoted,omitempty"`
	Outcome   *domain.Outcome          `json:"outcome,omitempty"`
	CommentAt uint64                   `json:"comment_at,omitempty"`
	Cause     domain.CancellationCause `json:"cause,omitempty"`
	ReasonAt  uint64                   `json:"reason_at,omitempty"`
	Drop      domain.DropReason        `json:"drop,omitempty"`
}

func (s *Service) projectCatalogue(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	d, ok := decode(ev)
	if !ok {
		return nil, nil
	}
	var sessionID string
	switch e := d.(type) {
	case domain.SessionScheduled:
		ss := storedSession{
			ID: e.SessionID, OfferID: e.OfferID, OperatorID: e.OperatorID, Territory: e.Territory, Trades: e.Trades,
			Accessible: e.Accessible, Schedule: e.Schedule,
		}
		op, err := projection.PutJSON(sessionKey(e.SessionID), ss)
		if err != nil {
			return nil, err
		}
		member := sessionMember(e.Schedule.From, e.SessionID)
		ops := []projection.Op{op, projection.IndexAdd(sessionsIndex, member), projection.IndexAdd(operatorIndex(e.OperatorID), member)}
		if e.Territory != "" {
			ops = append(ops, projection.IndexAdd(territoryIndex(e.Territory), member))
		}
		for _, t := range e.Trades {
			ops = append(ops, projection.IndexAdd(tradeIndex(t), member))
		}
		return ops, nil
	case domain.CapacityChanged:
		sessionID = e.SessionID
	case domain.SessionCancelled:
		sessionID = e.SessionID
	case domain.PlaceBooked:
		sessionID = e.SessionID
	case domain.Waitlisted:
		sessionID = e.SessionID
	case domain.BookingCancelled:
		sessionID = e.SessionID
	case domain.WaitlistDropped:
		sessionID = e.SessionID
	case domain.OutcomeRecorded:
		sessionID = e.SessionID
	default:
		return nil, nil
	}
	ss, found, err := projection.GetJSON[storedSession](ctx, s.store, catalogueProjection, sessionKey(sessionID))
	if err != nil || !found {
		return nil, err
	}
	var (
		learner string
		change  func(*storedBooking)
	)
	switch e := d.(type) {
	case domain.CapacityChanged:
		ss.Schedule.Capacity = e.Capacity
	case domain.SessionCancelled:
		ss.Cancelled, ss.CancelReason = true, e.Reason
	case domain.PlaceBooked:
		learner = e.LearnerID
		ss.Booked++
		change = func(b *storedBooking) {
			if b.Status == statusWaitlisted {
				ss.Waiting--
			}
			b.Status, b.Promoted, b.Cause, b.ReasonAt, b.Drop = statusBooked, e.Promoted, "", 0, ""
			if !e.Promoted {
				b.Position = 0
			}
		}
	case domain.Waitlisted:
		learner = e.LearnerID
		ss.Waiting++
		change = func(b *storedBooking) {
			b.Status, b.Position, b.Promoted, b.Cause, b.ReasonAt, b.Drop = statusWaitlisted, e.Position, false, "", 0, ""
		}
	case domain.BookingCancelled:
		learner = e.LearnerID
		change = func(b *storedBooking) {
			switch b.Status {
			case statusBooked:
				ss.Booked--
			case statusWaitlisted:
				ss.Waiting--
			}
			b.Status, b.Cause, b.ReasonAt = statusCancelled, e.Cause, 0
			// Erased: the reason was there, sealed with a key since erased.
			if e.Reason != "" || ev.Erased {
				b.ReasonAt = ev.Sequence
			}
		}
	case domain.WaitlistDropped:
		learner = e.LearnerID
		change = func(b *storedBooking) {
			if b.Status == statusWaitlisted {
				ss.Waiting--
			}
			b.Status, b.Drop = statusDropped, e.Reason
		}
	case domain.OutcomeRecorded:
		learner = e.LearnerID
		switch e.Outcome.Status {
		case domain.OutcomeCompleted:
			ss.Completed++
		case domain.OutcomePartial:
			ss.Partial++
		case domain.OutcomeNoShow:
			ss.NoShow++
		}
		change = func(b *storedBooking) {
			o := e.Outcome
			b.CommentAt = 0
			if o.Comment != "" || ev.Erased {
				b.CommentAt, o.Comment = ev.Sequence, ""
			}
			b.Outcome = &o
		}
	}
	var ops []projection.Op
	if learner != "" {
		b, _, err := projection.GetJSON[storedBooking](ctx, s.store, catalogueProjection, bookingKey(sessionID, learner))
		if err != nil {
			return nil, err
		}
		b.SessionID, b.LearnerID = sessionID, learner
		change(&b)
		op, err := projection.PutJSON(bookingKey(sessionID, learner), b)
		if err != nil {
			return nil, err
		}
		member := sessionMember(ss.Schedule.From, sessionID)
		ops = append(ops, op,
			projection.IndexAdd(learnerBookingsIndex(learner), member),
			projection.IndexAdd(operatorBookingsIndex(ss.OperatorID), member+"/"+learner),
			projection.IndexAdd(sessionBookingsIndex(sessionID), learner))
	}
	op, err := projection.PutJSON(sessionKey(sessionID), ss)
	if err != nil {
		return nil, err
	}
	return append(ops, op), nil
}

// storedSessions reads the sessions of ids (missing ones are skipped).
func (s *Service) storedSessions(ctx context.Context, ids []string) (map[string]storedSession, error) {
	out := make(map[string]storedSession, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = sessionKey(id)
	}
	stored, err := projection.GetManyJSON[storedSession](ctx, s.store, catalogueProjection, keys)
	if err != nil {
		return nil, err
	}
	for i, ss := range stored {
		if ss != nil {
			out[ids[i]] = *ss
		}
	}
	return out, nil
}

// storedSessionView is a stored session as answered (no places nor
// waitlist).
func storedSessionView(ss storedSession) *immersionv1.Session {
	return &immersionv1.Session{
		SessionId: ss.ID, OfferId: ss.OfferID, OperatorId: ss.OperatorID, TerritoryCode: ss.Territory, RomeCodes: ss.Trades,
		Accessible: ss.Accessible, FromDate: civilpb.FromDate(ss.Schedule.From), ToDate: civilpb.FromDate(ss.Schedule.To),
		DailyMinutes: int32(ss.Schedule.DailyMinutes), Capacity: int32(ss.Schedule.Capacity), BookingDeadline: civilpb.FromDate(ss.Schedule.Deadline),
		Booked: int32(ss.Booked), FreePlaces: int32(max(ss.Schedule.Capacity-ss.Booked, 0)), WaitlistLength: int32(ss.Waiting),
		Cancelled: ss.Cancelled, CancellationReason: ss.CancelReason,
	}
}

var bookingStatuses = map[string]immersionv1.BookingStatus{
	statusBooked:     immersionv1.BookingStatus_BOOKING_STATUS_BOOKED,
	statusWaitlisted: immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED,
	statusCancelled:  immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED,
	statusDropped:    immersionv1.BookingStatus_BOOKING_STATUS_DROPPED,
}

// storedBookingView is a stored booking as answered, with its session's
// details and its texts, opened from the events (texts, by stream
// sequence).
func storedBookingView(b storedBooking, ss storedSession, texts map[uint64]string) *immersionv1.Booking {
	out := &immersionv1.Booking{
		SessionId: b.SessionID, LearnerId: b.LearnerID, Status: bookingStatuses[b.Status], WaitlistPosition: int32(b.Position),
		PromotedFromWaitlist: b.Promoted, CancellationCause: causes[b.Cause], CancellationReason: texts[b.ReasonAt], DropReason: drops[b.Drop],
		OfferId: ss.OfferID, OperatorId: ss.OperatorID, TerritoryCode: ss.Territory, RomeCodes: ss.Trades,
		FromDate: civilpb.FromDate(ss.Schedule.From), ToDate: civilpb.FromDate(ss.Schedule.To),
	}
	if b.Outcome != nil {
		o := *b.Outcome
		o.Comment = texts[b.CommentAt]
		out.Outcome = outcomeToProto(o)
	}
	return out
}

// textsOf lists the stream sequences of the texts of bookings.
func textsOf(bookings []*storedBooking) []uint64 {
	var seqs []uint64
	for _, b := range bookings {
		if b == nil {
			continue
		}
		for _, seq := range []uint64{b.ReasonAt, b.CommentAt} {
			if seq != 0 {
				seqs = append(seqs, seq)
			}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(seqs)))
}
