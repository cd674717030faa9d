package service

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
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
	for n := range 20 {
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
			Education: domain.Level6, QPV: true, ZRR: true, Referral: domain.Employer},
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
}
