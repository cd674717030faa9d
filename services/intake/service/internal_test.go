package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The domain's enums convert to and from the proto enums by number: every
// proto value but the unspecified one is a valid domain value, and every
// valid domain value is a proto value.
func TestEnumsMatchTheDomain(t *testing.T) {
	for n := range intakev1.EducationLevel_name {
		if valid := domain.EducationLevel(n).Valid(); valid != (n != 0) {
			t.Errorf("education level %d: valid %v", n, valid)
		}
	}
	for n := range intakev1.ReferralSource_name {
		if valid := domain.ReferralSource(n).Valid(); valid != (n != 0) {
			t.Errorf("referral source %d: valid %v", n, valid)
		}
	}
	for n := range intakev1.ErasureGround_name {
		if valid := domain.ErasureGround(n).Valid(); valid != (n != 0) {
			t.Errorf("erasure ground %d: valid %v", n, valid)
		}
	}
	for n := range 20 {
		if _, ok := intakev1.ErasureGround_name[int32(n)]; domain.ErasureGround(n).Valid() && !ok {
			t.Errorf("domain erasure ground %d has no proto value", n)
		}
		if _, ok := intakev1.EducationLevel_name[int32(n)]; domain.EducationLevel(n).Valid() && !ok {
			t.Errorf("domain education level %d has no proto value", n)
		}
		if _, ok := intakev1.ReferralSource_name[int32(n)]; domain.ReferralSource(n).Valid() && !ok {
			t.Errorf("domain referral source %d has no proto value", n)
		}
	}
}

// The read model stores toView; folding continues from fromView.
func TestViewRoundTrip(t *testing.T) {
	l := domain.Learner{
		ID: "l-1", FamilyName: "Lefèvre", GivenName: "Anaïs", BirthDate: civil.Date{Year: 1970, Month: 4, Day: 12},
		Territory: "T05", RegisteredOn: civil.Date{Year: 2026, Month: 11, Day: 1},
		Contact: domain.Contact{Email: "a@b.fr", Phone: "+33612345678", Commune: "27229"},
		Situation: domain.Situation{JobSeeker: true, FranceTravailID: "1234567A", RSA: true, RQTH: true,
			Education: domain.Level6, QPV: true, ZRR: true, Referral: domain.Employer,
			EducationJustification: "Ingénieure réfugiée,\ndiplôme non reconnu en France."},
		SituationSince: civil.Date{Year: 2026, Month: 11, Day: 20}, SeniorAtEntry: true,
	}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	v := toView(l, at)
	b, err := proto.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var stored intakev1.Learner
	if err := proto.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	if got := fromView(&stored); got != l || !stored.GetRegisteredAt().AsTime().Equal(at) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, l)
	}
	// An erased learner's view holds nothing personal, and folds back (its
	// ground and reference are not in the view).
	erased := domain.Evolve(l, domain.LearnerErased{LearnerID: "l-1", Territory: "T05", ErasedOn: civil.Date{Year: 2029, Month: 1, Day: 2},
		Ground: domain.GroundRetention, Reference: "retention 2029-01-02"})
	ev := toView(erased, at)
	want := &intakev1.Learner{LearnerId: "l-1", TerritoryCode: "T05", RegisteredAt: ev.GetRegisteredAt(),
		RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 1}, Erased: true, ErasedOn: &commonv1.Date{Year: 2029, Month: 1, Day: 2}}
	if !proto.Equal(ev, want) {
		t.Fatalf("erased view %v", ev)
	}
	erased.Ground, erased.Reference = domain.GroundUnspecified, ""
	if got := fromView(ev); got != erased {
		t.Fatalf("erased round trip %+v", got)
	}
}

// An operator's search reads every page of its learners from the caseload,
// however many pages they take.
func TestOperatorSearchReadsEveryPageOfTheCaseload(t *testing.T) {
	t.Parallel()
	env := servicetest.Start(t, servicetest.Options{}, func(d platform.Deps) (platform.Service, error) {
		s, err := New(d, Config{})
		if err == nil {
			s.enrolledPage = 2
		}
		return s, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := intakev1.NewIntakeServiceClient(env.Conn)
	var want []string
	for i, family := range []string{"Bernard", "Dubois", "Moreau", "Laurent", "Simon"} {
		resp, err := admin.RegisterLearner(ctx, &intakev1.RegisterLearnerRequest{
			RequestId: "reg-" + family, FamilyName: family, GivenName: "Alex",
			BirthDate: &commonv1.Date{Year: 1990, Month: 4, Day: int32(i + 1)}, TerritoryCode: "T05",
			Contact: &intakev1.Contact{Email: "alex@example.fr", CommuneCode: "27229"},
			Situation: &intakev1.Situation{
				EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3,
				ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		id := resp.GetLearner().GetLearnerId()
		env.Publish(t, "avenir.pathway.pathway."+id+".enrolled", &pathwayv1.LearnerEnrolled{
			LearnerId: id, EpisodeNumber: 1, EnrolmentNumber: 1, ContractId: "c-a", OperatorId: "op-a",
			FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2}, TerritoryCode: "T05",
		})
		want = append(want, family)
	}
	env.CaughtUp(t)
	slices.Sort(want)
	op := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a"}))
	for _, size := range []int32{2, 50} {
		var got []string
		req := &intakev1.SearchLearnersRequest{PageSize: size}
		for {
			resp, err := op.SearchLearners(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range resp.GetLearners() {
				got = append(got, l.GetFamilyName())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
			if len(got) > len(want) {
				t.Fatalf("pages of %d go on: %v", size, got)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", size, got, want)
		}
	}
}
