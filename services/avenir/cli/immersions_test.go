package cli_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// TestImmersionsCommands walks #Action on the server's day, 26 November
// 2026: an offer, a one-day session of one place that day (so that its
// outcome can be recorded the same day), a booking and a waitlisted
// learner, a cancellation that promotes, the operator's outcome and the
// funder's statistics.
func TestImmersionsCommands(t *testing.T) {
	h := newCLIHarness(t)
	mint, register := h.mint, h.register
	admin := mint(auth.Principal{Subject: "cli-admin", Role: auth.RoleAdmin})
	// Not a coordinator: it acts for the learners of T05 without a referent
	// (no referent is registered, so every learner stays in the pool).
	referent := mint(auth.Principal{Subject: "ref-05", Role: auth.RoleReferent, ReferentID: "ref-05", Territories: []string{"T05"}})
	operator := mint(auth.Principal{Subject: "op-evreux", Role: auth.RoleOperator, OperatorID: "op-evreux", Territories: []string{"T05"}})
	funder := mint(auth.Principal{Subject: "region", Role: auth.RoleFunder})

	expect, eventually, id := h.expect, h.eventually, h.id

	publish := []string{"immersions", "offers", "publish", "--operator-id", "op-evreux", "--platform-name", "Plateau bâtiment AFPA Évreux",
		"--address", "12 rue de la Forêt, 27000 Évreux", "--commune", "27229", "--territory", "T05", "--rome-codes", "f1703,F1602",
		"--accredited-from", "2026-09-01", "--accredited-to", "2027-08-31", "--accessible"}
	offer := id(expect(admin, 0, append(publish, "-o", "json"), `"rome_codes": [`, `"F1703"`), "offer_id")
	// A bad ROME code is the server's refusal (1), naming the field; a bad
	// date or a missing flag is a usage error (2).
	bad := slices.Clone(publish)
	bad[slices.Index(bad, "--rome-codes")+1] = "F1703,plombier"
	expect(admin, 1, bad, "InvalidArgument", "profile.rome_codes[1]", "is not a ROME code")
	bad = slices.Clone(publish)
	bad[slices.Index(bad, "--accredited-to")+1] = "31/08/2027"
	expect(admin, 2, bad, "--accredited-to")
	expect(admin, 2, publish[:len(publish)-5], "accredited-to")
	expect(referent, 1, publish, "PermissionDenied")

	expect(admin, 0, append([]string{"immersions", "offers", "update", offer, "--description", "Maçonnerie et coffrage"}, publish[3:]...),
		"Maçonnerie et coffrage", "F1703, F1602")
	expect(referent, 0, []string{"immersions", "offers", "get", offer}, "Plateau bâtiment AFPA Évreux", "2026-09-01 to 2027-08-31")

	// A one-day session today, one place: the booking deadline defaults to
	// its first day.
	schedule := []string{"immersions", "sessions", "schedule", offer, "--from", "2026-11-26", "--to", "2026-11-26",
		"--daily-minutes", "420", "--capacity", "1"}
	out := expect(admin, 0, append(schedule, "-o", "json"), `"booking_deadline"`, `"free_places": 1`)
	session := id(out, "session_id")
	expect(admin, 1, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-11-20", "--to", "2026-11-26",
		"--daily-minutes", "420", "--capacity", "1"}, "InvalidArgument", "from_date", "must not be in the past")
	expect(admin, 1, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-12-01", "--to", "2026-12-02",
		"--daily-minutes", "900", "--capacity", "0"}, "daily_minutes", "capacity")
	expect(admin, 2, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-12-01", "--to", "2026-12-02", "--capacity", "1"},
		"daily-minutes")
	expect(admin, 2, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-12-01", "--to", "2026-12-02",
		"--daily-minutes", "sixty", "--capacity", "1"}, "daily-minutes")
	expect(admin, 0, []string{"immersions", "offers", "get", offer}, session)

	// Two learners of T05 in the pathway since 2 November.
	first, second := register("T05"), register("T05")
	for _, l := range []string{first, second} {
		eventually(admin, []string{"pathways", "enter", l, "--entry-date", "2026-11-02"}, "ACTIVE")
	}

	// The referent books the first (immersion learns of the entry in
	// moments), the second waits.
	eventually(referent, []string{"immersions", "book", session, first}, "booked")
	waiting := expect(referent, 0, []string{"immersions", "book", session, second}, "waitlisted", "joined the waitlist at position 1")
	if !strings.Contains(waiting, second) {
		t.Fatalf("book second:\n%s", waiting)
	}
	expect(referent, 1, []string{"immersions", "book", session, second}, "AlreadyExists")
	expect(referent, 2, []string{"immersions", "book", session}, "accepts 2 arg(s)")
	got := expect(referent, 0, []string{"immersions", "sessions", "get", session}, "1/1 booked, 0 free", "PLACE 1", first, "WAITING 1", second)
	if !strings.Contains(got, "joined at position 1") {
		t.Fatalf("session:\n%s", got)
	}
	expect(operator, 1, []string{"immersions", "outcome", session, second, "--status", "completed", "--trade-fit", "confirmed"},
		"FailedPrecondition", "reason: NOT_BOOKED")

	// Cancelling the place promotes the waitlisted learner.
	expect(referent, 2, []string{"immersions", "cancel", session, first}, "reason")
	cancel := []string{"immersions", "cancel", session, first, "--reason", "a job interview that day", "--request-id", "cancel-first"}
	expect(referent, 0, cancel, "cancelled", "cancelled by referent: a job interview that day")
	if got := expect(referent, 0, []string{"immersions", "sessions", "get", session}, "PLACE 1", second, "promoted from the waitlist"); tableValue(got, "WAITLIST") != "0" {
		t.Fatalf("after the cancellation:\n%s", got)
	}
	// The same request again is answered the same; another is refused.
	expect(referent, 0, cancel, "cancelled", "cancelled by referent: a job interview that day")
	expect(referent, 1, []string{"immersions", "cancel", session, first, "--reason", "again"}, "NotFound")

	// The session's last day is today: its operator records the outcome.
	expect(operator, 2, []string{"immersions", "outcome", session, second, "--status", "finished"}, "completed, partially-completed, did-not-show")
	expect(operator, 2, []string{"immersions", "outcome", session, second, "--status", "completed", "--trade-fit", "maybe"}, "to-explore-further")
	expect(operator, 1, []string{"immersions", "outcome", session, second, "--status", "partially-completed", "--trade-fit", "confirmed"},
		"InvalidArgument", "last_day_present", "minutes_done")
	expect(operator, 1, []string{"immersions", "outcome", session, second, "--status", "partially-completed", "--last-day-present", "2026-11-26",
		"--minutes-done", "500", "--trade-fit", "confirmed"}, "minutes_done", "at most 420")
	// A referent who does not act for the learner may not (its own
	// referent may: it debriefs the immersion).
	elsewhere := mint(auth.Principal{Subject: "ref-01", Role: auth.RoleReferent, ReferentID: "ref-01", Territories: []string{"T01"}})
	expect(elsewhere, 1, []string{"immersions", "outcome", session, second, "--status", "did-not-show"}, "PermissionDenied")
	outcome := expect(operator, 0, []string{"immersions", "outcome", session, second, "--status", "completed", "--trade-fit", "confirmed",
		"--comment", "à l'aise sur le chantier", "-o", "json"}, `"status": "BOOKING_STATUS_BOOKED"`, `"minutes_done": 420`, `"promoted_from_waitlist": true`)
	if !strings.Contains(outcome, `"trade_fit": "TRADE_FIT_CONFIRMED"`) {
		t.Fatalf("outcome:\n%s", outcome)
	}
	expect(operator, 1, []string{"immersions", "outcome", session, second, "--status", "did-not-show"}, "AlreadyExists")
	expect(referent, 1, []string{"immersions", "cancel", session, second, "--reason", "too late"}, "OUTCOME_RECORDED")

	// Lists, from the read model.
	eventually(operator, []string{"immersions", "bookings", "--session", session}, first, "cancelled by referent", second,
		"outcome completed, 420/420 minutes, trade fit confirmed")
	eventually(operator, []string{"immersions", "bookings", "--operator", "op-evreux"}, first, second)
	eventually(referent, []string{"immersions", "bookings", "--learner", second, "-o", "json"}, `"promoted_from_waitlist": true`, `"outcome"`)
	expect(operator, 2, []string{"immersions", "bookings"}, "exactly one of --learner, --operator and --session")
	expect(operator, 2, []string{"immersions", "bookings", "--learner", first, "--session", session}, "exactly one")
	expect(operator, 1, []string{"immersions", "bookings", "--operator", "op-caen"}, "NotFound")

	eventually(referent, []string{"immersions", "sessions", "search", "--rome-code", "F1703", "--territory", "T05"}, session, "1/1")
	if out := eventually(referent, []string{"immersions", "sessions", "search", "--only-with-free-places"}, "SESSION ID"); strings.Contains(out, session) {
		t.Fatalf("a full session among those with free places:\n%s", out)
	}
	expect(referent, 1, []string{"immersions", "sessions", "search", "--rome-code", "plombier"}, "InvalidArgument", "rome_code")
	expect(referent, 2, []string{"immersions", "sessions", "search", "--from", "tomorrow"}, "--from")
	expect(funder, 1, []string{"immersions", "sessions", "search"}, "PermissionDenied")

	// Figures: the session counts under each of its trades, once in the
	// total. An admin reads them exactly; for a funder, one learner booked
	// and completed is fewer than five ("<5"), and the rates computed from
	// them are not given ("-").
	totalLine := func(stats string) string {
		for line := range strings.SplitSeq(stats, "\n") {
			if strings.HasPrefix(line, "TOTAL") {
				return strings.Join(strings.Fields(line), " ")
			}
		}
		return ""
	}
	stats := eventually(admin, []string{"immersions", "stats", "--from", "2026-11-01", "--to", "2026-11-30"}, "F1602", "F1703", "TOTAL")
	if got := totalLine(stats); got != "TOTAL 1 1 1 0 1 1 0 0 100.0% 100.0% 0.0%" {
		t.Fatalf("stats total for an admin:\n%s", stats)
	}
	stats = expect(funder, 0, []string{"immersions", "stats", "--from", "2026-11-01", "--to", "2026-11-30"}, "F1602", "F1703", "TOTAL")
	if got := totalLine(stats); got != "TOTAL 1 1 <5 0 <5 <5 0 0 - - -" {
		t.Fatalf("stats total for a funder:\n%s", stats)
	}
	type count struct {
		Value         int  `json:"value"`
		FewerThanFive bool `json:"fewer_than_five"`
	}
	var figures struct {
		Total struct {
			LearnersCompleted      count `json:"learners_completed"`
			CompletionRatePerMille int   `json:"completion_rate_per_mille"`
		} `json:"total"`
	}
	statsJSON := []string{"immersions", "stats", "--from", "2026-11-01", "--to", "2026-11-30", "--territory", "T05", "--rome-code", "F1703", "-o", "json"}
	if err := json.Unmarshal([]byte(expect(admin, 0, statsJSON)), &figures); err != nil ||
		figures.Total.LearnersCompleted != (count{Value: 1}) || figures.Total.CompletionRatePerMille != 1000 {
		t.Fatalf("stats -o json for an admin: %+v %v", figures, err)
	}
	figures.Total.LearnersCompleted, figures.Total.CompletionRatePerMille = count{}, 0
	if err := json.Unmarshal([]byte(expect(funder, 0, statsJSON)), &figures); err != nil ||
		figures.Total.LearnersCompleted != (count{FewerThanFive: true}) || figures.Total.CompletionRatePerMille != 0 {
		t.Fatalf("stats -o json for a funder: %+v %v", figures, err)
	}
	expect(funder, 2, []string{"immersions", "stats", "--from", "2026-11-01"}, `"to" not set`)
	expect(funder, 1, []string{"immersions", "stats", "--from", "2026-01-01", "--to", "2027-06-30"}, "InvalidArgument", "366 days")
	expect(referent, 1, []string{"immersions", "stats", "--from", "2026-11-01", "--to", "2026-11-30"}, "PermissionDenied")

	// Capacity: not below the places booked.
	expect(operator, 0, []string{"immersions", "sessions", "capacity", session, "--capacity", "3"}, "1/3 booked, 2 free")
	expect(operator, 1, []string{"immersions", "sessions", "capacity", session, "--capacity", "0"}, "InvalidArgument", "capacity")

	// Later sessions, scheduled by the operator: a week of one place, and two
	// days overlapping it.
	week := id(expect(operator, 0, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-12-07", "--to", "2026-12-11",
		"--daily-minutes", "420", "--capacity", "1", "--booking-deadline", "2026-12-02", "-o", "json"}), "session_id")
	overlap := id(expect(operator, 0, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-12-08", "--to", "2026-12-09",
		"--daily-minutes", "420", "--capacity", "5", "-o", "json"}), "session_id")
	third := register("T05")
	eventually(admin, []string{"pathways", "enter", third, "--entry-date", "2026-11-02"}, "ACTIVE")
	expect(referent, 0, []string{"immersions", "book", week, first}, "booked")
	eventually(referent, []string{"immersions", "book", week, third}, "waitlisted", "position 1")
	expect(referent, 0, []string{"immersions", "book", week, second}, "waitlisted", "position 2")
	// A waitlist entry reserves no dates: the third learner books the
	// overlapping session, but the first can't.
	expect(referent, 0, []string{"immersions", "book", overlap, third}, "booked")
	expect(referent, 1, []string{"immersions", "book", overlap, first}, "FailedPrecondition", "reason: OVERLAPPING_BOOKING", "session_id: "+week)

	// The first learner leaves the pathway today: the exit consumer cancels
	// the later booking, and the freed place skips the third learner (now
	// booked on overlapping dates) for the second.
	expect(admin, 0, []string{"pathways", "exit", first, "--exit-date", "2026-11-26", "--reason", "relocation"}, "EXITED")
	got = eventually(admin, []string{"immersions", "sessions", "get", week}, "PLACE 1", second, "promoted from the waitlist")
	if tableValue(got, "WAITLIST") != "0" || strings.Contains(got, third) {
		t.Fatalf("after the exit:\n%s", got)
	}
	eventually(operator, []string{"immersions", "bookings", "--session", week}, "cancelled by pathway-exit: left the pathway on 2026-11-26",
		"dropped from the waitlist: overlapping-booking", "promoted from the waitlist (joined at position 2)")

	// Withdrawal: the sessions starting after today are cancelled with their
	// bookings; today's session stays.
	expect(admin, 2, []string{"immersions", "offers", "withdraw", offer}, "reason")
	expect(admin, 0, []string{"immersions", "offers", "withdraw", offer, "--reason", "accreditation not renewed"},
		"2026-11-26: accreditation not renewed", week, overlap)
	expect(admin, 1, append(schedule, "--request-id", "after-withdrawal"), "FailedPrecondition", "reason: OFFER_WITHDRAWN")
	eventually(admin, []string{"immersions", "sessions", "get", week}, "yes: offer withdrawn", "0/1 booked")
	eventually(admin, []string{"immersions", "sessions", "get", overlap}, "yes: offer withdrawn", "0/5 booked")
	eventually(referent, []string{"immersions", "bookings", "--learner", second}, "cancelled by offer-withdrawn")
	if got := expect(admin, 0, []string{"immersions", "sessions", "get", session}); tableValue(got, "CANCELLED") != "" {
		t.Fatalf("today's session cancelled:\n%s", got)
	}
	eventually(referent, []string{"immersions", "sessions", "search", "--include-cancelled", "--from", "2026-12-01"}, week, overlap)
}

// tableValue returns the value of the row named name in a two-column
// table.
func tableValue(table, name string) string {
	for line := range strings.SplitSeq(table, "\n") {
		if rest, ok := strings.CutPrefix(line, name+"  "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
