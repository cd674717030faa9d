package domain_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// The follow-up through Qualif, the referrals still open at an exit, and
// the six-month follow-up (docs/adr/0071-one-referent-until-the-end-of-qualifying-training.md).

var (
	savoirs = domain.ReferralRecorded{
		LearnerID: "l-1", Episode: 1, Referral: 2, Programme: domain.ProgrammeSavoirs, Date: day(2026, 11, 21), Organisation: "GRETA Caen",
	}
	qualifExit = domain.ExitPathway{LearnerID: "l-1", ExitDate: day(2026, 11, 26), Reason: domain.ExitQualifyingTraining, Today: today}
	// exitedToQualif: referral 1 (Qualif, accepted) followed.
	exitedToQualif = domain.PathwayExited{
		LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 20), ExitDate: day(2026, 11, 26),
		Reason: domain.ExitQualifyingTraining, Territory: "T05", Followed: []int{1},
	}
)

func TestDecideExitToQualifyingTraining(t *testing.T) {
	withChoice := func(c domain.ExitPathway, choice domain.PendingChoice) domain.ExitPathway {
		c.Pending = choice
		return c
	}
	carried := exitedToQualif
	carried.Pending, carried.Carried = domain.PendingCarry, []int{2}
	closing := exitedToQualif
	closing.Pending = domain.PendingClose
	relocation := domain.ExitPathway{LearnerID: "l-1", ExitDate: day(2026, 11, 26), Reason: domain.ExitRelocation, Today: today}
	runDecide(t, []decideCase{
		{
			name:  "the open Qualif referral is followed: no choice needed for it",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, referred, accepted},
			when:  qualifExit,
			then:  []domain.Event{exitedToQualif},
		},
		{
			name:  "a Qualif exit without a Qualif referral open follows nothing",
			phase: domain.PhaseExited,
			given: []domain.Event{entered},
			when:  qualifExit,
			then: []domain.Event{domain.PathwayExited{
				LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 20), ExitDate: day(2026, 11, 26),
				Reason: domain.ExitQualifyingTraining, Territory: "T05",
			}},
		},
		{
			name:       "a Savoirs referral still open and no choice: refused, naming it",
			given:      []domain.Event{entered, referred, accepted, savoirs},
			when:       qualifExit,
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"pending_referrals"},
		},
		{
			name:       "whatever the exit's reason",
			given:      []domain.Event{entered, savoirs},
			when:       relocation,
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"pending_referrals"},
		},
		{
			name:  "carried over",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, referred, accepted, savoirs},
			when:  withChoice(qualifExit, domain.PendingCarry),
			then:  []domain.Event{carried},
		},
		{
			name:  "closed at exit, in the exit's batch",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, referred, accepted, savoirs},
			when:  withChoice(qualifExit, domain.PendingClose),
			then: []domain.Event{closing, domain.ReferralOutcomeRecorded{
				LearnerID: "l-1", Episode: 1, Referral: 2, Outcome: domain.OutcomeClosedAtExit, Date: day(2026, 11, 26),
			}},
		},
		{
			name:  "a Savoirs referral with a final outcome needs no choice",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, savoirs, domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 2, Outcome: domain.OutcomeRefused, Date: day(2026, 11, 22)}},
			when:  relocation,
			then: []domain.Event{domain.PathwayExited{
				LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 11, 20), ExitDate: day(2026, 11, 26), Reason: domain.ExitRelocation, Territory: "T05",
			}},
		},
		{
			name:       "an unknown choice",
			given:      []domain.Event{entered},
			when:       withChoice(relocation, "forget"),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"pending_referrals"},
		},
	})
}

func TestDecideOutcomeAfterTheExit(t *testing.T) {
	outcome := func(n int, o domain.Outcome, d civil.Date) domain.RecordReferralOutcome {
		return domain.RecordReferralOutcome{LearnerID: "l-1", Referral: n, Outcome: o, Date: d, Today: today}
	}
	certified := func(code string, on civil.Date) domain.RecordReferralOutcome {
		c := outcome(1, domain.OutcomeCompletedCertified, today)
		c.RNCP, c.CertifiedOn = code, on
		return c
	}
	carriedExit := exitedToQualif
	carriedExit.Pending, carriedExit.Carried = domain.PendingCarry, []int{2}
	ended := func(o domain.Outcome) domain.QualifFollowUpEnded {
		return domain.QualifFollowUpEnded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: o, Date: today, Territory: "T05"}
	}
	runDecide(t, []decideCase{
		{
			name:  "the followed Qualif referral is certified after the exit: the follow-up ends in the same batch",
			given: []domain.Event{entered, referred, accepted, exitedToQualif},
			when:  certified("RNCP35467", day(2026, 11, 25)),
			then: []domain.Event{
				domain.ReferralOutcomeRecorded{
					LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeCompletedCertified, Date: today,
					RNCP: "RNCP35467", CertifiedOn: day(2026, 11, 25),
				},
				ended(domain.OutcomeCompletedCertified),
			},
		},
		{
			name:  "completed without the certification",
			given: []domain.Event{entered, referred, accepted, exitedToQualif},
			when:  outcome(1, domain.OutcomeCompletedNotCertified, today),
			then: []domain.Event{
				domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeCompletedNotCertified, Date: today},
				ended(domain.OutcomeCompletedNotCertified),
			},
		},
		{
			name:  "abandoned",
			given: []domain.Event{entered, referred, accepted, exitedToQualif},
			when:  outcome(1, domain.OutcomeAbandoned, today),
			then: []domain.Event{
				domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeAbandoned, Date: today},
				ended(domain.OutcomeAbandoned),
			},
		},
		{
			name:  "started: the follow-up goes on",
			given: []domain.Event{entered, referred, accepted, exitedToQualif},
			when:  outcome(1, domain.OutcomeStarted, today),
			then:  []domain.Event{domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeStarted, Date: today}},
		},
		{
			name:  "a carried-over Savoirs referral gets its outcome after the exit, without ending the follow-up",
			given: []domain.Event{entered, referred, accepted, savoirs, carriedExit},
			when:  outcome(2, domain.OutcomeStarted, today),
			then:  []domain.Event{domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 2, Outcome: domain.OutcomeStarted, Date: today}},
		},
		{
			name:     "a referral closed at exit is final",
			given:    []domain.Event{entered, referred, accepted, savoirs, exitedToQualif, domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 2, Outcome: domain.OutcomeClosedAtExit, Date: day(2026, 11, 26)}},
			when:     outcome(2, domain.OutcomeStarted, today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "once the follow-up ended, a completed referral is final",
			given:    []domain.Event{entered, referred, accepted, exitedToQualif, domain.ReferralOutcomeRecorded{LearnerID: "l-1", Episode: 1, Referral: 1, Outcome: domain.OutcomeCompletedNotCertified, Date: today}, ended(domain.OutcomeCompletedNotCertified)},
			when:     outcome(1, domain.OutcomeAbandoned, today),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:       "a malformed RNCP code and a certification in the future",
			given:      []domain.Event{entered, referred, accepted, exitedToQualif},
			when:       certified("RNCP-12", today.AddDays(1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"rncp_code", "certification_date"},
		},
		{
			name:       "a certified completion needs its code and date",
			given:      []domain.Event{entered, referred, accepted, exitedToQualif},
			when:       certified("", civil.Date{}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"rncp_code", "certification_date"},
		},
		{
			name:  "a code and date with another outcome",
			given: []domain.Event{entered, referred, accepted, exitedToQualif},
			when: func() domain.RecordReferralOutcome {
				c := outcome(1, domain.OutcomeAbandoned, today)
				c.RNCP, c.CertifiedOn = "RNCP1", today
				return c
			}(),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"rncp_code", "certification_date"},
		},
		{
			name:       "completion is an outcome of Qualif referrals only",
			given:      []domain.Event{entered, savoirs},
			when:       outcome(2, domain.OutcomeCompletedNotCertified, today),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"outcome"},
		},
		{
			name:       "closed at exit is never recorded by hand",
			given:      []domain.Event{entered, savoirs},
			when:       outcome(2, domain.OutcomeClosedAtExit, today),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"outcome"},
		},
	})
}

func TestQualifFollowUpWaitsForEveryFollowedReferral(t *testing.T) {
	second := domain.ReferralRecorded{LearnerID: "l-1", Episode: 1, Referral: 2, Programme: domain.ProgrammeQualif, Date: day(2026, 11, 21), Organisation: "CESI"}
	exit := exitedToQualif
	exit.Followed = []int{1, 2}
	p := domain.Pathway{}
	for _, e := range []domain.Event{entered, referred, second} {
		p = domain.Evolve(p, e)
	}
	evs, err := domain.Decide(p, qualifExit)
	if err != nil || len(evs) == 0 {
		t.Fatalf("exit: %v %v", evs, err)
	}
	if got := evs[0].(domain.PathwayExited).Followed; len(got) != 2 {
		t.Fatalf("followed %v, want both Qualif referrals", got)
	}
	p = domain.Evolve(p, exit)
	evs, err = domain.Decide(p, domain.RecordReferralOutcome{LearnerID: "l-1", Referral: 1, Outcome: domain.OutcomeRefused, Date: today, Today: today})
	if err != nil || len(evs) != 1 {
		t.Fatalf("first outcome: %#v %v, want the outcome alone (referral 2 still open)", evs, err)
	}
	p = domain.Evolve(p, evs[0])
	evs, err = domain.Decide(p, domain.RecordReferralOutcome{LearnerID: "l-1", Referral: 2, Outcome: domain.OutcomeAbandoned, Date: today, Today: today})
	if err != nil || len(evs) != 2 {
		t.Fatalf("last outcome: %#v %v, want the outcome and the end of the follow-up", evs, err)
	}
	if e, ok := evs[1].(domain.QualifFollowUpEnded); !ok || e.Referral != 2 || e.Episode != 1 {
		t.Fatalf("got %#v", evs[1])
	}
	p = domain.Evolve(p, evs[1])
	if last := p.Episodes[0]; last.FollowingInQualif || last.QualifFollowUpEndedOn != today {
		t.Fatalf("episode after the end: %+v", last)
	}
}

func TestFollowUpDue(t *testing.T) {
	for _, tc := range []struct{ exit, due civil.Date }{
		{day(2026, 1, 15), day(2026, 7, 15)},
		{day(2026, 8, 31), day(2027, 2, 28)},
		{day(2027, 8, 31), day(2028, 2, 29)},
		{day(2026, 12, 31), day(2027, 6, 30)},
		{day(2026, 7, 1), day(2027, 1, 1)},
	} {
		if got := domain.FollowUpDue(tc.exit); got != tc.due {
			t.Errorf("FollowUpDue(%s) = %s, want %s", tc.exit, got, tc.due)
		}
	}
}

func TestDecideFollowUp(t *testing.T) {
	exitOn := domain.PathwayExited{
		LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 1, 5), ExitDate: day(2026, 5, 31), Reason: domain.ExitEmploymentPermanent, Territory: "T05",
	}
	first := domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: day(2026, 1, 5), Territory: "T05"}
	followUp := func(s domain.Situation6, e domain.EmploymentType, on civil.Date) domain.RecordFollowUp {
		return domain.RecordFollowUp{LearnerID: "l-1", Situation: s, Employment: e, Today: on}
	}
	recorded := domain.FollowUpRecorded{
		LearnerID: "l-1", Episode: 1, ExitDate: day(2026, 5, 31), DueOn: day(2026, 11, 30),
		Situation: domain.SituationEmployment, Employment: domain.EmploymentSubsidised, RecordedOn: day(2026, 11, 30), Territory: "T05",
	}
	runDecide(t, []decideCase{
		{
			name:  "due on the exit date + 6 months, recorded that day",
			given: []domain.Event{first, exitOn},
			when:  followUp(domain.SituationEmployment, domain.EmploymentSubsidised, day(2026, 11, 30)),
			then:  []domain.Event{recorded},
		},
		{
			name:       "not before it is due",
			given:      []domain.Event{first, exitOn},
			when:       followUp(domain.SituationJobSeeking, "", day(2026, 11, 29)),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonFollowUpNotDue,
		},
		{
			name:       "not while in the scheme",
			given:      []domain.Event{first},
			when:       followUp(domain.SituationTraining, "", day(2026, 11, 30)),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonFollowUpNotDue,
		},
		{
			name:       "once",
			given:      []domain.Event{first, exitOn, recorded},
			when:       followUp(domain.SituationUnknown, "", day(2026, 12, 1)),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonFollowUpRecorded,
		},
		{
			name:       "employment needs its type",
			given:      []domain.Event{first, exitOn},
			when:       followUp(domain.SituationEmployment, "", day(2026, 11, 30)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"employment_type"},
		},
		{
			name:       "a type without employment, and no situation",
			given:      []domain.Event{first, exitOn},
			when:       followUp("", domain.EmploymentPermanent, day(2026, 11, 30)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation", "employment_type"},
		},
		{
			name:     "no pathway",
			when:     followUp(domain.SituationUnknown, "", day(2026, 11, 30)),
			wantKind: apperr.KindNotFound,
		},
	})
}

func TestParcoursCroisesESRPIsAProgramme(t *testing.T) {
	runDecide(t, []decideCase{{
		name:  "a referral to Parcours croisés / ESRP",
		phase: domain.PhaseBuildingProject,
		given: []domain.Event{entered},
		when:  domain.RecordReferral{LearnerID: "l-1", Programme: domain.ProgrammeESRP, Date: day(2026, 11, 21), Organisation: "ESRP Normandie", Today: today},
		then: []domain.Event{domain.ReferralRecorded{
			LearnerID: "l-1", Episode: 1, Referral: 1, Programme: domain.ProgrammeESRP, Date: day(2026, 11, 21), Organisation: "ESRP Normandie",
		}},
	}})
}
