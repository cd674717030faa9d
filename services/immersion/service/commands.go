package service

import (
	"context"
	"errors"
	"slices"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Commands answer from the aggregates as the command left them (the
// eventstore Outcome), never from a read model: once its events are
// stored, a command cannot fail. Who may act is checked inside the
// decision, on the state decided on; when a read model the decision needs
// (a learner's episodes, the caseload) does not answer, the command answers
// Unavailable and nothing is stored. A retried request is answered from
// the stored events, as its first run left the aggregate, to the same
// caller: request ids belong to their actor.

// PublishOffer implements immersionv1.ImmersionServiceServer. The offer's id
// derives from the request id and the caller, so a retried publication
// addresses the same offer.
func (s *Service) PublishOffer(ctx context.Context, req *immersionv1.PublishOfferRequest) (*immersionv1.PublishOfferResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile, s.deps.Today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := event.DeriveID("immersion/offer/"+caller.Subject, req.GetRequestId())
	cmd := domain.PublishOffer{OfferID: id, Profile: profile, Today: s.deps.Today()}
	out, err := s.offers.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(o domain.Offer) ([]domain.Event, error) {
		return domain.DecideOffer(o, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &immersionv1.PublishOfferResponse{Offer: s.offerView(out.State)}, nil
}

// UpdateOffer implements immersionv1.ImmersionServiceServer.
func (s *Service) UpdateOffer(ctx context.Context, req *immersionv1.UpdateOfferRequest) (*immersionv1.UpdateOfferResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "offer_id", req.GetOfferId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile, s.deps.Today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	cmd := domain.UpdateOffer{OfferID: req.GetOfferId(), Profile: profile, Today: s.deps.Today()}
	out, err := s.offers.Execute(ctx, req.GetOfferId(), s.deps.Command(ctx, req.GetRequestId()), func(o domain.Offer) ([]domain.Event, error) {
		return domain.DecideOffer(o, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &immersionv1.UpdateOfferResponse{Offer: s.offerView(out.State)}, nil
}

// WithdrawOffer implements immersionv1.ImmersionServiceServer. The future
// sessions are cancelled right after, by the withdrawal consumer.
func (s *Service) WithdrawOffer(ctx context.Context, req *immersionv1.WithdrawOfferRequest) (*immersionv1.WithdrawOfferResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "offer_id", req.GetOfferId())
	domain.CheckReason(&v, req.GetReason())
	if err := v.Err(); err != nil {
		return nil, err
	}
	cmd := domain.WithdrawOffer{OfferID: req.GetOfferId(), Reason: req.GetReason(), Today: s.deps.Today()}
	out, err := s.offers.Execute(ctx, req.GetOfferId(), s.deps.Command(ctx, req.GetRequestId()), func(o domain.Offer) ([]domain.Event, error) {
		return domain.DecideOffer(o, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &immersionv1.WithdrawOfferResponse{Offer: s.offerView(out.State)}, nil
}

func (s *Service) offerView(o domain.Offer) *immersionv1.Offer {
	out := &immersionv1.Offer{
		OfferId: o.ID, Profile: profileToProto(o.Profile), Withdrawn: o.Withdrawn, WithdrawnOn: civilpb.FromDate(o.WithdrawnOn),
		WithdrawalReason: o.Reason, AccreditationExpired: o.ExpiredOn(s.deps.Today()),
	}
	for _, r := range o.Sessions {
		out.SessionIds = append(out.SessionIds, r.ID)
	}
	return out
}

// GetOffer implements immersionv1.ImmersionServiceServer, from the offer's
// events.
func (s *Service) GetOffer(ctx context.Context, req *immersionv1.GetOfferRequest) (*immersionv1.GetOfferResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "offer_id", req.GetOfferId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.offers.Load(ctx, req.GetOfferId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !o.State.Exists() || !seesOffer(caller, o.State.Profile.OperatorID) {
		return nil, auth.Denied("offer", req.GetOfferId())
	}
	return &immersionv1.GetOfferResponse{Offer: s.offerView(o.State)}, nil
}

// ScheduleSession implements immersionv1.ImmersionServiceServer. The session
// and its mark on the offer are appended in one batch, the offer expected
// unchanged, so that a concurrent withdrawal either sees the session or
// refuses it.
func (s *Service) ScheduleSession(ctx context.Context, req *immersionv1.ScheduleSessionRequest) (*immersionv1.ScheduleSessionResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "offer_id", req.GetOfferId())
	sch := domain.Schedule{
		From: civilpb.OptionalDate(&v, "from_date", req.GetFromDate()), To: civilpb.OptionalDate(&v, "to_date", req.GetToDate()),
		DailyMinutes: int(req.GetDailyMinutes()), Capacity: int(req.GetCapacity()),
		Deadline: civilpb.OptionalDate(&v, "booking_deadline", req.GetBookingDeadline()),
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	domain.CheckSchedule(&v, sch, s.deps.Today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	offerID := req.GetOfferId()
	id := event.DeriveID("immersion/session/"+caller.Subject, req.GetRequestId())
	cmd := domain.ScheduleSession{SessionID: id, OfferID: offerID, Schedule: sch, Today: s.deps.Today()}
	res, err := s.events.ExecuteAll(ctx, Stream, []string{sessionKind.Filter(id), offerKind.Filter(offerID)}, s.deps.Command(ctx, req.GetRequestId()),
		func(hs []eventstore.History) ([]event.Draft, error) {
			o := offerKind.Fold(hs[1].Events)
			if !o.Exists() || !seesOffer(caller, o.Profile.OperatorID) {
				return nil, auth.Denied("offer", offerID)
			}
			if !managesSessions(caller, o.Profile.OperatorID) {
				return nil, apperr.PermissionDenied("only administrators and the offer's operator schedule its sessions")
			}
			evs, err := domain.DecideSchedule(o, sessionKind.Fold(hs[0].Events), cmd)
			if err != nil {
				return nil, err
			}
			return sessionKind.Encode(evs)
		})
	if err != nil {
		return nil, err
	}
	// The caller manages the offer's sessions: it sees every learner.
	return &immersionv1.ScheduleSessionResponse{Session: sessionView(s.sessions.Outcome(id, res).State, everyone)}, nil
}

// errStale says that the learners a session command concerns changed
// between their choice and the decision: the command starts again, with a
// wider window on the waitlist.
var errStale = errors.New("immersion: the learners concerned changed")

const maxStaleRetries = 6

// sessionDecision decides a command on a session given the session, the
// reservations of the learners loaded with it, and an eligibility for
// promotions.
type sessionDecision func(sess domain.Session, loaded map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error)

// execSession runs a command on a session and on the reservations of the
// learners it concerns: learners names them given the session as last seen
// (the zero session before the first decision) and how far into the
// waitlist to look (window); decide decides with those loaded and an
// eligibility for promotions (in the pathway on the session's dates per the
// learners read model and the exits marked on the reservations, and not
// booked on an overlapping session per the loaded reservations). The
// events of the session and of the learners are appended in one atomic
// batch, each aggregate written expected unchanged (Store.ExecuteAll).
// Promoting a learner beyond the window, or writing to a learner not
// loaded, starts again with the session seen and a wider window. It
// answers the session as the command left it.
func (s *Service) execSession(ctx context.Context, cmd eventstore.Command, sessionID string,
	learners func(sess domain.Session, window int) []string, decide sessionDecision,
) (eventstore.Outcome[domain.Session, domain.Event], error) {
	var seen domain.Session
	window := 4
	for range maxStaleRetries {
		ids := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(learners(seen, window)))), func(id string) bool { return id == "" })
		filters := []string{sessionKind.Filter(sessionID)}
		for _, id := range ids {
			filters = append(filters, reservationsKind.Filter(id))
		}
		res, err := s.events.ExecuteAll(ctx, Stream, filters, cmd, func(hs []eventstore.History) ([]event.Draft, error) {
			sess := sessionKind.Fold(hs[0].Events)
			seen = sess
			loaded := make(map[string]domain.LearnerSchedule, len(ids))
			for i, id := range ids {
				loaded[id] = reservationsKind.Fold(hs[i+1].Events)
			}
			var (
				stale bool
				ioErr error
			)
			eligible := func(id string) domain.DropReason {
				l, ok := loaded[id]
				if !ok {
					stale = true
					return domain.DropNotInPathway
				}
				facts, _, err := s.learnerFacts(ctx, id)
				if err != nil {
					ioErr = err
					return domain.DropNotInPathway
				}
				if !domain.ActiveThrough(l.Known(facts.Episodes), sess.From, sess.To) {
					return domain.DropNotInPathway
				}
				if _, ok := l.Overlapping(sess.ID, sess.From, sess.To); ok {
					return domain.DropOverlapping
				}
				return ""
			}
			evs, err := decide(sess, loaded, eligible)
			switch {
			case err != nil:
				return nil, err
			case ioErr != nil:
				return nil, ioErr
			case stale:
				return nil, errStale
			}
			for _, ev := range evs {
				var learner string
				switch e := ev.(type) {
				case domain.DatesReserved:
					learner = e.LearnerID
				case domain.DatesReleased:
					learner = e.LearnerID
				}
				if _, ok := loaded[learner]; learner != "" && !ok {
					return nil, errStale
				}
			}
			return sessionKind.Encode(evs)
		})
		if errors.Is(err, errStale) {
			window *= 4
			continue
		}
		if err != nil {
			return eventstore.Outcome[domain.Session, domain.Event]{}, err
		}
		return s.sessions.Outcome(sessionID, res), nil
	}
	return eventstore.Outcome[domain.Session, domain.Event]{}, apperr.Aborted("the waitlist of session %s kept changing, retry", sessionID)
}

// waitlistWindow is the first window learners of the waitlist, after extra.
func waitlistWindow(sess domain.Session, window int, extra ...string) []string {
	ids := slices.Clone(extra)
	for i, w := range sess.Waitlist {
		if i >= window {
			break
		}
		ids = append(ids, w.LearnerID)
	}
	return ids
}

// seeSession checks, in a decision, that p sees the session: one it may not
// see is not found, so existence does not leak.
func seeSession(p auth.Principal, sess domain.Session, id string) error {
	if !sess.Exists() || !seesOffer(p, sess.OperatorID) {
		return auth.Denied("session", id)
	}
	return nil
}

// ChangeSessionCapacity implements immersionv1.ImmersionServiceServer.
func (s *Service) ChangeSessionCapacity(ctx context.Context, req *immersionv1.ChangeSessionCapacityRequest) (*immersionv1.ChangeSessionCapacityResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "session_id", req.GetSessionId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := req.GetSessionId()
	cmd := domain.ChangeCapacity{SessionID: id, Capacity: int(req.GetCapacity()), Today: s.deps.Today()}
	out, err := s.execSession(ctx, s.deps.Command(ctx, req.GetRequestId()), id,
		func(sess domain.Session, window int) []string {
			return waitlistWindow(sess, max(window, int(req.GetCapacity())-sess.Booked()+window))
		},
		func(sess domain.Session, _ map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error) {
			if err := seeSession(caller, sess, id); err != nil {
				return nil, err
			}
			if !managesSessions(caller, sess.OperatorID) {
				return nil, apperr.PermissionDenied("not allowed on session %s", id)
			}
			return domain.DecideCapacity(sess, cmd, eligible)
		})
	if err != nil {
		return nil, err
	}
	// The caller manages the session: it sees every learner.
	return &immersionv1.ChangeSessionCapacityResponse{Session: sessionView(out.State, everyone)}, nil
}
