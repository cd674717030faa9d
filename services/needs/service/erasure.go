package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// Erasure (docs/adr/0065-erasure-retention-and-access.md). Intake erases a
// learner's personal data: its LearnerErased destroys the data key that
// sealed the analyses' contents and steps in NEEDS, and every service drops
// the copies it holds. Needs' copies are in the analyses read model, which
// is fed by NEEDS alone; so needs records the erasure in NEEDS itself, and
// the read model purges when it meets that record, in stream order:
//
//   - the consumer of intake's erasures (onErasure) appends a
//     LearnerErasureRecorded, saying what intake's LearnerErased said, on
//     avenir.needs.learner.<learner id>.erased, once (expected last subject
//     sequence 0, whatever the redeliveries or replicas);
//   - the analyses read model (projectErasure) then empties the content of
//     every analysis of the learner, withdraws from the monthly buckets what
//     its current analyses counted, and marks the learner erased: an event
//     of the learner met after that (none is expected: a command racing the
//     erasure) stores no content either.
//
// A read model rebuilt later reads the learner's events with their personal
// fields empty (event.Event.Erased), then the same record: it ends the same
// as the live purge. What is not personal stays: ids, territory, episode,
// versions, status, dates; and the months frozen, whose counts never change
// (frozen.go).

// erasurePrefix begins the subjects of the erasures needs recorded:
// avenir.needs.learner.<learner id>.erased.
const erasurePrefix = "avenir.needs.learner."

func erasureSubject(learnerID string) string { return erasurePrefix + learnerID + ".erased" }

// erasedKey marks an erased learner in the analyses read model:
//
//	erased:<learner id>   storedErasure, JSON
func erasedKey(learnerID string) string { return "erased:" + learnerID }

type storedErasure struct {
	ErasedOn string `json:"erased_on,omitempty"`
}

// erasure reports whether the learner's personal data was erased, and on
// which day, as the analyses read model knows it.
func (s *Service) erasure(ctx context.Context, learnerID string) (civil.Date, bool, error) {
	e, found, err := projection.GetJSON[storedErasure](ctx, s.store, analysesProjection, erasedKey(learnerID))
	if err != nil || !found {
		return civil.Date{}, false, err
	}
	d, _ := civil.Parse(e.ErasedOn)
	return d, true, nil
}

// onErasure records intake's erasure of a learner in NEEDS, once. Its
// request id derives from the erasure's, so a redelivery is a no-op; a
// conflict means the erasure is recorded already (another replica, or an
// earlier delivery out of the duplicate window).
func (s *Service) onErasure(ctx context.Context, ev event.Event) error {
	e, ok := intakecontract.ErasureOf(ev.Data)
	if !ok {
		return nil
	}
	var v apperr.Violations
	ident.ID(&v, "learner_id", e.LearnerID)
	if err := v.Err(); err != nil {
		return consumer.Permanent(fmt.Errorf("needs: erasure %s: %w", ev.ID, err))
	}
	subject := erasureSubject(e.LearnerID)
	cmd := eventstore.Command{RequestID: "erasure/" + ev.ID, Actor: "service:" + Name, Time: s.deps.Now()}
	recorded := &needsv1.LearnerErasureRecorded{LearnerId: e.LearnerID, TerritoryCode: e.TerritoryCode, ErasedOn: e.ErasedOn}
	_, err := s.analyses.Store().Append(ctx, Stream, subject, 0, cmd,
		event.Draft{Subject: subject, AggregateID: e.LearnerID, Data: recorded})
	if errors.Is(err, eventstore.ErrConflict) {
		return nil
	}
	return err
}

// erasureRecorded reads an erasure needs recorded in NEEDS; false for any
// other event.
func erasureRecorded(ev event.Event) (intakecontract.Erasure, bool) {
	r, ok := ev.Data.(*needsv1.LearnerErasureRecorded)
	if !ok || !strings.HasPrefix(ev.Subject, erasurePrefix) || r.GetLearnerId() == "" {
		return intakecontract.Erasure{}, false
	}
	return intakecontract.Erasure{LearnerID: r.GetLearnerId(), TerritoryCode: r.GetTerritoryCode(), ErasedOn: r.GetErasedOn()}, true
}

// projectErasure purges the learner's analyses: their content (skills,
// diplomas, experiences, barriers, project, recommended steps) is dropped;
// what the current ones counted in the monthly buckets is withdrawn, so
// that the buckets are those a rebuild gives (the learner's events then
// read empty); the learner is marked erased.
func (s *Service) projectErasure(ctx context.Context, e intakecontract.Erasure) ([]projection.Op, error) {
	views, err := s.learnerAnalyses(ctx, e.LearnerID)
	if err != nil {
		return nil, err
	}
	revised := map[string]bool{} // versions whose revision is completed
	for _, v := range views {
		if v.GetStatus() == needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED && v.GetPreviousAnalysisId() != "" {
			revised[v.GetPreviousAnalysisId()] = true
		}
	}
	buckets := map[string]domain.Bucket{}
	var order []string
	var ops []projection.Op
	for _, v := range views {
		if v.Content == nil {
			// Purged already, or read erased (a rebuild): only the mark.
			v.LearnerErased, v.LearnerErasedOn = true, e.ErasedOn
			b, err := proto.Marshal(v)
			if err != nil {
				return nil, err
			}
			ops = append(ops, projection.Put(analysisKey(v.GetAnalysisId()), b))
			continue
		}
		a := fromView(v)
		if a.Status == domain.StatusCompleted && !revised[a.ID] {
			member := monthly.Member(a.Territory, civil.MonthOf(a.CompletedOn))
			b, seen := buckets[member]
			if !seen {
				if b, err = s.bucket(ctx, member); err != nil {
					return nil, err
				}
				order = append(order, member)
			}
			buckets[member] = b.WithoutCounted(domain.CountedOf(a.Content))
		}
		v.Content, v.LearnerErased, v.LearnerErasedOn = nil, true, e.ErasedOn
		b, err := proto.Marshal(v)
		if err != nil {
			return nil, err
		}
		ops = append(ops, projection.Put(analysisKey(v.GetAnalysisId()), b))
	}
	for _, m := range order {
		put, err := putBucket(m, buckets[m])
		if err != nil {
			return nil, err
		}
		ops = append(ops, put...)
	}
	marked, err := projection.PutJSON(erasedKey(e.LearnerID), storedErasure{ErasedOn: civilpb.Date(e.ErasedOn).String()})
	if err != nil {
		return nil, err
	}
	return append(ops, marked), nil
}

// learnerAnalyses reads the stored views of every analysis of the learner,
// in the order of its index (episode, version).
func (s *Service) learnerAnalyses(ctx context.Context, learnerID string) ([]*needsv1.Analysis, error) {
	var keys []string
	err := projection.Scan(ctx, s.store, analysesProjection, learnerIndex(learnerID), projection.RangeQuery{Limit: projection.MaxRangeLimit}, func(members []string) (bool, error) {
		for _, m := range members {
			keys = append(keys, analysisKey(memberID(m)))
		}
		return true, nil
	})
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	analyses, err := s.storedAnalyses(ctx, keys)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(analyses, func(a *needsv1.Analysis) bool { return a == nil }), nil
}

// erasedView reports whether a stored view is of an erased learner: its
// content is unset (every other view has one, possibly empty).
func erasedView(v *needsv1.Analysis) bool { return v.GetContent() == nil }
