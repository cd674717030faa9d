package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

var today = civil.Date{Year: 2026, Month: time.November, Day: 26}

func profile() domain.OfferProfile {
	return domain.OfferProfile{
		OperatorID:     "op-5",
		Platform:       domain.Platform{Name: "Plateau soudure", Address: "1 rue de l'Usine, Évreux", CommuneCode: "27229", Territory: "T05"},
		Trades:         []string{"H2913", "H2909"},
		AccreditedFrom: today.AddDays(-100), AccreditedTo: today.AddDays(100),
		Accessible: true, Description: "Soudage à l'arc",
	}
}

func offer() domain.Offer {
	return domain.EvolveOffer(domain.Offer{}, domain.OfferPublished{OfferID: "o-1", Profile: profile()})
}

func schedule(from, days, capacity int) domain.Schedule {
	f := today.AddDays(from)
	return domain.Schedule{From: f, To: f.AddDays(days - 1), DailyMinutes: 420, Capacity: capacity, Deadline: f.AddDays(-1)}
}

func session(sch domain.Schedule, evs ...domain.Event) domain.Session {
	s := domain.EvolveSession(domain.Session{}, domain.SessionScheduled{
		SessionID: "s-1", OfferID: "o-1", OperatorID: "op-5", Territory: "T05", Trades: []string{"H2913"}, Schedule: sch, AccreditedTo: today.AddDays(100),
	})
	for _, ev := range evs {
		s = domain.EvolveSession(s, ev)
	}
	return s
}

func learner(id string) domain.Learner {
	return domain.Learner{ID: id, Born: civil.Date{Year: 2000, Month: time.March, Day: 3}, Episodes: []domain.Episode{{Number: 1, Entry: today.AddDays(-30)}}}
}

func booked(id string) domain.Event {
	return domain.PlaceBooked{SessionID: "s-1", LearnerID: id}
}

func waiting(id string, pos int) domain.Event {
	return domain.Waitlisted{SessionID: "s-1", LearnerID: id, Position: pos}
}

// check compares a decision with the expected events or error kind and
// reason code.
func check(t *testing.T, got []domain.Event, err error, want []domain.Event, kind apperr.Kind, reason string) {
	t.Helper()
	if kind != apperr.KindInternal || reason != "" {
		if err == nil {
			t.Fatalf("decided %v, want a %s error %s", got, kind, reason)
		}
		var e *apperr.Error
		if !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
		if kind != apperr.KindInternal && e.Kind != kind {
			t.Fatalf("error %v is %s, want %s", err, e.Kind, kind)
		}
		if domain.ReasonOf(err) != reason {
			t.Fatalf("error %v has reason %q, want %q", err, domain.ReasonOf(err), reason)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decided\n%#v\nwant\n%#v", got, want)
	}
}

func fields(err error) []string {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestDecideOffer(t *testing.T) {
	withdrawn := domain.EvolveOffer(offer(), domain.OfferWithdrawn{OfferID: "o-1", Reason: "x", On: today})
	bad := profile()
	bad.Trades = []string{"H2913", "h29", "H2913"}
	bad.AccreditedTo = bad.AccreditedFrom.AddDays(-1)
	bad.Platform.CommuneCode = "2C123"
	expired := profile()
	expired.AccreditedTo = today.AddDays(-1)
	other := profile()
	other.OperatorID = "op-6"
	changed := profile()
	changed.Description = "Soudage TIG"
	tests := []struct {
		name   string
		offer  domain.Offer
		cmd    any
		then   []domain.Event
		kind   apperr.Kind
		reason string
		fields []string
	}{
		{name: "publish", cmd: domain.PublishOffer{OfferID: "o-1", Profile: profile(), Today: today},
			then: []domain.Event{domain.OfferPublished{OfferID: "o-1", Profile: profile()}}},
		{name: "publish twice", offer: offer(), cmd: domain.PublishOffer{OfferID: "o-1", Profile: profile(), Today: today}, kind: apperr.KindAlreadyExists},
		{name: "bad profile names every field", cmd: domain.PublishOffer{OfferID: "o-1", Profile: bad, Today: today}, kind: apperr.KindInvalidArgument,
			fields: []string{"profile.platform.commune_code", "profile.rome_codes[1]", "profile.rome_codes[2]", "profile.accredited_to"}},
		{name: "an expired accreditation cannot be published", cmd: domain.PublishOffer{OfferID: "o-1", Profile: expired, Today: today}, kind: apperr.KindInvalidArgument,
			fields: []string{"profile.accredited_to"}},
		{name: "update", offer: offer(), cmd: domain.UpdateOffer{OfferID: "o-1", Profile: changed, Today: today},
			then: []domain.Event{domain.OfferUpdated{OfferID: "o-1", Profile: changed}}},
		{name: "update to the same profile", offer: offer(), cmd: domain.UpdateOffer{OfferID: "o-1", Profile: profile(), Today: today}},
		{name: "update changing the operator", offer: offer(), cmd: domain.UpdateOffer{OfferID: "o-1", Profile: other, Today: today}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOperatorChanged},
		{name: "update a withdrawn offer", offer: withdrawn, cmd: domain.UpdateOffer{OfferID: "o-1", Profile: changed, Today: today}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOfferWithdrawn},
		{name: "update an unknown offer", cmd: domain.UpdateOffer{OfferID: "o-1", Profile: changed, Today: today}, kind: apperr.KindNotFound},
		{name: "withdraw", offer: offer(), cmd: domain.WithdrawOffer{OfferID: "o-1", Reason: " closed ", Today: today},
			then: []domain.Event{domain.OfferWithdrawn{OfferID: "o-1", OperatorID: "op-5", Reason: "closed", On: today}}},
		{name: "withdraw twice", offer: withdrawn, cmd: domain.WithdrawOffer{OfferID: "o-1", Reason: "closed", Today: today}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOfferWithdrawn},
		{name: "withdraw without reason", offer: offer(), cmd: domain.WithdrawOffer{OfferID: "o-1", Today: today}, kind: apperr.KindInvalidArgument, fields: []string{"reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.DecideOffer(tt.offer, tt.cmd)
			check(t, got, err, tt.then, tt.kind, tt.reason)
			if tt.fields != nil && !slices.Equal(fields(err), tt.fields) {
				t.Fatalf("violations on %v, want %v", fields(err), tt.fields)
			}
		})
	}
}

func TestDecideSchedule(t *testing.T) {
	withdrawn := domain.EvolveOffer(offer(), domain.OfferWithdrawn{OfferID: "o-1", Reason: "x", On: today})
	expired := offer()
	expired.Profile.AccreditedTo = today.AddDays(-1)
	sch := schedule(10, 5, 8)
	tests := []struct {
		name   string
		offer  domain.Offer
		s      domain.Schedule
		then   []domain.Event
		kind   apperr.Kind
		reason string
		fields []string
	}{
		{name: "schedule copies the offer", offer: offer(), s: sch, then: []domain.Event{
			domain.SessionScheduled{SessionID: "s-1", OfferID: "o-1", OperatorID: "op-5", Territory: "T05", Trades: []string{"H2913", "H2909"}, Accessible: true, Schedule: sch, AccreditedTo: today.AddDays(100)},
			domain.SessionAttached{OfferID: "o-1", Session: domain.SessionRef{ID: "s-1", From: sch.From, To: sch.To}},
		}},
		{name: "30 calendar days is the limit", offer: offer(), s: schedule(10, 30, 8), then: nil, kind: apperr.KindInternal},
		{name: "31 calendar days is too long", offer: offer(), s: schedule(10, 31, 8), kind: apperr.KindInvalidArgument, fields: []string{"to_date"}},
		{name: "bounds of minutes, capacity and deadline", offer: offer(),
			s:    domain.Schedule{From: today.AddDays(-1), To: today.AddDays(2), DailyMinutes: 601, Capacity: 201, Deadline: today.AddDays(1)},
			kind: apperr.KindInvalidArgument, fields: []string{"from_date", "daily_minutes", "capacity", "booking_deadline"}},
		{name: "expired accreditation", offer: expired, s: sch, kind: apperr.KindFailedPrecondition, reason: domain.ReasonAccreditationExpired},
		{name: "beyond the accreditation", offer: offer(), s: schedule(99, 3, 8), kind: apperr.KindFailedPrecondition, reason: domain.ReasonOutsideAccreditation},
		{name: "withdrawn offer", offer: withdrawn, s: sch, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOfferWithdrawn},
		{name: "unknown offer", s: sch, kind: apperr.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.DecideSchedule(tt.offer, domain.Session{}, domain.ScheduleSession{SessionID: "s-1", OfferID: "o-1", Schedule: tt.s, Today: today})
			if tt.name == "30 calendar days is the limit" {
				if err != nil || len(got) != 2 {
					t.Fatalf("%v %v", got, err)
				}
				return
			}
			check(t, got, err, tt.then, tt.kind, tt.reason)
			if tt.fields != nil && !slices.Equal(fields(err), tt.fields) {
				t.Fatalf("violations on %v, want %v", fields(err), tt.fields)
			}
		})
	}
}

func TestDecideBook(t *testing.T) {
	sch := schedule(10, 5, 2)
	lea := learner("l-1")
	young := lea
	young.Born = sch.From.AddDays(1)
	young.Born.Year -= 16 // 16 the day after the first day
	sixteen := lea
	sixteen.Born = sch.From
	sixteen.Born.Year -= 16
	exited := lea
	exited.Episodes = []domain.Episode{{Number: 1, Entry: today.AddDays(-30), Exit: sch.To.AddDays(-1)}}
	late := lea
	late.Episodes = []domain.Episode{{Number: 1, Entry: sch.From.AddDays(1)}}
	reentered := lea
	reentered.Episodes = []domain.Episode{{Number: 1, Entry: today.AddDays(-60), Exit: today.AddDays(-40)}, {Number: 2, Entry: today.AddDays(-2)}}
	unknown := lea
	unknown.Born = civil.Date{}
	overlapping := domain.EvolveLearner(domain.LearnerSchedule{}, domain.DatesReserved{LearnerID: "l-1", SessionID: "s-9", From: sch.To, To: sch.To.AddDays(3)})
	adjacent := domain.EvolveLearner(domain.LearnerSchedule{}, domain.DatesReserved{LearnerID: "l-1", SessionID: "s-9", From: sch.To.AddDays(1), To: sch.To.AddDays(3)})
	released := domain.EvolveLearner(overlapping, domain.DatesReleased{LearnerID: "l-1", SessionID: "s-9"})
	expired := offer()
	expired.Profile.AccreditedTo = today.AddDays(-1)
	withdrawn := domain.EvolveOffer(offer(), domain.OfferWithdrawn{OfferID: "o-1", Reason: "x", On: today})
	cancelled := session(sch, domain.SessionCancelled{SessionID: "s-1"})
	place := []domain.Event{
		domain.PlaceBooked{SessionID: "s-1", LearnerID: "l-1", Booked: 1, Capacity: 2, OfferID: "o-1", OperatorID: "op-5", From: sch.From, To: sch.To},
		domain.DatesReserved{LearnerID: "l-1", SessionID: "s-1", From: sch.From, To: sch.To},
	}
	tests := []struct {
		name    string
		session domain.Session
		offer   domain.Offer
		sched   domain.LearnerSchedule
		learner domain.Learner
		today   civil.Date
		then    []domain.Event
		kind    apperr.Kind
		reason  string
	}{
		{name: "a place", session: session(sch), learner: lea, then: place},
		{name: "a place next to another session", session: session(sch), learner: lea, sched: adjacent, then: place},
		{name: "a place after the overlapping one was released", session: session(sch), learner: lea, sched: released, then: place},
		{name: "a re-entered learner", session: session(sch), learner: reentered, then: place},
		{name: "16 on the first day", session: session(sch), learner: sixteen, then: place},
		{name: "on the deadline", session: session(sch), learner: lea, today: sch.Deadline, then: place},
		{name: "full: waitlisted", session: session(sch, booked("a"), booked("b"), waiting("c", 1)), learner: lea,
			then: []domain.Event{domain.Waitlisted{SessionID: "s-1", LearnerID: "l-1", Position: 2}}},
		{name: "already booked", session: session(sch, booked("l-1")), learner: lea, kind: apperr.KindAlreadyExists},
		{name: "already waitlisted", session: session(sch, booked("a"), booked("b"), waiting("l-1", 1)), learner: lea, kind: apperr.KindAlreadyExists},
		{name: "overlap", session: session(sch), learner: lea, sched: overlapping, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOverlap},
		{name: "too young", session: session(sch), learner: young, kind: apperr.KindFailedPrecondition, reason: domain.ReasonTooYoung},
		{name: "unknown from intake", session: session(sch), learner: unknown, kind: apperr.KindFailedPrecondition, reason: domain.ReasonLearnerUnknown},
		{name: "exits before the last day", session: session(sch), learner: exited, kind: apperr.KindFailedPrecondition, reason: domain.ReasonNotInPathway},
		{name: "enters after the first day", session: session(sch), learner: late, kind: apperr.KindFailedPrecondition, reason: domain.ReasonNotInPathway},
		{name: "never entered", session: session(sch), learner: domain.Learner{ID: "l-1", Born: lea.Born}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonNotInPathway},
		{name: "deadline passed", session: session(sch), learner: lea, today: sch.Deadline.AddDays(1), kind: apperr.KindFailedPrecondition, reason: domain.ReasonDeadlinePassed},
		{name: "expired accreditation", session: session(sch), offer: expired, learner: lea, kind: apperr.KindFailedPrecondition, reason: domain.ReasonAccreditationExpired},
		{name: "withdrawn offer", session: session(sch), offer: withdrawn, learner: lea, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOfferWithdrawn},
		{name: "cancelled session", session: cancelled, learner: lea, kind: apperr.KindFailedPrecondition, reason: domain.ReasonSessionCancelled},
		{name: "unknown session", learner: lea, kind: apperr.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day := tt.today
			if day.IsZero() {
				day = today
			}
			o := tt.offer
			if !o.Exists() {
				o = offer()
			}
			got, err := domain.DecideBook(tt.session, o, tt.sched, domain.BookPlace{SessionID: "s-1", Learner: tt.learner, Today: day})
			check(t, got, err, tt.then, tt.kind, tt.reason)
		})
	}
}

// eligibleExcept is an eligibility where the given learners are not.
func eligibleExcept(not map[string]domain.DropReason) domain.Eligibility {
	return func(id string) domain.DropReason { return not[id] }
}

func TestPromote(t *testing.T) {
	sch := schedule(10, 5, 2)
	full := session(sch, booked("a"), booked("b"), waiting("c", 1), waiting("d", 2), waiting("e", 3), waiting("f", 4))
	promoted := func(id string, n int) []domain.Event {
		return []domain.Event{
			domain.PlaceBooked{SessionID: "s-1", LearnerID: id, Promoted: true, Booked: n, Capacity: 2, OfferID: "o-1", OperatorID: "op-5", From: sch.From, To: sch.To},
			domain.DatesReserved{LearnerID: id, SessionID: "s-1", From: sch.From, To: sch.To},
		}
	}
	one := domain.EvolveSession(full, domain.BookingCancelled{SessionID: "s-1", LearnerID: "a"})
	tests := []struct {
		name  string
		s     domain.Session
		free  int
		not   map[string]domain.DropReason
		today civil.Date
		then  []domain.Event
	}{
		{name: "the first waitlisted", s: one, free: 1, then: promoted("c", 2)},
		{name: "skipping those no longer eligible", s: one, free: 1,
			not: map[string]domain.DropReason{"c": domain.DropNotInPathway, "d": domain.DropOverlapping},
			then: append([]domain.Event{
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "c", Reason: domain.DropNotInPathway},
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "d", Reason: domain.DropOverlapping},
			}, promoted("e", 2)...)},
		{name: "nobody eligible drops everyone", s: one, free: 1,
			not: map[string]domain.DropReason{"c": domain.DropNotInPathway, "d": domain.DropNotInPathway, "e": domain.DropOverlapping, "f": domain.DropNotInPathway},
			then: []domain.Event{
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "c", Reason: domain.DropNotInPathway},
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "d", Reason: domain.DropNotInPathway},
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "e", Reason: domain.DropOverlapping},
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "f", Reason: domain.DropNotInPathway},
			}},
		{name: "no free place", s: full, free: 0},
		{name: "not once started", s: one, free: 1, today: sch.From.AddDays(1)},
		{name: "on the first day", s: one, free: 1, today: sch.From, then: promoted("c", 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day := tt.today
			if day.IsZero() {
				day = today
			}
			got := domain.Promote(tt.s, tt.free, day, eligibleExcept(tt.not))
			if !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("promoted\n%#v\nwant\n%#v", got, tt.then)
			}
		})
	}
}

func TestDecideCapacity(t *testing.T) {
	sch := schedule(10, 5, 2)
	full := session(sch, booked("a"), booked("b"), waiting("c", 1), waiting("d", 2))
	tests := []struct {
		name     string
		s        domain.Session
		capacity int
		then     []domain.Event
		kind     apperr.Kind
		reason   string
	}{
		{name: "grow promotes", s: full, capacity: 3, then: []domain.Event{
			domain.CapacityChanged{SessionID: "s-1", Previous: 2, Capacity: 3},
			domain.PlaceBooked{SessionID: "s-1", LearnerID: "c", Promoted: true, Booked: 3, Capacity: 3, OfferID: "o-1", OperatorID: "op-5", From: sch.From, To: sch.To},
			domain.DatesReserved{LearnerID: "c", SessionID: "s-1", From: sch.From, To: sch.To},
		}},
		{name: "shrink down to the places booked", s: session(schedule(10, 5, 5), booked("a"), booked("b")), capacity: 2,
			then: []domain.Event{domain.CapacityChanged{SessionID: "s-1", Previous: 5, Capacity: 2}}},
		{name: "shrink below the places booked", s: full, capacity: 1, kind: apperr.KindFailedPrecondition, reason: domain.ReasonCapacityBelowBooked},
		{name: "same capacity", s: full, capacity: 2},
		{name: "out of bounds", s: full, capacity: 0, kind: apperr.KindInvalidArgument},
		{name: "cancelled", s: session(sch, domain.SessionCancelled{SessionID: "s-1"}), capacity: 3, kind: apperr.KindFailedPrecondition, reason: domain.ReasonSessionCancelled},
		{name: "on its last day", s: session(schedule(-2, 3, 2), booked("a")), capacity: 3,
			then: []domain.Event{domain.CapacityChanged{SessionID: "s-1", Previous: 2, Capacity: 3}}},
		{name: "once ended, its places are history", s: session(schedule(-5, 3, 2), booked("a")), capacity: 3, kind: apperr.KindFailedPrecondition, reason: domain.ReasonSessionStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.DecideCapacity(tt.s, domain.ChangeCapacity{SessionID: "s-1", Capacity: tt.capacity, Today: today}, eligibleExcept(nil))
			check(t, got, err, tt.then, tt.kind, tt.reason)
		})
	}
}

func TestDecideCancel(t *testing.T) {
	sch := schedule(10, 5, 2)
	full := session(sch, booked("a"), booked("b"), waiting("c", 1), waiting("d", 2))
	done := session(schedule(0, 1, 2), booked("a"), domain.OutcomeRecorded{SessionID: "s-1", LearnerID: "a", Outcome: domain.Outcome{Status: domain.OutcomeNoShow}})
	tests := []struct {
		name   string
		s      domain.Session
		cmd    domain.CancelBooking
		not    map[string]domain.DropReason
		then   []domain.Event
		kind   apperr.Kind
		reason string
	}{
		{name: "a place frees and promotes the first eligible", s: full, not: map[string]domain.DropReason{"c": domain.DropOverlapping},
			cmd: domain.CancelBooking{LearnerID: "a", Cause: domain.CauseReferent, Reason: "ill"},
			then: []domain.Event{
				domain.BookingCancelled{SessionID: "s-1", LearnerID: "a", Cause: domain.CauseReferent, Reason: "ill"},
				domain.DatesReleased{LearnerID: "a", SessionID: "s-1", From: sch.From, To: sch.To},
				domain.WaitlistDropped{SessionID: "s-1", LearnerID: "c", Reason: domain.DropOverlapping},
				domain.PlaceBooked{SessionID: "s-1", LearnerID: "d", Promoted: true, Booked: 2, Capacity: 2, OfferID: "o-1", OperatorID: "op-5", From: sch.From, To: sch.To},
				domain.DatesReserved{LearnerID: "d", SessionID: "s-1", From: sch.From, To: sch.To},
			}},
		{name: "a waitlist entry", s: full, cmd: domain.CancelBooking{LearnerID: "c", Cause: domain.CauseOperator, Reason: "x"},
			then: []domain.Event{domain.BookingCancelled{SessionID: "s-1", LearnerID: "c", WasWaitlisted: true, Cause: domain.CauseOperator, Reason: "x"}}},
		{name: "no booking", s: full, cmd: domain.CancelBooking{LearnerID: "z", Cause: domain.CauseReferent, Reason: "x"}, kind: apperr.KindNotFound},
		{name: "no booking, if any", s: full, cmd: domain.CancelBooking{LearnerID: "z", Cause: domain.CausePathwayExit, Reason: "x", IfAny: true}},
		{name: "outcome recorded", s: done, cmd: domain.CancelBooking{LearnerID: "a", Cause: domain.CauseReferent, Reason: "x"}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonOutcomeRecorded},
		{name: "no reason", s: full, cmd: domain.CancelBooking{LearnerID: "a", Cause: domain.CauseReferent}, kind: apperr.KindInvalidArgument},
		{name: "on the first day", s: session(schedule(0, 3, 2), booked("a")), cmd: domain.CancelBooking{LearnerID: "a", Cause: domain.CauseReferent, Reason: "ill"},
			then: []domain.Event{
				domain.BookingCancelled{SessionID: "s-1", LearnerID: "a", Cause: domain.CauseReferent, Reason: "ill"},
				domain.DatesReleased{LearnerID: "a", SessionID: "s-1", From: today, To: today.AddDays(2)},
			}},
		{name: "from the second day, the outcome says what happened", s: session(schedule(-1, 3, 2), booked("a")),
			cmd: domain.CancelBooking{LearnerID: "a", Cause: domain.CauseReferent, Reason: "ill"}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonSessionStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cmd.SessionID, tt.cmd.Today = "s-1", today
			got, err := domain.DecideCancelBooking(tt.s, tt.cmd, eligibleExcept(tt.not))
			check(t, got, err, tt.then, tt.kind, tt.reason)
		})
	}

	got, err := domain.DecideCancelSession(full, domain.CancelSession{SessionID: "s-1", Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"})
	want := []domain.Event{
		domain.SessionCancelled{SessionID: "s-1", Reason: "offer withdrawn"},
		domain.BookingCancelled{SessionID: "s-1", LearnerID: "a", Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"},
		domain.BookingCancelled{SessionID: "s-1", LearnerID: "b", Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"},
		domain.BookingCancelled{SessionID: "s-1", LearnerID: "c", WasWaitlisted: true, Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"},
		domain.BookingCancelled{SessionID: "s-1", LearnerID: "d", WasWaitlisted: true, Cause: domain.CauseOfferWithdrawn, Reason: "offer withdrawn"},
		domain.DatesReleased{LearnerID: "a", SessionID: "s-1", From: sch.From, To: sch.To},
		domain.DatesReleased{LearnerID: "b", SessionID: "s-1", From: sch.From, To: sch.To},
	}
	check(t, got, err, want, 0, "")
	after := full
	for _, ev := range got {
		after = domain.EvolveSession(after, ev)
	}
	if again, err := domain.DecideCancelSession(after, domain.CancelSession{SessionID: "s-1"}); err != nil || again != nil {
		t.Fatalf("cancelled twice: %v %v", again, err)
	}
	if after.Booked() != 0 || len(after.Waitlist) != 0 {
		t.Fatalf("a cancelled session keeps %d places and %d waiting", after.Booked(), len(after.Waitlist))
	}
}

func TestDecideOutcome(t *testing.T) {
	sch := schedule(-5, 5, 2) // ended yesterday: 5 days of 420 minutes
	s := session(sch, booked("a"), waiting("w", 1), domain.OutcomeRecorded{SessionID: "s-1", LearnerID: "z"})
	s.Places = append(s.Places, domain.Place{LearnerID: "z"})
	recorded := func(o domain.Outcome) []domain.Event {
		return []domain.Event{domain.OutcomeRecorded{SessionID: "s-1", LearnerID: "a", Outcome: o, OfferID: "o-1", OperatorID: "op-5", Trades: []string{"H2913"}}}
	}
	tests := []struct {
		name    string
		s       domain.Session
		learner string
		o       domain.Outcome
		today   civil.Date
		then    []domain.Event
		kind    apperr.Kind
		reason  string
		fields  []string
	}{
		{name: "completed counts the scheduled total", s: s, o: domain.Outcome{Status: domain.OutcomeCompleted, Fit: domain.FitConfirmed, Comment: " bien "},
			then: recorded(domain.Outcome{Status: domain.OutcomeCompleted, Minutes: 2100, Scheduled: 2100, Fit: domain.FitConfirmed, Comment: "bien"})},
		{name: "partial up to the last day present", s: s, o: domain.Outcome{Status: domain.OutcomePartial, LastDay: sch.From.AddDays(1), Minutes: 840, Fit: domain.FitExplore},
			then: recorded(domain.Outcome{Status: domain.OutcomePartial, LastDay: sch.From.AddDays(1), Minutes: 840, Scheduled: 2100, Fit: domain.FitExplore})},
		{name: "partial beyond the minutes scheduled to the last day", s: s, o: domain.Outcome{Status: domain.OutcomePartial, LastDay: sch.From.AddDays(1), Minutes: 841, Fit: domain.FitExplore},
			kind: apperr.KindInvalidArgument, fields: []string{"minutes_done"}},
		{name: "partial outside the session", s: s, o: domain.Outcome{Status: domain.OutcomePartial, LastDay: sch.To.AddDays(1), Minutes: 10, Fit: domain.FitExplore},
			kind: apperr.KindInvalidArgument, fields: []string{"last_day_present"}},
		{name: "partial without minutes nor fit", s: s, o: domain.Outcome{Status: domain.OutcomePartial, LastDay: sch.From},
			kind: apperr.KindInvalidArgument, fields: []string{"minutes_done", "trade_fit"}},
		{name: "no-show", s: s, o: domain.Outcome{Status: domain.OutcomeNoShow},
			then: recorded(domain.Outcome{Status: domain.OutcomeNoShow, Scheduled: 2100})},
		{name: "no-show with minutes and an assessment", s: s, o: domain.Outcome{Status: domain.OutcomeNoShow, Minutes: 5, Fit: domain.FitNotForMe},
			kind: apperr.KindInvalidArgument, fields: []string{"minutes_done", "trade_fit"}},
		{name: "no status", s: s, o: domain.Outcome{}, kind: apperr.KindInvalidArgument, fields: []string{"status"}},
		{name: "on the last day", s: s, today: sch.To, o: domain.Outcome{Status: domain.OutcomeNoShow},
			then: recorded(domain.Outcome{Status: domain.OutcomeNoShow, Scheduled: 2100})},
		{name: "before the last day", s: s, today: sch.To.AddDays(-1), o: domain.Outcome{Status: domain.OutcomeNoShow}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonSessionNotOver},
		{name: "twice", s: s, learner: "z", o: domain.Outcome{Status: domain.OutcomeNoShow}, kind: apperr.KindAlreadyExists},
		{name: "a waitlisted learner", s: s, learner: "w", o: domain.Outcome{Status: domain.OutcomeNoShow}, kind: apperr.KindFailedPrecondition, reason: domain.ReasonNotBooked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			day := tt.today
			if day.IsZero() {
				day = today
			}
			l := tt.learner
			if l == "" {
				l = "a"
			}
			got, err := domain.DecideOutcome(tt.s, domain.RecordOutcome{SessionID: "s-1", LearnerID: l, Outcome: tt.o, Today: day})
			check(t, got, err, tt.then, tt.kind, tt.reason)
			if tt.fields != nil && !slices.Equal(fields(err), tt.fields) {
				t.Fatalf("violations on %v, want %v", fields(err), tt.fields)
			}
		})
	}
}

func TestActiveThrough(t *testing.T) {
	from, to := today.AddDays(10), today.AddDays(14)
	for _, c := range []struct {
		eps  []domain.Episode
		want bool
	}{
		{nil, false},
		{[]domain.Episode{{Entry: from}}, true},
		{[]domain.Episode{{Entry: from.AddDays(1)}}, false},
		{[]domain.Episode{{Entry: today, Exit: to}}, true},
		{[]domain.Episode{{Entry: today, Exit: to.AddDays(-1)}}, false},
		{[]domain.Episode{{Entry: today, Exit: today.AddDays(1)}, {Entry: today.AddDays(2)}}, true},
	} {
		if got := domain.ActiveThrough(c.eps, from, to); got != c.want {
			t.Errorf("ActiveThrough(%v) = %v", c.eps, got)
		}
	}
}

// A booking decided on a read model that has not seen the learner's exit
// yet is refused once the exit is marked on the learner's reservations; a
// later episode is not affected.
func TestAnExitMarkedOnTheReservationsOutranksAStaleReadModel(t *testing.T) {
	sch := schedule(10, 5, 2)
	s := session(sch)
	o := offer()
	stale := learner("l-1")
	var l domain.LearnerSchedule
	for _, ev := range domain.DecideLeave(l, "l-1", 1, today.AddDays(2)) {
		l = domain.EvolveLearner(l, ev)
	}
	if again := domain.DecideLeave(l, "l-1", 1, today.AddDays(2)); len(again) != 0 {
		t.Fatalf("marked twice: %v", again)
	}
	_, err := domain.DecideBook(s, o, l, domain.BookPlace{SessionID: "s-1", Learner: stale, Today: today})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || domain.ReasonOf(err) != domain.ReasonNotInPathway {
		t.Fatalf("booked past a marked exit: %v", err)
	}
	reentered := stale
	reentered.Episodes = append(slices.Clone(stale.Episodes), domain.Episode{Number: 2, Entry: today.AddDays(5)})
	reentered.Episodes[0].Exit = today.AddDays(2)
	if _, err := domain.DecideBook(s, o, l, domain.BookPlace{SessionID: "s-1", Learner: reentered, Today: today}); err != nil {
		t.Fatalf("re-entered before the session: %v", err)
	}
}

// Names and free texts refuse control characters and bidirectional
// overrides (a name that displays otherwise than it reads), single-line
// texts refuse line breaks, and each keeps its length bound; territory and
// operator codes follow the shared rules (T and two digits; ASCII letters,
// digits, dashes and underscores).
func TestTextsAndCodesOfAnOffer(t *testing.T) {
	with := func(change func(*domain.OfferProfile)) domain.OfferProfile {
		p := profile()
		change(&p)
		return p
	}
	long := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name    string
		profile domain.OfferProfile
		fields  []string
	}{
		{"a right-to-left override in the platform's name", with(func(p *domain.OfferProfile) { p.Platform.Name = "Plateau \u202Eerudnos" }), []string{"profile.platform.name"}},
		{"a control character in the platform's name", with(func(p *domain.OfferProfile) { p.Platform.Name = "Plateau\x07soudure" }), []string{"profile.platform.name"}},
		{"a line break in the platform's name", with(func(p *domain.OfferProfile) { p.Platform.Name = "Plateau\nsoudure" }), []string{"profile.platform.name"}},
		{"an invisible character in the address", with(func(p *domain.OfferProfile) { p.Platform.Address = "1 rue\u200B de l'Usine" }), []string{"profile.platform.address"}},
		{"a bidirectional isolate in the description", with(func(p *domain.OfferProfile) { p.Description = "Soudage \u2066à l'arc" }), []string{"profile.description"}},
		{"an escape in the description", with(func(p *domain.OfferProfile) { p.Description = "Soudage \x1b[31m" }), []string{"profile.description"}},
		{"a name of 201 characters", with(func(p *domain.OfferProfile) { p.Platform.Name = long(201) }), []string{"profile.platform.name"}},
		{"an address of 301 characters", with(func(p *domain.OfferProfile) { p.Platform.Address = long(301) }), []string{"profile.platform.address"}},
		{"a description of 2001 characters", with(func(p *domain.OfferProfile) { p.Description = long(2001) }), []string{"profile.description"}},
		{"a blank name", with(func(p *domain.OfferProfile) { p.Platform.Name = "   " }), []string{"profile.platform.name"}},
		{"a territory that is not T and two digits", with(func(p *domain.OfferProfile) { p.Platform.Territory = "Eure" }), []string{"profile.platform.territory_code"}},
		{"a territory of three digits", with(func(p *domain.OfferProfile) { p.Platform.Territory = "T105" }), []string{"profile.platform.territory_code"}},
		{"no territory", with(func(p *domain.OfferProfile) { p.Platform.Territory = "" }), []string{"profile.platform.territory_code"}},
		{"an operator id with a space", with(func(p *domain.OfferProfile) { p.OperatorID = "op 5" }), []string{"profile.operator_id"}},
		{"an operator id with a dot", with(func(p *domain.OfferProfile) { p.OperatorID = "op.5" }), []string{"profile.operator_id"}},
		{"no operator", with(func(p *domain.OfferProfile) { p.OperatorID = "" }), []string{"profile.operator_id"}},
		{"the longest name, address and description", with(func(p *domain.OfferProfile) {
			p.Platform.Name, p.Platform.Address, p.Description = long(200), long(300), long(2000)
		}), nil},
		{"a description over several lines, with tabs", with(func(p *domain.OfferProfile) { p.Description = "Soudage :\n\t- à l'arc\r\n\t- TIG" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := domain.DecideOffer(domain.Offer{}, domain.PublishOffer{OfferID: "o-1", Profile: domain.NormalizeProfile(tt.profile), Today: today})
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if apperr.KindOf(err) != apperr.KindInvalidArgument || !slices.Equal(fields(err), tt.fields) {
				t.Fatalf("got %v on %v, want InvalidArgument on %v", err, fields(err), tt.fields)
			}
		})
	}
}

// Reasons and comments are free texts: several lines are fine, control
// characters and bidirectional controls are not, and each keeps its bound.
func TestReasonsAndComments(t *testing.T) {
	sch := schedule(10, 5, 2)
	full := session(sch, booked("a"))
	ended := session(schedule(-5, 5, 2), booked("a"))
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"found a job", true},
		{"found a job\nstarting Monday", true},
		{"found a \u202Eboj", false},
		{"found a job\x00", false},
		{"found a job\u2069", false},
		{strings.Repeat("x", domain.MaxReasonLength), true},
		{strings.Repeat("x", domain.MaxReasonLength+1), false},
	} {
		_, err := domain.DecideOffer(offer(), domain.WithdrawOffer{OfferID: "o-1", Reason: c.text, Today: today})
		if c.ok != (err == nil) || (!c.ok && !slices.Equal(fields(err), []string{"reason"})) {
			t.Errorf("withdrawal reason %q: %v", c.text, err)
		}
		_, err = domain.DecideCancelBooking(full, domain.CancelBooking{SessionID: "s-1", LearnerID: "a", Cause: domain.CauseReferent, Reason: c.text, Today: today}, eligibleExcept(nil))
		if c.ok != (err == nil) || (!c.ok && !slices.Equal(fields(err), []string{"reason"})) {
			t.Errorf("cancellation reason %q: %v", c.text, err)
		}
	}
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"", true},
		{"Très motivé.\nÀ revoir en janvier.", true},
		{"Très \u202Dmotivé", false},
		{"Très motivé\x1b", false},
		{strings.Repeat("x", domain.MaxCommentLength), true},
		{strings.Repeat("x", domain.MaxCommentLength+1), false},
	} {
		_, err := domain.DecideOutcome(ended, domain.RecordOutcome{SessionID: "s-1", LearnerID: "a", Today: today,
			Outcome: domain.Outcome{Status: domain.OutcomeCompleted, Fit: domain.FitConfirmed, Comment: c.text}})
		if c.ok != (err == nil) || (!c.ok && !slices.Equal(fields(err), []string{"comment"})) {
			t.Errorf("comment %q: %v", c.text, err)
		}
	}
}
