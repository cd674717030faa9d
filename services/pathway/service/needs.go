package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The needs read model (needsProjection, over needs' AnalysisCompleted):
//
//	learner:<id>   storedNeeds, JSON: the episodes with a completed analysis
//
// It feeds the phase: a learner whose open episode has a completed analysis
// is "needs analysed" (domain.Outside). The pathways read model keeps the
// phase pathway's own facts give (its phase index too); GetPathway,
// ListPathways and the commands' answers complete it with these facts.
type storedNeeds struct {
	AnalysedEpisodes []int `json:"analysed_episodes"`
}

// projectNeeds records the episode of a completed analysis.
func (s *Service) projectNeeds(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	done, ok := ev.Data.(*needsv1.AnalysisCompleted)
	if !ok {
		return nil, nil
	}
	o, err := s.outside(ctx, done.GetLearnerId())
	if err != nil {
		return nil, err
	}
	episode := int(done.GetEpisodeNumber())
	if slices.Contains(o.AnalysedEpisodes, episode) {
		return nil, nil
	}
	b, err := json.Marshal(storedNeeds{AnalysedEpisodes: append(o.AnalysedEpisodes, episode)})
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(learnerKey(done.GetLearnerId()), b)}, nil
}

// outside reads what other contexts recorded about a learner.
func (s *Service) outside(ctx context.Context, learnerID string) (domain.Outside, error) {
	b, err := s.store.Get(ctx, needsProjection, learnerKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return domain.Outside{}, nil
	}
	if err != nil {
		return domain.Outside{}, err
	}
	return decodeOutside(learnerID, b)
}

func decodeOutside(learnerID string, b []byte) (domain.Outside, error) {
	var n storedNeeds
	if err := json.Unmarshal(b, &n); err != nil {
		return domain.Outside{}, fmt.Errorf("pathway: stored needs of %s: %w", learnerID, err)
	}
	return domain.Outside{AnalysedEpisodes: n.AnalysedEpisodes}, nil
}

// outsideOf reads what other contexts recorded about each of the learners.
func (s *Service) outsideOf(ctx context.Context, learnerIDs []string) (map[string]domain.Outside, error) {
	keys := make([]string, len(learnerIDs))
	for i, id := range learnerIDs {
		keys[i] = learnerKey(id)
	}
	values, err := s.store.GetMany(ctx, needsProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.Outside, len(learnerIDs))
	for i, b := range values {
		if b == nil {
			continue
		}
		if out[learnerIDs[i]], err = decodeOutside(learnerIDs[i], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withOutside sets the phase of views from the pathway's own facts and
// those of other contexts.
func (s *Service) withOutside(ctx context.Context, views ...*pathwayv1.Pathway) error {
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.GetLearnerId()
	}
	outside, err := s.outsideOf(ctx, ids)
	if err != nil {
		return err
	}
	for _, v := range views {
		v.Phase = phases[fromView(v).PhaseWith(outside[v.GetLearnerId()])]
	}
	return nil
}
