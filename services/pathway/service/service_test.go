package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func TestEnterPathwayRecordsTheEntryAndGetPathwayReadsIt(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	id := registered(t, env, "T16")
	entry := date(2026, 11, 20)
	resp, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPathway()
	if p.GetStatus() != pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE || p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED ||
		p.GetTerritoryCode() != "T16" || len(p.GetEpisodes()) != 1 || !proto.Equal(p.GetEpisodes()[0].GetEntryDate(), entry) ||
		p.GetEpisodes()[0].GetExitDate() != nil || p.GetEpisodes()[0].ExitDetail != nil || p.GetVersion() == 0 {
		t.Fatalf("pathway %v", p)
	}
	evs := pathwayEvents(t, env, id)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	want := &pathwayv1.PathwayEntered{LearnerId: id, EpisodeNumber: 1, EntryDate: entry, TerritoryCode: "T16"}
	if !proto.Equal(evs[0].Data, want) || evs[0].Subject != "avenir.pathway.pathway."+id+".entered" || evs[0].Source != "pathway" {
		t.Fatalf("event %s %v", evs[0].Subject, evs[0].Data)
	}
	readModel(t, env, client, p)

	// A retry of the same command returns the same pathway and appends nothing.
	again, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-1", LearnerId: id, EntryDate: entry})
	if err != nil || !proto.Equal(again.GetPathway(), p) {
		t.Fatalf("retry: %v %v", again.GetPathway(), err)
	}
	// A new command while the episode is open is refused.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "enter-2", LearnerId: id, EntryDate: entry})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	nothingAppended(t, env, id, 1)
}

func TestEnterPathwayRefusesUnknownLearnersAndBadInput(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	unknown := event.NewID()
	_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "r", LearnerId: unknown, EntryDate: date(2026, 11, 20)})
	servicetest.Refused(t, err, codes.FailedPrecondition)
	// Every problem at once.
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{LearnerId: "nope", EntryDate: date(2026, 12, 1)})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "learner_id", "entry_date")

	id := registered(t, env, "T01")
	tests := []struct {
		name  string
		entry *pathwayv1.EnterPathwayRequest
	}{
		{"in the future", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 11, 27)}},
		{"missing", &pathwayv1.EnterPathwayRequest{}},
		{"not a date", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 2, 29)}},
		{"before the registration (2 November)", &pathwayv1.EnterPathwayRequest{EntryDate: date(2026, 11, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.entry.RequestId, tc.entry.LearnerId = event.NewID(), id
			_, err := client.EnterPathway(ctx(t), tc.entry)
			servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		})
	}
	_, err = client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.NotFound)

	// Not before the learner turned 16 (a registration recorded before
	// registered_on existed bounds nothing else).
	young := event.NewID()
	env.Publish(t, "avenir.intake.learner."+young+".registered", &intakev1.LearnerRegistered{
		LearnerId: young, TerritoryCode: "T01", BirthDate: date(2010, 11, 20),
	})
	env.CaughtUp(t)
	_, err = client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "young", LearnerId: young, EntryDate: date(2026, 11, 19)})
	servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
	if n := len(env.Events(t, service.Stream, "avenir.pathway.>")); n != 0 {
		t.Fatalf("refused commands appended %d events", n)
	}
}

func TestEntryMayBeBackdatedByAConfigurableNumberOfDays(t *testing.T) {
	t.Parallel()
	t.Run("30 days by default", func(t *testing.T) {
		t.Parallel()
		env, client := start(t, servicetest.Options{})
		id := registeredOn(t, env, "T05", date(2026, 9, 1))
		_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "old", LearnerId: id, EntryDate: date(2026, 10, 26)})
		servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		if st := status.Convert(err); st.Message() != "invalid argument: entry_date: must not be more than 30 days before today (2026-10-27 at the earliest)" {
			t.Fatalf("message %q", st.Message())
		}
		nothingAppended(t, env, id, 0)
		enter(t, client, id, date(2026, 10, 27))
	})
	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		env, client := startWith(t, servicetest.Options{}, service.Config{MaxEntryBackdateDays: 3})
		id := registered(t, env, "T05")
		_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: "old", LearnerId: id, EntryDate: date(2026, 11, 22)})
		servicetest.Refused(t, err, codes.InvalidArgument, "entry_date")
		nothingAppended(t, env, id, 0)
		enter(t, client, id, date(2026, 11, 23))
	})
	t.Run("never negative", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, servicetest.Options{})
		if _, err := service.New(env.Deps, service.Config{MaxEntryBackdateDays: -1}); err == nil {
			t.Fatal("a negative maximum was accepted")
		}
	})
}

// Read models are rebuilt from the streams into a fresh store (an in-memory
// store after a process restart, a new Redis), the same as they were built.
func TestReadModelsAreRebuiltFromTheStreamsInAFreshStore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, store)
			opts := servicetest.Options{Store: fresh()}
			env, client := start(t, opts)
			id := registeredOn(t, env, "T09", date(2026, 10, 1))
			enter(t, client, id, date(2026, 10, 28))
			refer(t, client, id, pathwayv1.Programme_PROGRAMME_QUALIF, date(2026, 10, 29))
			exit(t, client, id, date(2026, 11, 3), pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, "")
			enter(t, client, id, date(2026, 11, 4))
			// What the scheme's figures and the operators' access read:
			// intake's situation, an enrolment, an immersion, a target.
			publishSituation(t, env, id, date(2026, 11, 10), true, &intakev1.Situation{QpvResident: true, EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4})
			enrol(t, client, id, contract(t, env, "op-9", avenir, "T09"), accompaniment, date(2026, 11, 4))
			publishSession(t, env, "s-9",
				&immersionv1.PlaceBooked{SessionId: "s-9", LearnerId: id, OperatorId: "op-h", FromDate: date(2026, 11, 16), ToDate: date(2026, 11, 20)},
				&immersionv1.OutcomeRecorded{SessionId: "s-9", LearnerId: id, OperatorId: "op-h", Status: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED})
			env.Publish(t, "avenir.funding.programme.action-2026.set", &fundingv1.ProgrammeYearSet{
				ProgrammeYearId: "action-2026", Programme: action, Year: 2026, BeneficiariesTarget: 40,
			})
			env.CaughtUp(t)
			// The pathway as the read model holds it: the immersion noted.
			resp, err := client.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
			p := resp.GetPathway()
			if err != nil || p.GetEpisodes()[1].GetImmersionsDone() != 1 {
				t.Fatalf("pathway %v %v", p, err)
			}
			stats := &pathwayv1.GetFlowStatisticsRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 10}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
			before := snapshot(t, env, id, stats)

			// Restart with an empty store: the same durable consumers replay
			// the streams into it.
			deps := env.Deps
			deps.Projections = fresh()
			svc := env.Rebuild(t, deps.Projections, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
			got, err := deps.Projections.Get(ctx(t), "pathway-pathways-v3", "pathway:"+id)
			if err != nil {
				t.Fatalf("rebuilt read model: %v", err)
			}
			// Stored without the exit details, which are read from the
			// stream (an admin read "" for the exit without one).
			want := proto.CloneOf(p)
			for _, e := range want.GetEpisodes() {
				e.ExitDetail = nil
			}
			var stored pathwayv1.Pathway
			if err := proto.Unmarshal(got, &stored); err != nil || !proto.Equal(&stored, want) {
				t.Fatalf("rebuilt %v, want %v (%v)", &stored, want, err)
			}
			after := snapshotFrom(t, svc, id, stats)
			if !after.equal(before) {
				t.Fatalf("rebuilt read models differ:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// readModels is what the read models answer about one learner, to an
// admin (and what a funder and the operator it is enrolled with read).
type readModels struct {
	list       *pathwayv1.ListPathwaysResponse
	timeline   *pathwayv1.GetTimelineResponse
	flows      *pathwayv1.GetFlowStatisticsResponse
	briefs     *pathwayv1.GetTimelineResponse
	operator   *pathwayv1.ListPathwaysResponse
	targets    *pathwayv1.GetProgrammeTargetsResponse
	outcomes   *pathwayv1.GetOutcomesResponse
	breakdowns *pathwayv1.GetBreakdownsResponse
}

// operator9 is the operator of the rebuild test's enrolment.
var operator9 = auth.Principal{Subject: "u-op9", Role: auth.RoleOperator, OperatorID: "op-9"}

func (r readModels) messages() []proto.Message {
	return []proto.Message{r.list, r.timeline, r.flows, r.briefs, r.operator, r.targets, r.outcomes, r.breakdowns}
}

func (r readModels) equal(o readModels) bool {
	mine, theirs := r.messages(), o.messages()
	for i := range mine {
		if !proto.Equal(mine[i], theirs[i]) {
			return false
		}
	}
	return true
}

// noError fails the test on the first of errs that is not nil.
func noError(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

var (
	schemeMonths = &pathwayv1.GetOutcomesRequest{FromMonth: &commonv1.Month{Year: 2026, Month: 10}, ToMonth: &commonv1.Month{Year: 2026, Month: 11}}
	schemeYear   = &pathwayv1.GetProgrammeTargetsRequest{Year: 2026}
	entryMonths  = &pathwayv1.GetBreakdownsRequest{FromMonth: schemeMonths.GetFromMonth(), ToMonth: schemeMonths.GetToMonth()}
)

// snapshot reads the read models over gRPC, checking they hold what the
// test built.
func snapshot(t *testing.T, env *servicetest.Env, id string, stats *pathwayv1.GetFlowStatisticsRequest) readModels {
	t.Helper()
	admin := pathwayv1.NewPathwayServiceClient(env.Conn)
	funding := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, funder))
	operator := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, operator9))
	var r readModels
	var errs [8]error
	r.list, errs[0] = admin.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
	r.timeline, errs[1] = admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.flows, errs[2] = admin.GetFlowStatistics(ctx(t), stats)
	r.briefs, errs[3] = funding.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.operator, errs[4] = operator.ListPathways(ctx(t), &pathwayv1.ListPathwaysRequest{})
	r.targets, errs[5] = admin.GetProgrammeTargets(ctx(t), schemeYear)
	r.outcomes, errs[6] = admin.GetOutcomes(ctx(t), schemeMonths)
	r.breakdowns, errs[7] = admin.GetBreakdowns(ctx(t), entryMonths)
	noError(t, errs[:]...)
	// Two entries, the second with the QPV of 10 November not yet; the
	// #Action target set to 40: 1 beneficiary is 2%.
	if len(r.list.GetPathways()) != 1 || len(r.operator.GetPathways()) != 1 || len(r.timeline.GetEntries()) != 10 ||
		len(r.briefs.GetEntries()) != 10 || proto.Equal(r.briefs, r.timeline) || len(r.flows.GetTerritories()) != 2 ||
		r.targets.GetTotals()[1].GetPercentOfTarget() != 2 || r.outcomes.GetTotal().GetImmersionsCompleted().GetValue() != 1 ||
		r.breakdowns.GetTotal().GetEntries().GetValue() != 2 || r.breakdowns.GetTotal().GetQpv().GetValue() != 0 {
		t.Fatalf("read models before the rebuild: %v", r)
	}
	return r
}

// snapshotFrom reads the same from a service that serves no gRPC.
func snapshotFrom(t *testing.T, svc *service.Service, id string, stats *pathwayv1.GetFlowStatisticsRequest) readModels {
	t.Helper()
	admin, funding, operator := adminContext(t), auth.NewContext(ctx(t), funder), auth.NewContext(ctx(t), operator9)
	var r readModels
	var errs [8]error
	r.list, errs[0] = svc.ListPathways(admin, &pathwayv1.ListPathwaysRequest{})
	r.timeline, errs[1] = svc.GetTimeline(admin, &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.flows, errs[2] = svc.GetFlowStatistics(admin, stats)
	r.briefs, errs[3] = svc.GetTimeline(funding, &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.operator, errs[4] = svc.ListPathways(operator, &pathwayv1.ListPathwaysRequest{})
	r.targets, errs[5] = svc.GetProgrammeTargets(admin, schemeYear)
	r.outcomes, errs[6] = svc.GetOutcomes(admin, schemeMonths)
	r.breakdowns, errs[7] = svc.GetBreakdowns(admin, entryMonths)
	noError(t, errs[:]...)
	return r
}

func (r readModels) String() string {
	var b strings.Builder
	for _, m := range r.messages() {
		fmt.Fprintf(&b, "%v\n", m)
	}
	return b.String()
}

func adminContext(t *testing.T) context.Context {
	return auth.NewContext(ctx(t), servicetest.Admin)
}
