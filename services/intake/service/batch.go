package service

import (
	"context"
	"fmt"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// maxBatchLearners bounds the ids of one BatchGetLearners.
const maxBatchLearners = 200

// BatchGetLearners implements intakev1.IntakeServiceServer, from the read
// model: one read of the learners, one of their scopes, then each learner
// checked with mayRead and redacted as GetLearner does. An unknown learner
// and one out of the caller's scope both land in unreadable_ids, so the
// answer never tells whether a learner the caller may not read exists. An
// erased learner keeps its (erased) value in the read model: it is
// answered as erased to those who may read it.
func (s *Service) BatchGetLearners(ctx context.Context, req *intakev1.BatchGetLearnersRequest) (*intakev1.BatchGetLearnersResponse, error) {
	ids, err := batchIDs(req.GetLearnerIds())
	if err != nil {
		return nil, err
	}
	learners, err := s.storedLearners(ctx, ids)
	if err != nil {
		return nil, err
	}
	territories := make([]string, len(ids))
	for i, l := range learners {
		territories[i] = l.GetTerritoryCode()
	}
	scopes, err := s.caseload.Scopes(ctx, ids, territories)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	today := s.deps.Today()
	resp := &intakev1.BatchGetLearnersResponse{}
	for i, l := range learners {
		if l == nil || !mayRead(p, scopes[i], today) {
			resp.UnreadableIds = append(resp.UnreadableIds, ids[i])
			continue
		}
		resp.Learners = append(resp.Learners, redact(l, p, scopes[i]))
	}
	return resp, nil
}

// batchIDs validates the ids of a BatchGetLearners, reporting every
// problem at once, and returns them each once, in the order of their first
// occurrence.
func batchIDs(ids []string) ([]string, error) {
	var v apperr.Violations
	switch {
	case len(ids) == 0:
		v.Addf("learner_ids", "needs 1 to %d learner ids", maxBatchLearners)
	case len(ids) > maxBatchLearners:
		v.Addf("learner_ids", "at most %d learner ids, got %d", maxBatchLearners, len(ids))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		ident.ID(&v, fmt.Sprintf("learner_ids[%d]", i), id)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, v.Err()
}
