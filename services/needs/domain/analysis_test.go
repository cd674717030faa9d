package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func day(y, m, d int) civil.Date { return civil.Date{Year: y, Month: time.Month(m), Day: d} }

var (
	today   = day(2026, 11, 26)
	learner = domain.Learner{ID: "l-1", Territory: "T05", Episode: 1, Open: true}
	started = domain.AnalysisStarted{AnalysisID: "a-1", LearnerID: "l-1", Territory: "T05", Episode: 1, StartedOn: day(2026, 11, 20)}
	// complete is a content that may be completed.
	complete = domain.Content{
		Skills:   domain.EmptyContent().Skills,
		Barriers: []domain.Barrier{{Kind: domain.BarrierHealth, Severity: domain.SeverityHigh}, {Kind: domain.BarrierMobility, Severity: domain.SeverityLow, SupportArranged: true}},
		Project:  domain.Project{TargetROMECodes: []string{"K2204"}, Maturity: domain.MaturityToConfirm},
		Steps:    []domain.Step{{Kind: domain.StepProjectWorkshops, Workshops: 3}, {Kind: domain.StepTradeDiscovery, ROMECodes: []string{"K2204"}}},
	}
	drafted   = domain.AnalysisDrafted{AnalysisID: "a-1", LearnerID: "l-1", Territory: "T05", Version: 1, Content: complete, DraftedOn: day(2026, 11, 21)}
	completed = domain.AnalysisCompleted{
		AnalysisID: "a-1", LearnerID: "l-1", Territory: "T05", Episode: 1, Version: 1, CompletedOn: day(2026, 11, 22), Steps: complete.Steps,
	}
)

type decideCase struct {
	name  string
	given []domain.Event
	when  domain.Command
	then  []domain.Event
	// Or the refusal: its kind, and the fields named (InvalidArgument).
	wantKind   apperr.Kind
	wantFields []string
}

func fold(evs []domain.Event) domain.Analysis {
	var a domain.Analysis
	for _, e := range evs {
		a = domain.Evolve(a, e)
	}
	return a
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.Decide(fold(tc.given), tc.when)
			if tc.wantKind == apperr.KindInternal {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if !reflect.DeepEqual(got, tc.then) {
					t.Fatalf("got %#v\nwant %#v", got, tc.then)
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
		})
	}
}

func TestDecideStart(t *testing.T) {
	runDecide(t, []decideCase{
		{
			name: "a learner in the pathway gets an empty draft",
			when: domain.StartAnalysis{AnalysisID: "a-1", Learner: learner, Today: day(2026, 11, 20)},
			then: []domain.Event{started},
		},
		{
			name:     "a learner who left the pathway",
			when:     domain.StartAnalysis{AnalysisID: "a-1", Learner: domain.Learner{ID: "l-1", Territory: "T05", Episode: 1}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "a learner never seen in the pathway (or out of scope)",
			when:     domain.StartAnalysis{AnalysisID: "a-1", Learner: domain.Learner{ID: "l-1"}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "the episode already has its analysis",
			given:    []domain.Event{started},
			when:     domain.StartAnalysis{AnalysisID: "a-1", Learner: learner, Today: today},
			wantKind: apperr.KindAlreadyExists,
		},
	})
}

func TestDecideDraft(t *testing.T) {
	draft := func(c domain.Content) domain.DraftAnalysis {
		return domain.DraftAnalysis{AnalysisID: "a-1", Content: c, Learner: learner, Today: day(2026, 11, 21)}
	}
	runDecide(t, []decideCase{
		{
			name:  "a draft replaces the content",
			given: []domain.Event{started},
			when:  draft(complete),
			then:  []domain.Event{drafted},
		},
		{
			name:  "any number of drafts",
			given: []domain.Event{started, drafted},
			when:  draft(domain.Content{Project: domain.Project{Maturity: domain.MaturityNone}}),
			then: []domain.Event{domain.AnalysisDrafted{
				AnalysisID: "a-1", LearnerID: "l-1", Territory: "T05", Version: 1, DraftedOn: day(2026, 11, 21),
				Content: domain.Content{Skills: domain.EmptyContent().Skills, Project: domain.Project{Maturity: domain.MaturityNone}},
			}},
		},
		{
			name:  "a draft that changes nothing records nothing",
			given: []domain.Event{started, drafted},
			when:  draft(complete),
			then:  nil,
		},
		{
			name:     "draft after completion: a completed analysis is immutable",
			given:    []domain.Event{started, drafted, completed},
			when:     draft(complete),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an analysis never started",
			when:     draft(complete),
			wantKind: apperr.KindNotFound,
		},
		{
			name:     "the episode closed",
			given:    []domain.Event{started},
			when:     domain.DraftAnalysis{AnalysisID: "a-1", Content: complete, Learner: domain.Learner{ID: "l-1", Territory: "T05", Episode: 1}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "the learner re-entered: another episode",
			given:    []domain.Event{started},
			when:     domain.DraftAnalysis{AnalysisID: "a-1", Content: complete, Learner: domain.Learner{ID: "l-1", Territory: "T05", Episode: 2, Open: true}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:  "a title a bidi override would show reversed is refused: nothing recorded",
			given: []domain.Event{started},
			when: draft(domain.Content{
				Diplomas: []domain.Diploma{{Title: "CAP \u202eeniusiC", Level: 3, Year: 2019}},
				Steps:    []domain.Step{{Kind: domain.StepOther, Description: "Permis\x00B"}},
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"content.diplomas[0].title", "content.recommended_steps[0].other.description"},
		},
		{
			name:  "bad content comes before the state",
			given: []domain.Event{started, drafted, completed},
			when: draft(domain.Content{
				Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Soudeur", ROMECode: "H29", DurationMonths: 12}},
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"content.experiences[0].rome_code"},
		},
	})
}

func TestDecideComplete(t *testing.T) {
	withContent := func(c domain.Content) domain.AnalysisDrafted {
		d := drafted
		d.Content = c
		return d
	}
	completeCmd := domain.CompleteAnalysis{AnalysisID: "a-1", Learner: learner, Today: day(2026, 11, 22)}
	noSteps := complete
	noSteps.Steps = nil
	noMaturity := complete
	noMaturity.Project.Maturity = domain.MaturityUnknown
	noTargets := complete
	noTargets.Project = domain.Project{Maturity: domain.MaturityValidated}
	noProject := complete
	noProject.Project = domain.Project{Maturity: domain.MaturityNone}
	runDecide(t, []decideCase{
		{
			name:  "a complete draft is completed with its steps",
			given: []domain.Event{started, drafted},
			when:  completeCmd,
			then:  []domain.Event{completed},
		},
		{
			name:  "no project yet is a maturity too",
			given: []domain.Event{started, withContent(noProject)},
			when:  completeCmd,
			then:  []domain.Event{completed},
		},
		{
			name:     "completing without steps",
			given:    []domain.Event{started, withContent(noSteps)},
			when:     completeCmd,
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "completing an empty draft",
			given:    []domain.Event{started},
			when:     completeCmd,
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "completing without the project's maturity",
			given:    []domain.Event{started, withContent(noMaturity)},
			when:     completeCmd,
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "a validated project names its trades",
			given:    []domain.Event{started, withContent(noTargets)},
			when:     completeCmd,
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "completing twice",
			given:    []domain.Event{started, drafted, completed},
			when:     completeCmd,
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an analysis never started",
			when:     completeCmd,
			wantKind: apperr.KindNotFound,
		},
		{
			name:     "the episode closed",
			given:    []domain.Event{started, drafted},
			when:     domain.CompleteAnalysis{AnalysisID: "a-1", Learner: domain.Learner{ID: "l-1", Territory: "T05", Episode: 1}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
	})
}

// The revision chain: each version references the previous one, starts
// from its content, and a version is revised once.
func TestDecideRevise(t *testing.T) {
	v1 := fold([]domain.Event{started, drafted, completed})
	revised := domain.AnalysisRevised{
		AnalysisID: "a-2", LearnerID: "l-1", Territory: "T05", Episode: 1, Version: 2, Previous: "a-1", Content: complete, StartedOn: today,
	}
	revise := func(prev domain.Analysis) domain.ReviseAnalysis {
		return domain.ReviseAnalysis{AnalysisID: "a-2", Previous: prev, Learner: learner, Today: today}
	}
	runDecide(t, []decideCase{
		{
			name: "a completed version is revised as the next version, from its content",
			when: revise(v1),
			then: []domain.Event{revised},
		},
		{
			name:     "a version is revised once: the chain never forks",
			given:    []domain.Event{revised},
			when:     revise(v1),
			wantKind: apperr.KindAlreadyExists,
		},
		{
			name:     "a draft is not revised",
			when:     revise(fold([]domain.Event{started, drafted})),
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an unknown analysis (or out of scope)",
			when:     revise(domain.Analysis{ID: "a-1"}),
			wantKind: apperr.KindNotFound,
		},
		{
			name:     "the episode closed",
			when:     domain.ReviseAnalysis{AnalysisID: "a-2", Previous: v1, Learner: domain.Learner{ID: "l-1", Territory: "T05", Episode: 1}, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
	})

	// Version 2 is drafted, completed and revised in turn: version 3
	// references version 2.
	v2done := domain.AnalysisCompleted{
		AnalysisID: "a-2", LearnerID: "l-1", Territory: "T05", Episode: 1, Version: 2, Previous: "a-1", CompletedOn: today, Steps: complete.Steps,
	}
	evs, err := domain.Decide(fold([]domain.Event{revised}), domain.CompleteAnalysis{AnalysisID: "a-2", Learner: learner, Today: today})
	if err != nil || !reflect.DeepEqual(evs, []domain.Event{v2done}) {
		t.Fatalf("completing version 2: %v %v", evs, err)
	}
	v2 := fold([]domain.Event{revised, v2done})
	evs, err = domain.Decide(domain.Analysis{}, domain.ReviseAnalysis{AnalysisID: "a-3", Previous: v2, Learner: learner, Today: today})
	if err != nil || len(evs) != 1 {
		t.Fatalf("revising version 2: %v %v", evs, err)
	}
	v3 := domain.Evolve(domain.Analysis{}, evs[0])
	if v3.Version != 3 || v3.Previous != "a-2" || v3.Status != domain.StatusDraft || !reflect.DeepEqual(v3.Content, complete) {
		t.Fatalf("version 3: %+v", v3)
	}
}

// Once the learner's personal data was erased, nothing changes its analyses
// any more, whatever the state: every command is refused with the reason.
func TestDecideRefusesTheAnalysesOfAnErasedLearner(t *testing.T) {
	erased := learner
	erased.Erased = true
	v1 := fold([]domain.Event{started, drafted, completed})
	for _, tc := range []struct {
		name  string
		state domain.Analysis
		cmd   domain.Command
	}{
		{"start", domain.Analysis{}, domain.StartAnalysis{AnalysisID: "a-1", Learner: erased, Today: today}},
		{"draft", fold([]domain.Event{started}), domain.DraftAnalysis{AnalysisID: "a-1", Content: complete, Learner: erased, Today: today}},
		{"complete", fold([]domain.Event{started, drafted}), domain.CompleteAnalysis{AnalysisID: "a-1", Learner: erased, Today: today}},
		{"revise", domain.Analysis{}, domain.ReviseAnalysis{AnalysisID: "a-2", Previous: v1, Learner: erased, Today: today}},
	} {
		evs, err := domain.Decide(tc.state, tc.cmd)
		var ae *apperr.Error
		if evs != nil || !errors.As(err, &ae) || ae.Kind != apperr.KindFailedPrecondition || ae.Meta["reason"] != domain.ReasonLearnerErased {
			t.Errorf("%s: %v %v, want FailedPrecondition %s", tc.name, evs, err, domain.ReasonLearnerErased)
		}
	}
	// The same commands for the learner not erased are decided.
	if _, err := domain.Decide(domain.Analysis{}, domain.StartAnalysis{AnalysisID: "a-1", Learner: learner, Today: today}); err != nil {
		t.Fatalf("start for a learner not erased: %v", err)
	}
}
