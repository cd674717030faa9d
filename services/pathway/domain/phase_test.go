package domain_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
)

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		name  string
		facts domain.Facts
		want  domain.Phase
	}{
		{"never entered", domain.Facts{}, domain.PhaseNone},
		{"just entered: welcomed", domain.Facts{Open: true}, domain.PhaseWelcomed},
		{"analysis completed", domain.Facts{Open: true, NeedsAnalysed: true}, domain.PhaseNeedsAnalysed},
		{"a project-building step", domain.Facts{Open: true, NeedsAnalysed: true, ProjectStep: true}, domain.PhaseBuildingProject},
		{"a project step before the analysis is recorded", domain.Facts{Open: true, ProjectStep: true}, domain.PhaseBuildingProject},
		{"an immersion done after the first steps", domain.Facts{Open: true, NeedsAnalysed: true, ProjectStep: true, ImmersionDone: true}, domain.PhaseDiscoveringTrades},
		{"an immersion done", domain.Facts{Open: true, ImmersionDone: true}, domain.PhaseDiscoveringTrades},
		{"Qualif accepted", domain.Facts{Open: true, ProjectStep: true, ImmersionDone: true, QualifAccepted: true}, domain.PhaseInQualifyingTraining},
		{"Qualif started", domain.Facts{Open: true, QualifStarted: true}, domain.PhaseInQualifyingTraining},
		{"exited", domain.Facts{Exited: true, ProjectStep: true, QualifStarted: true}, domain.PhaseExited},
		{"re-entered after an exit: welcomed again", domain.Facts{Open: true, Exited: true}, domain.PhaseWelcomed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.PhaseOf(tc.facts); got != tc.want {
				t.Fatalf("PhaseOf(%+v) = %q, want %q", tc.facts, got, tc.want)
			}
		})
	}
}

// The facts pathway records itself: episodes and the open episode's referrals.
func TestPathwayPhaseFromItsOwnEvents(t *testing.T) {
	savoirs := domain.ReferralRecorded{Episode: 1, Referral: 1, Programme: domain.ProgrammeSavoirs, Date: day(2026, 11, 21), Organisation: "CLPS"}
	qualif := domain.ReferralRecorded{Episode: 1, Referral: 2, Programme: domain.ProgrammeQualif, Date: day(2026, 11, 21), Organisation: "AFPA"}
	outcome := func(n int, o domain.Outcome) domain.ReferralOutcomeRecorded {
		return domain.ReferralOutcomeRecorded{Episode: 1, Referral: n, Outcome: o, Date: day(2026, 11, 23)}
	}
	reentered := domain.PathwayEntered{Episode: 2, EntryDate: day(2026, 11, 24)}
	tests := []struct {
		name  string
		given []domain.Event
		want  domain.Phase
	}{
		{"nothing", nil, domain.PhaseNone},
		{"entered", []domain.Event{entered}, domain.PhaseWelcomed},
		{"referred to Savoirs", []domain.Event{entered, savoirs}, domain.PhaseBuildingProject},
		{"Savoirs accepted is not qualifying training", []domain.Event{entered, savoirs, outcome(1, domain.OutcomeAccepted)}, domain.PhaseBuildingProject},
		{"referred to Qualif, pending", []domain.Event{entered, qualif}, domain.PhaseBuildingProject},
		{"Qualif refused", []domain.Event{entered, savoirs, qualif, outcome(2, domain.OutcomeRefused)}, domain.PhaseBuildingProject},
		{"Qualif accepted", []domain.Event{entered, savoirs, qualif, outcome(2, domain.OutcomeAccepted)}, domain.PhaseInQualifyingTraining},
		{"Qualif started", []domain.Event{entered, qualif, outcome(2, domain.OutcomeAccepted), outcome(2, domain.OutcomeStarted)}, domain.PhaseInQualifyingTraining},
		{"Qualif abandoned", []domain.Event{entered, qualif, outcome(2, domain.OutcomeStarted), outcome(2, domain.OutcomeAbandoned)}, domain.PhaseBuildingProject},
		{"exited", []domain.Event{entered, qualif, outcome(2, domain.OutcomeStarted), exited}, domain.PhaseExited},
		{"re-entered: the previous episode's steps do not count", []domain.Event{entered, qualif, outcome(2, domain.OutcomeStarted), exited, reentered}, domain.PhaseWelcomed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p domain.Pathway
			for _, e := range tc.given {
				p = domain.Evolve(p, e)
			}
			if got := p.Phase(); got != tc.want {
				t.Fatalf("phase %q, want %q (facts %+v)", got, tc.want, p.Facts())
			}
		})
	}
}

// A completed needs analysis, noted into the episode, makes a welcomed
// learner needs analysed, and nothing else.
func TestPhaseWithANotedAnalysis(t *testing.T) {
	noted := func(episode int) domain.NeedsAnalysisNoted {
		return domain.NeedsAnalysisNoted{Episode: episode, AnalysisID: "A1", Date: day(2026, 11, 22)}
	}
	reentered := domain.PathwayEntered{Episode: 2, EntryDate: day(2026, 11, 24)}
	referred := domain.ReferralRecorded{Episode: 1, Referral: 1, Programme: domain.ProgrammeSavoirs, Date: day(2026, 11, 21), Organisation: "CLPS"}
	tests := []struct {
		name  string
		given []domain.Event
		want  domain.Phase
	}{
		{"entered, analysed", []domain.Event{entered, noted(1)}, domain.PhaseNeedsAnalysed},
		{"entered, not analysed", []domain.Event{entered}, domain.PhaseWelcomed},
		{"a referral outranks the analysis", []domain.Event{entered, noted(1), referred}, domain.PhaseBuildingProject},
		{"exited", []domain.Event{entered, noted(1), exited}, domain.PhaseExited},
		{"the previous episode's analysis does not count", []domain.Event{entered, noted(1), exited, reentered}, domain.PhaseWelcomed},
		{"the new episode's does", []domain.Event{entered, exited, reentered, noted(2)}, domain.PhaseNeedsAnalysed},
		{"an analysis of an unknown episode changes nothing", []domain.Event{entered, noted(3)}, domain.PhaseWelcomed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p domain.Pathway
			for _, e := range tc.given {
				p = domain.Evolve(p, e)
			}
			if got := p.Phase(); got != tc.want {
				t.Fatalf("phase %q, want %q", got, tc.want)
			}
		})
	}
}
