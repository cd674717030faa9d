package demo

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

func timeMonth(m int32) time.Month { return time.Month(m) }

func periodOf(m civil.Month) *commonv1.Month {
	return &commonv1.Month{Year: int32(m.Year), Month: int32(m.Month)}
}

// pendingFee is a flat fee an operator will claim under one of its
// contracts.
type pendingFee struct {
	learner  *Learner
	op       *Operator
	contract string
	typ      fundingv1.FeeType
	ref      string // for the line id
	due      civil.Date
	tries    int
	// expect: the rejection the simulation means to get (a mistake made on
	// purpose); REJECTION_REASON_UNSPECIFIED for a fee due.
	expect fundingv1.RejectionReason
}

// pendingLine is a trainee-hour line an operator will report.
type pendingLine struct {
	learner *Learner
	line    *fundingv1.ReportedLine
	expect  fundingv1.RejectionReason // as pendingFee's
}

// cancellation planned by a referent.
type cancellation struct {
	learner *Learner
	session *Session
	reason  string
}

var cancelReasons = []string{"Entretien d'embauche ce jour-là", "Problème de garde d'enfant", "Maladie", "Le projet a changé", "Pas de solution de transport"}

// simulateDay runs one simulated day, in a fixed order.
func (s *sim) simulateDay(ctx context.Context) error {
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"review statements", s.review},
		{"schedule sessions", s.scheduleSessions},
		{"cancellations", s.cancellations},
		{"outcomes", s.outcomes},
		{"exits", s.exits},
		{"qualif outcomes", s.qualifOutcomes},
		{"immersions", s.startImmersions},
		{"entries", s.entries},
		{"analyses", s.analyses},
		{"bookings", s.bookings},
		{"fees", s.fees},
		{"hours", s.hours},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		s.mu.Lock()
		s.stepTimes[st.name] += time.Since(start)
		s.mu.Unlock()
	}
	return nil
}

func (s *sim) count(f func(*Summary)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.sum)
}

func isWeekend(d civil.Date) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// ---- sessions -------------------------------------------------------------

// scheduleSessions: operators schedule their offers' sessions four weeks
// ahead.
func (s *sim) scheduleSessions(ctx context.Context) error {
	type job struct {
		off  *Offer
		from civil.Date
		k    int
	}
	var jobs []job
	for _, off := range s.world.Offers {
		for k, from := range off.plan {
			if from.After(s.today) && !from.After(s.today.AddDays(28)) && (s.dayIdx == 0 || from == s.today.AddDays(28)) {
				jobs = append(jobs, job{off, from, k})
			}
		}
	}
	out := make([]*Session, len(jobs))
	err := s.parallel(ctx, len(jobs), func(ctx context.Context, i int) error {
		j := jobs[i]
		op := s.world.operator(j.off.OperatorID)
		capacity := 6 + s.rng("capacity", j.off.Key, j.k).IntN(7)
		deadline := j.from.AddDays(-1)
		return s.call(ctx, operatorP(op), "schedule session", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.immersion.ScheduleSession(ctx, &immersionv1.ScheduleSessionRequest{
				RequestId: s.rid("session", j.off.ID, j.k), OfferId: j.off.ID, FromDate: civilpb.FromDate(j.from), ToDate: civilpb.FromDate(j.from.AddDays(4)),
				DailyMinutes: 420, Capacity: int32(capacity), BookingDeadline: civilpb.FromDate(deadline),
			}, o)
			if err != nil {
				return err
			}
			out[i] = &Session{
				ID: resp.GetSession().GetSessionId(), Key: fmt.Sprintf("%s/%d", j.off.Key, j.k), OfferID: j.off.ID, OperatorID: op.ID, Territory: j.off.Territory,
				ROMECodes: j.off.ROMECodes, From: j.from, To: j.from.AddDays(4), Deadline: deadline, Capacity: capacity,
				DailyMinutes: 420,
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, ss := range out {
		s.world.Sessions = append(s.world.Sessions, ss)
		s.count(func(sum *Summary) { sum.Sessions++; sum.PlacesOffered += ss.Capacity })
	}
	return nil
}

// bookings: referents book a session for the learners due.
func (s *sim) bookings(ctx context.Context) error {
	for _, l := range s.world.Learners {
		if !l.Active() || l.plan.bookOn.IsZero() || l.plan.bookOn.After(s.today) || l.current().AnalysisID == "" {
			continue
		}
		if err := s.book(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) book(ctx context.Context, l *Learner) error {
	r := s.rng("book", l.Index, len(l.Episodes), l.plan.immersions, l.plan.bookTries)
	var candidates []*Session
	fits := func(ss *Session) bool {
		return !s.today.After(ss.Deadline) && ss.From.After(s.today.AddDays(1)) && ss.To.AddDays(2).Before(l.plan.exitOn)
	}
	for _, ss := range s.world.Sessions {
		if ss.Territory == l.Territory && fits(ss) {
			candidates = append(candidates, ss)
		}
	}
	if len(candidates) == 0 {
		// Nothing in the territory: a platform elsewhere in the département.
		dept := territoryOf(l.Territory).Commune[:2]
		for _, ss := range s.world.Sessions {
			if territoryOf(ss.Territory).Commune[:2] == dept && fits(ss) {
				candidates = append(candidates, ss)
			}
		}
	}
	sort.SliceStable(candidates, func(a, b int) bool { return candidates[a].From.Before(candidates[b].From) })
	if len(candidates) == 0 {
		l.plan.bookTries++
		if l.plan.bookTries > 8 {
			l.plan.bookOn = civil.Date{}
		} else {
			l.plan.bookOn = weekday(s.today.AddDays(7))
		}
		return nil
	}
	ss := candidates[pick(r, min(3, len(candidates)))]
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	var resp *immersionv1.BookPlaceResponse
	err := s.callSettling(ctx, coord, "book place", func(ctx context.Context, o grpc.CallOption) error {
		var err error
		resp, err = s.c.immersion.BookPlace(ctx, &immersionv1.BookPlaceRequest{RequestId: s.rid("book", ss.ID, l.Index), SessionId: ss.ID, LearnerId: l.ID}, o)
		if reasonOf(err) != "" && reasonOf(err) != "LEARNER_NOT_IN_PATHWAY" && reasonOf(err) != "LEARNER_UNKNOWN" {
			return status.Error(codes.OutOfRange, err.Error()) // a real refusal: no settling
		}
		return err
	})
	l.plan.bookOn = civil.Date{}
	if err != nil {
		if c := status.Code(err); c == codes.OutOfRange || c == codes.FailedPrecondition || c == codes.AlreadyExists {
			s.log.Debug("booking refused", "learner", l.ID, "session", ss.ID, "err", err)
			s.count(func(sum *Summary) { sum.BookingsRefused++ })
			return nil
		}
		return err
	}
	b := &Booking{SessionID: ss.ID}
	if resp.GetBooking().GetStatus() == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED {
		b.Status = "waitlisted"
		ss.Waitlisted = append(ss.Waitlisted, l.ID)
		s.count(func(sum *Summary) { sum.Waitlisted++ })
	} else {
		b.Status = "booked"
		ss.Booked = append(ss.Booked, l.ID)
		s.count(func(sum *Summary) { sum.Booked++ })
	}
	l.Bookings = append(l.Bookings, b)
	l.plan.immersions++
	// Some change their mind before the session.
	if x := r.IntN(100); x < 8 || (b.Status == "waitlisted" && x < 15) {
		span := s.today.DaysUntil(ss.From)
		on := s.today.AddDays(1 + r.IntN(span))
		s.cancels[on] = append(s.cancels[on], cancellation{learner: l, session: ss, reason: cancelReasons[r.IntN(len(cancelReasons))]})
	}
	return nil
}

func (s *sim) cancelBooking(ctx context.Context, l *Learner, ss *Session, reason string) error {
	var b *Booking
	for _, x := range l.Bookings {
		if x.SessionID == ss.ID && (x.Status == "booked" || x.Status == "waitlisted") {
			b = x
		}
	}
	if b == nil {
		return nil
	}
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	err := s.call(ctx, coord, "cancel booking", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.immersion.CancelBooking(ctx, &immersionv1.CancelBookingRequest{RequestId: s.rid("cancel", ss.ID, l.Index), SessionId: ss.ID, LearnerId: l.ID, Reason: reason}, o)
		return err
	})
	if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
		s.log.Debug("cancellation refused", "learner", l.ID, "session", ss.ID, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	b.Status = "cancelled"
	ss.Cancelled++
	s.count(func(sum *Summary) { sum.Cancelled++ })
	return nil
}

func (s *sim) cancellations(ctx context.Context) error {
	for _, c := range s.cancels[s.today] {
		if !c.learner.Active() || c.session.From.Before(s.today) {
			continue
		}
		if err := s.cancelBooking(ctx, c.learner, c.session, c.reason); err != nil {
			return err
		}
	}
	delete(s.cancels, s.today)
	return nil
}

// outcomes: the day after a session ends, its operator records what became
// of each learner holding a place (promotions included).
func (s *sim) outcomes(ctx context.Context) error {
	for _, ss := range s.world.Sessions {
		if ss.Outcomes != nil || !ss.To.Before(s.today) {
			continue
		}
		if err := s.sessionOutcomes(ctx, ss); err != nil {
			return err
		}
	}
	return nil
}

// places reads the learners holding a place in the session, as its host.
func (s *sim) places(ctx context.Context, ss *Session) ([]string, error) {
	op := s.world.operator(ss.OperatorID)
	var places []string
	err := s.call(ctx, operatorP(op), "get session", func(ctx context.Context, o grpc.CallOption) error {
		resp, err := s.c.immersion.GetSession(ctx, &immersionv1.GetSessionRequest{SessionId: ss.ID}, o)
		if err != nil {
			return err
		}
		places = places[:0]
		for _, p := range resp.GetSession().GetPlaces() {
			if p.GetLearnerId() != "" {
				places = append(places, p.GetLearnerId())
			}
		}
		return nil
	})
	return places, err
}

// startImmersions: on a session's first day, its host reads its places
// (promotions included; nobody cancels a started session) and the
// coordinator enrols each learner holding one with the host's #Action
// contract, from that day (ENROLMENT_KIND_IMMERSION_HOST): the host bills
// the immersion's fee under it. The learners spend the week on the
// platform, with no other hours.
func (s *sim) startImmersions(ctx context.Context) error {
	for _, ss := range s.world.Sessions {
		if ss.started || ss.From.After(s.today) {
			continue
		}
		places, err := s.places(ctx, ss)
		if err != nil {
			return err
		}
		ss.Places, ss.started, ss.hosted = places, true, map[string]int32{}
		var held []*Learner
		for _, id := range places {
			l := s.world.learner(id)
			if l == nil || !l.Active() {
				s.log.Warn("a place in a session held by a learner out of the pathway", "session", ss.ID, "learner", id)
				continue
			}
			held = append(held, l)
			l.busy = append(l.busy, [2]civil.Date{ss.From, ss.To})
			for _, b := range l.Bookings {
				if b.SessionID == ss.ID && b.Status == "waitlisted" {
					b.Status = "booked" // promoted
				}
			}
		}
		host := s.world.operator(ss.OperatorID)
		enrolments := make([]*Enrolment, len(held))
		err = s.parallel(ctx, len(held), func(ctx context.Context, i int) error {
			l := held[i]
			e, err := s.enrol(ctx, l, host.ActionContractID, host.ID, pathwayv1.EnrolmentKind_ENROLMENT_KIND_IMMERSION_HOST, ss.From, s.rid("enrol-host", ss.ID, l.Index))
			if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
				s.log.Warn("host enrolment refused", "session", ss.ID, "learner", l.ID, "err", err)
				return nil
			}
			enrolments[i] = e
			return err
		})
		if err != nil {
			return err
		}
		for i, l := range held {
			if enrolments[i] != nil {
				ss.hosted[l.ID] = enrolments[i].Number
			}
		}
	}
	return nil
}

func (s *sim) sessionOutcomes(ctx context.Context, ss *Session) error {
	op := s.world.operator(ss.OperatorID)
	places, err := s.places(ctx, ss)
	if err != nil {
		return err
	}
	ss.Places = places
	ss.Outcomes = map[string]string{}
	learners := map[string]*Learner{}
	for _, l := range s.world.Learners {
		for _, b := range l.Bookings {
			if b.SessionID == ss.ID {
				learners[l.ID] = l
			}
		}
	}
	results := make([]string, len(places))
	err = s.parallel(ctx, len(places), func(ctx context.Context, i int) error {
		id := places[i]
		who := id
		if l := learners[id]; l != nil {
			who = fmt.Sprint(l.Index)
		}
		r := s.rng("outcome", ss.Key, who)
		req := &immersionv1.RecordOutcomeRequest{RequestId: s.rid("outcome", ss.ID, id), SessionId: ss.ID, LearnerId: id}
		switch x := r.IntN(100); {
		case x < 75:
			req.Status, results[i] = immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED, "completed"
		case x < 90:
			req.Status, results[i] = immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED, "partially-completed"
			days := 1 + r.IntN(4)
			req.LastDayPresent = civilpb.FromDate(ss.From.AddDays(days - 1))
			req.MinutesDone = int32(days*ss.DailyMinutes - r.IntN(120))
		default:
			req.Status, results[i] = immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW, "did-not-show"
		}
		if req.Status != immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW {
			req.TradeFit = immersionv1.TradeFit(1 + r.IntN(3))
			if r.IntN(3) == 0 {
				req.Comment = []string{"À l'aise sur le plateau", "Bonne dextérité", "Ponctuel et motivé", "Métier à confirmer par un stage"}[r.IntN(4)]
			}
		}
		return s.call(ctx, operatorP(op), "record outcome", func(ctx context.Context, o grpc.CallOption) error {
			_, err := s.c.immersion.RecordOutcome(ctx, req, o)
			if status.Code(err) == codes.FailedPrecondition {
				s.log.Warn("outcome refused", "session", ss.ID, "learner", id, "err", err)
				results[i] = ""
				return nil
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	ss.RecordedOn = s.today
	// The host enrolments end with the day the outcomes were recorded: the
	// day of the immersion fee's fact.
	var hosted []*Learner
	for _, id := range places {
		if l := learners[id]; l != nil && ss.hosted[id] != 0 {
			hosted = append(hosted, l)
		}
	}
	err = s.parallel(ctx, len(hosted), func(ctx context.Context, i int) error {
		l := hosted[i]
		for _, e := range l.Enrolments {
			if e.Number == ss.hosted[l.ID] {
				return s.endEnrolment(ctx, l, e, s.today, s.rid("end-host", ss.ID, l.Index))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, id := range places {
		if results[i] == "" {
			continue
		}
		ss.Outcomes[id] = results[i]
		s.count(func(sum *Summary) { sum.Outcomes[results[i]]++ })
		l := learners[id]
		if l == nil {
			continue
		}
		for _, b := range l.Bookings {
			if b.SessionID == ss.ID {
				b.Status, b.Outcome = "booked", results[i]
			}
		}
		if !slices.Contains(ss.Booked, id) {
			s.count(func(sum *Summary) { sum.Promoted++ })
		}
		switch results[i] {
		case "completed":
			l.plan.fees = append(l.plan.fees, pendingFee{learner: l, op: op, contract: op.ActionContractID, typ: fundingv1.FeeType_FEE_TYPE_IMMERSION_COMPLETED, ref: ss.Key, due: s.today.AddDays(1)})
		case "partially-completed":
			l.plan.fees = append(l.plan.fees, pendingFee{learner: l, op: op, contract: op.ActionContractID, typ: fundingv1.FeeType_FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED, ref: ss.Key, due: s.today.AddDays(1)})
		}
		// One in five asks for another immersion.
		if l.Active() && l.plan.immersions < 2 && s.rng("again", l.Index, ss.Key).IntN(5) == 0 {
			l.plan.bookOn = weekday(s.today.AddDays(3 + s.rng("again-on", l.Index, ss.Key).IntN(8)))
			l.plan.bookTries = 0
		}
	}
	for _, l := range learners {
		for _, b := range l.Bookings {
			if b.SessionID == ss.ID && b.Status == "waitlisted" && !slices.Contains(places, l.ID) {
				b.Status = "not-promoted"
				// The referent tries another session.
				if l.Active() && l.plan.bookOn.IsZero() {
					l.plan.immersions--
					l.plan.bookOn = weekday(s.today.AddDays(1 + s.rng("rebook", l.Index, ss.Key).IntN(5)))
					l.plan.bookTries = 0
				}
			}
		}
	}
	return nil
}

// ---- entries, analyses, exits -----------------------------------------------

func (s *sim) entries(ctx context.Context) error {
	var due []int
	for _, e := range s.world.entries {
		if e.day == s.dayIdx {
			due = append(due, e.index)
		}
	}
	out := make([]*Learner, len(due))
	err := s.parallel(ctx, len(due), func(ctx context.Context, i int) error {
		l, err := s.register(ctx, due[i])
		out[i] = l
		return err
	})
	if err != nil {
		return err
	}
	for _, l := range out {
		s.world.Learners = append(s.world.Learners, l)
		s.count(func(sum *Summary) { sum.LearnersEntered++; sum.Entries++ })
	}
	// Re-entries.
	var back []*Learner
	for _, l := range s.world.Learners {
		if !l.Active() && !l.plan.reenterOn.IsZero() && !l.plan.reenterOn.After(s.today) {
			back = append(back, l)
		}
	}
	err = s.parallel(ctx, len(back), func(ctx context.Context, i int) error { return s.enter(ctx, back[i]) })
	if err != nil {
		return err
	}
	for range back {
		s.count(func(sum *Summary) { sum.Entries++; sum.ReEntries++ })
	}
	return nil
}

func (s *sim) analyses(ctx context.Context) error {
	var due []*Learner
	for _, l := range s.world.Learners {
		if l.Active() && l.current().AnalysisID == "" && !l.plan.analysisOn.IsZero() && !l.plan.analysisOn.After(s.today) {
			due = append(due, l)
		}
	}
	errs := make([]error, len(due))
	err := s.parallel(ctx, len(due), func(ctx context.Context, i int) error {
		err := s.analyse(ctx, due[i])
		if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
			errs[i] = err // not in the pathway for needs yet: tomorrow
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	for i, l := range due {
		if errs[i] != nil {
			l.plan.analysisTry++
			s.log.Warn("analysis deferred", "learner", l.ID, "err", errs[i])
			if l.plan.analysisTry < 5 {
				l.plan.analysisOn = s.today.AddDays(1)
			} else {
				l.plan.analysisOn = civil.Date{}
			}
			continue
		}
		s.count(func(sum *Summary) { sum.Analyses++ })
		op := s.world.operator(l.OperatorID)
		l.plan.fees = append(l.plan.fees, pendingFee{learner: l, op: op, contract: op.ContractID, typ: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, ref: fmt.Sprint("ep", l.current().Number), due: s.today.AddDays(1)})
	}
	return nil
}

var otherDetails = []string{"Service civique", "Projet personnel mis en pause", "Incarcération", "Déménagement à l'étranger", "Congé parental"}

func (s *sim) exits(ctx context.Context) error {
	for _, l := range s.world.Learners {
		if !l.Active() || l.plan.exitOn.IsZero() || l.plan.exitOn.After(s.today) {
			continue
		}
		if err := s.exit(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) exit(ctx context.Context, l *Learner) error {
	ep := l.current()
	// Bookings first: cancel those not started; wait for those started.
	exitDate := s.today.AddDays(-l.plan.exitLateDays)
	for _, b := range l.Bookings {
		if b.Status != "booked" && b.Status != "waitlisted" {
			continue
		}
		ss := s.world.session(b.SessionID)
		if ss.Outcomes != nil {
			if !exitDate.After(ss.To) {
				exitDate = ss.To.AddDays(1)
			}
			continue
		}
		if ss.From.After(s.today) || (ss.From == s.today && b.Status == "booked") {
			if err := s.cancelBooking(ctx, l, ss, "Sortie du dispositif"); err != nil {
				return err
			}
			continue
		}
		if b.Status == "booked" {
			l.plan.exitOn = ss.To.AddDays(2) // in an immersion: after its outcome
			return nil
		}
	}
	// A late exit stays within the month, after the facts of the episode.
	if exitDate.Before(s.today) && (civil.MonthOf(exitDate) != civil.MonthOf(s.today) || s.today.Day <= 4 ||
		!exitDate.After(ep.Entry) || !exitDate.After(ep.AnalysisCompleted)) {
		exitDate = s.today
	}
	r := s.rng("exit", l.Index, ep.Number)
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	reason := l.plan.exitReason
	var qualifReferral int32
	if reason == pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING {
		n, err := s.referQualif(ctx, l, exitDate)
		if err != nil {
			return err
		}
		qualifReferral = n
	}
	req := &pathwayv1.ExitPathwayRequest{RequestId: s.rid("exit", l.Index, ep.Number), LearnerId: l.ID, ExitDate: civilpb.FromDate(exitDate), Reason: reason}
	if reason == pathwayv1.ExitReason_EXIT_REASON_OTHER {
		req.Detail = otherDetails[r.IntN(len(otherDetails))]
	}
	err := s.callSettling(ctx, coord, "exit pathway", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.pathway.ExitPathway(ctx, req, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("learner %d: exit: %w", l.Index, err)
	}
	ep.Exit, ep.ExitReason, ep.RecordedOn = exitDate, reason, s.today
	l.endEnrolments(exitDate)
	op := s.world.operator(l.OperatorID)
	late := exitDate.Before(s.today)
	if late {
		s.books.exitedLate(l.ID, exitDate)
		// Its operator learns of the exit: the days after it that it had
		// not reported yet are not reported.
		op.pending = slices.DeleteFunc(op.pending, func(p pendingLine) bool {
			return p.learner == l && p.expect == fundingv1.RejectionReason_REJECTION_REASON_UNSPECIFIED && civilpb.Date(p.line.GetDate()).After(exitDate)
		})
	}
	s.count(func(sum *Summary) {
		sum.Exits++
		sum.ExitsByReason[reasonName(reason)]++
		if late {
			sum.LateExits++
		}
	})
	switch reason {
	case pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG,
		pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY,
		pathwayv1.ExitReason_EXIT_REASON_SELF_EMPLOYED:
		l.plan.fees = append(l.plan.fees, pendingFee{learner: l, op: op, contract: op.ContractID, typ: fundingv1.FeeType_FEE_TYPE_EXIT_TO_EMPLOYMENT, ref: fmt.Sprint("ep", ep.Number), due: s.today.AddDays(1)})
	case pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING:
		l.plan.fees = append(l.plan.fees, pendingFee{learner: l, op: op, contract: op.ContractID, typ: fundingv1.FeeType_FEE_TYPE_EXIT_TO_QUALIFYING_TRAINING, ref: fmt.Sprint("ep", ep.Number), due: s.today.AddDays(1)})
	}
	// About one in ten comes back later.
	fees := l.plan.fees
	l.plan = learnerPlan{fees: fees}
	if reason != pathwayv1.ExitReason_EXIT_REASON_RELOCATION && r.IntN(100) < 11 {
		l.plan.reenterOn = s.today.AddDays(20 + r.IntN(70))
	}
	if qualifReferral > 0 {
		// The referent follows the learner in Qualif until the training's
		// outcome, one to three months later.
		l.plan.qualifOutcomeOn, l.plan.qualifReferral = s.today.AddDays(30+r.IntN(60)), qualifReferral
	}
	return nil
}

// qualifOutcomes records the outcomes of the Qualif trainings due: most
// completed with the certification, some without, a few abandoned.
func (s *sim) qualifOutcomes(ctx context.Context) error {
	var due []*Learner
	for _, l := range s.world.Learners {
		if l.plan.qualifReferral > 0 && !l.plan.qualifOutcomeOn.After(s.today) {
			due = append(due, l)
		}
	}
	return s.parallel(ctx, len(due), func(ctx context.Context, i int) error {
		l := due[i]
		n := l.plan.qualifReferral
		l.plan.qualifReferral = 0
		r := s.rng("qualif-outcome", l.Index, int(n))
		req := &pathwayv1.RecordReferralOutcomeRequest{
			RequestId: s.rid("qualif-outcome", l.Index, int(n)), LearnerId: l.ID, ReferralNumber: n, OutcomeDate: civilpb.FromDate(s.today),
		}
		switch x := r.IntN(100); {
		case x < 65:
			req.Outcome = pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_CERTIFIED
			req.RncpCode, req.CertificationDate = fmt.Sprintf("RNCP%d", 34000+r.IntN(4000)), civilpb.FromDate(s.today)
		case x < 85:
			req.Outcome = pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_NOT_CERTIFIED
		default:
			req.Outcome = pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ABANDONED
		}
		coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
		err := s.call(ctx, coord, "qualif outcome", func(ctx context.Context, o grpc.CallOption) error {
			_, err := s.c.pathway.RecordReferralOutcome(ctx, req, o)
			return err
		})
		if c := status.Code(err); c == codes.FailedPrecondition || c == codes.InvalidArgument {
			s.log.Warn("qualif outcome refused", "learner", l.ID, "err", err)
			return nil
		}
		if err == nil {
			s.count(func(sum *Summary) { sum.QualifOutcomes++ })
		}
		return err
	})
}

// referQualif refers the learner to Qualif, accepted, before an exit to
// qualifying training, and returns the referral's number (0 when refused).
func (s *sim) referQualif(ctx context.Context, l *Learner, on civil.Date) (int32, error) {
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	ep := l.current()
	var number int32
	err := s.call(ctx, coord, "record referral", func(ctx context.Context, o grpc.CallOption) error {
		resp, err := s.c.pathway.RecordReferral(ctx, &pathwayv1.RecordReferralRequest{
			RequestId: s.rid("referral", l.Index, ep.Number), LearnerId: l.ID, Programme: pathwayv1.Programme_PROGRAMME_QUALIF,
			ReferralDate: civilpb.FromDate(on), Organisation: "Qualif " + territoryOf(l.Territory).Name,
		}, o)
		if err != nil {
			return err
		}
		number = resp.GetReferral().GetNumber()
		return nil
	})
	if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.InvalidArgument {
		s.log.Warn("referral refused", "learner", l.ID, "err", err)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	err = s.call(ctx, coord, "referral outcome", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.pathway.RecordReferralOutcome(ctx, &pathwayv1.RecordReferralOutcomeRequest{
			RequestId: s.rid("referral-outcome", l.Index, ep.Number), LearnerId: l.ID, ReferralNumber: number,
			Outcome: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED, OutcomeDate: civilpb.FromDate(on),
		}, o)
		return err
	})
	if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.InvalidArgument {
		s.log.Warn("referral outcome refused", "learner", l.ID, "err", err)
		return 0, nil
	}
	return number, err
}
