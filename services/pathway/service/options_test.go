package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// optionIDs lists the contracts of options, in order.
func optionIDs(opts []*pathwayv1.EnrolmentOption) []string {
	var out []string
	for _, o := range opts {
		out = append(out, o.GetContractId())
	}
	return out
}

// ListEnrolmentOptions offers the contracts whose lot covers the learner's
// territory on the day asked (today by default), by operator then
// contract, with the operator's name and no money, to those who may enrol
// the learner; the others do not find the learner.
func TestListEnrolmentOptions(t *testing.T) {
	t.Parallel()
	env, admin := start(t, servicetest.Options{})
	year := func(operator string, territories ...string) *fundingv1.ContractTerms {
		return terms(operator, avenir, date(2026, 1, 1), date(2026, 12, 31), territories...)
	}
	named := year("op-b", "T05", "T06")
	named.OperatorName = "AFPA Normandie"
	afpa := publishContract(t, env, named)
	early := terms("op-a", otherFunding, date(2026, 1, 1), date(2026, 11, 20), "T05") // ends before today
	ended := publishContract(t, env, early)
	clps := publishContract(t, env, year("op-a", "T05"))
	publishContract(t, env, year("op-c", "T06")) // another lot
	next := publishContract(t, env, terms("op-a", avenir, date(2027, 1, 1), date(2027, 12, 31), "T05"))
	// A contract whose lot no longer covers T05, and one renamed.
	moved := publishContract(t, env, year("op-d", "T05"))
	env.Publish(t, "avenir.funding.contract."+moved+".updated", &fundingv1.ContractUpdated{ContractId: moved, Terms: year("op-d", "T06")})
	renamed := year("op-a", "T05")
	renamed.OperatorName = "CLPS"
	env.Publish(t, "avenir.funding.contract."+clps+".updated", &fundingv1.ContractUpdated{ContractId: clps, Terms: renamed})

	id := registered(t, env, "T05")
	enter(t, admin, id, nov2)
	env.Publish(t, "avenir.referent.assignment."+id+".assigned", &referentv1.ReferentAssigned{
		LearnerId: id, ReferentId: "ref-5", TerritoryCode: "T05", EpisodeNumber: 1, FromDate: nov2,
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
	})
	env.CaughtUp(t)

	list := func(as auth.Principal, req *pathwayv1.ListEnrolmentOptionsRequest) (*pathwayv1.ListEnrolmentOptionsResponse, error) {
		return pathwayv1.NewPathwayServiceClient(env.ConnAs(t, as)).ListEnrolmentOptions(ctx(t), req)
	}
	resp, err := list(referentT05, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	allKinds := []pathwayv1.EnrolmentKind{
		accompaniment, savoirs, pathwayv1.EnrolmentKind_ENROLMENT_KIND_QUALIF,
		pathwayv1.EnrolmentKind_ENROLMENT_KIND_WORKSHOPS, pathwayv1.EnrolmentKind_ENROLMENT_KIND_IMMERSION_HOST,
	}
	want := &pathwayv1.ListEnrolmentOptionsResponse{
		On: today, TerritoryCode: "T05",
		Options: []*pathwayv1.EnrolmentOption{
			{
				ContractId: clps, OperatorId: "op-a", OperatorName: "CLPS", Reference: "AO-2026-op-a", Programme: avenir,
				PeriodFrom: date(2026, 1, 1), PeriodTo: date(2026, 12, 31), Kinds: allKinds,
			},
			{
				ContractId: afpa, OperatorId: "op-b", OperatorName: "AFPA Normandie", Reference: "AO-2026-op-b", Programme: avenir,
				PeriodFrom: date(2026, 1, 1), PeriodTo: date(2026, 12, 31), Kinds: allKinds,
			},
		},
	}
	if !proto.Equal(resp, want) {
		t.Fatalf("options today:\n%v\nwant\n%v", resp, want)
	}
	// Every option is one Enrol accepts.
	enrol(t, pathwayv1.NewPathwayServiceClient(env.ConnAs(t, referentT05)), id, afpa, pathwayv1.EnrolmentKind_ENROLMENT_KIND_WORKSHOPS, today)

	// Another day, other contracts.
	for on, ids := range map[*commonv1.Date][]string{
		date(2026, 11, 10): {ended, clps, afpa},
		date(2027, 2, 1):   {next},
		date(2025, 6, 1):   nil,
	} {
		resp, err := list(servicetest.Admin, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: id, On: on})
		if err != nil || !proto.Equal(resp.GetOn(), on) || !slices.Equal(optionIDs(resp.GetOptions()), ids) {
			t.Errorf("on %v: %v %v, want %v", on, optionIDs(resp.GetOptions()), err, ids)
		}
	}

	// Page after page, the same options.
	var paged []string
	req := &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: id, On: date(2026, 11, 10), PageSize: 1}
	for pages := 1; ; pages++ {
		page, err := list(servicetest.Admin, req)
		if err != nil || len(page.GetOptions()) != 1 || pages > 3 {
			t.Fatalf("page %d: %v %v", pages, page, err)
		}
		paged = append(paged, optionIDs(page.GetOptions())...)
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if !slices.Equal(paged, []string{ended, clps, afpa}) {
		t.Fatalf("paged %v", paged)
	}
	// A token is for its learner and day.
	req.On = today
	_, err = list(servicetest.Admin, req)
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")

	// Those who may enrol the learner: its referent (above), a coordinator
	// of its territory, admins. Another referent of the territory, or of
	// another, does not find the learner; other roles are refused.
	coordinator := auth.Principal{Subject: "u-c5", Role: auth.RoleReferent, ReferentID: "ref-c", Territories: []string{"T05"}, Coordinator: true}
	colleague := auth.Principal{Subject: "u-x5", Role: auth.RoleReferent, ReferentID: "ref-x", Territories: []string{"T05"}}
	operator := auth.Principal{Subject: "u-opb", Role: auth.RoleOperator, OperatorID: "op-b", Territories: []string{"T05"}}
	for _, c := range []struct {
		name string
		as   auth.Principal
		code codes.Code
	}{
		{"admin", servicetest.Admin, codes.OK},
		{"coordinator", coordinator, codes.OK},
		{"another referent of the territory", colleague, codes.NotFound},
		{"a referent of another territory", referentT06, codes.NotFound},
		{"the operator the learner is enrolled with", operator, codes.PermissionDenied},
		{"funder", funder, codes.PermissionDenied},
	} {
		resp, err := list(c.as, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: id})
		if c.code == codes.OK {
			if err != nil || !proto.Equal(resp, want) {
				t.Errorf("%s: %v %v", c.name, resp, err)
			}
			continue
		}
		servicetest.Refused(t, err, c.code)
	}

	_, err = list(servicetest.Admin, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: event.NewID()})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = list(servicetest.Admin, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: "nope", On: date(2026, 2, 30), PageSize: -1})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id", "on", "page_size")

	// An erased learner is enrolled no more.
	gone := registered(t, env, "T05")
	erase(t, env, gone, "T05")
	_, err = list(servicetest.Admin, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: gone})
	servicetest.Refused(t, err, codes.FailedPrecondition, "LEARNER_ERASED")
}
