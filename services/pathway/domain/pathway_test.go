package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func day(y, m, d int) civil.Date { return civil.Date{Year: y, Month: time.Month(m), Day: d} }

var (
	today   = day(2026, 11, 26)
	learner = domain.Learner{ID: "l-1", Territory: "T05", BirthDate: day(2010, 6, 15), RegisteredOn: day(2026, 10, 1), Known: true}
	entered = domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 20), Territory: "T05"}
	exited  = domain.PathwayExited{
		LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 20), ExitDate: day(2026, 11, 22),
		Reason: domain.ExitRelocation, Territory: "T05",
	}
	referred = domain.ReferralRecorded{
		LearnerID: "l-1", Episode: 1, Referral: 1, Programme: domain.ProgrammeQualif, Date: day(2026, 11, 21), Organisation: "AFPA Caen",
	}
	accepted = domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeAccepted, Date: day(2026, 11, 23)}
)

type decideCase struct {
	name  string
	given []domain.Event
	when  domain.Command
	then  []domain.Event
	// phase is the phase the events move the learner to, announced by a
	// PhaseChanged after them ("" when the phase does not change).
	phase domain.Phase
	// Or the refusal: its kind, the fields named (InvalidArgument), the
	// reason code (FailedPrecondition) and other metadata, when given.
	wantKind   apperr.Kind
	wantFields []string
	wantReason string
	wantMeta   map[string]string
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p domain.Pathway
			for _, e := range tc.given {
				p = domain.Evolve(p, e)
			}
			got, err := domain.Decide(p, tc.when)
			if tc.then != nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				var phase domain.Phase
				if n := len(got); n > 0 {
					if pc, ok := got[n-1].(domain.PhaseChanged); ok {
						phase, got = pc.To, got[:n-1]
						if pc.From != p.Phase() {
							t.Fatalf("phase changed from %q, but was %q", pc.From, p.Phase())
						}
					}
				}
				if (len(got) > 0 || len(tc.then) > 0) && !reflect.DeepEqual(got, tc.then) {
					t.Fatalf("got %#v\nwant %#v", got, tc.then)
				}
				if phase != tc.phase {
					t.Fatalf("phase changed to %q, want %q", phase, tc.phase)
				}
				return
			}
			if got != nil || apperr.KindOf(err) != tc.wantKind {
				t.Fatalf("want %v, got %v (events %v)", tc.wantKind, err, got)
			}
			var ae *apperr.Error
			errors.As(err, &ae)
			var fields []string
			for _, f := range ae.Fields {
				fields = append(fields, f.Field)
			}
			if !reflect.DeepEqual(fields, tc.wantFields) {
				t.Fatalf("violations on %v, want %v (%v)", fields, tc.wantFields, err)
			}
			if tc.wantReason != "" && ae.Meta["reason"] != tc.wantReason {
				t.Fatalf("reason %q, want %q (%v)", ae.Meta["reason"], tc.wantReason, err)
			}
			for k, v := range tc.wantMeta {
				if ae.Meta[k] != v {
					t.Fatalf("%s %q, want %q (%v)", k, ae.Meta[k], v, err)
				}
			}
		})
	}
}

func TestDecideEnter(t *testing.T) {
	enter := func(d civil.Date) domain.EnterPathway {
		return domain.EnterPathway{Learner: learner, EntryDate: d, Today: today}
	}
	runDecide(t, []decideCase{
		{
			name:  "a registered learner enters on any day",
			phase: domain.PhaseWelcomed,
			when:  enter(entered.EntryDate),
			then:  []domain.Event{entered},
		},
		{
			name:  "entry today is allowed",
			phase: domain.PhaseWelcomed,
			when:  enter(today),
			then:  []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: today, Territory: "T05"}},
		},
		{
			name:  "an entry back-dated by the maximum (30 days by default) is allowed",
			phase: domain.PhaseWelcomed,
			when:  enter(today.AddDays(-30)),
			then:  []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: today.AddDays(-30), Territory: "T05"}},
		},
		{
			name:       "an entry back-dated by more than the maximum",
			when:       enter(today.AddDays(-31)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "the maximum is configurable",
			when:       domain.EnterPathway{Learner: learner, EntryDate: today.AddDays(-8), Today: today, MaxBackdateDays: 7},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "entry before the registration",
			when:       domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: learner.BirthDate, RegisteredOn: day(2026, 11, 10), Known: true}, EntryDate: day(2026, 11, 9), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:  "registrations recorded before registered_on existed do not bound the entry",
			phase: domain.PhaseWelcomed,
			when:  domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: learner.BirthDate, Known: true}, EntryDate: day(2026, 11, 9), Today: today},
			then:  []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 9), Territory: "T05"}},
		},
		{
			name:       "entry before the learner turned sixteen",
			when:       domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: day(2010, 11, 25), Known: true}, EntryDate: day(2026, 11, 24), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "an entry breaking several rules reports each of them",
			when:       domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: day(2010, 11, 25), RegisteredOn: today, Known: true}, EntryDate: day(2026, 10, 1), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date", "entry_date", "entry_date"},
		},
		{
			// On 1 March the breakdowns of January are frozen: an entry of 30
			// January, within the 30 days, would change them.
			name:       "an entry in a month whose statistics are frozen",
			when:       domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: learner.BirthDate, Known: true}, EntryDate: day(2027, 1, 30), Today: day(2027, 3, 1)},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:  "the day before the freeze, the month still takes entries",
			phase: domain.PhaseWelcomed,
			when:  domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", BirthDate: learner.BirthDate, Known: true}, EntryDate: day(2027, 1, 30), Today: day(2027, 2, 28)},
			then:  []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: day(2027, 1, 30), Territory: "T05"}},
		},
		{
			name:       "a learner whose personal data was erased enters no more",
			when:       domain.EnterPathway{Learner: domain.Learner{ID: "l-1", Territory: "T05", RegisteredOn: learner.RegisteredOn, Known: true, Erased: true}, EntryDate: entered.EntryDate, Today: today},
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonLearnerErased,
		},
		{
			name:       "entry in the future",
			when:       enter(today.AddDays(1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "missing entry date",
			when:       domain.EnterPathway{Learner: learner, Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "impossible entry date",
			when:       enter(day(2026, 2, 30)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:     "an open episode refuses a second entry",
			given:    []domain.Event{entered},
			when:     enter(today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an unknown learner is a precondition, not bad input",
			when:     domain.EnterPathway{Learner: domain.Learner{ID: "l-2"}, EntryDate: today, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:  "re-entry after an exit opens a new episode and keeps the history",
			phase: domain.PhaseWelcomed,
			given: []domain.Event{entered, exited},
			when:  enter(day(2026, 11, 23)),
			then:  []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 23), Territory: "T05"}},
		},
		{
			name:       "re-entry on the day of the previous exit would overlap",
			given:      []domain.Event{entered, exited},
			when:       enter(exited.ExitDate),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:       "re-entry before the previous exit would overlap",
			given:      []domain.Event{entered, exited},
			when:       enter(day(2026, 11, 21)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"entry_date"},
		},
		{
			name:     "out of scope, the previous exit is not revealed",
			given:    []domain.Event{entered, exited},
			when:     domain.EnterPathway{Learner: domain.Learner{ID: "l-1"}, EntryDate: day(2026, 11, 21), Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
	})
}

func TestDecideExit(t *testing.T) {
	exit := func(d civil.Date, reason domain.ExitReason, detail string) domain.ExitPathway {
		return domain.ExitPathway{LearnerID: "l-1", ExitDate: d, Reason: reason, Detail: detail, Today: today}
	}
	runDecide(t, []decideCase{
		{
			name:  "an exit today closes the open episode",
			phase: domain.PhaseExited,
			given: []domain.Event{entered},
			when:  exit(today, domain.ExitEmploymentPermanent, "  CDI at Renault Cléon "),
			then: []domain.Event{domain.PathwayExited{
				LearnerID: "l-1", Episode: 1, EntryDate: entered.EntryDate, ExitDate: today,
				Reason: domain.ExitEmploymentPermanent, Detail: "CDI at Renault Cléon", Territory: "T05",
			}},
		},
		{
			name:  "a late exit is accepted and announced as back-dated",
			phase: domain.PhaseExited,
			given: []domain.Event{entered},
			when:  exit(day(2026, 11, 22), domain.ExitRelocation, ""),
			then: []domain.Event{
				exited,
				domain.ExitBackdated{LearnerID: "l-1", Episode: 1, ExitDate: day(2026, 11, 22), RecordedOn: today, Territory: "T05"},
			},
		},
		{
			name:  "an exit on the day of entry",
			phase: domain.PhaseExited,
			given: []domain.Event{entered},
			when:  exit(entered.EntryDate, domain.ExitHealth, ""),
			then: []domain.Event{
				domain.PathwayExited{LearnerID: "l-1", Episode: 1, EntryDate: entered.EntryDate, ExitDate: entered.EntryDate, Reason: domain.ExitHealth, Territory: "T05"},
				domain.ExitBackdated{LearnerID: "l-1", Episode: 1, ExitDate: entered.EntryDate, RecordedOn: today, Territory: "T05"},
			},
		},
		{
			name:  "the second episode is the one closed",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, exited, domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 24), Territory: "T05"}},
			when:  exit(today, domain.ExitOther, "military service"),
			then: []domain.Event{domain.PathwayExited{
				LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 24), ExitDate: today,
				Reason: domain.ExitOther, Detail: "military service", Territory: "T05",
			}},
		},
		{
			name:       "exit before the entry",
			given:      []domain.Event{entered},
			when:       exit(day(2026, 11, 19), domain.ExitAbandonment, ""),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"exit_date"},
		},
		{
			name:       "exit in the future",
			given:      []domain.Event{entered},
			when:       exit(today.AddDays(1), domain.ExitAbandonment, ""),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"exit_date"},
		},
		{
			name:       "every problem at once: no date, no reason",
			given:      []domain.Event{entered},
			when:       exit(civil.Date{}, "", ""),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"exit_date", "reason"},
		},
		{
			name:       "an unknown reason",
			given:      []domain.Event{entered},
			when:       exit(today, "bored", ""),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"reason"},
		},
		{
			name:       "reason other needs a detail",
			given:      []domain.Event{entered},
			when:       exit(today, domain.ExitOther, "   "),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"detail"},
		},
		{
			name:       "the detail is bounded",
			given:      []domain.Event{entered},
			when:       exit(today, domain.ExitHealth, strings.Repeat("é", domain.MaxExitDetailLength+1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"detail"},
		},
		{
			name:  "the detail may span lines",
			phase: domain.PhaseExited,
			given: []domain.Event{entered},
			when:  exit(today, domain.ExitOther, "Left for Canada.\n\tBack in 2027?"),
			then: []domain.Event{domain.PathwayExited{
				LearnerID: "l-1", Episode: 1, EntryDate: entered.EntryDate, ExitDate: today,
				Reason: domain.ExitOther, Detail: "Left for Canada.\n\tBack in 2027?", Territory: "T05",
			}},
		},
		{
			name:       "a right-to-left override in the detail",
			given:      []domain.Event{entered},
			when:       exit(today, domain.ExitOther, "moved \u202eabroad"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"detail"},
		},
		{
			name:       "a bidirectional isolate in an optional detail",
			given:      []domain.Event{entered},
			when:       exit(today, domain.ExitHealth, "\u2067x\u2069"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"detail"},
		},
		{
			name:       "a control character in the detail",
			given:      []domain.Event{entered},
			when:       exit(today, domain.ExitOther, "moved\x07 abroad"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"detail"},
		},
		{
			name:     "no open episode: never entered",
			when:     exit(today, domain.ExitAbandonment, ""),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "no open episode: already exited",
			given:    []domain.Event{entered, exited},
			when:     exit(today, domain.ExitAbandonment, ""),
			wantKind: apperr.KindFailedPrecondition,
		},
	})
}

func TestDecideReferral(t *testing.T) {
	refer := func(p domain.Programme, d civil.Date, org string) domain.RecordReferral {
		return domain.RecordReferral{LearnerID: "l-1", Programme: p, Date: d, Organisation: org, Today: today}
	}
	runDecide(t, []decideCase{
		{
			name:  "a referral during the open episode",
			phase: domain.PhaseBuildingProject,
			given: []domain.Event{entered},
			when:  refer(domain.ProgrammeQualif, day(2026, 11, 21), " AFPA Caen "),
			then:  []domain.Event{referred},
		},
		{
			name:  "referrals are numbered across episodes",
			phase: domain.PhaseBuildingProject,
			given: []domain.Event{entered, referred, exited,
				domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 24), Territory: "T05"}},
			when: refer(domain.ProgrammeSavoirs, today, "CLPS Évreux"),
			then: []domain.Event{domain.ReferralRecorded{
				LearnerID: "l-1", Episode: 2, Referral: 2, Programme: domain.ProgrammeSavoirs, Date: today, Organisation: "CLPS Évreux",
			}},
		},
		{
			name:     "no step in a closed episode",
			given:    []domain.Event{entered, exited},
			when:     refer(domain.ProgrammeQualif, day(2026, 11, 21), "AFPA"),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "no step without an episode",
			when:     refer(domain.ProgrammeQualif, day(2026, 11, 21), "AFPA"),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:       "referral before the entry",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeQualif, day(2026, 11, 19), "AFPA"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"referral_date"},
		},
		{
			name:       "every problem at once",
			given:      []domain.Event{entered},
			when:       refer("", today.AddDays(1), strings.Repeat("x", domain.MaxOrganisationLength+1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"programme", "referral_date", "organisation"},
		},
		{
			name:       "an organisation's name is one line",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeOther, today, "AFPA\nCaen"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"organisation"},
		},
		{
			name:       "a right-to-left override in an organisation's name",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeOther, today, "AFPA \u202enaeC"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"organisation"},
		},
		{
			name:       "a control character in an organisation's name",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeOther, today, "AFPA\x1bCaen"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"organisation"},
		},
		{
			name:       "an invisible character in an organisation's name",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeOther, today, "AF\u200bPA"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"organisation"},
		},
		{
			name:       "an organisation is required",
			given:      []domain.Event{entered},
			when:       refer(domain.ProgrammeOther, today, " "),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"organisation"},
		},
	})
}

func TestDecideReferralOutcome(t *testing.T) {
	outcome := func(n int, o domain.Outcome, d civil.Date) domain.RecordReferralOutcome {
		return domain.RecordReferralOutcome{LearnerID: "l-1", Referral: n, Outcome: o, Date: d, Today: today}
	}
	started := domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeStarted, Date: today}
	runDecide(t, []decideCase{
		{
			name:  "a pending referral is accepted",
			phase: domain.PhaseInQualifyingTraining,
			given: []domain.Event{entered, referred},
			when:  outcome(1, domain.OutcomeAccepted, day(2026, 11, 23)),
			then:  []domain.Event{accepted},
		},
		{
			name:  "an accepted referral starts",
			given: []domain.Event{entered, referred, accepted},
			when:  outcome(1, domain.OutcomeStarted, today),
			then:  []domain.Event{started},
		},
		{
			name:     "a refusal is final",
			given:    []domain.Event{entered, referred, domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeRefused, Date: day(2026, 11, 22)}},
			when:     outcome(1, domain.OutcomeAccepted, today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "the same outcome twice",
			given:    []domain.Event{entered, referred, accepted},
			when:     outcome(1, domain.OutcomeAccepted, today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "a started training is not refused afterwards",
			given:    []domain.Event{entered, referred, accepted, started},
			when:     outcome(1, domain.OutcomeRefused, today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an unknown referral",
			given:    []domain.Event{entered, referred},
			when:     outcome(2, domain.OutcomeAccepted, today),
			wantKind: apperr.KindNotFound,
		},
		{
			name:     "no step in a closed episode",
			given:    []domain.Event{entered, referred, exited},
			when:     outcome(1, domain.OutcomeAccepted, day(2026, 11, 22)),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:       "outcome before the referral",
			given:      []domain.Event{entered, referred},
			when:       outcome(1, domain.OutcomeAccepted, day(2026, 11, 20)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"outcome_date"},
		},
		{
			name:       "outcome before the previous outcome",
			given:      []domain.Event{entered, referred, accepted},
			when:       outcome(1, domain.OutcomeStarted, day(2026, 11, 22)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"outcome_date"},
		},
		{
			name:       "every problem at once",
			given:      []domain.Event{entered, referred},
			when:       outcome(0, "maybe", civil.Date{}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"referral_number", "outcome", "outcome_date"},
		},
	})
}

func TestEvolveKeepsTheHistoryAndNeverAliasesIt(t *testing.T) {
	p := domain.Evolve(domain.Pathway{}, entered)
	a := domain.Evolve(p, domain.PathwayExited{LearnerID: "l-1", Episode: 1, ExitDate: today, Reason: domain.ExitHealth})
	b := domain.Evolve(p, referred)
	if !p.Active() || p.Episodes[0].Open() == false || len(p.Episodes[0].Referrals) != 0 {
		t.Fatalf("folding futures changed the past: %+v", p)
	}
	if a.Active() || !a.Exited() || !b.Active() || len(b.Episodes[0].Referrals) != 1 {
		t.Fatalf("a %+v b %+v", a, b)
	}
	c := domain.Evolve(b, accepted)
	d := domain.Evolve(b, domain.ReferralOutcomeRecorded{Referral: 1, Outcome: domain.OutcomeRefused, Date: today})
	if b.Episodes[0].Referrals[0].Outcome != domain.OutcomePending ||
		c.Episodes[0].Referrals[0].Outcome != domain.OutcomeAccepted || d.Episodes[0].Referrals[0].Outcome != domain.OutcomeRefused {
		t.Fatalf("b %+v c %+v d %+v", b.Episodes, c.Episodes, d.Episodes)
	}
	e1 := domain.Evolve(a, domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: today})
	e2 := domain.Evolve(a, domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: today.AddDays(-1)})
	if e1.Episodes[1].Entry == e2.Episodes[1].Entry || len(a.Episodes) != 1 {
		t.Fatal("folding two futures from one state shared the episodes slice")
	}
	// A back-dated exit notice changes nothing.
	if got := domain.Evolve(a, domain.ExitBackdated{LearnerID: "l-1", Episode: 1}); !reflect.DeepEqual(got, a) {
		t.Fatalf("ExitBackdated changed the state: %+v", got)
	}
}

func TestActiveOn(t *testing.T) {
	var p domain.Pathway
	for _, e := range []domain.Event{entered, exited, domain.PathwayEntered{Episode: 2, EntryDate: day(2026, 11, 25)}} {
		p = domain.Evolve(p, e)
	}
	tests := []struct {
		on   civil.Date
		want bool
	}{
		{day(2026, 11, 19), false}, // before the first entry
		{day(2026, 11, 20), true},  // entry day
		{day(2026, 11, 21), true},
		{day(2026, 11, 22), false}, // exit day: gone at the end of it
		{day(2026, 11, 24), false}, // between episodes
		{day(2026, 11, 25), true},  // re-entry
		{day(2027, 1, 1), true},    // still open
	}
	for _, tc := range tests {
		if got := p.ActiveOn(tc.on); got != tc.want {
			t.Errorf("ActiveOn(%s) = %v, want %v", tc.on, got, tc.want)
		}
	}
}

func TestDecideNoteNeedsAnalysis(t *testing.T) {
	note := func(episode int) domain.NoteNeedsAnalysis {
		return domain.NoteNeedsAnalysis{LearnerID: "l-1", Episode: episode, AnalysisID: "a-1", Date: day(2026, 11, 24)}
	}
	noted := func(episode int) domain.NeedsAnalysisNoted {
		return domain.NeedsAnalysisNoted{LearnerID: "l-1", Episode: episode, AnalysisID: "a-1", Date: day(2026, 11, 24), Territory: "T05"}
	}
	reentered := domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 23), Territory: "T05"}
	runDecide(t, []decideCase{
		{
			name:  "an analysis of the open episode moves a welcomed learner on",
			given: []domain.Event{entered},
			when:  note(1),
			then:  []domain.Event{noted(1)},
			phase: domain.PhaseNeedsAnalysed,
		},
		{
			name:  "a referral already outranks it: noted, the phase stays",
			given: []domain.Event{entered, referred},
			when:  note(1),
			then:  []domain.Event{noted(1)},
		},
		{
			name:  "an analysis of a closed episode is noted, the learner stays exited",
			given: []domain.Event{entered, exited},
			when:  note(1),
			then:  []domain.Event{noted(1)},
		},
		{
			name:  "noting it twice changes nothing",
			given: []domain.Event{entered, noted(1)},
			when:  note(1),
			then:  []domain.Event{},
		},
		{
			name:  "the analysis of the re-entry",
			given: []domain.Event{entered, noted(1), exited, reentered},
			when:  note(2),
			then:  []domain.Event{noted(2)},
			phase: domain.PhaseNeedsAnalysed,
		},
		{
			name:     "an episode the pathway does not have",
			given:    []domain.Event{entered},
			when:     note(2),
			wantKind: apperr.KindNotFound,
		},
		{
			name:       "bad input",
			given:      []domain.Event{entered},
			when:       domain.NoteNeedsAnalysis{LearnerID: "l-1"},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"episode_number", "analysis_id", "completed_on"},
		},
	})
}

// PhaseChanged says which episode, from which phase, on the business date
// of the fact, in the learner's territory.
func TestPhaseChangedIsDatedWithTheFact(t *testing.T) {
	var p domain.Pathway
	p = domain.Evolve(p, entered)
	evs, err := domain.Decide(p, domain.ExitPathway{LearnerID: "l-1", ExitDate: day(2026, 11, 22), Reason: domain.ExitRelocation, Today: today})
	if err != nil {
		t.Fatal(err)
	}
	want := domain.PhaseChanged{LearnerID: "l-1", Episode: 1, From: domain.PhaseWelcomed, To: domain.PhaseExited, Date: day(2026, 11, 22), Territory: "T05"}
	if got := evs[len(evs)-1]; got != want {
		t.Fatalf("last event %#v, want %#v", got, want)
	}
}

func TestDecideNoteImmersion(t *testing.T) {
	note := func(on civil.Date, completed bool) domain.NoteImmersion {
		return domain.NoteImmersion{LearnerID: "l-1", SessionID: "s-1", RomeCodes: []string{"H2909"}, Completed: completed, Date: on}
	}
	noted := func(episode int, on civil.Date, completed bool) domain.ImmersionNoted {
		return domain.ImmersionNoted{LearnerID: "l-1", Episode: episode, SessionID: "s-1", RomeCodes: []string{"H2909"}, Completed: completed, Date: on, Territory: "T05"}
	}
	reentered := domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 24), Territory: "T05"}
	runDecide(t, []decideCase{
		{
			name:  "an immersion done moves the learner to discovering trades",
			given: []domain.Event{entered, referred},
			when:  note(day(2026, 11, 21), true),
			then:  []domain.Event{noted(1, day(2026, 11, 21), true)},
			phase: domain.PhaseDiscoveringTrades,
		},
		{
			name:  "partially done counts too",
			given: []domain.Event{entered},
			when:  note(day(2026, 11, 21), false),
			then:  []domain.Event{noted(1, day(2026, 11, 21), false)},
			phase: domain.PhaseDiscoveringTrades,
		},
		{
			name:  "a second immersion is noted, the phase stays",
			given: []domain.Event{entered, noted(1, day(2026, 11, 21), true)},
			when:  note(day(2026, 11, 22), true),
			then:  []domain.Event{noted(1, day(2026, 11, 22), true)},
		},
		{
			name:  "recorded after the exit: noted in the episode it belongs to, the learner stays exited",
			given: []domain.Event{entered, exited},
			when:  note(day(2026, 11, 22), true),
			then:  []domain.Event{noted(1, day(2026, 11, 22), true)},
		},
		{
			name:  "recorded after a re-entry: the open episode's",
			given: []domain.Event{entered, exited, reentered},
			when:  note(day(2026, 11, 25), true),
			then:  []domain.Event{noted(2, day(2026, 11, 25), true)},
			phase: domain.PhaseDiscoveringTrades,
		},
		{
			name:     "a learner pathway never saw enter",
			when:     note(day(2026, 11, 22), true),
			wantKind: apperr.KindNotFound,
		},
		{
			name:       "bad input",
			given:      []domain.Event{entered},
			when:       domain.NoteImmersion{LearnerID: "l-1"},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"session_id", "recorded_on"},
		},
	})
}
