// Package caseload keeps, in each service that guards learners' data, a
// read model of who follows each learner, built from the assignment facts
// another context publishes: the current referent, and the referents it was
// handed over from with the last day each still reads the learner (the
// grace period, as the publisher dated it). It turns them into the
// auth.LearnerScope the access rules (auth.Principal.ActsForLearner,
// ReachesLearner) decide on; it decides nothing itself, and knows nothing
// of the publisher but the Source a service gives it (the referent
// context's, proto/contract/referent).
package caseload

import (
	"context"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// Fact is what an event says of who follows a learner.
type Fact interface {
	// Learner is the learner concerned.
	Learner() string
	// Referent follows the learner from now on, "" when nobody does.
	Referent() string
	// Previous followed the learner before; it still reads the learner
	// until ReadsUntil, when that is set.
	Previous() string
	ReadsUntil() *commonv1.Date
}

// Caseload is one service's read model of who follows each learner.
type Caseload struct {
	store    projection.Store
	name     string
	stream   string
	subjects []string
	decode   func(proto.Message) (Fact, bool)
}

// New keeps the read model of service (projection "<service>-assignments")
// in store, from the facts published on the subjects of stream, which
// decode reads (false for other events).
func New[F Fact](store projection.Store, service, stream string, subjects []string, decode func(proto.Message) (F, bool)) *Caseload {
	return &Caseload{
		store: store, name: service + "-assignments", stream: stream, subjects: subjects,
		decode: func(m proto.Message) (Fact, bool) { return decode(m) },
	}
}

func assignmentKey(learnerID string) string { return "assignment:" + learnerID }

// storedAssignment is the value of assignmentKey.
type storedAssignment struct {
	Referent string            `json:"referent,omitempty"`
	Former   map[string]string `json:"former,omitempty"` // referent id → last day it reads (YYYY-MM-DD)
}

// Spec is the projection.
func (c *Caseload) Spec() projector.Spec {
	return projector.Spec{Name: c.name, Stream: c.stream, FilterSubjects: c.subjects, Project: c.project}
}

func (c *Caseload) project(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	f, ok := c.decode(ev.Data)
	if !ok {
		return nil, nil
	}
	a, err := c.stored(ctx, f.Learner())
	if err != nil {
		return nil, err
	}
	a.Referent = f.Referent()
	if prev := f.Previous(); prev != "" && f.ReadsUntil() != nil && prev != a.Referent {
		if a.Former == nil {
			a.Former = map[string]string{}
		}
		a.Former[prev] = civilpb.Date(f.ReadsUntil()).String()
	}
	if a.Referent != "" {
		delete(a.Former, a.Referent)
	}
	op, err := projection.PutJSON(assignmentKey(f.Learner()), a)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

func (c *Caseload) stored(ctx context.Context, learnerID string) (storedAssignment, error) {
	a, _, err := projection.GetJSON[storedAssignment](ctx, c.store, c.name, assignmentKey(learnerID))
	return a, err
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
	values, err := projection.GetManyJSON[storedAssignment](ctx, c.store, c.name, keys)
	if err != nil {
		return nil, err
	}
	out := make([]auth.LearnerScope, len(ids))
	for i, a := range values {
		if a == nil {
			a = &storedAssignment{}
		}
		out[i] = a.scope(territories[i])
	}
	return out, nil
}
