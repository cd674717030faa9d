package service

import (
	"context"
	"strconv"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Commands answer from the analysis as the command left it, never from a
// read model: once its events are stored, a command cannot fail. Access is
// checked inside the decision, against the assignments read model, before
// anything is stored (a read model that does not answer is an Unavailable
// answer with nothing stored). The caller acted for the learner, so the
// answer shows the analysis whole, special-category data included; a
// retried request, answered from the stored events as of its first run,
// belongs to the same caller.

// Analysis ids derive from what an analysis is, not from the request: the
// first analysis of an episode from the learner and the episode, a revision
// from the version it revises. Two referents starting the same episode's
// analysis, or revising the same version, at once address the same
// aggregate: one wins, the other is told it exists (AlreadyExists), and a
// revision chain never forks.
func firstAnalysisID(learnerID string, episode int) string {
	return event.DeriveID("needs/analysis", learnerID+"/"+strconv.Itoa(episode))
}

func revisionID(previousID string) string { return event.DeriveID("needs/revision", previousID) }

// StartAnalysis implements needsv1.NeedsServiceServer.
func (s *Service) StartAnalysis(ctx context.Context, req *needsv1.StartAnalysisRequest) (*needsv1.StartAnalysisResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The analysis's id derives from the learner's episode: the learner is
	// read before the decision, which checks access.
	learner, err := s.learner(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	id := firstAnalysisID(learner.ID, learner.Episode)
	today := s.deps.Today()
	out, err := s.analyses.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(state domain.Analysis) ([]domain.Event, error) {
		l := learner
		if l.Episode > 0 {
			ok, err := s.changes(ctx, p, l.ID, l.Territory)
			if err != nil {
				return nil, err
			}
			if !ok {
				// Out of scope reads as not in the pathway, so existence
				// does not leak.
				l, state = domain.Learner{ID: l.ID}, domain.Analysis{}
			}
		}
		return domain.Decide(state, domain.StartAnalysis{AnalysisID: id, Learner: l, Today: today})
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.StartAnalysisResponse{Analysis: answer(out)}, nil
}

// DraftAnalysis implements needsv1.NeedsServiceServer.
func (s *Service) DraftAnalysis(ctx context.Context, req *needsv1.DraftAnalysisRequest) (*needsv1.DraftAnalysisResponse, error) {
	cmd := domain.DraftAnalysis{AnalysisID: req.GetAnalysisId(), Content: contentFromProto(req.GetContent()), Today: s.deps.Today()}
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "analysis_id", req.GetAnalysisId())
	if req.GetContent() == nil {
		v.Add("content", "is required: the whole content, replacing the draft")
	}
	// Every problem at once: the content's with the ids' (the content is
	// checked whatever the analysis).
	domain.CheckContent(&v, "content", cmd.Content, cmd.Today)
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := s.change(ctx, req.GetRequestId(), req.GetAnalysisId(), func(l domain.Learner) domain.Command {
		c := cmd
		c.Learner = l
		return c
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.DraftAnalysisResponse{Analysis: a}, nil
}

// CompleteAnalysis implements needsv1.NeedsServiceServer.
func (s *Service) CompleteAnalysis(ctx context.Context, req *needsv1.CompleteAnalysisRequest) (*needsv1.CompleteAnalysisResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "analysis_id", req.GetAnalysisId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	today := s.deps.Today()
	a, err := s.change(ctx, req.GetRequestId(), req.GetAnalysisId(), func(l domain.Learner) domain.Command {
		return domain.CompleteAnalysis{AnalysisID: req.GetAnalysisId(), Learner: l, Today: today}
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.CompleteAnalysisResponse{Analysis: a}, nil
}

// ReviseAnalysis implements needsv1.NeedsServiceServer. The version revised
// is completed, hence immutable: it is loaded once, before the decision on
// the new version (which refuses it if it is not completed).
func (s *Service) ReviseAnalysis(ctx context.Context, req *needsv1.ReviseAnalysisRequest) (*needsv1.ReviseAnalysisResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "analysis_id", req.GetAnalysisId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	prev, err := s.analyses.Load(ctx, req.GetAnalysisId())
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	id := revisionID(req.GetAnalysisId())
	today := s.deps.Today()
	out, err := s.analyses.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(state domain.Analysis) ([]domain.Event, error) {
		// A version out of scope reads as unknown, so existence does not leak.
		cmd := domain.ReviseAnalysis{AnalysisID: id, Previous: domain.Analysis{ID: req.GetAnalysisId()}, Today: today}
		if prev.State.Exists() {
			ok, err := s.changes(ctx, p, prev.State.LearnerID, prev.State.Territory)
			if err != nil {
				return nil, err
			}
			if ok {
				if cmd.Learner, err = s.learner(ctx, prev.State.LearnerID); err != nil {
					return nil, err
				}
				cmd.Previous = prev.State
			}
		}
		return domain.Decide(state, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.ReviseAnalysisResponse{Analysis: answer(out)}, nil
}

// change runs a command on an existing analysis the caller may change, and
// answers the analysis as the command left it. with completes the command
// with the analysis's learner as needs knows it, read inside the decision.
// An analysis the caller may not change is decided as if it did not exist,
// so it reads as unknown.
func (s *Service) change(ctx context.Context, requestID, id string, with func(domain.Learner) domain.Command) (*needsv1.Analysis, error) {
	p, _ := auth.FromContext(ctx)
	out, err := s.analyses.Execute(ctx, id, s.deps.Command(ctx, requestID), func(state domain.Analysis) ([]domain.Event, error) {
		var learner domain.Learner
		if state.Exists() {
			ok, err := s.changes(ctx, p, state.LearnerID, state.Territory)
			if err != nil {
				return nil, err
			}
			if !ok {
				state = domain.Analysis{}
			} else if learner, err = s.learner(ctx, state.LearnerID); err != nil {
				return nil, err
			}
		}
		return domain.Decide(state, with(learner))
	})
	if err != nil {
		return nil, err
	}
	return answer(out), nil
}

// changes reports whether p may change the analyses of the learner of
// territory: whether p acts for the learner, from the assignments read
// model.
func (s *Service) changes(ctx context.Context, p auth.Principal, learnerID, territory string) (bool, error) {
	scope, err := s.caseload.Scope(ctx, learnerID, territory)
	if err != nil {
		return false, err
	}
	return mayChange(p, scope), nil
}

// answer is the analysis as a command left it, for the caller who acted
// for its learner: whole. A completed one is the learner's current analysis
// at that moment.
func answer(out eventstore.Outcome[domain.Analysis, domain.Event]) *needsv1.Analysis {
	v := view(out.State)
	v.Current = out.State.Status == domain.StatusCompleted
	return v
}
