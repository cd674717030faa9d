package service

import (
	"context"
	"errors"
	"strconv"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

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
	checkIDs(&v, req.GetRequestId(), "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	learner, err := s.learner(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	inScope := learner.Episode > 0
	if inScope {
		scope, err := s.caseload.Scope(ctx, learner.ID, learner.Territory)
		if err != nil {
			return nil, err
		}
		inScope = mayChange(caller, scope)
	}
	if !inScope {
		// Out of scope reads as not in the pathway, so existence does not leak.
		learner = domain.Learner{ID: learner.ID}
	}
	id := firstAnalysisID(learner.ID, learner.Episode)
	cmd := domain.StartAnalysis{AnalysisID: id, Learner: learner, Today: s.today()}
	a, err := s.execute(ctx, req.GetRequestId(), id, func(domain.Analysis) (bool, error) { return inScope, nil },
		func(domain.Analysis) (domain.Command, error) { return cmd, nil })
	if err != nil {
		return nil, err
	}
	return &needsv1.StartAnalysisResponse{Analysis: commandView(a)}, nil
}

// DraftAnalysis implements needsv1.NeedsServiceServer.
func (s *Service) DraftAnalysis(ctx context.Context, req *needsv1.DraftAnalysisRequest) (*needsv1.DraftAnalysisResponse, error) {
	cmd := domain.DraftAnalysis{AnalysisID: req.GetAnalysisId(), Content: contentFromProto(req.GetContent()), Today: s.today()}
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "analysis_id", req.GetAnalysisId())
	if req.GetContent() == nil {
		v.Add("content", "is required: the whole content, replacing the draft")
	}
	// Every problem at once: the content's with the ids' (the content is
	// checked whatever the analysis).
	domain.CheckContent(&v, "content", cmd.Content, cmd.Today)
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := s.execute(ctx, req.GetRequestId(), req.GetAnalysisId(), s.changeable(ctx), func(state domain.Analysis) (domain.Command, error) {
		c := cmd
		var err error
		c.Learner, err = s.learnerOf(ctx, state)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.DraftAnalysisResponse{Analysis: commandView(a)}, nil
}

// CompleteAnalysis implements needsv1.NeedsServiceServer.
func (s *Service) CompleteAnalysis(ctx context.Context, req *needsv1.CompleteAnalysisRequest) (*needsv1.CompleteAnalysisResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "analysis_id", req.GetAnalysisId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	cmd := domain.CompleteAnalysis{AnalysisID: req.GetAnalysisId(), Today: s.today()}
	a, err := s.execute(ctx, req.GetRequestId(), req.GetAnalysisId(), s.changeable(ctx), func(state domain.Analysis) (domain.Command, error) {
		c := cmd
		var err error
		c.Learner, err = s.learnerOf(ctx, state)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	return &needsv1.CompleteAnalysisResponse{Analysis: commandView(a)}, nil
}

// ReviseAnalysis implements needsv1.NeedsServiceServer. The version revised
// is completed, hence immutable: it is read once, outside the decision on
// the new version.
func (s *Service) ReviseAnalysis(ctx context.Context, req *needsv1.ReviseAnalysisRequest) (*needsv1.ReviseAnalysisResponse, error) {
	var v apperr.Violations
	checkIDs(&v, req.GetRequestId(), "analysis_id", req.GetAnalysisId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	h, err := s.events.Load(ctx, Stream, analysisFilter(req.GetAnalysisId()))
	if err != nil {
		return nil, err
	}
	prev, err := fold(domain.Analysis{}, h.Events)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	inScope := prev.Exists()
	if inScope {
		scope, err := s.caseload.Scope(ctx, prev.LearnerID, prev.Territory)
		if err != nil {
			return nil, err
		}
		inScope = mayChange(caller, scope)
	}
	if !inScope {
		prev = domain.Analysis{ID: req.GetAnalysisId()}
	}
	learner, err := s.learnerOf(ctx, prev)
	if err != nil {
		return nil, err
	}
	id := revisionID(req.GetAnalysisId())
	cmd := domain.ReviseAnalysis{AnalysisID: id, Previous: prev, Learner: learner, Today: s.today()}
	a, err := s.execute(ctx, req.GetRequestId(), id, func(domain.Analysis) (bool, error) { return inScope, nil },
		func(domain.Analysis) (domain.Command, error) { return cmd, nil })
	if err != nil {
		return nil, err
	}
	return &needsv1.ReviseAnalysisResponse{Analysis: commandView(a)}, nil
}

// checkIDs records the problems of a command's request id and of the id it
// addresses.
func checkIDs(v *apperr.Violations, requestID, field, id string) {
	if problem := ident.CheckRequestID(requestID); problem != "" {
		v.Add("request_id", problem)
	}
	if problem := ident.CheckID(id); problem != "" {
		v.Add(field, problem)
	}
}

// learnerOf reads the learner of an analysis (none for an analysis that
// does not exist).
func (s *Service) learnerOf(ctx context.Context, a domain.Analysis) (domain.Learner, error) {
	if !a.Exists() {
		return domain.Learner{}, nil
	}
	return s.learner(ctx, a.LearnerID)
}

// changeable says whether the caller may change an analysis: those who act
// for its learner.
func (s *Service) changeable(ctx context.Context) func(domain.Analysis) (bool, error) {
	caller, _ := auth.FromContext(ctx)
	return func(a domain.Analysis) (bool, error) {
		if !a.Exists() {
			return false, nil
		}
		scope, err := s.caseload.Scope(ctx, a.LearnerID, a.Territory)
		if err != nil {
			return false, err
		}
		return mayChange(caller, scope), nil
	}
}

// commandView is the view a command answers: the analysis right after it,
// whole (only those who act for the learner change it). A completed one is
// the learner's current analysis at that moment.
func commandView(a domain.Analysis) *needsv1.Analysis {
	v := view(a)
	v.Current = a.Status == domain.StatusCompleted
	return v
}

// execute runs a command on analysis id and returns the analysis right
// after it. An analysis the caller may not change (inScope false) is decided
// as if it did not exist, so it reads as unknown; a replayed request of
// someone else's for it is refused the same way. prepare completes the
// command from the state, inside the decision.
func (s *Service) execute(ctx context.Context, requestID, id string, inScope func(domain.Analysis) (bool, error), prepare func(domain.Analysis) (domain.Command, error)) (domain.Analysis, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, analysisFilter(id), meta, func(h eventstore.History) ([]event.Draft, error) {
		state, err := fold(domain.Analysis{}, h.Events)
		if err != nil {
			return nil, err
		}
		ok, err := inScope(state)
		if err != nil {
			return nil, err
		}
		if !ok {
			state = domain.Analysis{}
		}
		cmd, err := prepare(state)
		if err != nil {
			return nil, err
		}
		evs, err := domain.Decide(state, cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if errors.Is(err, eventstore.ErrConflict) {
		return domain.Analysis{}, apperr.Aborted("analysis %s was changed concurrently, retry", id).WithCause(err)
	}
	if err != nil {
		return domain.Analysis{}, err
	}
	after, err := fold(domain.Analysis{}, res.After())
	if err != nil {
		return domain.Analysis{}, err
	}
	if !after.Exists() {
		return domain.Analysis{}, auth.Denied("analysis", id)
	}
	if ok, err := inScope(after); err != nil {
		return domain.Analysis{}, err
	} else if !ok {
		return domain.Analysis{}, auth.Denied("analysis", id)
	}
	return after, nil
}
