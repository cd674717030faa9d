package service

import (
	"context"
	"errors"
	"maps"
	"slices"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform"
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
// assignment and the caseloads concerns names for it, checks the caller's
// scope on the assignment (check, nil for the service's own commands),
// decides, and appends
// the events of the assignment and of the caseloads in one atomic batch,
// each aggregate expected unchanged (eventstore.ExecuteAll, which retries
// conflicts and answers Aborted when they outlast its retries). It returns
// the assignment as the command left it (as of the first run for a
// retried request).
func (s *Service) execAssignment(ctx context.Context, meta eventstore.Command, learnerID string, check func(domain.Assignment) error,
	concerns func(domain.Assignment) ([]string, error), cmd any) (domain.Assignment, error) {
	assignment, caseload := s.assignments.Kind(), s.caseloads.Kind()
	for range maxStaleRetries {
		snap, err := s.assignments.Load(ctx, learnerID)
		if err != nil {
			return domain.Assignment{}, err
		}
		ids, err := concerns(snap.State)
		if err != nil {
			return domain.Assignment{}, err
		}
		ids = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(ids))), func(id string) bool { return id == "" })
		filters := []string{assignment.Filter(learnerID)}
		for _, id := range ids {
			filters = append(filters, caseload.Filter(id))
		}
		res, err := s.events.ExecuteAll(ctx, Stream, filters, meta, func(hs []eventstore.History) ([]event.Draft, error) {
			a := assignment.Fold(hs[0].Events)
			if check != nil {
				if err := check(a); err != nil {
					return nil, err
				}
			}
			now, err := concerns(a)
			if err != nil {
				return nil, err
			}
			for _, id := range now {
				if _, found := slices.BinarySearch(ids, id); id != "" && !found {
					return nil, errStale
				}
			}
			refs := make(map[string]domain.Referent, len(ids))
			for i, id := range ids {
				r := caseload.Fold(hs[i+1].Events)
				r.QualifWeight = s.cfg.QualifWeightPercent
				refs[id] = r
			}
			evs, err := domain.Decide(a, refs, cmd)
			if err != nil || len(evs) == 0 {
				return nil, err
			}
			return assignment.Encode(evs)
		})
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return domain.Assignment{}, err
		}
		return s.assignments.Outcome(learnerID, res).State, nil
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
	meta := s.serviceCommand("pathway/" + ev.ID)
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		learner, err := s.enteringLearner(ctx, m.GetLearnerId())
		if err != nil {
			return err
		}
		cmd := domain.Enter{Learner: learner, Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), Day: civilpb.Date(m.GetEntryDate())}
		a, err := s.execAssignment(ctx, meta, m.GetLearnerId(), nil,
			func(a domain.Assignment) ([]string, error) {
				return s.candidates(ctx, cmd.Territory, a.Current, a.LastReferent())
			}, cmd)
		if err != nil {
			return err
		}
		if a.Pending {
			s.log.InfoContext(ctx, "learner entered the pathway: no referent can take them, queued", "learner_id", a.LearnerID, "territory", a.Territory)
		}
		return nil
	case *pathwayv1.PathwayExited:
		// An exit to qualifying training with Qualif referrals to follow
		// keeps the referent, following in Qualif, until the outcome.
		qualif := m.GetReason() == pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING && len(m.GetFollowedReferralNumbers()) > 0
		cmd := domain.Exit{LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Day: civilpb.Date(m.GetExitDate()), Qualif: qualif}
		_, err := s.execAssignment(ctx, meta, m.GetLearnerId(), nil,
			func(a domain.Assignment) ([]string, error) { return []string{a.Current}, nil }, cmd)
		return err
	case *pathwayv1.QualifFollowUpEnded:
		cmd := domain.EndQualif{LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Day: civilpb.Date(m.GetEndDate())}
		_, err := s.execAssignment(ctx, meta, m.GetLearnerId(), nil,
			func(a domain.Assignment) ([]string, error) { return []string{a.Current}, nil }, cmd)
		return err
	}
	return nil
}

// enteringLearner reads intake's facts about a learner who entered the
// pathway (RQTH and age call for specialties).
//
// Pathway lets in only learners intake registered, so the registration is
// on INTAKE before the entry is on PATHWAY; but the learners read model
// follows INTAKE and this consumer PATHWAY, and platform.Consumer.After
// orders only a consumer and read models of the same stream. The
// registration's own stream sequence says what to wait for instead: the
// read model holds the learner once its checkpoint reaches it. The wait is
// bounded (platform.AfterWait), then the entry is retried like any event
// whose dependency is not ready, never assigned without facts that exist.
// A learner INTAKE does not hold is assigned at once without them (no
// specialty preference), rather than holding up every later entry.
func (s *Service) enteringLearner(ctx context.Context, id string) (domain.Learner, error) {
	reg, found, err := s.events.Lookup(ctx, intakeStream, "avenir.intake.learner."+id+".registered")
	if err != nil {
		return domain.Learner{}, err
	}
	if !found {
		s.log.WarnContext(ctx, "learner entered the pathway unknown from intake: assigned without RQTH and age", "learner_id", id)
		return domain.Learner{ID: id}, nil
	}
	if err := projection.WaitApplied(ctx, s.store, learnersProjection, reg.Sequence, platform.AfterWait); err != nil {
		return domain.Learner{}, apperr.Unavailable("read model %s is not ready", learnersProjection).WithCause(err)
	}
	learner, _, err := s.learner(ctx, id)
	return learner, err
}

// onReferentEvent reacts to what may free a slot (a referent registered or
// updated, an availability, a learner released) by draining the queues of
// the territories concerned, to a learner queued by trying them at once,
// and to a deactivation by handing the caseload over and ending the
// interims the referent stood in for. It comes after the
// referents read model (see Wiring): the queues and the directory it reads
// hold every event up to this one.
func (s *Service) onReferentEvent(ctx context.Context, ev event.Event) error {
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
		return s.endInterims(ctx, cause, e.ReferentID)
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
	case domain.LearnerFollowedInQualif:
		// A learner followed in Qualif weighs less than an active one.
		r, _, err := s.storedReferent(ctx, e.ReferentID)
		if err != nil {
			return err
		}
		return s.drain(ctx, cause, append([]string{e.Territory}, r.Profile.Territories...)...)
	}
	return nil
}

// retry assigns a queued learner if a referent can take them now, and
// reports whether the learner is still queued.
func (s *Service) retry(ctx context.Context, cause, learnerID string) (bool, error) {
	learner, _, err := s.learner(ctx, learnerID)
	if err != nil {
		return false, err
	}
	cmd := domain.Retry{Learner: learner, Day: s.deps.Today()}
	a, err := s.execAssignment(ctx, s.serviceCommand("retry/"+cause+"/"+learnerID), learnerID, nil,
		func(a domain.Assignment) ([]string, error) {
			if !a.Pending {
				return nil, nil
			}
			return s.candidates(ctx, a.Territory, a.LastReferent())
		}, cmd)
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
		err := projection.Scan(ctx, s.store, referentsProjection, queueIndex(t), projection.RangeQuery{Limit: 100}, func(members []string) (bool, error) {
			for _, m := range members {
				queued, err := s.retry(ctx, cause, queuedLearner(m))
				if err != nil || queued {
					return false, err
				}
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// handOverCaseload hands every learner of a deactivated referent over to the
// policy's choice, or queues them.
func (s *Service) handOverCaseload(ctx context.Context, cause, referentID string) error {
	r, err := s.caseloads.Load(ctx, referentID)
	if err != nil {
		return err
	}
	slots := append(r.State.SortedLearners(), r.State.SortedQualif()...)
	if len(slots) > 0 {
		s.log.InfoContext(ctx, "referent deactivated: handing the caseload over", "referent_id", referentID, "learners", len(slots))
	}
	for _, slot := range slots {
		learner, _, err := s.learner(ctx, slot.LearnerID)
		if err != nil {
			return err
		}
		cmd := domain.Reassign{Learner: learner, From: referentID, Day: s.deps.Today()}
		_, err = s.execAssignment(ctx, s.serviceCommand("deactivation/"+cause+"/"+slot.LearnerID), slot.LearnerID, nil,
			func(a domain.Assignment) ([]string, error) { return s.candidates(ctx, a.Territory, a.Current) }, cmd)
		if err != nil {
			return err
		}
	}
	return nil
}

// endInterims ends every interim a deactivated referent stood in for: each
// absent referent keeps its absence, without interim, and its learners'
// interims are cleared.
func (s *Service) endInterims(ctx context.Context, cause, referentID string) error {
	r, err := s.caseloads.Load(ctx, referentID)
	if err != nil {
		return err
	}
	for _, absent := range slices.Sorted(maps.Keys(r.State.Covers)) {
		cmd := domain.EndInterim{ReferentID: absent, Interim: referentID}
		if _, err := s.execAvailability(ctx, s.serviceCommand("interim-end/"+cause+"/"+absent), absent, nil, cmd); err != nil {
			return err
		}
	}
	return nil
}

// execAvailability runs an availability command on a referent's caseload:
// it loads the caseload, checks the caller's scope on it (check, nil for
// the service's own commands), loads the caseloads of the interims and the
// assignments of the referent's learners (domain.AvailabilityConcerns),
// decides, and appends the events of all of them in one atomic batch, each
// aggregate expected unchanged (eventstore.ExecuteAll; a caseload of at
// most domain.MaxCapacity learners keeps the batch under the server's
// 1,000 messages). It returns the referent as the command left it.
func (s *Service) execAvailability(ctx context.Context, meta eventstore.Command, referentID string, check func(domain.Referent) error, cmd any) (domain.Referent, error) {
	caseload, assignment := s.caseloads.Kind(), s.assignments.Kind()
	for range maxStaleRetries {
		snap, err := s.caseloads.Load(ctx, referentID)
		if err != nil {
			return domain.Referent{}, err
		}
		if check != nil {
			// Before loading the learners of a referent out of scope.
			if err := check(snap.State); err != nil {
				return domain.Referent{}, err
			}
		}
		refs, learners := availabilityConcerns(snap.State, cmd)
		filters := []string{caseload.Filter(referentID)}
		for _, id := range refs {
			filters = append(filters, caseload.Filter(id))
		}
		for _, id := range learners {
			filters = append(filters, assignment.Filter(id))
		}
		res, err := s.events.ExecuteAll(ctx, Stream, filters, meta, func(hs []eventstore.History) ([]event.Draft, error) {
			r := caseload.Fold(hs[0].Events)
			if check != nil {
				if err := check(r); err != nil {
					return nil, err
				}
			}
			nowRefs, nowLearners := availabilityConcerns(r, cmd)
			if !within(nowRefs, refs) || !within(nowLearners, learners) {
				return nil, errStale
			}
			others := make(map[string]domain.Referent, len(refs))
			for i, id := range refs {
				others[id] = caseload.Fold(hs[1+i].Events)
			}
			assignments := make(map[string]domain.Assignment, len(learners))
			for i, id := range learners {
				assignments[id] = assignment.Fold(hs[1+len(refs)+i].Events)
			}
			evs, err := domain.DecideAvailability(r, others, assignments, cmd)
			if err != nil || len(evs) == 0 {
				return nil, err
			}
			return caseload.Encode(evs)
		})
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return domain.Referent{}, err
		}
		return s.caseloads.Outcome(referentID, res).State, nil
	}
	return domain.Referent{}, apperr.Aborted("the caseload of referent %s kept changing, retry", referentID)
}

// availabilityConcerns is domain.AvailabilityConcerns for the caseload r,
// sorted, without duplicates nor r itself.
func availabilityConcerns(r domain.Referent, cmd any) (refs, learners []string) {
	refs, learners = domain.AvailabilityConcerns(r, cmd)
	clean := func(ids []string) []string {
		return slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(ids))), func(id string) bool { return id == "" || id == r.ID })
	}
	return clean(refs), clean(learners)
}

// within reports whether every id of ids is in sorted.
func within(ids, sorted []string) bool {
	for _, id := range ids {
		if _, found := slices.BinarySearch(sorted, id); !found {
			return false
		}
	}
	return true
}
