package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// The learners read model (learnersProjection), from intake's events: only
// what the assignment policy uses, and which learners' personal data was
// erased. An erasure drops the learner's RQTH and age band: nothing
// personal is kept of an erased learner, and a read model rebuilt later
// holds the same (the registration then reads without its sealed fields,
// and is skipped).
//
//	learner:<id>   storedLearner, JSON
//	erased:<id>    the erasure's date, YYYY-MM-DD
func learnerKey(id string) string { return "learner:" + id }
func erasedKey(id string) string  { return "erased:" + id }

type storedLearner struct {
	Disability bool `json:"rqth"`
	Senior     bool `json:"senior"`
}

func (s *Service) projectLearner(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id string
		l  storedLearner
	)
	if e, ok := intakecontract.ErasureOf(ev.Data); ok {
		return []projection.Op{
			projection.Delete(learnerKey(e.LearnerID)),
			projection.Put(erasedKey(e.LearnerID), []byte(civilpb.Date(e.ErasedOn).String())),
		}, nil
	}
	if ev.Erased {
		// Sealed with an erased key: nothing to keep (the erasure, later in
		// the stream, deletes what an earlier event kept).
		return nil, nil
	}
	switch m := ev.Data.(type) {
	case *intakev1.LearnerRegistered:
		id, l = m.GetLearnerId(), storedLearner{Disability: m.GetRqth(), Senior: m.GetSeniorAtEntry()}
	case *intakev1.LearnerSituationUpdated:
		id = m.GetLearnerId()
		prev, _, err := s.learner(ctx, id)
		if err != nil {
			return nil, err
		}
		l = storedLearner{Disability: m.GetRqth(), Senior: prev.Senior}
	default:
		return nil, nil
	}
	op, err := projection.PutJSON(learnerKey(id), l)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// learner reads what referent knows of a learner from intake, and whether it
// knows it at all.
func (s *Service) learner(ctx context.Context, id string) (domain.Learner, bool, error) {
	l, found, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
	if err != nil {
		return domain.Learner{}, false, err
	}
	return domain.Learner{ID: id, Disability: l.Disability, Senior: l.Senior}, found, nil
}

// erased reports whether the learner's personal data was erased, per the
// learners read model.
func (s *Service) erased(ctx context.Context, id string) (bool, error) {
	_, err := s.store.Get(ctx, learnersProjection, erasedKey(id))
	switch {
	case errors.Is(err, projection.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// refuseErased answers a FailedPrecondition when the learner's personal
// data was erased.
func (s *Service) refuseErased(ctx context.Context, id string) error {
	erased, err := s.erased(ctx, id)
	if err != nil || !erased {
		return err
	}
	return apperr.FailedPrecondition("the learner's personal data was erased").WithMeta("reason", event.ReasonErased)
}

// The referents read model (referentsProjection), from the whole REFERENT
// stream:
//
//	referent:<id>        storedReferent, JSON: the directory entry and load
//	territory:<code>     index of the referent ids serving the territory
//	territories          index of every territory with referents or a queue
//	queue:<code>         index of the queued learners, "<since>/<learner id>"
//	pending:<learner>    the learner's member of its territory's queue
func referentKey(id string) string      { return "referent:" + id }
func territoryIndex(code string) string { return "territory:" + code }
func queueIndex(code string) string     { return "queue:" + code }
func pendingKey(learner string) string  { return "pending:" + learner }
func queueMember(since civil.Date, learner, territory string) string {
	return since.String() + "/" + learner + "/" + territory
}

// queuedLearner is the learner of a queue member.
func queuedLearner(member string) string { return strings.Split(member, "/")[1] }

const territoriesIndex = "territories"

type storedReferent struct {
	ID            string         `json:"id"`
	Profile       domain.Profile `json:"profile"`
	Load          int            `json:"load"`
	QualifLoad    int            `json:"qualif_load,omitempty"`
	AbsentFrom    civil.Date     `json:"absent_from"`
	AbsentTo      civil.Date     `json:"absent_to"`
	Deactivated   bool           `json:"deactivated"`
	DeactivatedOn civil.Date     `json:"deactivated_on"`
	Interim       string         `json:"interim,omitempty"`
}

// asReferent is the stored view as a domain referent (without the caseload's
// learners, whose number is Load).
func (r storedReferent) asReferent() domain.Referent {
	return domain.Referent{
		ID: r.ID, Profile: r.Profile, AbsentFrom: r.AbsentFrom, AbsentTo: r.AbsentTo, Deactivated: r.Deactivated, DeactivatedOn: r.DeactivatedOn,
		Interim: r.Interim,
	}
}

func (s *Service) storedReferent(ctx context.Context, id string) (storedReferent, bool, error) {
	return projection.GetJSON[storedReferent](ctx, s.store, referentsProjection, referentKey(id))
}

func (s *Service) projectReferents(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	d, ok := decode(ev)
	if !ok {
		return nil, nil
	}
	switch e := d.(type) {
	case domain.ReferentRegistered, domain.ReferentUpdated, domain.AvailabilitySet, domain.ReferentDeactivated,
		domain.LearnerTaken, domain.LearnerReleased, domain.LearnerFollowedInQualif:
		return s.projectReferent(ctx, e)
	case domain.AssignmentPending:
		member := queueMember(e.Since, e.LearnerID, e.Territory)
		ops, err := s.leaveQueue(ctx, e.LearnerID)
		if err != nil {
			return nil, err
		}
		return append(ops,
			projection.IndexAdd(queueIndex(e.Territory), member),
			projection.IndexAdd(territoriesIndex, e.Territory),
			projection.Put(pendingKey(e.LearnerID), []byte(member))), nil
	case domain.ReferentAssigned:
		return s.leaveQueue(ctx, e.LearnerID)
	case domain.AssignmentEnded:
		return s.leaveQueue(ctx, e.LearnerID)
	}
	return nil, nil
}

// leaveQueue removes a learner from its territory's queue, if queued.
func (s *Service) leaveQueue(ctx context.Context, learner string) ([]projection.Op, error) {
	b, err := s.store.Get(ctx, referentsProjection, pendingKey(learner))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	member := string(b)
	territory := member[strings.LastIndex(member, "/")+1:]
	return []projection.Op{projection.IndexRemove(queueIndex(territory), member), projection.Delete(pendingKey(learner))}, nil
}

func (s *Service) projectReferent(ctx context.Context, ev domain.Event) ([]projection.Op, error) {
	var id string
	switch e := ev.(type) {
	case domain.ReferentRegistered:
		id = e.ReferentID
	case domain.ReferentUpdated:
		id = e.ReferentID
	case domain.AvailabilitySet:
		id = e.ReferentID
	case domain.ReferentDeactivated:
		id = e.ReferentID
	case domain.LearnerTaken:
		id = e.ReferentID
	case domain.LearnerReleased:
		id = e.ReferentID
	case domain.LearnerFollowedInQualif:
		id = e.ReferentID
	}
	r, _, err := s.storedReferent(ctx, id)
	if err != nil {
		return nil, err
	}
	before := r.Profile.Territories
	switch e := ev.(type) {
	case domain.ReferentRegistered:
		r = storedReferent{ID: id, Profile: e.Profile}
	case domain.ReferentUpdated:
		r.Profile = e.Profile
	case domain.AvailabilitySet:
		r.AbsentFrom, r.AbsentTo, r.Interim = e.AbsentFrom, e.AbsentTo, e.Interim
	case domain.ReferentDeactivated:
		r.Deactivated, r.DeactivatedOn = true, e.On
	case domain.LearnerTaken:
		r.Load++
	case domain.LearnerReleased:
		if e.InQualif {
			r.QualifLoad = max(r.QualifLoad-1, 0)
		} else {
			r.Load = max(r.Load-1, 0)
		}
	case domain.LearnerFollowedInQualif:
		r.Load, r.QualifLoad = max(r.Load-1, 0), r.QualifLoad+1
	}
	put, err := projection.PutJSON(referentKey(id), r)
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{put}
	for _, t := range before {
		if !slices.Contains(r.Profile.Territories, t) {
			ops = append(ops, projection.IndexRemove(territoryIndex(t), id))
		}
	}
	for _, t := range r.Profile.Territories {
		if !slices.Contains(before, t) {
			ops = append(ops, projection.IndexAdd(territoryIndex(t), id), projection.IndexAdd(territoriesIndex, t))
		}
	}
	return ops, nil
}

// referentsOf returns the referents serving territory, as the read model
// knows them, by id, a page of them at a time.
func (s *Service) referentsOf(ctx context.Context, territory string) ([]storedReferent, error) {
	var out []storedReferent
	err := projection.Scan(ctx, s.store, referentsProjection, territoryIndex(territory), projection.RangeQuery{Limit: 500}, func(ids []string) (bool, error) {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = referentKey(id)
		}
		refs, err := projection.GetManyJSON[storedReferent](ctx, s.store, referentsProjection, keys)
		if err != nil {
			return false, err
		}
		for _, r := range refs {
			if r != nil {
				out = append(out, *r)
			}
		}
		return true, nil
	})
	return out, err
}

// The phases read model (phasesProjection), from pathway's PhaseChanged
// events: where each learner stands, for the caseloads. Referent stores the
// phase pathway derived, knowing nothing of how.
//
//	phase:<learner id>   the last PhaseChanged, protobuf
func phaseKey(id string) string { return "phase:" + id }

func (s *Service) projectPhase(_ context.Context, ev event.Event) ([]projection.Op, error) {
	pc, ok := ev.Data.(*pathwayv1.PhaseChanged)
	if !ok {
		return nil, nil
	}
	b, err := proto.Marshal(&pathwayv1.PhaseChanged{
		LearnerId: pc.GetLearnerId(), EpisodeNumber: pc.GetEpisodeNumber(), Phase: pc.GetPhase(), ChangedOn: pc.GetChangedOn(),
	})
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(phaseKey(pc.GetLearnerId()), b)}, nil
}

// phases reads the last phase change of each learner; nil for a learner
// whose phase is not known yet.
func (s *Service) phases(ctx context.Context, learnerIDs []string) ([]*pathwayv1.PhaseChanged, error) {
	keys := make([]string, len(learnerIDs))
	for i, id := range learnerIDs {
		keys[i] = phaseKey(id)
	}
	values, err := s.store.GetMany(ctx, phasesProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*pathwayv1.PhaseChanged, len(values))
	for i, b := range values {
		if b == nil {
			continue
		}
		out[i] = &pathwayv1.PhaseChanged{}
		if err := proto.Unmarshal(b, out[i]); err != nil {
			return nil, fmt.Errorf("referent: stored phase of %s: %w", learnerIDs[i], err)
		}
	}
	return out, nil
}
