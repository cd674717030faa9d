package cli

import (
	"fmt"
	"strings"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
)

func offerRows(o *immersionv1.Offer) []field {
	p := o.GetProfile()
	pl := p.GetPlatform()
	withdrawn := ""
	if o.GetWithdrawn() {
		withdrawn = dateString(o.GetWithdrawnOn()) + ": " + o.GetWithdrawalReason()
	}
	return []field{
		{"OFFER ID", o.GetOfferId()},
		{"OPERATOR", p.GetOperatorId()},
		{"PLATFORM", pl.GetName()},
		{"ADDRESS", pl.GetAddress()},
		{"COMMUNE", pl.GetCommuneCode()},
		{"TERRITORY", pl.GetTerritoryCode()},
		{"TRADES", strings.Join(p.GetRomeCodes(), ", ")},
		{"ACCREDITED", period(p.GetAccreditedFrom(), p.GetAccreditedTo())},
		{"ACCREDITATION EXPIRED", yesNo(o.GetAccreditationExpired())},
		{"ACCESSIBLE", yesNo(p.GetAccessible())},
		{"DESCRIPTION", p.GetDescription()},
		{"WITHDRAWN", withdrawn},
		{"SESSIONS", strings.Join(o.GetSessionIds(), ", ")},
	}
}

// learnerOrHidden shows a learner id, or says the caller may not see it.
func learnerOrHidden(id string) string {
	if id == "" {
		return "(not in your scope)"
	}
	return id
}

// learnerNamed shows a learner as "Name, id" when names has its name, by
// its id otherwise, or says the caller may not see it.
func learnerNamed(id string, names map[string]string) string {
	if n := names[id]; n != "" && id != "" {
		return n + ", " + id
	}
	return learnerOrHidden(id)
}

// sessionLearners are the ids of the learners of a session's places and
// waitlist.
func sessionLearners(s *immersionv1.Session) []string {
	var ids []string
	for _, p := range s.GetPlaces() {
		ids = append(ids, p.GetLearnerId())
	}
	for _, w := range s.GetWaitlist() {
		ids = append(ids, w.GetLearnerId())
	}
	return ids
}

// outcomeString is an outcome in one line.
func outcomeString(o *immersionv1.Outcome) string {
	if o == nil {
		return ""
	}
	s := immersionOutcomes.name(o.GetStatus().Number())
	if o.GetLastDayPresent() != nil {
		s += ", last day present " + dateString(o.GetLastDayPresent())
	}
	s += fmt.Sprintf(", %d/%d minutes", o.GetMinutesDone(), o.GetMinutesScheduled())
	if f := immersionFits.name(o.GetTradeFit().Number()); f != "" {
		s += ", trade fit " + f
	}
	if o.GetComment() != "" {
		s += ": " + o.GetComment()
	}
	return s
}

// sessionRows is a session, with the names of the learners of its places
// and waitlist that names has.
func sessionRows(s *immersionv1.Session, names map[string]string) []field {
	cancelled := ""
	if s.GetCancelled() {
		cancelled = "yes: " + s.GetCancellationReason()
	}
	rows := []field{
		{"SESSION ID", s.GetSessionId()},
		{"OFFER ID", s.GetOfferId()},
		{"OPERATOR", s.GetOperatorId()},
		{"TERRITORY", s.GetTerritoryCode()},
		{"TRADES", strings.Join(s.GetRomeCodes(), ", ")},
		{"ACCESSIBLE", yesNo(s.GetAccessible())},
		{"DATES", period(s.GetFromDate(), s.GetToDate())},
		{"DAILY MINUTES", fmt.Sprint(s.GetDailyMinutes())},
		{"BOOKING DEADLINE", dateString(s.GetBookingDeadline())},
		{"PLACES", fmt.Sprintf("%d/%d booked, %d free", s.GetBooked(), s.GetCapacity(), s.GetFreePlaces())},
		{"WAITLIST", fmt.Sprint(s.GetWaitlistLength())},
		{"CANCELLED", cancelled},
	}
	for i, p := range s.GetPlaces() {
		v := learnerNamed(p.GetLearnerId(), names)
		if p.GetPromotedFromWaitlist() {
			v += " (promoted from the waitlist)"
		}
		if o := p.GetOutcome(); o != nil {
			v += ": " + outcomeString(o)
		}
		rows = append(rows, field{fmt.Sprintf("PLACE %d", i+1), v})
	}
	for _, w := range s.GetWaitlist() {
		rows = append(rows, field{fmt.Sprintf("WAITING %d", w.GetRank()),
			fmt.Sprintf("%s (joined at position %d)", learnerNamed(w.GetLearnerId(), names), w.GetJoinedAtPosition())})
	}
	return rows
}

var sessionListHeader = []string{"SESSION ID", "DATES", "TERRITORY", "TRADES", "BOOKED", "FREE", "WAITLIST", "ACCESSIBLE", "OPERATOR", "CANCELLED"}

// sessionListRows is one row per session found.
func sessionListRows(resp *immersionv1.SearchSessionsResponse) [][]string {
	var rows [][]string
	for _, s := range resp.GetSessions() {
		rows = append(rows, []string{
			s.GetSessionId(), period(s.GetFromDate(), s.GetToDate()), s.GetTerritoryCode(), strings.Join(s.GetRomeCodes(), ","),
			fmt.Sprintf("%d/%d", s.GetBooked(), s.GetCapacity()), fmt.Sprint(s.GetFreePlaces()), fmt.Sprint(s.GetWaitlistLength()),
			yesNo(s.GetAccessible()), s.GetOperatorId(), yesNo(s.GetCancelled()),
		})
	}
	return rows
}

// bookingDetail says what happened to a booking beyond its status.
func bookingDetail(b *immersionv1.Booking) string {
	var parts []string
	switch {
	case b.GetStatus() == immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED:
		parts = append(parts, fmt.Sprintf("joined the waitlist at position %d", b.GetWaitlistPosition()))
	case b.GetPromotedFromWaitlist():
		parts = append(parts, fmt.Sprintf("promoted from the waitlist (joined at position %d)", b.GetWaitlistPosition()))
	}
	if c := immersionCauses.name(b.GetCancellationCause().Number()); c != "" {
		s := "cancelled by " + c
		if b.GetCancellationReason() != "" {
			s += ": " + b.GetCancellationReason()
		}
		parts = append(parts, s)
	}
	if d := immersionDrops.name(b.GetDropReason().Number()); d != "" {
		parts = append(parts, "dropped from the waitlist: "+d)
	}
	if o := b.GetOutcome(); o != nil {
		parts = append(parts, "outcome "+outcomeString(o))
	}
	return strings.Join(parts, "; ")
}

func bookingRows(b *immersionv1.Booking) []field {
	return []field{
		{"SESSION ID", b.GetSessionId()},
		{"LEARNER ID", b.GetLearnerId()},
		{"STATUS", immersionStatuses.name(b.GetStatus().Number())},
		{"DETAIL", bookingDetail(b)},
		{"OFFER ID", b.GetOfferId()},
		{"OPERATOR", b.GetOperatorId()},
		{"TERRITORY", b.GetTerritoryCode()},
		{"TRADES", strings.Join(b.GetRomeCodes(), ", ")},
		{"DATES", period(b.GetFromDate(), b.GetToDate())},
	}
}

// bookingListRows is the header, then one row per booking, with the
// learners' names.
func bookingListRows(bookings []*immersionv1.Booking, names map[string]string) [][]string {
	rows := [][]string{{"SESSION ID", "LEARNER ID", "NAME", "STATUS", "DATES", "TERRITORY", "OPERATOR", "DETAIL"}}
	for _, b := range bookings {
		rows = append(rows, []string{
			b.GetSessionId(), learnerOrHidden(b.GetLearnerId()), names[b.GetLearnerId()], immersionStatuses.name(b.GetStatus().Number()),
			period(b.GetFromDate(), b.GetToDate()), b.GetTerritoryCode(), b.GetOperatorId(), bookingDetail(b),
		})
	}
	return rows
}

// perMilleString is a rate per mille as a percentage with one decimal.
func perMilleString(n int32) string { return fmt.Sprintf("%d.%d%%", n/10, n%10) }

func statsRows(resp *immersionv1.GetImmersionStatisticsResponse) [][]string {
	rows := [][]string{{"TERRITORY", "TRADE", "SESSIONS", "PLACES", "BOOKED", "WAITLISTED", "OUTCOMES", "COMPLETED", "PARTIAL", "NO-SHOW", "FILL", "COMPLETION", "NO-SHOW RATE"}}
	line := func(territory, trade string, r *immersionv1.ImmersionStatistics) []string {
		booked, outcomes := r.GetBookedLearners(), r.GetLearnersWithOutcome()
		completed, notShown := r.GetLearnersCompleted(), r.GetLearnersNotShown()
		return []string{
			territory, trade, fmt.Sprint(r.GetSessions()), fmt.Sprint(r.GetPlacesOffered()), countString(booked),
			countString(r.GetWaitlistedLearners()), countString(outcomes), countString(completed),
			countString(r.GetLearnersPartiallyCompleted()), countString(notShown), rateString(r.GetFillRatePerMille(), booked),
			rateString(r.GetCompletionRatePerMille(), completed, outcomes), rateString(r.GetNoShowRatePerMille(), notShown, outcomes),
		}
	}
	for _, r := range resp.GetRows() {
		rows = append(rows, line(r.GetTerritoryCode(), r.GetRomeCode(), r))
	}
	return append(rows, line("TOTAL", "", resp.GetTotal()))
}
