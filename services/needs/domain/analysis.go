// Package domain holds the rules of the needs analysis: the in-depth
// analysis of a learner's prior learning, barriers and professional project,
// started during a pathway episode, drafted any number of times, completed
// (then immutable) and revised as new versions; and the monthly counts of
// the territory summaries. It is pure: no I/O.
package domain

import (
	"reflect"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Status is where an analysis stands.
type Status string

// The statuses; StatusNone is the state of an analysis never started.
const (
	StatusNone      Status = ""
	StatusDraft     Status = "draft"
	StatusCompleted Status = "completed"
)

// Analysis is one version of a learner's needs analysis, folded from its
// events.
type Analysis struct {
	ID        string
	LearnerID string
	Territory string
	// Episode is the pathway episode the analysis belongs to.
	Episode int
	// Version is 1 for the first analysis of an episode, and one more for
	// each revision; Previous is the version revised ("" for the first).
	Version     int
	Previous    string
	Status      Status
	StartedOn   civil.Date
	CompletedOn civil.Date
	Content     Content
}

// Exists reports whether the analysis was started.
func (a Analysis) Exists() bool { return a.Status != StatusNone }

// Learner is what needs knows of a learner from pathway's events (its local
// read model): the territory and the last episode, open or not. Episode is 0
// for a learner who never entered the pathway (or out of the caller's scope,
// which reads the same). Erased is set once the learner's personal data was
// erased (intake's erasure, as needs recorded it): its analyses never change
// again.
type Learner struct {
	ID        string
	Territory string
	Episode   int
	Open      bool
	Erased    bool
}

// InEpisode reports whether the learner is in the pathway, in episode n.
func (l Learner) InEpisode(n int) bool { return l.Open && l.Episode == n }

// Event is a fact about an analysis.
type Event interface{ analysisEvent() }

// AnalysisStarted: the first analysis of an episode was started.
type AnalysisStarted struct {
	AnalysisID string
	LearnerID  string
	Territory  string
	Episode    int
	StartedOn  civil.Date
}

// AnalysisRevised: a new version of a completed analysis was started, with
// the previous version's content as its first draft.
type AnalysisRevised struct {
	AnalysisID string
	LearnerID  string
	Territory  string
	Episode    int
	Version    int
	Previous   string
	Content    Content
	StartedOn  civil.Date
}

// AnalysisDrafted: the content of an analysis in draft is now Content.
type AnalysisDrafted struct {
	AnalysisID string
	LearnerID  string
	Territory  string
	Version    int
	Content    Content
	DraftedOn  civil.Date
}

// AnalysisCompleted: the analysis was completed on CompletedOn, recommending
// Steps. It carries no special-category data.
type AnalysisCompleted struct {
	AnalysisID  string
	LearnerID   string
	Territory   string
	Episode     int
	Version     int
	Previous    string
	CompletedOn civil.Date
	Steps       []Step
}

func (AnalysisStarted) analysisEvent()   {}
func (AnalysisRevised) analysisEvent()   {}
func (AnalysisDrafted) analysisEvent()   {}
func (AnalysisCompleted) analysisEvent() {}

// Command is a request to change an analysis.
type Command interface{ analysisCommand() }

// StartAnalysis starts analysis AnalysisID for Learner's open episode.
type StartAnalysis struct {
	AnalysisID string
	Learner    Learner
	Today      civil.Date
}

// DraftAnalysis replaces the content of the analysis. Learner is the
// analysis's learner as needs knows it.
type DraftAnalysis struct {
	AnalysisID string
	Content    Content
	Learner    Learner
	Today      civil.Date
}

// CompleteAnalysis completes the analysis.
type CompleteAnalysis struct {
	AnalysisID string
	Learner    Learner
	Today      civil.Date
}

// ReviseAnalysis starts analysis AnalysisID as the next version of
// Previous, which must be completed. It is decided on the new version.
type ReviseAnalysis struct {
	AnalysisID string
	Previous   Analysis
	Learner    Learner
	Today      civil.Date
}

func (StartAnalysis) analysisCommand()    {}
func (DraftAnalysis) analysisCommand()    {}
func (CompleteAnalysis) analysisCommand() {}
func (ReviseAnalysis) analysisCommand()   {}

// Evolve applies one event to the state. It never modifies the slices of a.
func Evolve(a Analysis, e Event) Analysis {
	switch e := e.(type) {
	case AnalysisStarted:
		return Analysis{
			ID: e.AnalysisID, LearnerID: e.LearnerID, Territory: e.Territory, Episode: e.Episode, Version: 1,
			Status: StatusDraft, StartedOn: e.StartedOn, Content: EmptyContent(),
		}
	case AnalysisRevised:
		return Analysis{
			ID: e.AnalysisID, LearnerID: e.LearnerID, Territory: e.Territory, Episode: e.Episode, Version: e.Version,
			Previous: e.Previous, Status: StatusDraft, StartedOn: e.StartedOn, Content: e.Content,
		}
	case AnalysisDrafted:
		a.Content = e.Content
	case AnalysisCompleted:
		a.Status, a.CompletedOn = StatusCompleted, e.CompletedOn
	}
	return a
}

// Decide checks a command against the current state and returns the events
// it produces, or why it is refused. Input problems come first, all at once
// (InvalidArgument, one violation per problem, named by its path in the
// request); then the state's preconditions (NotFound, AlreadyExists,
// FailedPrecondition).
func Decide(a Analysis, cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case StartAnalysis:
		return decideStart(a, c)
	case DraftAnalysis:
		return decideDraft(a, c)
	case CompleteAnalysis:
		return decideComplete(a, c)
	case ReviseAnalysis:
		return decideRevise(a, c)
	}
	return nil, apperr.Invalid(apperr.FieldViolation{Field: "command", Description: "unknown command"})
}

// notInPathway is the refusal of a learner without an open episode (or out
// of the caller's scope, which reads the same).
func notInPathway(learnerID string) error {
	return apperr.FailedPrecondition("learner %s is not in the pathway in your scope (no open episode), or the entry has not reached needs yet; retry shortly", learnerID)
}

// episodeClosed is the refusal of a change to an analysis whose episode is
// no longer open.
func episodeClosed(a Analysis) error {
	return apperr.FailedPrecondition("analysis %s belongs to episode %d of learner %s, which is not open: an analysis changes only during its episode (start a new one after a re-entry)", a.ID, a.Episode, a.LearnerID)
}

func notFound(id string) error { return apperr.NotFound("analysis %s not found", id) }

// ReasonLearnerErased is the "reason" metadata of the refusal of a command
// on the analyses of a learner whose personal data was erased.
const ReasonLearnerErased = "LEARNER_ERASED"

// learnerErased is the refusal of any change to the analyses of an erased
// learner.
func learnerErased(learnerID string) error {
	return apperr.FailedPrecondition("the learner's personal data was erased: the analyses of learner %s no longer change", learnerID).
		WithMeta("reason", ReasonLearnerErased)
}

func decideStart(a Analysis, c StartAnalysis) ([]Event, error) {
	if c.Learner.Erased {
		return nil, learnerErased(c.Learner.ID)
	}
	if !c.Learner.Open || c.Learner.Episode < 1 {
		return nil, notInPathway(c.Learner.ID)
	}
	if a.Exists() {
		return nil, apperr.AlreadyExists("episode %d of learner %s already has an analysis, %s (version %d, %s): draft it, or revise it once completed",
			a.Episode, a.LearnerID, a.ID, a.Version, a.Status).WithMeta("analysis_id", a.ID)
	}
	return []Event{AnalysisStarted{
		AnalysisID: c.AnalysisID, LearnerID: c.Learner.ID, Territory: c.Learner.Territory, Episode: c.Learner.Episode, StartedOn: c.Today,
	}}, nil
}

func decideDraft(a Analysis, c DraftAnalysis) ([]Event, error) {
	var v apperr.Violations
	content := CheckContent(&v, "content", c.Content, c.Today)
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch {
	case !a.Exists():
		return nil, notFound(c.AnalysisID)
	case c.Learner.Erased:
		return nil, learnerErased(a.LearnerID)
	case a.Status == StatusCompleted:
		return nil, apperr.FailedPrecondition("analysis %s was completed on %s and is immutable: revise it for a new version", a.ID, a.CompletedOn)
	case !c.Learner.InEpisode(a.Episode):
		return nil, episodeClosed(a)
	case reflect.DeepEqual(content, a.Content):
		return nil, nil // nothing changes: nothing to record
	}
	return []Event{AnalysisDrafted{
		AnalysisID: a.ID, LearnerID: a.LearnerID, Territory: a.Territory, Version: a.Version, Content: content, DraftedOn: c.Today,
	}}, nil
}

func decideComplete(a Analysis, c CompleteAnalysis) ([]Event, error) {
	switch {
	case !a.Exists():
		return nil, notFound(c.AnalysisID)
	case c.Learner.Erased:
		return nil, learnerErased(a.LearnerID)
	case a.Status == StatusCompleted:
		return nil, apperr.FailedPrecondition("analysis %s was already completed on %s", a.ID, a.CompletedOn)
	case !c.Learner.InEpisode(a.Episode):
		return nil, episodeClosed(a)
	}
	if problems := completionProblems(a.Content); len(problems) > 0 {
		return nil, apperr.FailedPrecondition("analysis %s cannot be completed: %s; draft what is missing first", a.ID, strings.Join(problems, "; "))
	}
	return []Event{AnalysisCompleted{
		AnalysisID: a.ID, LearnerID: a.LearnerID, Territory: a.Territory, Episode: a.Episode, Version: a.Version,
		Previous: a.Previous, CompletedOn: c.Today, Steps: a.Content.Steps,
	}}, nil
}

func decideRevise(a Analysis, c ReviseAnalysis) ([]Event, error) {
	prev := c.Previous
	switch {
	case !prev.Exists():
		return nil, notFound(prev.ID)
	case c.Learner.Erased:
		return nil, learnerErased(prev.LearnerID)
	case prev.Status != StatusCompleted:
		return nil, apperr.FailedPrecondition("analysis %s is a draft: only a completed analysis is revised (keep drafting it, or complete it)", prev.ID)
	case a.Exists():
		return nil, apperr.AlreadyExists("analysis %s was already revised: version %d is %s", prev.ID, a.Version, a.ID).WithMeta("analysis_id", a.ID)
	case !c.Learner.InEpisode(prev.Episode):
		return nil, episodeClosed(prev)
	}
	return []Event{AnalysisRevised{
		AnalysisID: c.AnalysisID, LearnerID: prev.LearnerID, Territory: prev.Territory, Episode: prev.Episode,
		Version: prev.Version + 1, Previous: prev.ID, Content: prev.Content, StartedOn: c.Today,
	}}, nil
}
