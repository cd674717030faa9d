package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

var (
	referentT05 = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05"}}
	referentT06 = auth.Principal{Subject: "u-ref6", Role: auth.RoleReferent, ReferentID: "ref-6", Territories: []string{"T06"}}

	accompaniment = pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT
	savoirs       = pathwayv1.EnrolmentKind_ENROLMENT_KIND_SAVOIRS
	avenir        = commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR
	otherFunding  = commonv1.FundingProgramme_FUNDING_PROGRAMME_OTHER
)

// publishContract publishes funding's ContractCreated for a new contract
// with terms, as funding would, and waits until pathway knows it.
func publishContract(t *testing.T, env *servicetest.Env, terms *fundingv1.ContractTerms) string {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.funding.contract."+id+".created", &fundingv1.ContractCreated{ContractId: id, Terms: terms})
	env.CaughtUp(t)
	return id
}

// contract publishes a contract of operator for 2026, over the lot of
// territories, paid by programme.
func contract(t *testing.T, env *servicetest.Env, operator string, programme commonv1.FundingProgramme, territories ...string) string {
	t.Helper()
	return publishContract(t, env, terms(operator, programme, date(2026, 1, 1), date(2026, 12, 31), territories...))
}

func terms(operator string, programme commonv1.FundingProgramme, from, to *commonv1.Date, territories ...string) *fundingv1.ContractTerms {
	return &fundingv1.ContractTerms{
		OperatorId: operator, Reference: "AO-2026-" + operator, TerritoryCodes: territories, PeriodFrom: from, PeriodTo: to,
		TraineeHourRateCents: 1800, GroupHourRateCents: 4500, AnnualEnvelopeCents: 50_000_00, DailyCapMinutes: 420,
		WeeklyCapMinutes: 2100, MaxGroupSize: 12, Programme: programme,
	}
}

func enrolReq(learnerID, contractID string, kind pathwayv1.EnrolmentKind, from *commonv1.Date) *pathwayv1.EnrolRequest {
	return &pathwayv1.EnrolRequest{RequestId: event.NewID(), LearnerId: learnerID, ContractId: contractID, Kind: kind, FromDate: from}
}

// enrol enrols a learner and fails the test if it is refused.
func enrol(t *testing.T, client pathwayv1.PathwayServiceClient, learnerID, contractID string, kind pathwayv1.EnrolmentKind, from *commonv1.Date) *pathwayv1.EnrolResponse {
	t.Helper()
	resp, err := client.Enrol(ctx(t), enrolReq(learnerID, contractID, kind, from))
	if err != nil {
		t.Fatalf("enrol %s with %s from %v: %v", learnerID, contractID, from, err)
	}
	return resp
}

func endReq(learnerID string, n int32, to *commonv1.Date) *pathwayv1.EndEnrolmentRequest {
	return &pathwayv1.EndEnrolmentRequest{RequestId: event.NewID(), LearnerId: learnerID, EnrolmentNumber: n, ToDate: to}
}

// stepOf is the events of the append that stored ev: those with its
// request id, checked to be consecutive and of one time.
func stepOf(t *testing.T, all []event.Event, ev event.Event) []event.Event {
	t.Helper()
	var batch []event.Event
	for _, e := range all {
		if e.RequestID == ev.RequestID {
			if n := len(batch); n > 0 && (e.Sequence != batch[n-1].Sequence+1 || !e.Time.Equal(batch[0].Time)) {
				t.Fatalf("not one append: %+v after %+v", e, batch[n-1])
			}
			batch = append(batch, e)
		}
	}
	return batch
}

func TestEnrolmentsFromEnrolmentToExit(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	referent := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, referentT05))
	evreux := contract(t, env, "op-evreux", avenir, "T05", "T06")
	clps := contract(t, env, "op-clps", otherFunding, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)

	// Enrolled with the accompaniment from the day of entry.
	first := enrol(t, referent, id, evreux, accompaniment, nov2)
	want := &pathwayv1.Enrolment{Number: 1, ContractId: evreux, OperatorId: "op-evreux", Kind: accompaniment, Programme: avenir, FromDate: nov2}
	p := first.GetPathway()
	if !proto.Equal(first.GetEnrolment(), want) || len(p.GetEpisodes()[0].GetEnrolments()) != 1 ||
		!proto.Equal(p.GetEpisodes()[0].GetEnrolments()[0], want) || p.GetPhase() != pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED {
		t.Fatalf("enrolled: %v", first)
	}
	evs := pathwayEvents(t, env, id)
	stored := evs[len(evs)-1]
	if !proto.Equal(stored.Data, &pathwayv1.LearnerEnrolled{
		LearnerId: id, EpisodeNumber: 1, EnrolmentNumber: 1, ContractId: evreux, OperatorId: "op-evreux",
		Kind: accompaniment, FromDate: nov2, TerritoryCode: "T05", Programme: avenir,
	}) || stored.Subject != "avenir.pathway.pathway."+id+".enrolled" || stored.Actor != "referent:ref-5" || len(phaseChanges(t, env, id)) != 1 {
		t.Fatalf("stored %+v", stored)
	}
	readModel(t, env, admin, p)

	// A Savoirs action starting next month, cancelled the day before it
	// starts; then the same contract again, from today.
	second := enrol(t, referent, id, clps, savoirs, date(2026, 12, 1))
	if second.GetEnrolment().GetNumber() != 2 {
		t.Fatalf("second enrolment %v", second.GetEnrolment())
	}
	cancelled, err := referent.EndEnrolment(ctx(t), endReq(id, 2, date(2026, 11, 30)))
	if err != nil || !proto.Equal(cancelled.GetEnrolment().GetToDate(), date(2026, 11, 30)) ||
		cancelled.GetEnrolment().GetEndReason() != pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED ||
		!proto.Equal(cancelled.GetPathway().GetEpisodes()[0].GetEnrolments()[1], cancelled.GetEnrolment()) {
		t.Fatalf("cancelled: %v %v", cancelled, err)
	}
	third := enrol(t, referent, id, clps, savoirs, today)
	if third.GetEnrolment().GetNumber() != 3 {
		t.Fatalf("third enrolment %v", third.GetEnrolment())
	}

	// A back-dated exit ends the open enrolments in the same append: on its
	// date, or the day before the first day of one starting after it.
	exited := exit(t, referent, id, date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, "")
	var tos []string
	for _, en := range exited.GetEpisodes()[0].GetEnrolments() {
		tos = append(tos, fmt.Sprintf("%d %s %s", en.GetNumber(), civilFrom(en.GetToDate()), en.GetEndReason()))
	}
	if w := []string{
		"1 2026-11-20 ENROLMENT_END_REASON_PATHWAY_EXIT", "2 2026-11-30 ENROLMENT_END_REASON_ENDED", "3 2026-11-25 ENROLMENT_END_REASON_PATHWAY_EXIT",
	}; !slices.Equal(tos, w) {
		t.Fatalf("enrolments after the exit: %v, want %v", tos, w)
	}
	all := env.Events(t, service.Stream, "avenir.pathway.pathway."+id+".>")
	var exitEvent event.Event
	for _, e := range all {
		if _, ok := e.Data.(*pathwayv1.PathwayExited); ok {
			exitEvent = e
		}
	}
	batch := stepOf(t, all, exitEvent)
	var types []string
	for _, e := range batch {
		types = append(types, e.Subject[strings.LastIndexByte(e.Subject, '.')+1:])
	}
	if w := []string{"exited", "enrolment_ended", "enrolment_ended", "exit_backdated", "phase_changed"}; !slices.Equal(types, w) {
		t.Fatalf("the exit's append: %v, want %v", types, w)
	}
	for i, w := range []*pathwayv1.EnrolmentEnded{
		{LearnerId: id, EpisodeNumber: 1, EnrolmentNumber: 1, ContractId: evreux, OperatorId: "op-evreux", ToDate: date(2026, 11, 20),
			Reason: pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT, TerritoryCode: "T05"},
		{LearnerId: id, EpisodeNumber: 1, EnrolmentNumber: 3, ContractId: clps, OperatorId: "op-clps", ToDate: date(2026, 11, 25),
			Reason: pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT, TerritoryCode: "T05"},
	} {
		if !proto.Equal(batch[1+i].Data, w) {
			t.Fatalf("ended by the exit: %v, want %v", batch[1+i].Data, w)
		}
	}
	readModel(t, env, admin, exited)

	// The timeline tells it.
	timeline, err := admin.GetTimeline(ctx(t), &pathwayv1.GetTimelineRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, e := range timeline.GetEntries() {
		summaries = append(summaries, e.GetSummary())
	}
	for _, w := range []string{
		"Enrolled with op-evreux (contract " + evreux + ", accompaniment) from 2026-11-02 (enrolment 1)",
		"Enrolled with op-clps (contract " + clps + ", Savoirs) from 2026-12-01 (enrolment 2)",
		"Enrolment 2 with op-clps ended on 2026-11-30",
		"Enrolment 1 with op-evreux ended on 2026-11-20 (pathway exit)",
		"Enrolment 3 with op-clps ended on 2026-11-25 (pathway exit)",
	} {
		if !slices.Contains(summaries, w) {
			t.Errorf("no %q in the timeline %q", w, summaries)
		}
	}

	// The listing, by operator, contract, learner and number; and who was
	// enrolled on a day.
	list := func(req *pathwayv1.ListEnrolmentsRequest) []string {
		t.Helper()
		resp, err := admin.ListEnrolments(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range resp.GetEnrolments() {
			if l.GetLearnerId() != id || l.GetTerritoryCode() != "T05" || l.GetEpisodeNumber() != 1 {
				t.Fatalf("listing %v", l)
			}
			got = append(got, fmt.Sprint(l.GetEnrolment().GetNumber()))
		}
		return got
	}
	if got := list(&pathwayv1.ListEnrolmentsRequest{}); !slices.Equal(got, []string{"2", "3", "1"}) {
		t.Fatalf("listed %v", got)
	}
	if got := list(&pathwayv1.ListEnrolmentsRequest{ActiveOn: date(2026, 11, 20)}); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("enrolled on the exit day: %v", got)
	}
	if got := list(&pathwayv1.ListEnrolmentsRequest{ActiveOn: date(2026, 11, 21)}); len(got) != 0 {
		t.Fatalf("enrolled the day after the exit: %v", got)
	}
}

// An exit today ends the open enrolments today, without a late-exit notice.
func TestExitTodayEndsTheEnrolmentsToday(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	enrol(t, admin, id, evreux, accompaniment, nov2)
	p := exit(t, admin, id, today, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, "")
	en := p.GetEpisodes()[0].GetEnrolments()[0]
	if !proto.Equal(en.GetToDate(), today) || en.GetEndReason() != pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT {
		t.Fatalf("after the exit: %v", en)
	}
	all := env.Events(t, service.Stream, "avenir.pathway.pathway."+id+".>")
	var types []string
	for _, e := range stepOf(t, all, all[len(all)-1]) {
		types = append(types, e.Subject[strings.LastIndexByte(e.Subject, '.')+1:])
	}
	if w := []string{"exited", "enrolment_ended", "phase_changed"}; !slices.Equal(types, w) {
		t.Fatalf("the exit's append: %v, want %v", types, w)
	}
	readModel(t, env, admin, p)
}

func TestEnrolRefusals(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	caen := contract(t, env, "op-caen", avenir, "T01")
	lateStart := publishContract(t, env, terms("op-late", otherFunding, date(2026, 11, 10), date(2027, 6, 30), "T05"))
	twoYears := publishContract(t, env, terms("op-long", otherFunding, date(2026, 1, 1), date(2027, 12, 31), "T05"))
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	enrol(t, admin, id, evreux, accompaniment, nov2)
	gone := registered(t, env, "T05")
	enter(t, admin, gone, nov2)
	exit(t, admin, gone, date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")
	held, goneHeld := len(pathwayEvents(t, env, id)), len(pathwayEvents(t, env, gone))

	tests := []struct {
		name   string
		req    *pathwayv1.EnrolRequest
		code   codes.Code
		detail []string // the fields (InvalidArgument) or the reason (FailedPrecondition)
	}{
		{"a contract pathway does not know (yet)", enrolReq(id, event.NewID(), savoirs, today), codes.FailedPrecondition, []string{"CONTRACT_UNKNOWN"}},
		{"the learner's territory is not in the lot", enrolReq(id, caen, savoirs, today), codes.FailedPrecondition, []string{"TERRITORY_NOT_IN_LOT"}},
		{"a closed episode", enrolReq(gone, evreux, accompaniment, today), codes.FailedPrecondition, []string{"LEARNER_NOT_IN_PATHWAY"}},
		{"a second open enrolment on the contract", enrolReq(id, evreux, savoirs, today), codes.AlreadyExists, nil},
		{"before the entry", enrolReq(id, twoYears, savoirs, date(2026, 11, 1)), codes.InvalidArgument, []string{"from_date"}},
		{"before the contract's period", enrolReq(id, lateStart, savoirs, date(2026, 11, 9)), codes.InvalidArgument, []string{"from_date"}},
		{"after the contract's period", enrolReq(id, evreux, savoirs, date(2027, 1, 4)), codes.InvalidArgument, []string{"from_date"}},
		{"more than 90 days ahead", enrolReq(id, twoYears, savoirs, date(2027, 2, 25)), codes.InvalidArgument, []string{"from_date"}},
		{"every problem at once", &pathwayv1.EnrolRequest{LearnerId: "x", ContractId: "c-1"}, codes.InvalidArgument,
			[]string{"request_id", "learner_id", "contract_id", "kind", "from_date"}},
		{"no kind, no date", &pathwayv1.EnrolRequest{RequestId: "r", LearnerId: id, ContractId: evreux}, codes.InvalidArgument, []string{"kind", "from_date"}},
		{"a learner without a pathway", enrolReq(event.NewID(), evreux, savoirs, today), codes.NotFound, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := admin.Enrol(ctx(t), tc.req)
			servicetest.Refused(t, err, tc.code, tc.detail...)
			nothingAppended(t, env, id, held)
			nothingAppended(t, env, gone, goneHeld)
		})
	}

	t.Run("the duplicate names the enrolment", func(t *testing.T) {
		_, err := admin.Enrol(ctx(t), enrolReq(id, evreux, savoirs, today))
		if status.Code(err) != codes.AlreadyExists || grpcx.Metadata(err)["enrolment_number"] != "1" || !strings.Contains(err.Error(), "enrolment 1") {
			t.Fatalf("duplicate: %v (%v)", err, grpcx.Metadata(err))
		}
	})

	t.Run("a contract not known yet is known a moment later: the same request then succeeds", func(t *testing.T) {
		later := event.NewID()
		req := enrolReq(id, later, savoirs, today)
		_, err := admin.Enrol(ctx(t), req)
		servicetest.Refused(t, err, codes.FailedPrecondition, "CONTRACT_UNKNOWN")
		if !strings.Contains(err.Error(), "retry shortly") {
			t.Fatalf("refusal %v", err)
		}
		env.Publish(t, "avenir.funding.contract."+later+".created", &fundingv1.ContractCreated{ContractId: later, Terms: terms("op-new", avenir, date(2026, 1, 1), date(2026, 12, 31), "T01")})
		env.CaughtUp(t)
		_, err = admin.Enrol(ctx(t), req)
		servicetest.Refused(t, err, codes.FailedPrecondition, "TERRITORY_NOT_IN_LOT")
		// Funding widens the lot: pathway follows the update.
		env.Publish(t, "avenir.funding.contract."+later+".updated", &fundingv1.ContractUpdated{
			ContractId: later, Terms: terms("op-new", avenir, date(2026, 1, 1), date(2026, 12, 31), "T01", "T05"), Reason: "lot widened",
		})
		env.CaughtUp(t)
		resp, err := admin.Enrol(ctx(t), req)
		if err != nil || resp.GetEnrolment().GetNumber() != 2 || resp.GetEnrolment().GetOperatorId() != "op-new" {
			t.Fatalf("enrolled once the contract is known: %v %v", resp, err)
		}
		held++
	})

	t.Run("ending", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			req    *pathwayv1.EndEnrolmentRequest
			code   codes.Code
			detail []string
		}{
			{"in the future", endReq(id, 1, date(2026, 11, 27)), codes.InvalidArgument, []string{"to_date"}},
			{"two days before its first day", endReq(id, 1, date(2026, 10, 31)), codes.InvalidArgument, []string{"to_date"}},
			{"every problem at once", &pathwayv1.EndEnrolmentRequest{LearnerId: id}, codes.InvalidArgument, []string{"request_id", "enrolment_number", "to_date"}},
			{"an enrolment the learner does not have", endReq(id, 9, today), codes.NotFound, nil},
			{"a learner without a pathway", endReq(event.NewID(), 1, today), codes.NotFound, nil},
		} {
			_, err := admin.EndEnrolment(ctx(t), tc.req)
			servicetest.Refused(t, err, tc.code, tc.detail...)
			nothingAppended(t, env, id, held)
		}
		if _, err := admin.EndEnrolment(ctx(t), endReq(id, 1, today)); err != nil {
			t.Fatal(err)
		}
		_, err := admin.EndEnrolment(ctx(t), endReq(id, 1, today))
		servicetest.Refused(t, err, codes.FailedPrecondition, "ENROLMENT_ENDED")
		nothingAppended(t, env, id, held+1)
	})
}

// Referents acting for the learner, its territory's coordinators and
// admins enrol and end enrolments; other referents do not see the learner;
// operators and funders are refused by the policy.
func TestEnrolmentAccess(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	env.Publish(t, "avenir.referent.assignment."+id+".assigned", &referentv1.ReferentAssigned{
		LearnerId: id, ReferentId: "ref-a", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov2,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	env.CaughtUp(t)

	for _, tc := range []struct {
		name string
		as   auth.Principal
		want codes.Code
	}{
		{"another referent of the territory", auth.Principal{Subject: "u-b", Role: auth.RoleReferent, ReferentID: "ref-b", Territories: []string{"T05"}}, codes.NotFound},
		{"a referent of another territory", referentT01, codes.NotFound},
		{"an operator", auth.Principal{Subject: "u-op", Role: auth.RoleOperator, OperatorID: "op-evreux", Territories: []string{"T05"}}, codes.PermissionDenied},
		{"a funder", funder, codes.PermissionDenied},
		{"the learner's referent", auth.Principal{Subject: "u-a", Role: auth.RoleReferent, ReferentID: "ref-a", Territories: []string{"T05"}}, codes.OK},
		{"the territory's coordinator", auth.Principal{Subject: "u-c", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}, codes.OK},
		{"an admin", servicetest.Admin, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, tc.as))
			held := len(pathwayEvents(t, env, id))
			resp, err := client.Enrol(ctx(t), enrolReq(id, evreux, accompaniment, today))
			if status.Code(err) != tc.want {
				t.Fatalf("enrol: %v, want %v", err, tc.want)
			}
			// Refused, it would end enrolment 1; allowed, it ends its own.
			n := max(resp.GetEnrolment().GetNumber(), 1)
			_, err = client.EndEnrolment(ctx(t), endReq(id, n, today))
			if status.Code(err) != tc.want {
				t.Fatalf("end: %v, want %v", err, tc.want)
			}
			if tc.want == codes.OK {
				nothingAppended(t, env, id, held+2)
			} else {
				nothingAppended(t, env, id, held)
			}
		})
	}
	// Each allowed caller enrolled and ended once, in turn.
	env.CaughtUp(t)
	p, err := admin.GetPathway(ctx(t), &pathwayv1.GetPathwayRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if ens := p.GetPathway().GetEpisodes()[0].GetEnrolments(); len(ens) != 3 || ens[2].GetToDate() == nil {
		t.Fatalf("enrolments %v", ens)
	}
}

// Operators list their own enrolments, whatever they ask for; funders and
// admins every one; referents those of the learners they read.
func TestListEnrolmentsScope(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	opA := contract(t, env, "op-a", avenir, "T05", "T06")
	opB := contract(t, env, "op-b", otherFunding, "T05")
	l5, l6 := registered(t, env, "T05"), registered(t, env, "T06")
	enter(t, admin, l5, nov2)
	enter(t, admin, l6, nov2)
	enrol(t, admin, l5, opA, accompaniment, nov2)
	enrol(t, admin, l5, opB, savoirs, date(2026, 11, 10))
	enrol(t, admin, l6, opA, accompaniment, date(2026, 11, 3))
	env.CaughtUp(t)

	a5, b5, a6 := l5+" op-a 1", l5+" op-b 2", l6+" op-a 1"
	// Listings are by operator, contract, learner and number.
	sorted := func(keys ...string) []string {
		return slices.SortedFunc(slices.Values(keys), func(x, y string) int {
			xs, ys := strings.Fields(x), strings.Fields(y)
			return strings.Compare(xs[1]+"/"+xs[0]+"/"+xs[2], ys[1]+"/"+ys[0]+"/"+ys[2])
		})
	}
	listAs := func(t *testing.T, as auth.Principal, req *pathwayv1.ListEnrolmentsRequest) []string {
		t.Helper()
		client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as))
		var got []string
		for pages := 0; ; pages++ {
			resp, err := client.ListEnrolments(ctx(t), req)
			if err != nil {
				t.Fatalf("list as %v: %v", as, err)
			}
			if size := req.GetPageSize(); (size > 0 && int32(len(resp.GetEnrolments())) > size) || pages > 10 {
				t.Fatalf("page %d of %d enrolments (page size %d)", pages, len(resp.GetEnrolments()), size)
			}
			for _, l := range resp.GetEnrolments() {
				got = append(got, fmt.Sprintf("%s %s %d", l.GetLearnerId(), l.GetEnrolment().GetOperatorId(), l.GetEnrolment().GetNumber()))
			}
			if resp.GetNextPageToken() == "" {
				return got
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	operatorA := auth.Principal{Subject: "u-a", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T01"}}
	operatorB := auth.Principal{Subject: "u-b", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05", "T06"}}
	for _, tc := range []struct {
		name string
		as   auth.Principal
		req  *pathwayv1.ListEnrolmentsRequest
		want []string
	}{
		{"an admin, everything", servicetest.Admin, &pathwayv1.ListEnrolmentsRequest{}, sorted(a5, b5, a6)},
		{"a funder, page by page", funder, &pathwayv1.ListEnrolmentsRequest{PageSize: 1}, sorted(a5, b5, a6)},
		{"by operator", funder, &pathwayv1.ListEnrolmentsRequest{OperatorId: "op-a"}, sorted(a5, a6)},
		{"by contract", funder, &pathwayv1.ListEnrolmentsRequest{ContractId: opB}, []string{b5}},
		{"by territory", funder, &pathwayv1.ListEnrolmentsRequest{TerritoryCode: "T06"}, []string{a6}},
		{"by operator and territory", funder, &pathwayv1.ListEnrolmentsRequest{OperatorId: "op-a", TerritoryCode: "T05"}, []string{a5}},
		{"by operator and contract", funder, &pathwayv1.ListEnrolmentsRequest{OperatorId: "op-b", ContractId: opA}, nil},
		{"enrolled on a day", funder, &pathwayv1.ListEnrolmentsRequest{ActiveOn: date(2026, 11, 2)}, []string{a5}},
		{"an operator, its own only, whatever its token's territories", operatorA, &pathwayv1.ListEnrolmentsRequest{}, sorted(a5, a6)},
		{"an operator asking for another's", operatorB, &pathwayv1.ListEnrolmentsRequest{OperatorId: "op-a"}, []string{b5}},
		{"an operator by territory", operatorA, &pathwayv1.ListEnrolmentsRequest{TerritoryCode: "T06", PageSize: 1}, []string{a6}},
		{"a referent, its territory's learners", referentT06, &pathwayv1.ListEnrolmentsRequest{}, []string{a6}},
		{"a referent, another territory", referentT06, &pathwayv1.ListEnrolmentsRequest{TerritoryCode: "T05"}, nil},
		{"a referent of both, page by page", auth.Principal{Subject: "u-56", Role: auth.RoleReferent, ReferentID: "ref-56", Territories: []string{"T06", "T05"}},
			&pathwayv1.ListEnrolmentsRequest{PageSize: 1}, append(sorted(a5, b5), a6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listAs(t, tc.as, tc.req); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	// A referent lists only the learners it reads: once l5 is assigned to
	// another referent, a referent of T05 no longer lists it.
	env.Publish(t, "avenir.referent.assignment."+l5+".assigned", &referentv1.ReferentAssigned{
		LearnerId: l5, ReferentId: "ref-other", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov2,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	env.CaughtUp(t)
	if got := listAs(t, referentT05, &pathwayv1.ListEnrolmentsRequest{}); len(got) != 0 {
		t.Fatalf("a referent lists another's learners: %v", got)
	}
	if got := listAs(t, auth.Principal{Subject: "u-o", Role: auth.RoleReferent, ReferentID: "ref-other", Territories: []string{"T05"}}, &pathwayv1.ListEnrolmentsRequest{}); !slices.Equal(got, sorted(a5, b5)) {
		t.Fatalf("the learner's referent lists %v", got)
	}

	t.Run("bad input, every problem at once", func(t *testing.T) {
		_, err := admin.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{
			OperatorId: "op a", ContractId: "c-1", TerritoryCode: "T5", ActiveOn: date(2026, 2, 30), PageSize: -1, PageToken: "nope",
		})
		servicetest.Refused(t, err, codes.InvalidArgument, "operator_id", "contract_id", "territory_code", "active_on", "page_size", "page_token")
		first, err := admin.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{PageSize: 1})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page %v %v", first, err)
		}
		// A token only continues the listing it comes from.
		_, err = admin.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{OperatorId: "op-a", PageToken: first.GetNextPageToken()})
		servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
	})
}

// A retried Enrol answers the enrolment of its first run, whatever came
// after.
func TestEnrolReplayAnswersTheSameEnrolment(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	clps := contract(t, env, "op-clps", otherFunding, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	req := enrolReq(id, evreux, accompaniment, nov2)
	first, err := admin.Enrol(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	enrol(t, admin, id, clps, savoirs, today)
	again, err := admin.Enrol(ctx(t), req)
	if err != nil || !proto.Equal(again, first) {
		t.Fatalf("replayed: %v %v, want %v", again, err, first)
	}
	nothingAppended(t, env, id, 3)
	end := endReq(id, 1, today)
	ended, err := admin.EndEnrolment(ctx(t), end)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := admin.EndEnrolment(ctx(t), end); err != nil || !proto.Equal(again, ended) {
		t.Fatalf("end replayed: %v %v, want %v", again, err, ended)
	}
	nothingAppended(t, env, id, 4)
}

// With the read-model store down, Enrol (which reads the assignments and
// the contract) and EndEnrolment answer Unavailable with nothing stored,
// and so does ListEnrolments; once the store is back, the same request
// succeeds.
func TestEnrolmentsWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, admin := start(t, servicetest.Options{Store: store})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	env.CaughtUp(t)
	store.SetDown(true)

	req := enrolReq(id, evreux, accompaniment, nov2)
	_, err := admin.Enrol(ctx(t), req)
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = admin.EndEnrolment(ctx(t), endReq(id, 1, today))
	servicetest.Refused(t, err, codes.Unavailable)
	_, err = admin.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{})
	servicetest.Refused(t, err, codes.Unavailable)
	nothingAppended(t, env, id, 1)

	store.SetDown(false)
	resp, err := admin.Enrol(ctx(t), req)
	if err != nil || resp.GetEnrolment().GetNumber() != 1 {
		t.Fatalf("enrol with the store back: %v %v", resp, err)
	}
	nothingAppended(t, env, id, 2)
	readModel(t, env, admin, resp.GetPathway())
}

// The contracts and enrolments read models are rebuilt from the streams
// into a fresh store, the same as they were built.
func TestEnrolmentReadModelsAreRebuiltInAFreshStore(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	evreux := contract(t, env, "op-evreux", avenir, "T05")
	id, next := registered(t, env, "T05"), registered(t, env, "T05")
	enter(t, admin, id, nov2)
	enter(t, admin, next, nov2)
	enrol(t, admin, id, evreux, accompaniment, nov2)
	exit(t, admin, id, date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")
	env.CaughtUp(t)
	before, err := admin.ListEnrolments(ctx(t), &pathwayv1.ListEnrolmentsRequest{})
	if err != nil || len(before.GetEnrolments()) != 1 || before.GetEnrolments()[0].GetEnrolment().GetToDate() == nil {
		t.Fatalf("before: %v %v", before, err)
	}

	svc := env.Rebuild(t, projection.NewMemory(), func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
	after, err := svc.ListEnrolments(adminContext(t), &pathwayv1.ListEnrolmentsRequest{})
	if err != nil || !proto.Equal(after, before) {
		t.Fatalf("rebuilt %v %v, want %v", after, err, before)
	}
	// The rebuilt contracts read model knows the contract.
	resp, err := svc.Enrol(adminContext(t), enrolReq(next, evreux, accompaniment, today))
	if err != nil || resp.GetEnrolment().GetOperatorId() != "op-evreux" {
		t.Fatalf("enrol on the rebuilt service: %v %v", resp, err)
	}
}
