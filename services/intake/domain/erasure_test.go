package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestErase(t *testing.T) {
	erased := domain.LearnerErased{LearnerID: "l-1", Territory: "T05", ErasedOn: today, Ground: domain.GroundRequest, Reference: "ticket 12"}
	blocked := apperr.FailedPrecondition("held").WithMeta("reason", domain.ReasonInEpisode)
	runDecide(t, []decideCase{
		{
			name:  "records the erasure, the reference's spaces normalised",
			given: []domain.Event{anais},
			when:  domain.EraseLearner{Ground: domain.GroundRequest, Reference: " ticket  12 ", Today: today},
			then:  []domain.Event{erased},
		},
		{
			name:  "an erased learner is erased once: nothing more to record",
			given: []domain.Event{anais, erased},
			when:  domain.EraseLearner{Ground: domain.GroundRetention, Reference: "retention 2026-11-26", Today: today},
		},
		{
			name:  "an erased learner answers its erasure whatever holds others back",
			given: []domain.Event{anais, erased},
			when:  domain.EraseLearner{Ground: domain.GroundRequest, Reference: "x", Today: today, Blocker: blocked},
		},
		{
			name:     "what holds the erasure back refuses it",
			given:    []domain.Event{anais},
			when:     domain.EraseLearner{Ground: domain.GroundRequest, Reference: "ticket 12", Today: today, Blocker: blocked},
			wantKind: apperr.KindFailedPrecondition,
			wantMeta: map[string]string{"reason": domain.ReasonInEpisode},
		},
		{
			name:     "an unknown learner is not found",
			when:     domain.EraseLearner{Ground: domain.GroundRequest, Reference: "ticket 12", Today: today},
			wantKind: apperr.KindNotFound,
		},
		{
			name:       "ground and reference are required",
			given:      []domain.Event{anais},
			when:       domain.EraseLearner{Reference: "  ", Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"ground", "reference"},
		},
		{
			name:       "bad input is reported before anything else",
			when:       domain.EraseLearner{Ground: domain.ErasureGround(9), Reference: strings.Repeat("r", 101), Today: today, Blocker: blocked},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"ground", "reference"},
		},
		{
			name:       "the reference refuses control characters and bidirectional overrides",
			given:      []domain.Event{anais},
			when:       domain.EraseLearner{Ground: domain.GroundUnlawful, Reference: "ticket\u202E21", Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"reference"},
		},
		{
			name:       "nor a new line",
			given:      []domain.Event{anais},
			when:       domain.EraseLearner{Ground: domain.GroundLegalObligation, Reference: "a\nb", Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"reference"},
		},
		{
			name:     "the contact of an erased learner cannot change",
			given:    []domain.Event{anais, erased},
			when:     domain.UpdateContact{Email: ptr("a@b.fr"), Today: today},
			wantKind: apperr.KindFailedPrecondition,
			wantMeta: map[string]string{"reason": domain.ReasonErased},
		},
		{
			name:     "nor its situation",
			given:    []domain.Event{anais, erased},
			when:     domain.UpdateSituation{EffectiveDate: today, RSA: ptr(true), Today: today},
			wantKind: apperr.KindFailedPrecondition,
			wantMeta: map[string]string{"reason": domain.ReasonErased},
		},
	})
}

func month(y int, m time.Month) civil.Month { return civil.Month{Year: y, Month: m} }

func TestErasureBlocker(t *testing.T) {
	jan := civil.Date{Year: 2026, Month: 1, Day: 5}
	closed := domain.Episode{Number: 1, Entry: jan, Exit: civil.Date{Year: 2026, Month: 3, Day: 31}}
	tests := []struct {
		name   string
		facts  domain.ErasureFacts
		today  civil.Date
		reason string
		says   []string
	}{
		{name: "nothing holds a learner who exited, was billed on closed statements and whose months are frozen",
			facts: domain.ErasureFacts{Episodes: []domain.Episode{closed}}, today: today},
		{name: "an open episode", today: today,
			facts: domain.ErasureFacts{
				Episodes:       []domain.Episode{closed, {Number: 2, Entry: civil.Date{Year: 2026, Month: 11, Day: 2}}},
				OpenStatements: []domain.StatementPeriod{{"c-1", month(2026, 11)}},
			},
			reason: domain.ReasonInEpisode, says: []string{"episode 2", "entered on 2026-11-02", "record the exit"}},
		{name: "lines on statements not closed, each named once", today: today,
			facts: domain.ErasureFacts{
				Episodes: []domain.Episode{closed},
				OpenStatements: []domain.StatementPeriod{{"c-2", month(2026, 10)}, {"c-1", month(2026, 11)}, {"c-2", month(2026, 9)},
					{"c-1", month(2026, 11)}},
				UnfrozenEntryMonths: []civil.Month{month(2026, 10)},
			},
			reason: domain.ReasonOpenStatement, says: []string{"(contract c-1 2026-11, contract c-2 2026-09, contract c-2 2026-10)", "closed"}},
		{name: "statistics not frozen: possible from the first day of the month after next of the last month", today: today,
			facts: domain.ErasureFacts{
				UnfrozenEntryMonths:      []civil.Month{month(2026, 11), month(2026, 10)},
				UnfrozenCompletionMonths: []civil.Month{month(2026, 12)},
			},
			reason: domain.ReasonStatisticsNotFrozen,
			says:   []string{"pathway breakdowns of 2026-10, 2026-11; needs summary of 2026-12", "erasure is possible from 2027-02-01"}},
		{name: "statistics late to be frozen", today: civil.Date{Year: 2027, Month: 1, Day: 3},
			facts:  domain.ErasureFacts{UnfrozenCompletionMonths: []civil.Month{month(2026, 11)}},
			reason: domain.ReasonStatisticsNotFrozen, says: []string{"needs summary of 2026-11", "due to be frozen since 2027-01-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ErasureBlocker("l-1", tc.facts, tc.today)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("held: %v", err)
				}
				return
			}
			ae, ok := err.(*apperr.Error)
			if !ok || ae.Kind != apperr.KindFailedPrecondition || ae.Meta["reason"] != tc.reason {
				t.Fatalf("got %v, want FailedPrecondition %s", err, tc.reason)
			}
			for _, s := range append(tc.says, "learner l-1") {
				if !strings.Contains(ae.Message, s) {
					t.Errorf("%q does not say %q", ae.Message, s)
				}
			}
		})
	}
}

func TestRetentionBasis(t *testing.T) {
	reg := civil.Date{Year: 2024, Month: 1, Day: 10}
	exit1, exit2 := civil.Date{Year: 2024, Month: 6, Day: 30}, civil.Date{Year: 2024, Month: 9, Day: 30}
	tests := []struct {
		name        string
		episodes    []domain.Episode
		basis, exit civil.Date
		ok          bool
	}{
		{"never entered: the registration", nil, reg, civil.Date{}, true},
		{"the last exit", []domain.Episode{{1, reg, exit2}, {2, exit1, exit1}}, exit2, exit2, true},
		{"in its first episode: none yet", []domain.Episode{{1, reg, civil.Date{}}}, civil.Date{}, civil.Date{}, false},
		{"entered again: the last exit (the open episode holds the erasure)", []domain.Episode{{1, reg, exit1}, {2, exit2, civil.Date{}}}, exit1, exit1, true},
	}
	for _, tc := range tests {
		basis, exit, ok := domain.RetentionBasis(reg, tc.episodes)
		if basis != tc.basis || exit != tc.exit || ok != tc.ok {
			t.Errorf("%s: %v %v %v, want %v %v %v", tc.name, basis, exit, ok, tc.basis, tc.exit, tc.ok)
		}
	}
}

func TestAddMonths(t *testing.T) {
	for _, tc := range []struct {
		from civil.Date
		n    int
		want civil.Date
	}{
		{civil.Date{Year: 2024, Month: 11, Day: 26}, 24, civil.Date{Year: 2026, Month: 11, Day: 26}},
		{civil.Date{Year: 2024, Month: 1, Day: 31}, 1, civil.Date{Year: 2024, Month: 2, Day: 29}},
		{civil.Date{Year: 2025, Month: 12, Day: 31}, 2, civil.Date{Year: 2026, Month: 2, Day: 28}},
		{civil.Date{Year: 2025, Month: 12, Day: 15}, 1, civil.Date{Year: 2026, Month: 1, Day: 15}},
		{civil.Date{Year: 2026, Month: 3, Day: 31}, -1, civil.Date{Year: 2026, Month: 2, Day: 28}},
		{civil.Date{Year: 2026, Month: 5, Day: 1}, 1200, civil.Date{Year: 2126, Month: 5, Day: 1}},
	} {
		if got := domain.AddMonths(tc.from, tc.n); got != tc.want {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
	if got := domain.FreezeDay(month(2026, 11)); got != (civil.Date{Year: 2027, Month: 1, Day: 1}) {
		t.Errorf("freeze day of 2026-11: %s", got)
	}
}
