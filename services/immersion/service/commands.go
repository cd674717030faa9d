package service

import (
	"context"
	"errors"
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// PublishOffer implements immersionv1.ImmersionServiceServer. The offer's id
// derives from the request id and the caller, so a retried publication
// addresses the same offer.
func (s *Service) PublishOffer(ctx context.Context, req *immersionv1.PublishOfferRequest) (*immersionv1.PublishOfferResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile, s.today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := event.DeriveID("immersion/offer/"+caller.Subject, req.GetRequestId())
	o, err := s.execOffer(ctx, req.GetRequestId(), id, domain.PublishOffer{OfferID: id, Profile: profile, Today: s.today()})
	if err != nil {
		return nil, err
	}
	return &immersionv1.PublishOfferResponse{Offer: s.offerView(o)}, nil
}

// UpdateOffer implements immersionv1.ImmersionServiceServer.
func (s *Service) UpdateOffer(ctx context.Context, req *immersionv1.UpdateOfferRequest) (*immersionv1.UpdateOfferResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "offer_id", req.GetOfferId())
	profile := profileFromProto(req.GetProfile())
	domain.CheckProfile(&v, "profile", profile, s.today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.execOffer(ctx, req.GetRequestId(), req.GetOfferId(), domain.UpdateOffer{OfferID: req.GetOfferId(), Profile: profile, Today: s.today()})
	if err != nil {
		return nil, err
	}
	return &immersionv1.UpdateOfferResponse{Offer: s.offerView(o)}, nil
}

// WithdrawOffer implements immersionv1.ImmersionServiceServer. The future
// sessions are cancelled right after, by the withdrawal consumer.
func (s *Service) WithdrawOffer(ctx context.Context, req *immersionv1.WithdrawOfferRequest) (*immersionv1.WithdrawOfferResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "offer_id", req.GetOfferId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.execOffer(ctx, req.GetRequestId(), req.GetOfferId(), domain.WithdrawOffer{OfferID: req.GetOfferId(), Reason: req.GetReason(), Today: s.today()})
	if err != nil {
		return nil, err
	}
	return &immersionv1.WithdrawOfferResponse{Offer: s.offerView(o)}, nil
}

// execOffer runs an offer command and returns the offer right after it.
func (s *Service) execOffer(ctx context.Context, requestID, id string, cmd any) (domain.Offer, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, offerFilter(id), meta, func(h eventstore.History) ([]event.Draft, error) {
		evs, err := domain.DecideOffer(foldOffer(h.Events), cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if err != nil {
		return domain.Offer{}, err
	}
	return foldOffer(res.After()), nil
}

func (s *Service) offerView(o domain.Offer) *immersionv1.Offer {
	out := &immersionv1.Offer{
		OfferId: o.ID, Profile: profileToProto(o.Profile), Withdrawn: o.Withdrawn, WithdrawnOn: civilpb.FromDate(o.WithdrawnOn),
		WithdrawalReason: o.Reason, AccreditationExpired: o.ExpiredOn(s.today()),
	}
	for _, r := range o.Sessions {
		out.SessionIds = append(out.SessionIds, r.ID)
	}
	return out
}

// loadOffer reads an offer's events.
func (s *Service) loadOffer(ctx context.Context, id string) (domain.Offer, error) {
	h, err := s.events.Load(ctx, Stream, offerFilter(id))
	if err != nil {
		return domain.Offer{}, err
	}
	return foldOffer(h.Events), nil
}

// loadSession reads a session's events.
func (s *Service) loadSession(ctx context.Context, id string) (domain.Session, error) {
	h, err := s.events.Load(ctx, Stream, sessionFilter(id))
	if err != nil {
		return domain.Session{}, err
	}
	return foldSession(h.Events), nil
}

// GetOffer implements immersionv1.ImmersionServiceServer, from the offer's
// events.
func (s *Service) GetOffer(ctx context.Context, req *immersionv1.GetOfferRequest) (*immersionv1.GetOfferResponse, error) {
	if problem := ident.CheckID(req.GetOfferId()); problem != "" {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "offer_id", Description: problem})
	}
	o, err := s.loadOffer(ctx, req.GetOfferId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !o.Exists() || !seesOffer(caller, o.Profile.OperatorID) {
		return nil, auth.Denied("offer", req.GetOfferId())
	}
	return &immersionv1.GetOfferResponse{Offer: s.offerView(o)}, nil
}

// ScheduleSession implements immersionv1.ImmersionServiceServer. The session
// and its mark on the offer are appended in one batch, the offer expected
// unchanged, so that a concurrent withdrawal either sees the session or
// refuses it.
func (s *Service) ScheduleSession(ctx context.Context, req *immersionv1.ScheduleSessionRequest) (*immersionv1.ScheduleSessionResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "offer_id", req.GetOfferId())
	sch := domain.Schedule{
		From: checkDate(&v, "from_date", req.GetFromDate()), To: checkDate(&v, "to_date", req.GetToDate()),
		DailyMinutes: int(req.GetDailyMinutes()), Capacity: int(req.GetCapacity()),
		Deadline: checkDate(&v, "booking_deadline", req.GetBookingDeadline()),
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	domain.CheckSchedule(&v, sch, s.today())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.loadOffer(ctx, req.GetOfferId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !o.Exists() || !seesOffer(caller, o.Profile.OperatorID) {
		return nil, auth.Denied("offer", req.GetOfferId())
	}
	if !managesSessions(caller, o.Profile.OperatorID) {
		return nil, apperr.PermissionDenied("only administrators and the offer's operator schedule its sessions")
	}
	id := event.DeriveID("immersion/session/"+caller.Subject, req.GetRequestId())
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	cmd := domain.ScheduleSession{SessionID: id, OfferID: req.GetOfferId(), Schedule: sch, Today: s.today()}
	res, err := s.events.ExecuteAll(ctx, Stream, []string{sessionFilter(id), offerFilter(req.GetOfferId())}, meta, func(hs []eventstore.History) ([]event.Draft, error) {
		evs, err := domain.DecideSchedule(foldOffer(hs[1].Events), foldSession(hs[0].Events), cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if err != nil {
		return nil, err
	}
	view, err := s.sessionView(ctx, foldSession(res.Result(0).After()), caller)
	if err != nil {
		return nil, err
	}
	return &immersionv1.ScheduleSessionResponse{Session: view}, nil
}

// errStale says that the learners a session command concerns changed
// between their choice and the decision: the command starts again, with a
// wider window on the waitlist.
var errStale = errors.New("immersion: the learners concerned changed")

const maxStaleRetries = 6

// execSession runs a command on a session and the reservations of the
// learners it concerns: learners names them given the session and how far
// into the waitlist to look (window), decide decides with those loaded and
// an eligibility for promotions (in the pathway on the session's dates per
// the read model, and not booked on an overlapping session per the loaded
// reservations). The events of the session and of the learners are
// appended in one atomic batch, each aggregate written expected unchanged
// (eventstore.ExecuteAll). Promoting a learner beyond the window, or writing
// to a learner not loaded, starts again with a wider window.
func (s *Service) execSession(ctx context.Context, meta eventstore.Command, sessionID string,
	learners func(sess domain.Session, window int) []string,
	decide func(sess domain.Session, loaded map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error),
) (domain.Session, eventstore.MultiResult, error) {
	window := 4
	for range maxStaleRetries {
		h, err := s.events.Load(ctx, Stream, sessionFilter(sessionID))
		if err != nil {
			return domain.Session{}, eventstore.MultiResult{}, err
		}
		ids := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(learners(foldSession(h.Events), window)))), func(id string) bool { return id == "" })
		filters := []string{sessionFilter(sessionID)}
		for _, id := range ids {
			filters = append(filters, learnerFilter(id))
		}
		res, err := s.events.ExecuteAll(ctx, Stream, filters, meta, func(hs []eventstore.History) ([]event.Draft, error) {
			sess := foldSession(hs[0].Events)
			loaded := make(map[string]domain.LearnerSchedule, len(ids))
			for i, id := range ids {
				loaded[id] = foldLearner(id, hs[i+1].Events)
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
			case ioErr != nil:
				return nil, ioErr
			case stale:
				return nil, errStale
			case err != nil:
				return nil, err
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
			return drafts(evs)
		})
		if errors.Is(err, errStale) {
			window *= 4
			continue
		}
		if err != nil {
			return domain.Session{}, res, err
		}
		return foldSession(res.Result(0).After()), res, nil
	}
	return domain.Session{}, eventstore.MultiResult{}, apperr.Aborted("the waitlist of session %s kept changing, retry", sessionID)
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

// ChangeSessionCapacity implements immersionv1.ImmersionServiceServer.
func (s *Service) ChangeSessionCapacity(ctx context.Context, req *immersionv1.ChangeSessionCapacityRequest) (*immersionv1.ChangeSessionCapacityResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "session_id", req.GetSessionId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if _, err := s.sessionFor(ctx, req.GetSessionId(), func(sess domain.Session) bool { return managesSessions(caller, sess.OperatorID) }); err != nil {
		return nil, err
	}
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	cmd := domain.ChangeCapacity{SessionID: req.GetSessionId(), Capacity: int(req.GetCapacity()), Today: s.today()}
	sess, _, err := s.execSession(ctx, meta, req.GetSessionId(),
		func(sess domain.Session, window int) []string {
			return waitlistWindow(sess, max(window, int(req.GetCapacity())-sess.Booked()+window))
		},
		func(sess domain.Session, _ map[string]domain.LearnerSchedule, eligible domain.Eligibility) ([]domain.Event, error) {
			return domain.DecideCapacity(sess, cmd, eligible)
		})
	if err != nil {
		return nil, err
	}
	view, err := s.sessionView(ctx, sess, caller)
	if err != nil {
		return nil, err
	}
	return &immersionv1.ChangeSessionCapacityResponse{Session: view}, nil
}

// sessionFor loads a session the caller must see (else NotFound) and act on
// (else PermissionDenied).
func (s *Service) sessionFor(ctx context.Context, id string, acts func(domain.Session) bool) (domain.Session, error) {
	sess, err := s.loadSession(ctx, id)
	if err != nil {
		return domain.Session{}, err
	}
	caller, _ := auth.FromContext(ctx)
	if !sess.Exists() || !seesOffer(caller, sess.OperatorID) {
		return domain.Session{}, auth.Denied("session", id)
	}
	if !acts(sess) {
		return domain.Session{}, apperr.PermissionDenied("not allowed on session %s", id)
	}
	return sess, nil
}

// checkRequest records the problem of a command's request id.
func checkRequest(v *apperr.Violations, requestID string) {
	if problem := ident.CheckRequestID(requestID); problem != "" {
		v.Add("request_id", problem)
	}
}

// checkIDs records the problems of a command's request id and of the id it
// addresses.
func checkIDs(v *apperr.Violations, requestID, field, id string) {
	checkRequest(v, requestID)
	checkID(v, field, id)
}

func checkID(v *apperr.Violations, field, id string) {
	if problem := ident.CheckID(id); problem != "" {
		v.Add(field, problem)
	}
}

// checkDate reads an optional date; an invalid one is a violation.
func checkDate(v *apperr.Violations, field string, p *commonv1.Date) civil.Date {
	d := civilpb.Date(p)
	if !d.IsZero() && !d.Valid() {
		v.Add(field, "is not a valid date")
	}
	return d
}
