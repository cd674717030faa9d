package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// errStale says that the learner's assignment changed between the choice of
// the caseloads to load and the decision: the command starts again.
var errStale = errors.New("referent: the caseloads concerned changed")

// maxStaleRetries bounds the restarts on errStale.
const maxStaleRetries = 5

// execAssignment runs an assignment command: it loads the learner's
// assignment and the caseloads concerns names for it, decides, and appends
// the events of the assignment and of the caseloads in one atomic batch,
// each aggregate expected unchanged (eventstore.ExecuteAll). It returns the
// assignment right after the command.
func (s *Service) execAssignment(ctx context.Context, meta eventstore.Command, learnerID string,
	concerns func(domain.Assignment) ([]string, error), command func(domain.Assignment) any) (domain.Assignment, error) {
	for range maxStaleRetries {
		h, err := s.events.Load(ctx, Stream, assignmentFilter(learnerID))
		if err != nil {
			return domain.Assignment{}, err
		}
		ids, err := concerns(foldAssignment(h.Events))
		if err != nil {
			return domain.Assignment{}, err
		}
		ids = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(ids))), func(id string) bool { return id == "" })
		filters := []string{assignmentFilter(learnerID)}
		for _, id := range ids {
			filters = append(filters, caseloadFilter(id))
		}
		res, err := s.events.ExecuteAll(ctx, Stream, filters, meta, func(hs []eventstore.History) ([]event.Draft, error) {
			a := foldAssignment(hs[0].Events)
			now, err := concerns(a)
			if err != nil {
				return nil, err
			}
			for _, id := range now {
				if id == "" {
					continue
				}
				if _, found := slices.BinarySearch(ids, id); !found {
					return nil, errStale
				}
			}
			refs := make(map[string]domain.Referent, len(ids))
			for i, id := range ids {
				r := foldReferent(hs[i+1].Events)
				r.ID = id
				refs[id] = r
			}
			evs, err := domain.Decide(a, refs, command(a))
			if err != nil {
				return nil, err
			}
			return drafts(evs, s.cfg.HandoverGraceDays)
		})
		switch {
		case errors.Is(err, errStale):
			continue
		case errors.Is(err, eventstore.ErrConflict):
			return domain.Assignment{}, apperr.Aborted("the assignment of learner %s was changed concurrently, retry", learnerID).WithCause(err)
		case err != nil:
			return domain.Assignment{}, err
		}
		return foldAssignment(res.Result(0).After()), nil
	}
	return domain.Assignment{}, apperr.Aborted("the assignment of learner %s kept changing, retry", learnerID)
}

// candidates returns the ids of the referents the policy may choose for a
// learner of territory (pedagogical, active, serving it, per the read model;
// the decision checks them again on their caseloads), plus extra.
func (s *Service) candidates(ctx context.Context, territory string, extra ...string) ([]string, error) {
	rs, err := s.referentsOf(ctx, territory)
	if err != nil {
		return nil, err
	}
	ids := slices.Clone(extra)
	for _, r := range rs {
		if r.Profile.Kind == domain.KindPedagogical && !r.Deactivated {
			ids = append(ids, r.ID)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" }), nil
}

// onPathway assigns a learner who entered the pathway and releases the
// referent of a learner who left it.
func (s *Service) onPathway(ctx context.Context, ev event.Event) error {
	meta := eventstore.Command{RequestID: "pathway/" + ev.ID, Actor: "service:" + Name, Time: s.deps.Now()}
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		learner, err := s.enteringLearner(ctx, m.GetLearnerId())
		if err != nil {
			return err
		}
		cmd := domain.Enter{Learner: learner, Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), Day: civilpb.Date(m.GetEntryDate())}
		_, err = s.execAssignment(ctx, meta, m.GetLearnerId(),
			func(a domain.Assignment) ([]string, error) {
				return s.candidates(ctx, cmd.Territory, a.Current, a.LastReferent())
			},
			func(domain.Assignment) any { return cmd })
		return err
	case *pathwayv1.PathwayExited:
		cmd := domain.Exit{LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Day: civilpb.Date(m.GetExitDate())}
		_, err := s.execAssignment(ctx, meta, m.GetLearnerId(),
			func(a domain.Assignment) ([]string, error) { return []string{a.Current}, nil },
			func(domain.Assignment) any { return cmd })
		return err
	}
	return nil
}

// enteringLearnerWait bounds the wait for intake's facts about a learner
// who entered the pathway.
const enteringLearnerWait = 5 * time.Second

// enteringLearner reads intake's facts about a learner who entered the
// pathway. Pathway only lets in learners intake registered, so they arrive
// in milliseconds; should they not, the learner is assigned without them
// (no specialty preference) rather than holding up every later entry.
func (s *Service) enteringLearner(ctx context.Context, id string) (domain.Learner, error) {
	deadline := time.Now().Add(enteringLearnerWait)
	for {
		learner, known, err := s.learner(ctx, id)
		if err != nil || known {
			return learner, err
		}
		if time.Now().After(deadline) {
			s.log.Warn("learner entered the pathway unknown from intake: assigned without RQTH and age", "learner_id", id)
			return learner, nil
		}
		select {
		case <-ctx.Done():
			return domain.Learner{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// onReferentEvent reacts to what may free a slot (a referent registered or
// updated, an availability, a learner released) by draining the queues of
// the territories concerned, to a learner queued by trying them at once,
// and to a deactivation by handing the caseload over.
func (s *Service) onReferentEvent(ctx context.Context, ev event.Event) error {
	// The queues are read from the read model: it must hold every event up
	// to this one.
	if err := s.waitReferents(ctx, ev.Sequence); err != nil {
		return err
	}
	d, ok := decode(ev)
	if !ok {
		return nil
	}
	cause := ev.ID
	switch e := d.(type) {
	case domain.AssignmentPending:
		_, err := s.retry(ctx, cause, e.LearnerID)
		return err
	case domain.ReferentDeactivated:
		if err := s.handOverCaseload(ctx, cause, e.ReferentID); err != nil {
			return err
		}
		return nil
	case domain.ReferentRegistered:
		return s.drain(ctx, cause, e.Profile.Territories...)
	case domain.ReferentUpdated:
		return s.drain(ctx, cause, e.Profile.Territories...)
	case domain.AvailabilitySet:
		return s.drain(ctx, cause, e.Territories...)
	case domain.LearnerReleased:
		r, _, err := s.storedReferent(ctx, e.ReferentID)
		if err != nil {
			return err
		}
		return s.drain(ctx, cause, append([]string{e.Territory}, r.Profile.Territories...)...)
	}
	return nil
}

// waitReferents waits until the referents read model has applied seq.
func (s *Service) waitReferents(ctx context.Context, seq uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := s.store.Checkpoint(ctx, referentsProjection)
		if err != nil {
			return err
		}
		if cp >= seq {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("referent: read model at %d, behind %d", cp, seq)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// retry assigns a queued learner if a referent can take them now, and
// reports whether the learner is still queued.
func (s *Service) retry(ctx context.Context, cause, learnerID string) (bool, error) {
	learner, _, err := s.learner(ctx, learnerID)
	if err != nil {
		return false, err
	}
	meta := eventstore.Command{RequestID: "retry/" + cause + "/" + learnerID, Actor: "service:" + Name, Time: s.deps.Now()}
	cmd := domain.Retry{Learner: learner, Day: s.today()}
	a, err := s.execAssignment(ctx, meta, learnerID,
		func(a domain.Assignment) ([]string, error) {
			if !a.Pending {
				return nil, nil
			}
			return s.candidates(ctx, a.Territory, a.LastReferent())
		},
		func(domain.Assignment) any { return cmd })
	if err != nil {
		return false, err
	}
	return a.Pending, nil
}

// drain assigns the queued learners of the territories, oldest first, while
// referents can take them (whether a referent may take a learner does not
// depend on the learner: the first who stays queued ends a territory's
// turn).
func (s *Service) drain(ctx context.Context, cause string, territories ...string) error {
	for _, t := range slices.Compact(slices.Sorted(slices.Values(territories))) {
		after := ""
	territory:
		for {
			members, err := s.store.Range(ctx, referentsProjection, queueIndex(t), projection.RangeQuery{After: after, Limit: 100})
			if err != nil {
				return err
			}
			if len(members) == 0 {
				break
			}
			for _, m := range members {
				parts := strings.Split(m, "/")
				queued, err := s.retry(ctx, cause, parts[1])
				if err != nil {
					return err
				}
				if queued {
					break territory
				}
			}
			after = members[len(members)-1]
		}
	}
	return nil
}

// handOverCaseload hands every learner of a deactivated referent over to the
// policy's choice, or queues them.
func (s *Service) handOverCaseload(ctx context.Context, cause, referentID string) error {
	h, err := s.events.Load(ctx, Stream, caseloadFilter(referentID))
	if err != nil {
		return err
	}
	r := foldReferent(h.Events)
	for _, slot := range r.SortedLearners() {
		learner, _, err := s.learner(ctx, slot.LearnerID)
		if err != nil {
			return err
		}
		meta := eventstore.Command{RequestID: "deactivation/" + cause + "/" + slot.LearnerID, Actor: "service:" + Name, Time: s.deps.Now()}
		cmd := domain.Reassign{Learner: learner, From: referentID, Day: s.today()}
		_, err = s.execAssignment(ctx, meta, slot.LearnerID,
			func(a domain.Assignment) ([]string, error) { return s.candidates(ctx, a.Territory, a.Current) },
			func(domain.Assignment) any { return cmd })
		if err != nil {
			return err
		}
	}
	return nil
}
