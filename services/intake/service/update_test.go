package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// registered registers validRequest as the referent of T05 and returns the
// learner's id.
func registered(t *testing.T, env *servicetest.Env) string {
	t.Helper()
	resp, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).RegisterLearner(ctx(t), validRequest("setup"))
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetLearner().GetLearnerId()
}

var (
	nov2  = &commonv1.Date{Year: 2026, Month: 11, Day: 2}
	nov20 = &commonv1.Date{Year: 2026, Month: 11, Day: 20}
	nov26 = &commonv1.Date{Year: 2026, Month: 11, Day: 26}
)

func TestUpdateContact(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	id := registered(t, env)
	client := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05))
	req := &intakev1.UpdateContactRequest{
		RequestId: "move", LearnerId: id, Phone: proto.String(""), Email: proto.String("Anais@Example.FR"), CommuneCode: proto.String("27681"),
	}
	resp, err := client.UpdateContact(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &intakev1.Contact{Email: "Anais@example.fr", CommuneCode: "27681"}
	if !proto.Equal(resp.GetLearner().GetContact(), want) || resp.GetLearner().GetTerritoryCode() != "T05" {
		t.Fatalf("learner %v, want contact %v", resp.GetLearner(), want)
	}
	evs := env.Events(t, service.Stream, "avenir.intake.learner."+id+".>")
	if len(evs) != 2 {
		t.Fatalf("%d learner events, want 2", len(evs))
	}
	ev := evs[1]
	wantEv := &intakev1.LearnerContactUpdated{LearnerId: id, Contact: want, EffectiveOn: nov26}
	if ev.Subject != "avenir.intake.learner."+id+".contact_updated" || ev.Actor != "referent:ref-5" || !proto.Equal(ev.Data, wantEv) {
		t.Fatalf("event %s %s %v, want %v", ev.Subject, ev.Actor, ev.Data, wantEv)
	}
	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil || !proto.Equal(got.GetLearner(), resp.GetLearner()) {
		t.Fatalf("GetLearner %v %v, want %v", got, err, resp.GetLearner())
	}

	// The same request again changes nothing and answers the same.
	again, err := client.UpdateContact(ctx(t), req)
	if err != nil || !proto.Equal(again.GetLearner(), resp.GetLearner()) {
		t.Fatalf("retry: %v %v", again, err)
	}
	// Nor does a request that leaves the contact as it is.
	same, err := client.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "same", LearnerId: id, CommuneCode: proto.String("27681")})
	if err != nil || !proto.Equal(same.GetLearner(), resp.GetLearner()) {
		t.Fatalf("no change: %v %v", same, err)
	}
	before := countEvents(t, env)
	if before != 2 {
		t.Fatalf("%d events, want registration and one contact change", before)
	}

	cases := map[string]struct {
		req    *intakev1.UpdateContactRequest
		code   codes.Code
		fields []string
	}{
		"no request id nor learner id": {
			req: &intakev1.UpdateContactRequest{Email: proto.String("a@b.fr")}, code: codes.InvalidArgument,
			fields: []string{"request_id", "learner_id"},
		},
		"the last way to reach the learner": {
			req:  &intakev1.UpdateContactRequest{RequestId: "r1", LearnerId: id, Email: proto.String("")},
			code: codes.InvalidArgument, fields: []string{"email"},
		},
		"bad phone, commune in Calvados": {
			req:  &intakev1.UpdateContactRequest{RequestId: "r2", LearnerId: id, Phone: proto.String("12"), CommuneCode: proto.String("14118")},
			code: codes.InvalidArgument, fields: []string{"phone", "commune_code"},
		},
		"unknown learner": {
			req:  &intakev1.UpdateContactRequest{RequestId: "r3", LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", Email: proto.String("a@b.fr")},
			code: codes.NotFound,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.UpdateContact(ctx(t), tc.req)
			servicetest.Refused(t, err, tc.code, tc.fields...)
		})
	}
	// A referent of another territory is told the learner does not exist.
	_, err = intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT01)).UpdateContact(ctx(t),
		&intakev1.UpdateContactRequest{RequestId: "r4", LearnerId: id, Email: proto.String("a@b.fr")})
	servicetest.Refused(t, err, codes.NotFound)
	// An operator may not change contacts at all.
	_, err = intakev1.NewIntakeServiceClient(env.ConnAs(t, operatorT05)).UpdateContact(ctx(t),
		&intakev1.UpdateContactRequest{RequestId: "r5", LearnerId: id, Email: proto.String("a@b.fr")})
	servicetest.Refused(t, err, codes.PermissionDenied)
	if n := countEvents(t, env); n != before {
		t.Fatalf("refused changes appended %d events", n-before)
	}
}

func TestUpdateSituationKeepsEveryChange(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	env.SetNow(env.Now().AddDate(0, 0, -25)) // registered on 2026-11-01
	id := registered(t, env)
	env.SetNow(env.Now().AddDate(0, 0, 25))
	client := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05))

	first := &intakev1.UpdateSituationRequest{
		RequestId: "lost-job", LearnerId: id, EffectiveDate: nov2,
		JobSeeker: proto.Bool(false), RsaRecipient: proto.Bool(true), Rqth: proto.Bool(true),
	}
	resp, err := client.UpdateSituation(ctx(t), first)
	if err != nil {
		t.Fatal(err)
	}
	l := resp.GetLearner()
	wantSituation := &intakev1.Situation{
		JobSeeker: false, FranceTravailId: "1234567A", RsaRecipient: true,
		EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4,
		ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		// Kept from the registration.
		EducationLevelJustification: anaisJustification,
	}
	if !proto.Equal(l.GetSituation(), wantSituation) || !proto.Equal(l.GetSituationSince(), nov2) || !l.GetRqth() {
		t.Fatalf("learner %v", l)
	}
	second := &intakev1.UpdateSituationRequest{
		RequestId: "new-ftid", LearnerId: id, EffectiveDate: nov20,
		FranceTravailId: proto.String("7654321b"), EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_5.Enum(),
		QpvResident: proto.Bool(true),
	}
	if _, err := client.UpdateSituation(ctx(t), second); err != nil {
		t.Fatal(err)
	}
	// Retrying a change, even late, records nothing more and answers what
	// the first run answered.
	again, err := client.UpdateSituation(ctx(t), first)
	if err != nil || !proto.Equal(again.GetLearner(), l) {
		t.Fatalf("retry: %v %v, want %v", again, err, l)
	}

	evs := env.Events(t, service.Stream, "avenir.intake.learner."+id+".>")
	if len(evs) != 3 {
		t.Fatalf("%d learner events, want 3", len(evs))
	}
	wantFirst := &intakev1.LearnerSituationUpdated{LearnerId: id, Situation: wantSituation, Rqth: true, EffectiveOn: nov2, RecordedOn: nov26}
	if evs[1].Subject != "avenir.intake.learner."+id+".situation_updated" || !proto.Equal(evs[1].Data, wantFirst) {
		t.Fatalf("first change %s %v, want %v", evs[1].Subject, evs[1].Data, wantFirst)
	}
	// The new France Travail id was claimed with the change, the old one
	// given up.
	if h := holderOf(t, env, "ftid", "7654321B"); h != id {
		t.Fatalf("new id held by %q", h)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != "" {
		t.Fatalf("old id still held by %q", h)
	}

	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	current := got.GetLearner()
	if current.GetSituation().GetFranceTravailId() != "7654321B" || !current.GetSituation().GetQpvResident() ||
		current.GetSituation().GetEducationLevel() != intakev1.EducationLevel_EDUCATION_LEVEL_5 ||
		!current.GetSituation().GetRsaRecipient() || !proto.Equal(current.GetSituationSince(), nov20) {
		t.Fatalf("current situation %v", current)
	}

	// The history: registration, then both changes, with their dates and
	// the learner as each left it.
	h, err := client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []intakev1.LearnerChangeKind{
		intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED,
		intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED,
		intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED,
	}
	dates := []*commonv1.Date{{Year: 2026, Month: 11, Day: 1}, nov2, nov20}
	if len(h.GetChanges()) != 3 || h.GetNextPageToken() != "" {
		t.Fatalf("history %v", h)
	}
	for i, c := range h.GetChanges() {
		if c.GetKind() != kinds[i] || !proto.Equal(c.GetEffectiveOn(), dates[i]) || c.GetActor() != "referent:ref-5" || c.GetRecordedAt() == nil {
			t.Errorf("change %d: %v", i, c)
		}
	}
	if !proto.Equal(h.GetChanges()[1].GetLearner(), l) || !proto.Equal(h.GetChanges()[2].GetLearner(), current) {
		t.Errorf("snapshots\n%v\n%v", h.GetChanges()[1].GetLearner(), h.GetChanges()[2].GetLearner())
	}
	// Page by page.
	page1, err := client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id, PageSize: 2})
	if err != nil || len(page1.GetChanges()) != 2 || page1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", page1, err)
	}
	page2, err := client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id, PageSize: 2, PageToken: page1.GetNextPageToken()})
	if err != nil || len(page2.GetChanges()) != 1 || page2.GetNextPageToken() != "" || !proto.Equal(page2.GetChanges()[0], h.GetChanges()[2]) {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	_, err = client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id, PageSize: -1, PageToken: "bm90IGEgdG9rZW4"})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_size", "page_token")
}

func TestUpdateSituationRules(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	id := registered(t, env)
	other, err := admin.RegisterLearner(ctx(t), func() *intakev1.RegisterLearnerRequest {
		r := person("other", "Martin", "Léa", "T05", "27229")
		r.Situation.FranceTravailId = "7654321B"
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	otherID := other.GetLearner().GetLearnerId()
	before := countEvents(t, env)
	client := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05))

	cases := map[string]struct {
		req    *intakev1.UpdateSituationRequest
		code   codes.Code
		fields []string
	}{
		"effective date in the future": {
			req:  &intakev1.UpdateSituationRequest{RequestId: "r1", LearnerId: id, EffectiveDate: &commonv1.Date{Year: 2026, Month: 11, Day: 27}, RsaRecipient: proto.Bool(true)},
			code: codes.InvalidArgument, fields: []string{"effective_date"},
		},
		"effective date before the registration": {
			req:  &intakev1.UpdateSituationRequest{RequestId: "r2", LearnerId: id, EffectiveDate: &commonv1.Date{Year: 2026, Month: 11, Day: 25}, RsaRecipient: proto.Bool(true)},
			code: codes.InvalidArgument, fields: []string{"effective_date"},
		},
		"every bad field at once": {
			req: &intakev1.UpdateSituationRequest{
				RequestId: "r3", LearnerId: id, FranceTravailId: proto.String("12345"),
				EducationLevel: intakev1.EducationLevel(12).Enum(), ReferralSource: intakev1.ReferralSource(0).Enum(),
			},
			code: codes.InvalidArgument, fields: []string{"effective_date", "france_travail_id", "education_level", "referral_source"},
		},
		"unknown learner": {
			req:  &intakev1.UpdateSituationRequest{RequestId: "r4", LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", EffectiveDate: nov26, RsaRecipient: proto.Bool(true)},
			code: codes.NotFound,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.UpdateSituation(ctx(t), tc.req)
			servicetest.Refused(t, err, tc.code, tc.fields...)
		})
	}
	// A France Travail id held by another learner is refused, naming it.
	_, err = client.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "r5", LearnerId: id, EffectiveDate: nov26, FranceTravailId: proto.String("7654321 b"),
	})
	if status.Code(err) != codes.AlreadyExists || grpcx.Metadata(err)["learner_id"] != otherID {
		t.Fatalf("taken id: %v %v", err, grpcx.Metadata(err))
	}
	_, err = intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT01)).UpdateSituation(ctx(t),
		&intakev1.UpdateSituationRequest{RequestId: "r6", LearnerId: id, EffectiveDate: nov26, RsaRecipient: proto.Bool(true)})
	servicetest.Refused(t, err, codes.NotFound)
	_, err = intakev1.NewIntakeServiceClient(env.ConnAs(t, funder)).UpdateSituation(ctx(t),
		&intakev1.UpdateSituationRequest{RequestId: "r7", LearnerId: id, EffectiveDate: nov26, RsaRecipient: proto.Bool(true)})
	servicetest.Refused(t, err, codes.PermissionDenied)
	if n := countEvents(t, env); n != before {
		t.Fatalf("refused changes appended %d events", n-before)
	}

	// A refused change gave up nothing and claimed nothing.
	if h := holderOf(t, env, "ftid", "7654321B"); h != otherID {
		t.Fatalf("the other's id held by %q", h)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != id {
		t.Fatalf("the learner's id held by %q", h)
	}

	// The learner gives up its id: another learner may take it, and it
	// can no longer take it back.
	if _, err := client.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "drop", LearnerId: id, EffectiveDate: nov26, FranceTravailId: proto.String(""),
	}); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != "" {
		t.Fatalf("a given-up id held by %q", h)
	}
	taken, err := admin.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "take", LearnerId: otherID, EffectiveDate: nov26, FranceTravailId: proto.String("1234567A"),
	})
	if err != nil || taken.GetLearner().GetSituation().GetFranceTravailId() != "1234567A" {
		t.Fatalf("taking a given-up id: %v %v", taken, err)
	}
	_, err = client.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "back", LearnerId: id, EffectiveDate: nov26, FranceTravailId: proto.String("1234567A"),
	})
	if status.Code(err) != codes.AlreadyExists || grpcx.Metadata(err)["learner_id"] != otherID {
		t.Fatalf("taking it back: %v %v", err, grpcx.Metadata(err))
	}
	// The other learner's former id is free again.
	if h := holderOf(t, env, "ftid", "7654321B"); h != "" {
		t.Fatalf("a replaced id held by %q", h)
	}
	if n := countEvents(t, env); n != before+2 {
		t.Fatalf("%d events appended, want the two changes", n-before)
	}
}
