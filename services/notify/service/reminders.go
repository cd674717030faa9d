package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The reminders before an immersion session.
const (
	// startsIndex lists the sessions by first day.
	startsIndex = "starts"
	// SessionStartHour is when a session is taken to start on its first
	// day (Europe/Paris): sessions have days, not hours.
	SessionStartHour = 9
	// remindersJob names the job that emits the reminders due.
	remindersJob = "notify-reminders"
)

// ReminderHours are the reminders before a session's start, nearest first.
var ReminderHours = []int{24, 48, 72}

func startMember(from civil.Date, sessionID string) string { return from.String() + "/" + sessionID }

func bookedIndex(sessionID string) string { return "b/" + sessionID }

// sessionStart is the instant a session starts.
func sessionStart(from civil.Date) time.Time {
	return time.Date(from.Year, from.Month, from.Day, SessionStartHour, 0, 0, 0, civil.Paris)
}

// dueReminder is the reminder due at now before a session starting at
// start: the nearest of ReminderHours whose time has come, 0 when none has
// or the session has started. Only the nearest is due: a clock that jumps
// (the demo's, a process down for a day) sends one reminder, not three.
func dueReminder(start, now time.Time) int {
	if !now.Before(start) {
		return 0
	}
	for _, h := range ReminderHours {
		if !now.Before(start.Add(-time.Duration(h) * time.Hour)) {
			return h
		}
	}
	return 0
}

// RunReminders emits the reminders due on the services' clock: for each
// session starting within the farthest reminder, to each learner still
// booked and to the host operator. Each reminder's notification id derives
// from the session, the learner (or the operator) and the hours before, so
// running it again, from any number of replicas, creates nothing more; a
// booking cancelled before the reminder's time is no longer in the read
// model and gets none.
func (s *Service) RunReminders(ctx context.Context) error {
	now := s.deps.Now()
	today := civil.Of(now)
	last := today.AddDays(ReminderHours[len(ReminderHours)-1]/24 + 1)
	after := today.AddDays(-1).String() + "/~"
	for {
		members, err := s.store.Range(ctx, sessionsProjection, startsIndex, projection.RangeQuery{After: after, Limit: projection.MaxRangeLimit})
		if err != nil {
			return apperr.Unavailable("notify: sessions read model").WithCause(err)
		}
		for _, m := range members {
			day, id, _ := strings.Cut(m, "/")
			from, err := civil.Parse(day)
			if err != nil {
				return fmt.Errorf("notify: sessions index member %q: %w", m, err)
			}
			if from.After(last) {
				return nil
			}
			if err := s.remind(ctx, id, from, now); err != nil {
				return err
			}
		}
		if len(members) < projection.MaxRangeLimit {
			return nil
		}
		after = members[len(members)-1]
	}
}

// remind emits the reminder due now for one session.
func (s *Service) remind(ctx context.Context, sessionID string, from civil.Date, now time.Time) error {
	hours := dueReminder(sessionStart(from), now)
	if hours == 0 {
		return nil
	}
	session, found, err := projection.GetJSON[sessionView](ctx, s.store, sessionsProjection, sessionKey(sessionID))
	if err != nil || !found {
		return err
	}
	base := domain.Notification{Kind: domain.KindSessionReminder, SessionID: sessionID, From: session.From, To: session.To, HoursBefore: hours}
	var learners []string
	after := ""
	for {
		page, err := s.store.Range(ctx, sessionsProjection, bookedIndex(sessionID), projection.RangeQuery{After: after, Limit: projection.MaxRangeLimit})
		if err != nil {
			return apperr.Unavailable("notify: sessions read model").WithCause(err)
		}
		learners = append(learners, page...)
		if len(page) < projection.MaxRangeLimit {
			break
		}
		after = page[len(page)-1]
	}
	if len(learners) == 0 {
		return nil
	}
	for _, learner := range learners {
		n := base
		n.LearnerID = learner
		trigger := event.Event{ID: event.DeriveID("notify-reminder", fmt.Sprintf("%s/%s/%d", sessionID, learner, hours))}
		if err := s.notifyAll(ctx, trigger, n, []string{domain.LearnerPrefix + learner}); err != nil {
			return err
		}
	}
	if session.OperatorID == "" {
		return nil
	}
	trigger := event.Event{ID: event.DeriveID("notify-reminder", fmt.Sprintf("%s/operator/%d", sessionID, hours))}
	return s.notifyAll(ctx, trigger, base, []string{domain.OperatorPrefix + session.OperatorID})
}
