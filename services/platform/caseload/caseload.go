// Package caseload keeps, in each service that guards learners' data, a
// read model of who follows each learner, built from the referent service's
// assignment events: the current referent, and the referents it was handed
// over from with the last day each still reads the learner (the grace
// period, as the referent service dated it). It turns them into the
// auth.LearnerScope the access rules (auth.Principal.ActsForLearner,
// ReachesLearner) decide on; it decides nothing itself.
package caseload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// Stream is the referent service's stream.
const Stream = "REFERENT"

// Caseload is one service's read model of assignments.
type Caseload struct {
	store projection.Store
	name  string
}

// New keeps the read model of service (projection "<service>-assignments")
// in store.
func New(store projection.Store, service string) *Caseload {
	return &Caseload{store: store, name: service + "-assignments"}
}

func assignmentKey(learnerID string) string { return "assignment:" + learnerID }

// storedAssignment is the value of assignmentKey.
type storedAssignment struct {
	Referent string            `json:"referent,omitempty"`
	Former   map[string]string `json:"former,omitempty"` // referent id → last day it reads (YYYY-MM-DD)
}

// Spec is the projection; REFERENT may not exist yet when the service
// starts (the referent service creates it), so it then starts later.
func (c *Caseload) Spec() projector.Spec {
	return projector.Spec{
		Name: c.name, Stream: Stream,
		FilterSubjects: []string{"avenir.referent.assignment.*.>"},
		Project:        c.project,
		Later:          true,
	}
}

func (c *Caseload) project(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var learner, referent, previous string
	var until *civil.Date
	switch m := ev.Data.(type) {
	case *referentv1.ReferentAssigned:
		learner, referent, previous = m.GetLearnerId(), m.GetReferentId(), m.GetPreviousReferentId()
		if m.GetPreviousReferentReadsUntil() != nil {
			d := civilpb.Date(m.GetPreviousReferentReadsUntil())
			until = &d
		}
	case *referentv1.AssignmentPending:
		learner, previous = m.GetLearnerId(), m.GetPreviousReferentId()
		if m.GetPreviousReferentReadsUntil() != nil {
			d := civilpb.Date(m.GetPreviousReferentReadsUntil())
			until = &d
		}
	case *referentv1.AssignmentEnded:
		learner = m.GetLearnerId()
	default:
		return nil, nil
	}
	a, err := c.stored(ctx, learner)
	if err != nil {
		return nil, err
	}
	a.Referent = referent
	if previous != "" && until != nil && previous != referent {
		if a.Former == nil {
			a.Former = map[string]string{}
		}
		a.Former[previous] = until.String()
	}
	if referent != "" {
		delete(a.Former, referent)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(assignmentKey(learner), b)}, nil
}

func (c *Caseload) stored(ctx context.Context, learnerID string) (storedAssignment, error) {
	var a storedAssignment
	b, err := c.store.Get(ctx, c.name, assignmentKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("caseload: stored assignment of %s: %w", learnerID, err)
	}
	return a, nil
}

func (a storedAssignment) scope(territory string) auth.LearnerScope {
	sc := auth.LearnerScope{Territory: territory, Referent: a.Referent}
	for id, until := range a.Former {
		d, err := civil.Parse(until)
		if err != nil {
			continue
		}
		if sc.FormerReferents == nil {
			sc.FormerReferents = map[string]civil.Date{}
		}
		sc.FormerReferents[id] = d
	}
	return sc
}

// Scope is what access to the learner of territory depends on.
func (c *Caseload) Scope(ctx context.Context, learnerID, territory string) (auth.LearnerScope, error) {
	a, err := c.stored(ctx, learnerID)
	if err != nil {
		return auth.LearnerScope{}, err
	}
	return a.scope(territory), nil
}

// Scopes is Scope for several learners (ids[i] of territories[i]), in one
// read.
func (c *Caseload) Scopes(ctx context.Context, ids, territories []string) ([]auth.LearnerScope, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = assignmentKey(id)
	}
	values, err := c.store.GetMany(ctx, c.name, keys)
	if err != nil {
		return nil, err
	}
	out := make([]auth.LearnerScope, len(ids))
	for i, b := range values {
		var a storedAssignment
		if b != nil {
			if err := json.Unmarshal(b, &a); err != nil {
				return nil, fmt.Errorf("caseload: stored assignment of %s: %w", ids[i], err)
			}
		}
		out[i] = a.scope(territories[i])
	}
	return out, nil
}
