package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// sessionView is a session as answered, with its places and waitlist in
// order; the learners visible refuses keep their rank, not their id.
func sessionView(sess domain.Session, visible func(learnerID string) bool) *immersionv1.Session {
	out := &immersionv1.Session{
		SessionId: sess.ID, OfferId: sess.OfferID, OperatorId: sess.OperatorID, TerritoryCode: sess.Territory, RomeCodes: sess.Trades,
		Accessible: sess.Accessible, FromDate: civilpb.FromDate(sess.From), ToDate: civilpb.FromDate(sess.To), DailyMinutes: int32(sess.DailyMinutes),
		Capacity: int32(sess.Capacity), BookingDeadline: civilpb.FromDate(sess.Deadline), Booked: int32(sess.Booked()), FreePlaces: int32(sess.Free()),
		WaitlistLength: int32(len(sess.Waitlist)), Cancelled: sess.Cancelled, CancellationReason: sess.CancelReason,
	}
	shown := func(id string) string {
		if visible(id) {
			return id
		}
		return ""
	}
	for _, pl := range sess.Places {
		place := &immersionv1.Place{LearnerId: shown(pl.LearnerID), PromotedFromWaitlist: pl.Promoted}
		if o, ok := sess.Outcomes[pl.LearnerID]; ok && place.LearnerId != "" {
			place.Outcome = outcomeToProto(o)
		}
		out.Places = append(out.Places, place)
	}
	for i, w := range sess.Waitlist {
		out.Waitlist = append(out.Waitlist, &immersionv1.WaitlistEntry{LearnerId: shown(w.LearnerID), Rank: int32(i + 1), JoinedAtPosition: int32(w.Position)})
	}
	return out
}

// everyone is the visibility of an administrator's or the session's
// operator's view.
func everyone(string) bool { return true }

// visibility tells which learners of the session p sees: all of them for
// administrators and the session's operator, those a referent reaches per
// the caseload read model.
func (s *Service) visibility(ctx context.Context, sess domain.Session, p auth.Principal) (func(string) bool, error) {
	if p.Role == auth.RoleAdmin || operates(p, sess.OperatorID) {
		return everyone, nil
	}
	var ids []string
	for _, pl := range sess.Places {
		ids = append(ids, pl.LearnerID)
	}
	for _, w := range sess.Waitlist {
		ids = append(ids, w.LearnerID)
	}
	scopes, err := s.scopes(ctx, ids)
	if err != nil {
		return nil, err
	}
	today := s.deps.Today()
	return func(id string) bool { return seesLearner(p, scopes[id], sess.OperatorID, today) }, nil
}

// GetSession implements immersionv1.ImmersionServiceServer, from the
// session's events: places and waitlist are exact.
func (s *Service) GetSession(ctx context.Context, req *immersionv1.GetSessionRequest) (*immersionv1.GetSessionResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "session_id", req.GetSessionId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	sess, err := s.sessions.Load(ctx, req.GetSessionId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if err := seeSession(caller, sess.State, req.GetSessionId()); err != nil {
		return nil, err
	}
	visible, err := s.visibility(ctx, sess.State, caller)
	if err != nil {
		return nil, err
	}
	return &immersionv1.GetSessionResponse{Session: sessionView(sess.State, visible)}, nil
}

// checkTrade reads an optional ROME code.
func checkTrade(v *apperr.Violations, field, code string) string {
	if code == "" {
		return ""
	}
	t, ok := domain.NormalizeTrade(code)
	if !ok {
		v.Addf(field, "%q is not a ROME code: a letter and four digits, such as H2909", code)
	}
	return t
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// memberDate is the date that starts an index member "<from>/...".
func memberDate(m string) string {
	if i := strings.IndexByte(m, '/'); i >= 0 {
		return m[:i]
	}
	return m
}

// memberSession is the session id of a member "<from>/<session>[/...]".
func memberSession(m string) string {
	parts := strings.Split(m, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// scan walks a catalogue index from after, page by page.
func (s *Service) scan(ctx context.Context, index, after string, visit func(members []string) (bool, error)) error {
	return projection.Scan(ctx, s.store, catalogueProjection, index, projection.RangeQuery{After: after, Limit: scanPage}, visit)
}

// scanPage is the number of index members read at once by the queries.
const scanPage = 500

// SearchSessions implements immersionv1.ImmersionServiceServer, from the
// catalogue read model. Operators find their own sessions only.
func (s *Service) SearchSessions(ctx context.Context, req *immersionv1.SearchSessionsRequest) (*immersionv1.SearchSessionsResponse, error) {
	var v apperr.Violations
	trade := checkTrade(&v, "rome_code", req.GetRomeCode())
	territory := req.GetTerritoryCode()
	ident.OptionalTerritory(&v, "territory_code", territory)
	from := civilpb.OptionalDate(&v, "from_date", req.GetFromDate())
	to := civilpb.OptionalDate(&v, "to_date", req.GetToDate())
	if from.IsZero() {
		from = s.deps.Today()
	}
	if !to.IsZero() && to.Before(from) {
		v.Add("to_date", "must not be before from_date (today by default)")
	}
	size := paging.Size(&v, req.GetPageSize())
	caller, _ := auth.FromContext(ctx)
	query := paging.Fingerprint("sessions", trade, territory, from.String(), to.String(), boolString(req.GetOnlyWithFreePlaces()),
		boolString(req.GetAccessibleOnly()), boolString(req.GetIncludeCancelled()), caller.OperatorID)
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	index := sessionsIndex
	switch {
	case caller.Role == auth.RoleOperator:
		index = operatorIndex(caller.OperatorID)
	case trade != "":
		index = tradeIndex(trade)
	case territory != "":
		index = territoryIndex(territory)
	}
	if after < from.String() {
		after = from.String()
	}
	out := &immersionv1.SearchSessionsResponse{}
	last := ""
	err := s.scan(ctx, index, after, func(members []string) (bool, error) {
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = memberSession(m)
		}
		stored, err := s.storedSessions(ctx, ids)
		if err != nil {
			return false, err
		}
		for i, m := range members {
			if !to.IsZero() && memberDate(m) > to.String() {
				return false, nil
			}
			ss, ok := stored[ids[i]]
			switch {
			case !ok, ss.Cancelled && !req.GetIncludeCancelled(),
				trade != "" && !slices.Contains(ss.Trades, trade),
				territory != "" && ss.Territory != territory,
				req.GetAccessibleOnly() && !ss.Accessible,
				req.GetOnlyWithFreePlaces() && (ss.Cancelled || ss.Booked >= ss.Schedule.Capacity):
				continue
			}
			if len(out.Sessions) == size {
				out.NextPageToken = paging.Encode(query, last)
				return false, nil
			}
			out.Sessions = append(out.Sessions, storedSessionView(ss))
			last = m
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListBookings implements immersionv1.ImmersionServiceServer, from the
// catalogue read model: the bookings of a learner (admins, the referents
// reaching the learner, operators for their own sessions), of an operator
// (admins, the operator) or of a session (whoever sees the session, each
// learner as GetSession shows it).
func (s *Service) ListBookings(ctx context.Context, req *immersionv1.ListBookingsRequest) (*immersionv1.ListBookingsResponse, error) {
	var v apperr.Violations
	set := 0
	for _, f := range []string{req.GetLearnerId(), req.GetOperatorId(), req.GetSessionId()} {
		if f != "" {
			set++
		}
	}
	if set != 1 {
		v.Add("learner_id", "exactly one of learner_id, operator_id and session_id is required")
	}
	ident.OptionalID(&v, "learner_id", req.GetLearnerId())
	ident.OptionalID(&v, "session_id", req.GetSessionId())
	ident.OptionalCode(&v, "operator_id", req.GetOperatorId())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("bookings", req.GetLearnerId(), req.GetOperatorId(), req.GetSessionId())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	today := s.deps.Today()
	var (
		index string
		pair  func(member string) (session, learner string)
		keep  = func(storedSession, string) bool { return true }
	)
	switch {
	case req.GetLearnerId() != "":
		learner := req.GetLearnerId()
		scope, err := s.scope(ctx, learner)
		if err != nil {
			return nil, err
		}
		if caller.Role == auth.RoleReferent && !caller.ReachesLearner(scope, today) {
			return nil, auth.Denied("learner", learner)
		}
		index = learnerBookingsIndex(learner)
		pair = func(m string) (string, string) { return memberSession(m), learner }
		keep = func(ss storedSession, _ string) bool {
			return caller.Role != auth.RoleOperator || operates(caller, ss.OperatorID)
		}
	case req.GetOperatorId() != "":
		if caller.Role != auth.RoleAdmin && !operates(caller, req.GetOperatorId()) {
			return nil, auth.Denied("operator", req.GetOperatorId())
		}
		index = operatorBookingsIndex(req.GetOperatorId())
		pair = func(m string) (string, string) {
			parts := strings.Split(m, "/")
			return parts[1], parts[len(parts)-1]
		}
	default:
		session := req.GetSessionId()
		ss, found, err := projection.GetJSON[storedSession](ctx, s.store, catalogueProjection, sessionKey(session))
		if err != nil {
			return nil, err
		}
		if !found || !seesOffer(caller, ss.OperatorID) {
			return nil, auth.Denied("session", session)
		}
		index = sessionBookingsIndex(session)
		pair = func(m string) (string, string) { return session, m }
		if caller.Role == auth.RoleReferent {
			keep = func(ss storedSession, learner string) bool {
				scope, err := s.scope(ctx, learner)
				return err == nil && seesLearner(caller, scope, ss.OperatorID, today)
			}
		}
	}
	type picked struct {
		b  *storedBooking
		ss storedSession
	}
	var page []picked
	out := &immersionv1.ListBookingsResponse{}
	last := ""
	err := s.scan(ctx, index, after, func(members []string) (bool, error) {
		sessions := make([]string, len(members))
		learners := make([]string, len(members))
		keys := make([]string, len(members))
		for i, m := range members {
			sessions[i], learners[i] = pair(m)
			keys[i] = bookingKey(sessions[i], learners[i])
		}
		stored, err := s.storedSessions(ctx, slices.Compact(slices.Sorted(slices.Values(sessions))))
		if err != nil {
			return false, err
		}
		bookings, err := projection.GetManyJSON[storedBooking](ctx, s.store, catalogueProjection, keys)
		if err != nil {
			return false, err
		}
		for i, m := range members {
			ss, ok := stored[sessions[i]]
			if !ok || bookings[i] == nil || !keep(ss, learners[i]) {
				continue
			}
			if len(page) == size {
				out.NextPageToken = paging.Encode(query, last)
				return false, nil
			}
			page = append(page, picked{b: bookings[i], ss: ss})
			last = m
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	bookings := make([]*storedBooking, len(page))
	for i, p := range page {
		bookings[i] = p.b
	}
	texts, err := s.texts(ctx, textsOf(bookings))
	if err != nil {
		return nil, err
	}
	for _, p := range page {
		out.Bookings = append(out.Bookings, storedBookingView(*p.b, p.ss, texts))
	}
	return out, nil
}

// MaxStatisticsDays bounds the period of GetImmersionStatistics.
const MaxStatisticsDays = 366

// GetImmersionStatistics implements immersionv1.ImmersionServiceServer,
// from the catalogue read model: the sessions starting in the period. For
// every role but admin, the counts of people from 1 to 4 are withheld
// (disclose).
func (s *Service) GetImmersionStatistics(ctx context.Context, req *immersionv1.GetImmersionStatisticsRequest) (*immersionv1.GetImmersionStatisticsResponse, error) {
	var v apperr.Violations
	from := civilpb.OptionalDate(&v, "from_date", req.GetFromDate())
	to := civilpb.OptionalDate(&v, "to_date", req.GetToDate())
	switch {
	case from.IsZero():
		v.Add("from_date", "is required")
	case to.IsZero():
		v.Add("to_date", "is required")
	case to.Before(from):
		v.Add("to_date", "must not be before from_date")
	case from.DaysUntil(to)+1 > MaxStatisticsDays:
		v.Addf("to_date", "the period spans at most %d days", MaxStatisticsDays)
	}
	trade := checkTrade(&v, "rome_code", req.GetRomeCode())
	for i, t := range req.GetTerritoryCodes() {
		ident.Territory(&v, fmt.Sprintf("territory_codes[%d]", i), t)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !seesStatistics(caller) {
		return nil, apperr.PermissionDenied("statistics are for administrators and funders")
	}
	rows := map[[2]string]*tally{}
	total := &tally{}
	err := s.scan(ctx, sessionsIndex, from.String(), func(members []string) (bool, error) {
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = memberSession(m)
		}
		stored, err := s.storedSessions(ctx, ids)
		if err != nil {
			return false, err
		}
		for i, m := range members {
			if memberDate(m) > to.String() {
				return false, nil
			}
			ss, ok := stored[ids[i]]
			if !ok || ss.Cancelled || (len(req.GetTerritoryCodes()) > 0 && !slices.Contains(req.GetTerritoryCodes(), ss.Territory)) {
				continue
			}
			counted := false
			for _, t := range ss.Trades {
				if trade != "" && t != trade {
					continue
				}
				key := [2]string{ss.Territory, t}
				if rows[key] == nil {
					rows[key] = &tally{}
				}
				rows[key].add(ss)
				counted = true
			}
			if counted {
				total.add(ss)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := &immersionv1.GetImmersionStatisticsResponse{Total: total.toProto("", "")}
	keys := make([][2]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range keys {
		out.Rows = append(out.Rows, rows[k].toProto(k[0], k[1]))
	}
	disclose(out, seesExactCounts(caller))
	return out, nil
}

// tally is the figures of one territory and trade, or of the total, as
// counted from the sessions.
type tally struct {
	sessions, places                               int
	booked, waitlisted, completed, partial, noShow int
}

// add counts the session ss.
func (t *tally) add(ss storedSession) {
	t.sessions++
	t.places += ss.Schedule.Capacity
	t.booked += ss.Booked
	t.waitlisted += ss.Waiting
	t.completed += ss.Completed
	t.partial += ss.Partial
	t.noShow += ss.NoShow
}

// toProto is t with its counts of people as Counts, before the rule of
// small counts (disclose).
func (t *tally) toProto(territory, trade string) *immersionv1.ImmersionStatistics {
	return &immersionv1.ImmersionStatistics{
		TerritoryCode: territory, RomeCode: trade, Sessions: int32(t.sessions), PlacesOffered: int32(t.places),
		BookedLearners:             disclosure.Count(t.booked),
		WaitlistedLearners:         disclosure.Count(t.waitlisted),
		LearnersWithOutcome:        disclosure.Count(t.completed + t.partial + t.noShow),
		LearnersCompleted:          disclosure.Count(t.completed),
		LearnersPartiallyCompleted: disclosure.Count(t.partial),
		LearnersNotShown:           disclosure.Count(t.noShow),
	}
}

// disclose applies the rule of small counts to the statistics unless exact
// (admins), then derives from the counts given what depends on them: the
// deprecated int32 fields (0 for a count withheld) and the rates (0 when
// either of their counts is withheld).
func disclose(resp *immersionv1.GetImmersionStatisticsResponse, exact bool) {
	rows := append(slices.Clone(resp.GetRows()), resp.GetTotal())
	if !exact {
		disclosure.Withhold(resp)
		for _, r := range rows {
			// They add up to the outcomes recorded, given beside them.
			disclosure.Complement(r.GetLearnersCompleted(), r.GetLearnersPartiallyCompleted(), r.GetLearnersNotShown())
		}
	}
	for _, r := range rows {
		booked, outcomes := r.GetBookedLearners(), r.GetLearnersWithOutcome()
		completed, notShown := r.GetLearnersCompleted(), r.GetLearnersNotShown()
		r.Booked, r.Waitlisted, r.OutcomesRecorded = booked.GetValue(), r.GetWaitlistedLearners().GetValue(), outcomes.GetValue()
		r.Completed, r.PartiallyCompleted, r.DidNotShow = completed.GetValue(), r.GetLearnersPartiallyCompleted().GetValue(), notShown.GetValue()
		if !disclosure.AnyWithheld(booked) {
			r.FillRatePerMille = perMille(booked.GetValue(), r.GetPlacesOffered())
		}
		if !disclosure.AnyWithheld(completed, outcomes) {
			r.CompletionRatePerMille = perMille(completed.GetValue(), outcomes.GetValue())
		}
		if !disclosure.AnyWithheld(notShown, outcomes) {
			r.NoShowRatePerMille = perMille(notShown.GetValue(), outcomes.GetValue())
		}
	}
}

// perMille is n/d in thousandths, rounded down; 0 when d is 0.
func perMille(n, d int32) int32 {
	if d <= 0 {
		return 0
	}
	return int32(int64(n) * 1000 / int64(d))
}
