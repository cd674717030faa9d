package service

import (
	"context"
	"strconv"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// GetLearnerHistory implements intakev1.IntakeServiceServer. It reads the
// learner's own events, one change each, with the learner as it stood after
// the change; pages continue after the stream sequence of their last
// change. Once the learner is erased, every change shows it as erased, with
// no personal value (whether the data key is already destroyed or not), and
// the erasure is the last change.
func (s *Service) GetLearnerHistory(ctx context.Context, req *intakev1.GetLearnerHistoryRequest) (*intakev1.GetLearnerHistoryResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "learner_id", req.GetLearnerId())
	size := paging.Size(&v, req.GetPageSize())
	fp := paging.Fingerprint("history", req.GetLearnerId())
	var after uint64
	if cursor := paging.Decode(&v, req.GetPageToken(), fp); cursor != "" {
		var ok bool
		if after, ok = parseSeq(cursor); !ok {
			v.Add("page_token", "is not a token of this learner's history: start again without a token")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	h, p, scope, err := s.readable(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.GetLearnerHistoryResponse{}
	var (
		l       domain.Learner
		lastSeq uint64
	)
	registeredAt := h.Events[0].Time
	final := h.State
	for _, ev := range h.Events {
		de, ok := fromProto(ev.Data)
		if !ok {
			continue
		}
		l = domain.Evolve(l, de)
		if ev.Sequence <= after {
			continue
		}
		if len(resp.Changes) == size {
			resp.NextPageToken = paging.Encode(fp, strconv.FormatUint(lastSeq, 10))
			break
		}
		kind, effective := describe(de)
		view := l
		if final.Erased {
			view = final
		}
		change := &intakev1.LearnerChange{
			Kind:        kind,
			EffectiveOn: civilpb.FromDate(effective),
			RecordedAt:  timestamppb.New(ev.Time),
			Actor:       ev.Actor,
			Learner:     redact(toView(view, registeredAt), p, scope),
		}
		if e, ok := de.(domain.LearnerErased); ok {
			change.ErasureGround, change.ErasureReference = intakev1.ErasureGround(e.Ground), e.Reference
		}
		resp.Changes = append(resp.Changes, change)
		lastSeq = ev.Sequence
	}
	return resp, nil
}

// describe names a change and the civil date from which it applies.
func describe(e domain.Event) (intakev1.LearnerChangeKind, civil.Date) {
	switch e := e.(type) {
	case domain.LearnerRegistered:
		return intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED, e.RegisteredOn
	case domain.ContactUpdated:
		return intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_CONTACT_UPDATED, e.EffectiveOn
	case domain.SituationUpdated:
		return intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED, e.EffectiveOn
	case domain.LearnerErased:
		return intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_ERASED, e.ErasedOn
	}
	return intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_UNSPECIFIED, civil.Date{}
}

func parseSeq(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}
