package service_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// storedData is the data of the last message stored on subject, as it lies
// in the stream (sealed or not).
func storedData(t *testing.T, env *servicetest.Env, subject string) []byte {
	t.Helper()
	s, err := env.JS.Stream(ctx(t), service.Stream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx(t), subject)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return m.Data
}

// A person above the scheme's public (level 4 and up) is registered with
// a justification, which is personal data: sealed in the stream like the
// other free texts, given opened to the readers of the situation.
func TestAJustificationAboveTheSchemesPublicIsRecordedAndSealed(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	id := registered(t, env)
	learner := "avenir.intake.learner." + id

	if raw := storedData(t, env, learner+".registered"); bytes.Contains(raw, []byte("jamais utilisé")) || len(raw) == 0 {
		t.Fatalf("the justification is stored in clear: %q", raw)
	}
	evs := env.Events(t, service.Stream, learner+".registered")
	if len(evs) != 1 {
		t.Fatalf("%d registrations", len(evs))
	}
	if got := evs[0].Data.(*intakev1.LearnerRegistered).GetSituation().GetEducationLevelJustification(); got != anaisJustification {
		t.Fatalf("opened justification %q, want %q", got, anaisJustification)
	}

	// A change to level 5 with another reason: sealed as well.
	const why = "Diplôme étranger (licence) non reconnu en France."
	resp, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "level5", LearnerId: id, EffectiveDate: nov26,
		EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_6.Enum(), EducationLevelJustification: proto.String(why),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetLearner().GetSituation().GetEducationLevelJustification(); got != why {
		t.Fatalf("justification after the change %q", got)
	}
	if raw := storedData(t, env, learner+".situation_updated"); bytes.Contains(raw, []byte("non reconnu")) {
		t.Fatalf("the changed justification is stored in clear: %q", raw)
	}

	// The learner's referent reads it; a funder, who reads no situation,
	// does not.
	for p, want := range map[string]string{"referent": why, "funder": ""} {
		conn := env.ConnAs(t, referentT05)
		if p == "funder" {
			conn = env.ConnAs(t, funder)
		}
		got, err := intakev1.NewIntakeServiceClient(conn).GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if j := got.GetLearner().GetSituation().GetEducationLevelJustification(); j != want {
			t.Fatalf("%s reads %q, want %q", p, j, want)
		}
	}

	// Refusals name the field and say why.
	_, err = admin.RegisterLearner(ctx(t), func() *intakev1.RegisterLearnerRequest {
		r := person("no-why", "Martin", "Léa", "T05", "27229")
		r.Situation.EducationLevel, r.Situation.EducationLevelJustification = intakev1.EducationLevel_EDUCATION_LEVEL_5, ""
		return r
	}())
	servicetest.Refused(t, err, codes.InvalidArgument, "situation.education_level_justification")
	if d := grpcx.FieldViolations(err)[0].Description; !strings.Contains(d, "justification is required above the scheme's public") {
		t.Fatalf("description %q", d)
	}
	_, err = admin.RegisterLearner(ctx(t), func() *intakev1.RegisterLearnerRequest {
		r := person("why-not", "Martin", "Léa", "T05", "27229")
		r.Situation.EducationLevel = intakev1.EducationLevel_EDUCATION_LEVEL_3
		return r
	}())
	servicetest.Refused(t, err, codes.InvalidArgument, "situation.education_level_justification")
	if d := grpcx.FieldViolations(err)[0].Description; !strings.Contains(d, "only for an education level above the scheme's public") {
		t.Fatalf("description %q", d)
	}
}

// Situations recorded before the rule, level 4 and up without a
// justification, stay readable and their other fields may change.
func TestSituationsRecordedBeforeTheJustificationStayValid(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	id := event.NewID()
	env.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Durand", GivenName: "Paul", BirthDate: &commonv1.Date{Year: 1985, Month: 6, Day: 1},
		TerritoryCode: "T05", RegisteredOn: nov2,
		Contact: &intakev1.Contact{Email: "paul.durand@example.fr", CommuneCode: "27229"},
		Situation: &intakev1.Situation{EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_5,
			ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL},
	})
	env.CaughtUp(t)
	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil || got.GetLearner().GetSituation().GetEducationLevel() != intakev1.EducationLevel_EDUCATION_LEVEL_5 {
		t.Fatalf("legacy learner: %v %v", got, err)
	}
	resp, err := client.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "rsa", LearnerId: id, EffectiveDate: nov20, RsaRecipient: proto.Bool(true),
	})
	if err != nil || !resp.GetLearner().GetSituation().GetRsaRecipient() {
		t.Fatalf("changing another field: %v %v", resp, err)
	}
	// Giving the level again asks for the justification.
	_, err = client.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
		RequestId: "level", LearnerId: id, EffectiveDate: nov26, EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_5.Enum(),
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "education_level_justification")
}
