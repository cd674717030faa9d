package service

import (
	"context"
	"fmt"
	"time"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// The consumers noting other contexts' facts into the pathways: a completed
// needs analysis and an immersion done are facts the phase depends on, so
// pathway records them as its own events (NeedsAnalysisNoted,
// ImmersionNoted, with the PhaseChanged they cause) and every phase is
// derived from the PATHWAY stream alone.
const (
	needsConsumer     = "pathway-notes-needs"
	immersionConsumer = "pathway-notes-immersion"
)

var notesBackOff = []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second}

// notes are the noting consumers.
func (s *Service) notes() []platform.Consumer {
	return []platform.Consumer{
		{Spec: consumer.Spec{
			Stream: needsStream, Name: needsConsumer, Ordered: true,
			FilterSubjects: []string{"avenir.needs.analysis.*.completed"}, BackOff: notesBackOff,
		}, Handle: s.onNeeds},
		{Spec: consumer.Spec{
			Stream: immersionStream, Name: immersionConsumer, Ordered: true,
			FilterSubjects: []string{"avenir.immersion.session.*.outcome_recorded"}, BackOff: notesBackOff,
		}, Handle: s.onImmersion},
	}
}

// onNeeds notes a completed analysis into its learner's pathway.
func (s *Service) onNeeds(ctx context.Context, ev event.Event) error {
	done, ok := ev.Data.(*needsv1.AnalysisCompleted)
	if !ok {
		return nil
	}
	cmd := domain.NoteNeedsAnalysis{
		LearnerID: done.GetLearnerId(), Episode: int(done.GetEpisodeNumber()),
		AnalysisID: done.GetAnalysisId(), Date: civilpb.Date(done.GetCompletedOn()),
	}
	return s.note(ctx, "needs/"+ev.ID, cmd.LearnerID, cmd)
}

// onImmersion notes an immersion done (completed or partially) into its
// learner's pathway; a no-show is not a discovery.
func (s *Service) onImmersion(ctx context.Context, ev event.Event) error {
	out, ok := ev.Data.(*immersionv1.OutcomeRecorded)
	if !ok {
		return nil
	}
	var completed bool
	switch out.GetStatus() {
	case immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED:
		completed = true
	case immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED:
	default:
		return nil
	}
	cmd := domain.NoteImmersion{
		LearnerID: out.GetLearnerId(), SessionID: out.GetSessionId(), RomeCodes: out.GetRomeCodes(),
		Completed: completed, Date: civil.Of(ev.Time),
	}
	return s.note(ctx, "immersion/"+ev.ID, cmd.LearnerID, cmd)
}

// note runs a noting command on the learner's pathway. Its request id
// derives from the consumed event's, so a redelivery is a no-op. Its
// decision reads no read model: it is stored whatever the read-model store.
func (s *Service) note(ctx context.Context, requestID, learnerID string, cmd domain.Command) error {
	var v apperr.Violations
	ident.ID(&v, "learner_id", learnerID)
	err := v.Err()
	var out eventstore.Outcome[domain.Pathway, domain.Event]
	if err == nil {
		meta := eventstore.Command{RequestID: requestID, Actor: "service:" + Name, Time: s.deps.Now()}
		out, err = s.pathways.Execute(ctx, learnerID, meta, func(p domain.Pathway) ([]domain.Event, error) {
			return domain.Decide(p, cmd)
		})
	}
	kind := apperr.KindOf(err)
	switch {
	case err == nil:
		if len(out.Events) > 0 && !out.Replayed {
			s.log.InfoContext(ctx, "fact noted into the pathway", "learner_id", learnerID, "request_id", requestID,
				"command", fmt.Sprintf("%T", cmd), "phase", string(out.State.Phase()))
		}
		return nil
	case kind == apperr.KindInvalidArgument, kind == apperr.KindNotFound:
		// The other contexts only record facts of learners pathway let
		// in: one it cannot place is for people to look at, not to retry.
		s.log.WarnContext(ctx, "fact not noted: it fits no pathway; dead-lettered", "learner_id", learnerID,
			"request_id", requestID, "command", fmt.Sprintf("%T", cmd), "error", err)
		return consumer.Permanent(err)
	}
	return err
}
