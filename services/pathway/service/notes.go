package service

import (
	"context"
	"time"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// needsConsumer notes the needs analyses completed into the pathways: a
// completed analysis is a fact of the needs context that the phase depends
// on, so pathway records it as its own event (NeedsAnalysisNoted, with the
// PhaseChanged it causes) and every phase is derived from the PATHWAY
// stream alone.
const needsConsumer = "pathway-notes-needs"

func (s *Service) needsConsumerSpec() consumer.Spec {
	return consumer.Spec{
		Stream: needsStream, Name: needsConsumer, Ordered: true,
		FilterSubjects: []string{"avenir.needs.analysis.*.completed"},
		BackOff:        []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second},
	}
}

// onNeeds notes a completed analysis into its learner's pathway. The
// command's request id derives from the event's, so a redelivery is a no-op.
func (s *Service) onNeeds(ctx context.Context, ev event.Event) error {
	done, ok := ev.Data.(*needsv1.AnalysisCompleted)
	if !ok {
		return nil
	}
	cmd := domain.NoteNeedsAnalysis{
		LearnerID: done.GetLearnerId(), Episode: int(done.GetEpisodeNumber()),
		AnalysisID: done.GetAnalysisId(), Date: civil.FromProto(done.GetCompletedOn()),
	}
	meta := eventstore.Command{RequestID: "needs/" + ev.ID, Actor: "service:" + Name, Time: s.deps.Now()}
	_, err := s.events.Execute(ctx, Stream, pathwayFilter(cmd.LearnerID), meta, func(h eventstore.History) ([]event.Draft, error) {
		p, err := fold(domain.Pathway{}, h.Events)
		if err != nil {
			return nil, err
		}
		evs, err := domain.Decide(p, cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	switch apperr.KindOf(err) {
	case apperr.KindInvalidArgument, apperr.KindNotFound:
		// Needs only analyses learners of a known episode: an analysis
		// pathway cannot place is for people to look at, not to retry.
		return consumer.Permanent(err)
	}
	return err
}
