package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func date(y, m, d int32) *commonv1.Date { return &commonv1.Date{Year: y, Month: m, Day: d} }

// paris is the services' time zone in November.
var paris = time.FixedZone("CET", 3600)

// A region's learners registered in August 2024, looked at on 26 November
// 2026 with the default 24 months:
//
//	exited   left on 2024-10-20, 25 months ago: due
//	recent   left on 2024-12-28, 23 months ago: not due
//	returned left on 2024-10-20, entered again this month: held (open episode)
//	billed   left on 2024-10-20, lines on a statement of October 2024 not closed: held
//	never    never entered: due since 2026-08-01
//
// Every month they entered in is frozen.
type retentionCase struct {
	env                                     *servicetest.Env
	admin                                   intakev1.IntakeServiceClient
	exited, recent, returned, billed, never string
}

func retentionSetup(t *testing.T) retentionCase {
	t.Helper()
	env := servicetest.Start(t, servicetest.Options{Now: time.Date(2024, 8, 1, 10, 0, 0, 0, paris)},
		func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	admin := intakev1.NewIntakeServiceClient(env.Conn)
	c := retentionCase{env: env}
	ids := map[string]*string{"Exited": &c.exited, "Recent": &c.recent, "Returned": &c.returned, "Billed": &c.billed, "Never": &c.never}
	for family, id := range ids {
		resp, err := admin.RegisterLearner(ctx(t), person("reg-"+family, family, "Alex", "T05", "27229"))
		if err != nil {
			t.Fatal(err)
		}
		*id = resp.GetLearner().GetLearnerId()
	}
	sep2 := date(2024, 9, 2)
	for _, id := range []string{c.exited, c.recent, c.returned, c.billed} {
		enter(t, env, id, 1, sep2)
	}
	for _, id := range []string{c.exited, c.returned, c.billed} {
		exit(t, env, id, 1, sep2, date(2024, 10, 20))
	}
	exit(t, env, c.recent, 1, sep2, date(2024, 12, 28))
	freezeBreakdowns(t, env, 2024, 9)
	reportHours(t, env, c.billed, "c-9", date(2024, 10, 3), &commonv1.Month{Year: 2024, Month: 10})

	env.SetNow(time.Date(2026, 11, 26, 10, 0, 0, 0, paris))
	enter(t, env, c.returned, 2, nov2)
	env.CaughtUp(t)
	c.admin = intakev1.NewIntakeServiceClient(env.ConnAs(t, servicetest.Admin))
	return c
}

func candidateIDs(cs []*intakev1.RetentionCandidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.GetLearnerId())
	}
	return out
}

func isErased(t *testing.T, c retentionCase, id string) bool {
	t.Helper()
	l, err := c.admin.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	return l.GetLearner().GetErased()
}

func TestRetentionPlanAndApply(t *testing.T) {
	t.Parallel()
	c := retentionSetup(t)
	before := countEvents(t, c.env)

	plan, err := c.admin.PlanRetention(ctx(t), &intakev1.PlanRetentionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantDue := []*intakev1.RetentionCandidate{
		{LearnerId: c.never, TerritoryCode: "T05", DueOn: date(2026, 8, 1)},
		{LearnerId: c.exited, TerritoryCode: "T05", LastExit: date(2024, 10, 20), DueOn: date(2026, 10, 20)},
	}
	if !proto.Equal(plan.GetPlannedOn(), nov26) || plan.GetRetentionMonths() != 24 || len(plan.GetDue()) != 2 ||
		!proto.Equal(plan.GetDue()[0], wantDue[0]) || !proto.Equal(plan.GetDue()[1], wantDue[1]) {
		t.Fatalf("plan %v", plan)
	}
	held := plan.GetHeld()
	if got := candidateIDs(held); len(got) != 2 || !slices.Contains(got, c.returned) || !slices.Contains(got, c.billed) {
		t.Fatalf("held %v", held)
	}
	for _, h := range held {
		want := map[string]string{c.returned: "open episode", c.billed: "contract c-9 2024-10"}[h.GetLearnerId()]
		if !strings.Contains(h.GetHeldReason(), want) || !proto.Equal(h.GetLastExit(), date(2024, 10, 20)) {
			t.Errorf("held %v, want a reason saying %q", h, want)
		}
	}
	if n := countEvents(t, c.env); n != before {
		t.Fatalf("a plan appended %d events", n-before)
	}

	applied, err := c.admin.ApplyRetention(ctx(t), &intakev1.ApplyRetentionRequest{RequestId: "apply-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(applied.GetPlan(), plan) || !slices.Equal(applied.GetErasedLearnerIds(), []string{c.never, c.exited}) {
		t.Fatalf("applied %v", applied)
	}
	for id, erased := range map[string]bool{c.never: true, c.exited: true, c.recent: false, c.returned: false, c.billed: false} {
		if isErased(t, c, id) != erased {
			t.Errorf("learner %s erased: %v, want %v", id, !erased, erased)
		}
	}
	planned := c.env.Events(t, service.Stream, "avenir.intake.retention.>")
	wantPlanned := &intakev1.RetentionPlanned{PlannedOn: nov26, RetentionMonths: 24,
		DueLearnerIds: []string{c.never, c.exited}, HeldLearnerIds: candidateIDs(held)}
	if len(planned) != 1 || planned[0].Subject != "avenir.intake.retention.2026-11-26.planned" || !proto.Equal(planned[0].Data, wantPlanned) {
		t.Fatalf("recorded %v", planned)
	}
	erasure := c.env.Events(t, service.Stream, "avenir.intake.learner."+c.exited+".erased")
	wantErasure := &intakev1.LearnerErased{LearnerId: c.exited, TerritoryCode: "T05", ErasedOn: nov26,
		Ground: intakev1.ErasureGround_ERASURE_GROUND_RETENTION, Reference: "retention 2026-11-26"}
	if len(erasure) != 1 || !proto.Equal(erasure[0].Data, wantErasure) || erasure[0].Actor != "service:intake" {
		t.Fatalf("erasure %v", erasure)
	}

	// The same day, the recorded plan answers again, and nobody is erased
	// twice.
	again, err := c.admin.ApplyRetention(ctx(t), &intakev1.ApplyRetentionRequest{RequestId: "apply-2"})
	if err != nil || len(again.GetErasedLearnerIds()) != 0 || !slices.Equal(candidateIDs(again.GetPlan().GetDue()), []string{c.never, c.exited}) {
		t.Fatalf("again: %v %v", again, err)
	}
	replayed, err := c.admin.ApplyRetention(ctx(t), &intakev1.ApplyRetentionRequest{RequestId: "apply-1"})
	if err != nil || len(replayed.GetErasedLearnerIds()) != 0 || len(replayed.GetPlan().GetDue()) != 2 {
		t.Fatalf("replayed: %v %v", replayed, err)
	}
	if n := len(c.env.Events(t, service.Stream, "avenir.intake.retention.>")); n != 1 {
		t.Fatalf("%d plans recorded", n)
	}
	// Erased learners are out of the next plans.
	next, err := c.admin.PlanRetention(ctx(t), &intakev1.PlanRetentionRequest{})
	if err != nil || len(next.GetDue()) != 0 || len(next.GetHeld()) != 2 {
		t.Fatalf("next plan %v %v", next, err)
	}
}

// The daily job does what ApplyRetention does, once a day on the services'
// clock.
func TestRetentionJob(t *testing.T) {
	t.Parallel()
	c := retentionSetup(t)
	job := c.env.Services[0].Wiring().Jobs[0]
	if job.Name != "intake-retention" || job.Every != time.Minute {
		t.Fatalf("job %+v", job)
	}
	if err := job.Run(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for id, erased := range map[string]bool{c.never: true, c.exited: true, c.recent: false, c.returned: false, c.billed: false} {
		if isErased(t, c, id) != erased {
			t.Errorf("learner %s erased: %v, want %v", id, !erased, erased)
		}
	}
	planned := c.env.Events(t, service.Stream, "avenir.intake.retention.>")
	if len(planned) != 1 || planned[0].Actor != "service:intake" {
		t.Fatalf("plans %v", planned)
	}
	// Once a day: the statement closes, but the job waits for the next day.
	closeStatement(t, c.env, "c-9", &commonv1.Month{Year: 2024, Month: 10})
	c.env.CaughtUp(t)
	if err := job.Run(ctx(t)); err != nil || isErased(t, c, c.billed) {
		t.Fatalf("ran twice a day: %v", err)
	}
	c.env.SetNow(time.Date(2026, 11, 27, 10, 0, 0, 0, paris))
	c.admin = intakev1.NewIntakeServiceClient(c.env.ConnAs(t, servicetest.Admin))
	if err := job.Run(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !isErased(t, c, c.billed) || isErased(t, c, c.recent) || isErased(t, c, c.returned) {
		t.Fatal("the next day's job")
	}
	if gone, err := c.env.Keys.Erased(ctx(t), privacy.LearnerKey(c.billed)); err != nil || !gone {
		t.Fatalf("key: %v %v", gone, err)
	}
	if n := len(c.env.Events(t, service.Stream, "avenir.intake.retention.>")); n != 2 {
		t.Fatalf("%d plans recorded", n)
	}
}

func TestRetentionMonthsAreConfigured(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	for _, months := range []int{-1, 1201} {
		if _, err := service.New(env.Deps, service.Config{RetentionMonths: months}); err == nil {
			t.Errorf("%d months accepted", months)
		}
	}
	_, client := startWith(t, servicetest.Options{}, service.Config{RetentionMonths: 36})
	plan, err := client.PlanRetention(ctx(t), &intakev1.PlanRetentionRequest{})
	if err != nil || plan.GetRetentionMonths() != 36 {
		t.Fatalf("plan %v %v", plan, err)
	}
}

// An erasure whose claims and key were not finished after its append (the
// process stopped) is finished by the erasure consumer.
func TestErasureConsumerFinishesErasures(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	id := registered(t, env)
	env.Publish(t, "avenir.intake.learner."+id+".erased", &intakev1.LearnerErased{
		LearnerId: id, TerritoryCode: "T05", ErasedOn: nov26, Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "ticket 13",
	})
	env.CaughtUp(t)
	if gone, err := env.Keys.Erased(ctx(t), privacy.LearnerKey(id)); err != nil || !gone {
		t.Fatalf("key erased: %v %v", gone, err)
	}
	if h := holderOf(t, env, "identity", anaisIdentity); h != "" {
		t.Errorf("identity held by %q", h)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != "" {
		t.Errorf("France Travail id held by %q", h)
	}
}
