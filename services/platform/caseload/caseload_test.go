package caseload_test

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/caseload"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// follow is a fact as a publisher would define it; the test's source
// carries it in a wrapped message of its own.
type follow struct {
	learner, referent, previous string
	until                       *commonv1.Date
	interim                     string
	from, to                    *commonv1.Date
}

func (f follow) Learner() string                        { return f.learner }
func (f follow) Referent() string                       { return f.referent }
func (f follow) Previous() string                       { return f.previous }
func (f follow) ReadsUntil() *commonv1.Date             { return f.until }
func (f follow) Interim() string                        { return f.interim }
func (f follow) InterimDays() (from, to *commonv1.Date) { return f.from, f.to }

// followMsg carries a follow in an event payload.
type followMsg struct {
	proto.Message
	f follow
}

func decode(m proto.Message) (follow, bool) {
	fm, ok := m.(followMsg)
	return fm.f, ok
}

// The read model follows a learner through assignment, handover and end:
// the current referent, and the former one with the last day it reads.
func TestScopeFollowsAssignments(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	c := caseload.New(store, "test", "FOLLOWS", []string{"avenir.follows.>"}, decode)
	spec := c.Specs()[0]
	if spec.Name != "test-assignments" || spec.Stream != "FOLLOWS" || spec.FilterSubjects[0] != "avenir.follows.>" {
		t.Fatalf("spec %+v", spec)
	}
	gen, err := store.Generation(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	apply := func(f follow) {
		t.Helper()
		seq++
		ops, err := spec.Project(ctx, event.Event{Sequence: seq, Data: followMsg{f: f}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(ctx, spec.Name, gen, seq, ops...); err != nil {
			t.Fatal(err)
		}
	}
	scope := func() (string, map[string]civil.Date) {
		t.Helper()
		sc, err := c.Scope(ctx, "l-1", "T05")
		if err != nil || sc.Territory != "T05" {
			t.Fatalf("scope %+v %v", sc, err)
		}
		return sc.Referent, sc.FormerReferents
	}
	if ref, former := scope(); ref != "" || former != nil {
		t.Fatalf("an unknown learner has referent %q, former %v", ref, former)
	}
	apply(follow{learner: "l-1", referent: "r-1"})
	if ref, former := scope(); ref != "r-1" || former != nil {
		t.Fatalf("assigned: %q %v", ref, former)
	}
	until := &commonv1.Date{Year: 2026, Month: 12, Day: 27}
	apply(follow{learner: "l-1", referent: "r-2", previous: "r-1", until: until})
	if ref, former := scope(); ref != "r-2" || former["r-1"] != civilpb.Date(until) {
		t.Fatalf("handed over: %q %v", ref, former)
	}
	apply(follow{learner: "l-1"})
	if ref, former := scope(); ref != "" || former["r-1"] != civilpb.Date(until) {
		t.Fatalf("ended: %q %v", ref, former)
	}
	scopes, err := c.Scopes(ctx, []string{"l-1", "l-2"}, []string{"T05", "T01"})
	if err != nil || len(scopes) != 2 || scopes[1].Territory != "T01" || scopes[1].Referent != "" {
		t.Fatalf("scopes %+v %v", scopes, err)
	}
}

// An interim stands in for the learner's referent on the days its fact
// gives: the scope carries them, and the access rules read them on the
// day; the next fact without an interim (cleared, or any change of
// referent) ends it, and it never outlives a handover.
func TestScopeFollowsInterims(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	c := caseload.New(store, "test", "FOLLOWS", []string{"avenir.follows.>"}, decode)
	spec := c.Specs()[0]
	gen, err := store.Generation(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	apply := func(f follow) {
		t.Helper()
		seq++
		ops, err := spec.Project(ctx, event.Event{Sequence: seq, Data: followMsg{f: f}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(ctx, spec.Name, gen, seq, ops...); err != nil {
			t.Fatal(err)
		}
	}
	scope := func() auth.LearnerScope {
		t.Helper()
		sc, err := c.Scope(ctx, "l-1", "T05")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	from, to := &commonv1.Date{Year: 2026, Month: 12, Day: 21}, &commonv1.Date{Year: 2027, Month: 1, Day: 3}
	interim := auth.Principal{Subject: "ri", Role: auth.RoleReferent, ReferentID: "r-i", Territories: []string{"T05"}}
	acts := func(day civil.Date) bool { interim.Day = day; return interim.ActsForLearner(scope()) }

	apply(follow{learner: "l-1", referent: "r-1"})
	apply(follow{learner: "l-1", referent: "r-1", interim: "r-i", from: from, to: to})
	sc := scope()
	if want := map[string]auth.ReadSpan{"r-i": {From: civilpb.Date(from), Until: civilpb.Date(to)}}; sc.Referent != "r-1" || !reflect.DeepEqual(sc.Interims, want) {
		t.Fatalf("with an interim: %+v, want referent r-1 and interims %v", sc, want)
	}
	for day, want := range map[civil.Date]bool{
		civilpb.Date(from).AddDays(-1): false, civilpb.Date(from): true, civilpb.Date(to): true, civilpb.Date(to).AddDays(1): false,
	} {
		if got := acts(day); got != want {
			t.Errorf("interim acts on %s: %v, want %v", day, got, want)
		}
	}
	if !interim.ReachesLearner(sc, civilpb.Date(to)) || interim.ReachesLearner(sc, civilpb.Date(to).AddDays(1)) {
		t.Error("the interim reads the learner outside its days, or not on them")
	}
	// Cleared: the referent stays, the interim goes.
	apply(follow{learner: "l-1", referent: "r-1"})
	if sc := scope(); sc.Referent != "r-1" || sc.Interims != nil || acts(civilpb.Date(from)) {
		t.Fatalf("cleared: %+v", sc)
	}
	// Named again, then the learner handed over: the interim goes with the
	// absent referent.
	apply(follow{learner: "l-1", referent: "r-1", interim: "r-i", from: from, to: to})
	apply(follow{learner: "l-1", referent: "r-2", previous: "r-1", until: to})
	if sc := scope(); sc.Referent != "r-2" || sc.Interims != nil {
		t.Fatalf("handed over: %+v", sc)
	}
	// A fact whose days are not both known names nobody.
	apply(follow{learner: "l-1", referent: "r-2", interim: "r-i", from: from})
	if sc := scope(); sc.Interims != nil {
		t.Fatalf("interim without its last day: %+v", sc)
	}
}

// enrolment is an enrolment fact as a publisher would define it.
type enrolment struct {
	learner, operator string
	number            int32
	first, last       *commonv1.Date
}

func (e enrolment) Learner() string          { return e.learner }
func (e enrolment) Operator() string         { return e.operator }
func (e enrolment) Enrolment() int32         { return e.number }
func (e enrolment) FirstDay() *commonv1.Date { return e.first }
func (e enrolment) LastDay() *commonv1.Date  { return e.last }
func (e enrolment) GraceDays() int           { return 30 }

type enrolmentMsg struct {
	proto.Message
	e enrolment
}

func decodeEnrolment(m proto.Message) (enrolment, bool) {
	em, ok := m.(enrolmentMsg)
	return em.e, ok
}

// Operators reach the learners enrolled with them: from an enrolment's
// first day while it is open, and for the grace days after it ended; a
// cancelled enrolment gives nothing.
func TestScopeFollowsEnrolments(t *testing.T) {
	ctx := context.Background()
	store := projection.NewMemory()
	c := caseload.New(store, "test", "FOLLOWS", []string{"avenir.follows.>"}, decode,
		caseload.WithEnrolments("PLACES", []string{"avenir.places.>"}, decodeEnrolment))
	specs := c.Specs()
	if len(specs) != 2 || specs[1].Name != "test-enrolments" || specs[1].Stream != "PLACES" {
		t.Fatalf("specs %+v", specs)
	}
	gen, err := store.Generation(ctx, specs[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	apply := func(e enrolment) {
		t.Helper()
		seq++
		ops, err := specs[1].Project(ctx, event.Event{Sequence: seq, Data: enrolmentMsg{e: e}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Apply(ctx, specs[1].Name, gen, seq, ops...); err != nil {
			t.Fatal(err)
		}
	}
	operators := func() map[string][]auth.ReadSpan {
		t.Helper()
		sc, err := c.Scope(ctx, "l-1", "T05")
		if err != nil {
			t.Fatal(err)
		}
		return sc.Operators
	}
	if ops := operators(); ops != nil {
		t.Fatalf("a learner never enrolled reaches %v", ops)
	}
	date := func(month, day int32) *commonv1.Date { return &commonv1.Date{Year: 2026, Month: month, Day: day} }
	span := func(from, until *commonv1.Date) auth.ReadSpan {
		var s auth.ReadSpan
		if from != nil {
			s.From = civilpb.Date(from)
		}
		if until != nil {
			s.Until = civilpb.Date(until)
		}
		return s
	}
	want := func(what string, w map[string][]auth.ReadSpan) {
		t.Helper()
		if got := operators(); !reflect.DeepEqual(got, w) {
			t.Fatalf("%s: operators %v, want %v", what, got, w)
		}
	}
	apply(enrolment{learner: "l-1", operator: "op-a", number: 1, first: date(11, 2)})
	apply(enrolment{learner: "l-1", operator: "op-b", number: 2, first: date(11, 9)})
	want("two open enrolments", map[string][]auth.ReadSpan{"op-a": {span(date(11, 2), nil)}, "op-b": {span(date(11, 9), nil)}})
	// The end tells the last day only: the first stays the one known.
	apply(enrolment{learner: "l-1", operator: "op-b", number: 2, last: date(11, 30)})
	want("op-b's enrolment ended on 30 November", map[string][]auth.ReadSpan{
		"op-a": {span(date(11, 2), nil)}, "op-b": {span(date(11, 9), date(12, 30))}})
	// op-b again, from February; then an enrolment cancelled before its
	// first day (ended the day before) gives nothing.
	apply(enrolment{learner: "l-1", operator: "op-b", number: 3, first: &commonv1.Date{Year: 2027, Month: 2, Day: 1}})
	apply(enrolment{learner: "l-1", operator: "op-c", number: 4, first: date(12, 14)})
	apply(enrolment{learner: "l-1", operator: "op-c", number: 4, last: date(12, 13)})
	want("op-b enrolled again, op-c cancelled", map[string][]auth.ReadSpan{
		"op-a": {span(date(11, 2), nil)},
		"op-b": {span(date(11, 9), date(12, 30)), span(&commonv1.Date{Year: 2027, Month: 2, Day: 1}, nil)},
	})
	apply(enrolment{learner: "l-2", operator: "op-a", number: 1, first: date(11, 2)})
	got, err := c.OperatorLearners(ctx, "op-a", "", 10)
	if err != nil || len(got) != 2 || got[0] != "l-1" || got[1] != "l-2" {
		t.Fatalf("op-a's learners %v %v", got, err)
	}
	scopes, err := c.Scopes(ctx, []string{"l-1", "l-9"}, []string{"T05", "T01"})
	if err != nil || len(scopes[0].Operators) != 2 || scopes[1].Operators != nil {
		t.Fatalf("scopes %+v %v", scopes, err)
	}
}
