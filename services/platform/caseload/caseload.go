// Package caseload keeps, in each service that guards learners' data, the
// read models of who may see each learner, built from facts other contexts
// publish:
//
//   - who follows the learner (assignments): the current referent, the
//     referents it was handed over from with the last day each still reads
//     the learner (the grace period, as the publisher dated it), and the
//     referent standing in for the current one during its absence, with the
//     days it does (an interim,
//     docs/adr/0069-interim-referents-during-absences.md);
//   - which operators the learner is enrolled with (enrolments, optional):
//     an operator reads the learner while an enrolment with it is open, and
//     for the publisher's grace days after the last one ended.
//
// It turns them into the auth.LearnerScope the access rules
// (auth.Principal.ActsForLearner, ReachesLearner) decide on; it decides
// nothing itself, and knows nothing of the publishers but the sources a
// service gives it (proto/contract/referent, proto/contract/pathway).
package caseload

import (
	"context"
	"maps"
	"slices"
	"strconv"

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
	// Interim stands in for Referent, absent, from the first to the last
	// of InterimDays (both included); "" when nobody does. A fact without
	// an interim ends the one before it.
	Interim() string
	InterimDays() (from, to *commonv1.Date)
}

// EnrolmentFact is what an event says of a learner's enrolment with an
// operator.
type EnrolmentFact interface {
	Learner() string
	Operator() string
	// Enrolment identifies the enrolment among the learner's.
	Enrolment() int32
	// FirstDay is the enrolment's first day; nil when the fact does not
	// tell it (an end: the first day stays the one already known).
	FirstDay() *commonv1.Date
	// LastDay is the enrolment's last day, nil while it is open; a day
	// before the first cancels the enrolment.
	LastDay() *commonv1.Date
	// GraceDays is how many days after LastDay the operator still reads
	// the learner.
	GraceDays() int
}

// Caseload is one service's read models of who may see each learner.
type Caseload struct {
	store projection.Store
	// assignments is projection "<service>-assignments".
	assignments string
	stream      string
	subjects    []string
	decode      func(proto.Message) (Fact, bool)
	// enrolments, when set, is projection "<service>-enrolments".
	enrolments *enrolmentSource
}

type enrolmentSource struct {
	name     string
	stream   string
	subjects []string
	decode   func(proto.Message) (EnrolmentFact, bool)
}

// Option adds a source of facts to a caseload.
type Option func(c *Caseload, service string)

// WithEnrolments follows the enrolment facts published on the subjects of
// stream, which decode reads (false for other events), in projection
// "<service>-enrolments": operators then reach the learners enrolled with
// them.
func WithEnrolments[E EnrolmentFact](stream string, subjects []string, decode func(proto.Message) (E, bool)) Option {
	return func(c *Caseload, service string) {
		c.enrolments = &enrolmentSource{
			name: service + "-enrolments", stream: stream, subjects: subjects,
			decode: func(m proto.Message) (EnrolmentFact, bool) { return decode(m) },
		}
	}
}

// New keeps the read models of service in store: the assignments from the
// facts published on the subjects of stream, which decode reads (false for
// other events), and those the options add.
func New[F Fact](store projection.Store, service, stream string, subjects []string, decode func(proto.Message) (F, bool), opts ...Option) *Caseload {
	c := &Caseload{
		store: store, assignments: service + "-assignments", stream: stream, subjects: subjects,
		decode: func(m proto.Message) (Fact, bool) { return decode(m) },
	}
	for _, o := range opts {
		o(c, service)
	}
	return c
}

// Specs are the projections to run.
func (c *Caseload) Specs() []projector.Spec {
	specs := []projector.Spec{{Name: c.assignments, Stream: c.stream, FilterSubjects: c.subjects, Project: c.projectAssignment}}
	if e := c.enrolments; e != nil {
		specs = append(specs, projector.Spec{Name: e.name, Stream: e.stream, FilterSubjects: e.subjects, Project: c.projectEnrolment})
	}
	return specs
}

// Keys of the read models.
func assignmentKey(learnerID string) string  { return "assignment:" + learnerID }
func enrolmentKey(learnerID string) string   { return "enrolments:" + learnerID }
func operatorIndex(operatorID string) string { return "operator:" + operatorID }

// storedAssignment is the value of assignmentKey.
type storedAssignment struct {
	Referent string            `json:"referent,omitempty"`
	Former   map[string]string `json:"former,omitempty"` // referent id → last day it reads (YYYY-MM-DD)
	// Interim stands in for Referent from InterimFrom to InterimTo
	// (YYYY-MM-DD, both included); "" when nobody does.
	Interim     string `json:"interim,omitempty"`
	InterimFrom string `json:"interim_from,omitempty"`
	InterimTo   string `json:"interim_to,omitempty"`
}

// storedEnrolments is the value of enrolmentKey: the learner's enrolments
// by number.
type storedEnrolments map[string]storedEnrolment

type storedEnrolment struct {
	Operator string `json:"operator"`
	// From is the first day the operator reads the learner for this
	// enrolment (YYYY-MM-DD): the enrolment's first day.
	From string `json:"from,omitempty"`
	// ReadsUntil is the last day the operator reads the learner for this
	// enrolment (YYYY-MM-DD): its last day plus the grace days; "" while
	// it is open.
	ReadsUntil string `json:"reads_until,omitempty"`
	// Cancelled: the enrolment ended before its first day; the operator
	// never reads the learner for it.
	Cancelled bool `json:"cancelled,omitempty"`
}

func (c *Caseload) projectAssignment(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	f, ok := c.decode(ev.Data)
	if !ok {
		return nil, nil
	}
	a, _, err := projection.GetJSON[storedAssignment](ctx, c.store, c.assignments, assignmentKey(f.Learner()))
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
	a.Interim, a.InterimFrom, a.InterimTo = "", "", ""
	if from, to := f.InterimDays(); f.Interim() != "" && from != nil && to != nil {
		a.Interim, a.InterimFrom, a.InterimTo = f.Interim(), civilpb.Date(from).String(), civilpb.Date(to).String()
	}
	op, err := projection.PutJSON(assignmentKey(f.Learner()), a)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

func (c *Caseload) projectEnrolment(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	e := c.enrolments
	f, ok := e.decode(ev.Data)
	if !ok {
		return nil, nil
	}
	stored, _, err := projection.GetJSON[storedEnrolments](ctx, c.store, e.name, enrolmentKey(f.Learner()))
	if err != nil {
		return nil, err
	}
	if stored == nil {
		stored = storedEnrolments{}
	}
	number := strconv.Itoa(int(f.Enrolment()))
	se := storedEnrolment{Operator: f.Operator(), From: stored[number].From}
	if first := f.FirstDay(); first != nil {
		se.From = civilpb.Date(first).String()
	}
	if last := f.LastDay(); last != nil {
		lastDay := civilpb.Date(last)
		se.ReadsUntil = lastDay.AddDays(f.GraceDays()).String()
		if from, err := civil.Parse(se.From); err == nil {
			se.Cancelled = lastDay.Before(from)
		}
	}
	stored[number] = se
	op, err := projection.PutJSON(enrolmentKey(f.Learner()), stored)
	if err != nil {
		return nil, err
	}
	// The index only grows: scopes tell who still reads whom.
	return []projection.Op{op, projection.IndexAdd(operatorIndex(f.Operator()), f.Learner())}, nil
}

// operators is what the enrolments give a scope: each operator with the
// spans of days it reads the learner, one per enrolment not cancelled, in
// the order of the enrolments.
func (s storedEnrolments) operators() map[string][]auth.ReadSpan {
	if len(s) == 0 {
		return nil
	}
	out := map[string][]auth.ReadSpan{}
	for _, number := range slices.Sorted(maps.Keys(s)) {
		e := s[number]
		if e.Cancelled {
			continue
		}
		var span auth.ReadSpan
		var err error
		if e.From != "" {
			if span.From, err = civil.Parse(e.From); err != nil {
				continue
			}
		}
		if e.ReadsUntil != "" {
			if span.Until, err = civil.Parse(e.ReadsUntil); err != nil {
				continue
			}
		}
		out[e.Operator] = append(out[e.Operator], span)
	}
	return out
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
	if a.Interim != "" {
		from, errFrom := civil.Parse(a.InterimFrom)
		to, errTo := civil.Parse(a.InterimTo)
		if errFrom == nil && errTo == nil {
			sc.Interims = map[string]auth.ReadSpan{a.Interim: {From: from, Until: to}}
		}
	}
	return sc
}

// Scope is what access to the learner of territory depends on.
func (c *Caseload) Scope(ctx context.Context, learnerID, territory string) (auth.LearnerScope, error) {
	scopes, err := c.Scopes(ctx, []string{learnerID}, []string{territory})
	if err != nil {
		return auth.LearnerScope{}, err
	}
	return scopes[0], nil
}

// Scopes is Scope for several learners (ids[i] of territories[i]), in one
// read of each read model.
func (c *Caseload) Scopes(ctx context.Context, ids, territories []string) ([]auth.LearnerScope, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = assignmentKey(id)
	}
	assignments, err := projection.GetManyJSON[storedAssignment](ctx, c.store, c.assignments, keys)
	if err != nil {
		return nil, err
	}
	var enrolments []*storedEnrolments
	if c.enrolments != nil {
		for i, id := range ids {
			keys[i] = enrolmentKey(id)
		}
		if enrolments, err = projection.GetManyJSON[storedEnrolments](ctx, c.store, c.enrolments.name, keys); err != nil {
			return nil, err
		}
	}
	out := make([]auth.LearnerScope, len(ids))
	for i, a := range assignments {
		if a == nil {
			a = &storedAssignment{}
		}
		out[i] = a.scope(territories[i])
		if enrolments != nil && enrolments[i] != nil {
			out[i].Operators = enrolments[i].operators()
		}
	}
	return out, nil
}

// OperatorLearners returns a page of the learners ever enrolled with an
// operator, in id order after after (limit as projection.RangeQuery):
// whether the operator still reads each is its scope's to say. Nothing
// without enrolments followed.
func (c *Caseload) OperatorLearners(ctx context.Context, operatorID, after string, limit int) ([]string, error) {
	if c.enrolments == nil || operatorID == "" {
		return nil, nil
	}
	return c.store.Range(ctx, c.enrolments.name, operatorIndex(operatorID), projection.RangeQuery{After: after, Limit: limit})
}
