package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func day(m time.Month, d int) civil.Date { return civil.Date{Year: 2026, Month: m, Day: d} }

func month(m time.Month) civil.Month { return civil.Month{Year: 2026, Month: m} }

func terms() domain.Terms {
	return domain.Terms{
		OperatorID: "op-1", Reference: "AVENIR-2026-LOT5", Territories: []string{"T05"},
		From: day(time.January, 1), To: day(time.December, 31),
		TraineeHourCents: 1500, GroupHourCents: 4000,
		FlatFees: []domain.FeeRate{
			{Type: domain.FeeNeedsAnalysisCompleted, AmountCents: 20000},
			{Type: domain.FeeImmersionCompleted, AmountCents: 15000},
			{Type: domain.FeeImmersionPartiallyCompleted, AmountCents: 7500},
			{Type: domain.FeeExitToEmployment, AmountCents: 50000},
			{Type: domain.FeeExitToQualifyingTraining, AmountCents: 40000},
			{Type: domain.FeeCustom, CustomCode: "BILAN_FINAL", AmountCents: 10000, Label: "Bilan final"},
		},
		AnnualEnvelopeCents: 100_000_000,
		DailyCapMinutes:     420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
		Programme: domain.ProgrammeAvenir,
	}
}

// enrolled: l-1 enrolled with contract c-1 from 5 January, open; l-2 with
// c-1 from 5 January to 31 March, then again from 1 May (a second
// episode); l-3 with c-2 only; l-4 with c-1 but living in T01; all in T05
// but l-4; l-9 never.
func enrolled() domain.Learners {
	jan5 := day(time.January, 5)
	in := func(n, episode int, contract string, from, to civil.Date) domain.Enrolment {
		return domain.Enrolment{Number: n, Episode: episode, ContractID: contract, OperatorID: "op-" + contract[2:], From: from, To: to}
	}
	return domain.Learners{
		"l-1": {Territory: "T05", Episodes: []domain.Episode{{Number: 1, Entry: jan5}}, Enrolments: []domain.Enrolment{in(1, 1, "c-1", jan5, civil.Date{})}},
		"l-2": {Territory: "T05", Episodes: []domain.Episode{{Number: 1, Entry: jan5, Exit: day(time.March, 31)}, {Number: 2, Entry: day(time.May, 1)}},
			Enrolments: []domain.Enrolment{in(1, 1, "c-1", jan5, day(time.March, 31)), in(2, 2, "c-1", day(time.May, 1), civil.Date{})}},
		"l-3": {Territory: "T05", Episodes: []domain.Episode{{Number: 1, Entry: jan5}}, Enrolments: []domain.Enrolment{in(1, 1, "c-2", jan5, civil.Date{})}},
		"l-4": {Territory: "T01", Episodes: []domain.Episode{{Number: 1, Entry: jan5}}, Enrolments: []domain.Enrolment{in(1, 1, "c-1", jan5, civil.Date{})}},
	}
}

// today is the deciders' day in the tables, after every line's.
var today = day(time.December, 31)

// wantErr checks an error's kind and reason code.
func wantErr(t *testing.T, err error, kind apperr.Kind, reason string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a %s error", err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("error %v is %s, want %s", err, e.Kind, kind)
	}
	if domain.ReasonOf(err) != reason {
		t.Fatalf("error %v has reason %q, want %q", err, domain.ReasonOf(err), reason)
	}
}

// hasField reports whether an InvalidArgument error names field.
func hasField(err error, field string) bool {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// ledger folds events into a new hours ledger.
func ledger(evs ...domain.Event) *domain.HoursLedger {
	l := domain.NewHoursLedger()
	for _, ev := range evs {
		l.Apply(ev)
	}
	return l
}

// accepted is a TraineeHoursReported of l-1 with lines (id, date, minutes),
// priced at 1500 cents an hour.
func accepted(lines ...domain.HourLine) domain.TraineeHoursReported {
	for i := range lines {
		if lines[i].Activity == 0 {
			lines[i].Activity = domain.ActivityFaceToFace
		}
		lines[i].Rate = 1500
		lines[i].Amount = domain.Amount(lines[i].Minutes, 1500)
		if lines[i].Period == (civil.Month{}) {
			lines[i].Period = civil.MonthOf(lines[i].Date)
		}
	}
	return domain.TraineeHoursReported{LedgerID: "lg-1", ContractID: "c-1", OperatorID: "op-1", LearnerID: "l-1", Week: domain.WeekOf(lines[0].Date), RequestID: "r-0", Lines: lines}
}

// acceptedIn is accepted under another contract.
func acceptedIn(contract string, lines ...domain.HourLine) domain.TraineeHoursReported {
	e := accepted(lines...)
	e.ContractID, e.OperatorID = contract, "op-"+contract[2:]
	return e
}

func hl(id string, d civil.Date, minutes int) domain.HourLine {
	return domain.HourLine{ID: id, Date: d, Minutes: minutes}
}

func rl(index int, id, learner string, d civil.Date, minutes int) domain.ReportedLine {
	return domain.ReportedLine{Index: index, ID: id, LearnerID: learner, Date: d, Minutes: minutes, Activity: domain.ActivityFaceToFace}
}
