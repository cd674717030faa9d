package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The retention policy erases a learner's personal data RetentionMonths
// after its last exit from the pathway, or after its registration when it
// never entered (domain.RetentionBasis), unless something holds the
// erasure back (domain.ErasureBlocker: the learner is then "held", with
// the reason). A learner comes up for retention once its registration is
// RetentionMonths old (the registered index is read in order of
// registration up to there).
//
// Applying it records the day's plan first, RetentionPlanned on
// avenir.intake.retention.<YYYY-MM-DD>.planned (once a day: the subject
// must be empty, whatever the number of replicas), then erases each due
// learner with the ground RETENTION and the reference "retention
// <YYYY-MM-DD>", as the service (actor service:intake) whoever asked. The
// daily job does so on the services' clock when no plan is recorded for the
// day; ApplyRetention does so on demand, and on a day with a plan applies
// the recorded one again (erasing what is due in it and not erased yet).

// retentionJob names the daily job.
const retentionJob = "intake-retention"

// retentionPage is how many learners the plan reads at once.
const retentionPage = 200

// retentionActor is the actor of the erasures of the retention policy.
const retentionActor = "service:" + Name

func retentionSubject(day civil.Date) string {
	return "avenir.intake.retention." + day.String() + ".planned"
}
func retentionFilter(day civil.Date) string { return "avenir.intake.retention." + day.String() + ".>" }

// PlanRetention implements intakev1.IntakeServiceServer (admins): the plan
// of today, recording nothing.
func (s *Service) PlanRetention(ctx context.Context, _ *intakev1.PlanRetentionRequest) (*intakev1.PlanRetentionResponse, error) {
	return s.plan(ctx, s.deps.Today())
}

// ApplyRetention implements intakev1.IntakeServiceServer (admins).
func (s *Service) ApplyRetention(ctx context.Context, req *intakev1.ApplyRetentionRequest) (*intakev1.ApplyRetentionResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.applyRetention(ctx, s.deps.Command(ctx, req.GetRequestId()))
}

// runRetention is the daily job: it applies the policy once a day, when no
// plan is recorded for the day, and only when some learner is due or held.
func (s *Service) runRetention(ctx context.Context) error {
	now := s.deps.Now()
	day := civil.Of(now)
	s.mu.Lock()
	checked := s.retentionChecked
	s.mu.Unlock()
	if checked == day {
		return nil
	}
	if err := s.retainOnce(ctx, now); err != nil {
		return err
	}
	s.mu.Lock()
	s.retentionChecked = day
	s.mu.Unlock()
	return nil
}

// retainOnce applies the policy of the day of now unless a plan is
// recorded for it or nobody is due or held.
func (s *Service) retainOnce(ctx context.Context, now time.Time) error {
	day := civil.Of(now)
	if _, ok, err := s.recordedPlan(ctx, day); err != nil || ok {
		return err
	}
	plan, err := s.plan(ctx, day)
	if err != nil || len(plan.GetDue()) == 0 && len(plan.GetHeld()) == 0 {
		return err
	}
	resp, err := s.applyRetention(ctx, eventstore.Command{RequestID: "retention-" + day.String(), Actor: retentionActor, Time: now})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "retention applied", "day", day.String(), "due", len(resp.GetPlan().GetDue()),
		"held", len(resp.GetPlan().GetHeld()), "erased", len(resp.GetErasedLearnerIds()))
	return nil
}

// recordedPlan reads the plan recorded for day.
func (s *Service) recordedPlan(ctx context.Context, day civil.Date) (*intakev1.RetentionPlanned, bool, error) {
	ev, ok, err := s.learners.Store().Lookup(ctx, Stream, retentionSubject(day))
	if err != nil || !ok {
		return nil, false, err
	}
	m, isPlan := ev.Data.(*intakev1.RetentionPlanned)
	if !isPlan {
		return nil, false, fmt.Errorf("intake: unexpected %s on %s", ev.Type, ev.Subject)
	}
	return m, true, nil
}

// applyRetention records the plan of cmd's day (or finds the one recorded),
// then erases every learner it lists as due that is not erased yet.
func (s *Service) applyRetention(ctx context.Context, cmd eventstore.Command) (*intakev1.ApplyRetentionResponse, error) {
	day := civilOf(cmd)
	var fresh *intakev1.PlanRetentionResponse
	res, err := s.learners.Store().Execute(ctx, Stream, retentionFilter(day), cmd, func(h eventstore.History) ([]event.Draft, error) {
		if len(h.Events) > 0 {
			fresh = nil
			return nil, nil
		}
		var err error
		if fresh, err = s.plan(ctx, day); err != nil {
			return nil, err
		}
		planned := &intakev1.RetentionPlanned{PlannedOn: fresh.GetPlannedOn(), RetentionMonths: fresh.GetRetentionMonths()}
		for _, c := range fresh.GetDue() {
			planned.DueLearnerIds = append(planned.DueLearnerIds, c.GetLearnerId())
		}
		for _, c := range fresh.GetHeld() {
			planned.HeldLearnerIds = append(planned.HeldLearnerIds, c.GetLearnerId())
		}
		return []event.Draft{{Subject: retentionSubject(day), AggregateID: day.String(), Data: planned}}, nil
	})
	if err != nil {
		return nil, err
	}
	events := res.After()
	if len(events) == 0 {
		return nil, fmt.Errorf("intake: no retention plan recorded for %s", day)
	}
	recorded, ok := events[0].Data.(*intakev1.RetentionPlanned)
	if !ok {
		return nil, fmt.Errorf("intake: unexpected %s on %s", events[0].Type, events[0].Subject)
	}
	plan := fresh
	if res.Replayed || len(res.Events) == 0 {
		if plan, err = s.describePlan(ctx, recorded); err != nil {
			return nil, err
		}
	}
	resp := &intakev1.ApplyRetentionResponse{Plan: plan}
	reference := "retention " + day.String()
	erasure := eventstore.Command{RequestID: "retention-" + day.String(), Actor: retentionActor, Time: cmd.Time}
	for _, id := range recorded.GetDueLearnerIds() {
		l, err := s.learners.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		if !l.State.Exists() || l.State.Erased {
			continue
		}
		_, erased, err := s.erase(ctx, erasure, id, domain.GroundRetention, reference)
		switch {
		case err != nil && apperr.KindOf(err) == apperr.KindFailedPrecondition:
			// Something holds it back since the plan: the next plan lists it.
			s.log.InfoContext(ctx, "a learner due for retention is held back since the plan", "learner_id", id, "reason", err)
		case err != nil:
			return nil, err
		case erased:
			resp.ErasedLearnerIds = append(resp.ErasedLearnerIds, id)
		}
	}
	return resp, nil
}

// plan lists the learners due for erasure on day, and those held back.
func (s *Service) plan(ctx context.Context, day civil.Date) (*intakev1.PlanRetentionResponse, error) {
	resp := &intakev1.PlanRetentionResponse{PlannedOn: civilpb.FromDate(day), RetentionMonths: int32(s.retentionMonths)}
	reader, err := s.newFactReader(ctx)
	if err != nil {
		return nil, err
	}
	var due, held []candidate
	done := false
	err = projection.Scan(ctx, s.store, learnersProjection, registeredIndex, projection.RangeQuery{Limit: retentionPage}, func(members []string) (bool, error) {
		var ids []string
		registered := map[string]civil.Date{}
		for _, m := range members {
			on, id, ok := parseRegisteredMember(m)
			if !ok {
				return false, fmt.Errorf("intake: registered index member %q", m)
			}
			if domain.AddMonths(on, s.retentionMonths).After(day) {
				done = true
				break
			}
			ids = append(ids, id)
			registered[id] = on
		}
		if len(ids) == 0 {
			return false, nil
		}
		cs, err := s.candidates(ctx, reader, ids, registered, day)
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			if c.heldReason == "" {
				due = append(due, c)
			} else {
				held = append(held, c)
			}
		}
		return !done, nil
	})
	if err != nil {
		return nil, err
	}
	resp.Due, resp.Held = protoCandidates(due), protoCandidates(held)
	return resp, nil
}

// candidate is a learner due for retention.
type candidate struct {
	id, territory string
	lastExit      civil.Date
	dueOn         civil.Date
	heldReason    string
}

// candidates are the learners of ids due for retention on day, with what
// holds them back; registered gives their registration days.
func (s *Service) candidates(ctx context.Context, reader *factReader, ids []string, registered map[string]civil.Date, day civil.Date) ([]candidate, error) {
	learners, err := s.storedLearners(ctx, ids)
	if err != nil {
		return nil, err
	}
	facts, err := reader.facts(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for i, id := range ids {
		if learners[i] == nil || learners[i].GetErased() {
			continue
		}
		basis, lastExit, ok := domain.RetentionBasis(registered[id], facts[i].Episodes)
		if !ok {
			continue
		}
		dueOn := domain.AddMonths(basis, s.retentionMonths)
		if dueOn.After(day) {
			continue
		}
		c := candidate{id: id, territory: learners[i].GetTerritoryCode(), lastExit: lastExit, dueOn: dueOn}
		if err := domain.ErasureBlocker(id, facts[i], day); err != nil {
			c.heldReason = reasonText(err)
		}
		out = append(out, c)
	}
	return out, nil
}

// describePlan describes a recorded plan from what the read models say now:
// the learners' territories, last exits and due days, and why those held
// back are (or were: "held back when the plan was recorded").
func (s *Service) describePlan(ctx context.Context, p *intakev1.RetentionPlanned) (*intakev1.PlanRetentionResponse, error) {
	resp := &intakev1.PlanRetentionResponse{PlannedOn: p.GetPlannedOn(), RetentionMonths: p.GetRetentionMonths()}
	day := civilpb.Date(p.GetPlannedOn())
	reader, err := s.newFactReader(ctx)
	if err != nil {
		return nil, err
	}
	for _, list := range []struct {
		ids  []string
		held bool
		out  *[]*intakev1.RetentionCandidate
	}{{p.GetDueLearnerIds(), false, &resp.Due}, {p.GetHeldLearnerIds(), true, &resp.Held}} {
		if len(list.ids) == 0 {
			continue
		}
		learners, err := s.storedLearners(ctx, list.ids)
		if err != nil {
			return nil, err
		}
		facts, err := reader.facts(ctx, list.ids)
		if err != nil {
			return nil, err
		}
		var cs []candidate
		for i, id := range list.ids {
			c := candidate{id: id, territory: learners[i].GetTerritoryCode()}
			registeredOn := civilpb.Date(learners[i].GetRegisteredOn())
			if basis, lastExit, ok := domain.RetentionBasis(registeredOn, facts[i].Episodes); ok {
				c.lastExit, c.dueOn = lastExit, domain.AddMonths(basis, int(p.GetRetentionMonths()))
			}
			if list.held {
				c.heldReason = "held back when the plan was recorded"
				if err := domain.ErasureBlocker(id, facts[i], day); err != nil {
					c.heldReason = reasonText(err)
				}
			}
			cs = append(cs, c)
		}
		*list.out = protoCandidates(cs)
	}
	return resp, nil
}

// protoCandidates sorts candidates by due day, then id, in their wire form.
func protoCandidates(cs []candidate) []*intakev1.RetentionCandidate {
	slices.SortFunc(cs, func(a, b candidate) int {
		if c := a.dueOn.Compare(b.dueOn); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]*intakev1.RetentionCandidate, len(cs))
	for i, c := range cs {
		out[i] = &intakev1.RetentionCandidate{
			LearnerId: c.id, TerritoryCode: c.territory, DueOn: optionalDate(c.dueOn), LastExit: optionalDate(c.lastExit),
			HeldReason: c.heldReason,
		}
	}
	return out
}

func optionalDate(d civil.Date) *commonv1.Date {
	if d.IsZero() {
		return nil
	}
	return civilpb.FromDate(d)
}

// reasonText is what a refusal says, for people.
func reasonText(err error) string {
	if ae, ok := errors.AsType[*apperr.Error](err); ok {
		return ae.Message
	}
	return err.Error()
}

// parseRegisteredMember reads a member of the registered index.
func parseRegisteredMember(m string) (civil.Date, string, bool) {
	on, id, ok := strings.Cut(m, memberSep)
	if !ok {
		return civil.Date{}, "", false
	}
	d, err := civil.Parse(on)
	return d, id, err == nil
}
