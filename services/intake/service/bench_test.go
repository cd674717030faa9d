package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// BenchmarkRegisterLearner registers learners one after the other through
// the RPC, over gRPC into JetStream on the embedded server (SyncAlways):
// each a new person with names, birth date, e-mail, phone and situation.
// "sealed" seals the personal fields with the key store, as avenir runs (a
// new data key per learner, created in AVENIR_KEYS, then AES-256-GCM);
// "unsealed" stores them as they are (plainSealer), everything else alike
// (duplicate detection still hashes and claims in the key store): the
// difference is what sealing costs a registration.
//
//	make bench BENCH=RegisterLearner
func BenchmarkRegisterLearner(b *testing.B) {
	for _, bc := range []struct {
		name   string
		sealer event.Sealer
	}{
		{"sealed", nil},
		{"unsealed", plainSealer{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := servicetest.Start(b, servicetest.Options{Sealer: bc.sealer}, func(d platform.Deps) (platform.Service, error) {
				return service.New(d, service.Config{})
			})
			client := intakev1.NewIntakeServiceClient(env.Conn)
			ctx := context.Background()
			n := 0
			began := time.Now()
			for b.Loop() {
				if _, err := client.RegisterLearner(ctx, benchPerson(bc.name, n)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/time.Since(began).Seconds(), "registrations/s")
		})
	}
}

// benchPerson is the n-th person of a run: another name and birth date
// each time.
func benchPerson(run string, n int) *intakev1.RegisterLearnerRequest {
	name := ""
	for k := n; ; k /= 26 {
		name += string(rune('a' + k%26))
		if k < 26 {
			break
		}
	}
	return &intakev1.RegisterLearnerRequest{
		RequestId: fmt.Sprintf("bench-%s-%d", run, n), FamilyName: "Lefèvre-" + name, GivenName: "Anaïs",
		BirthDate:     &commonv1.Date{Year: int32(1960 + n%40), Month: int32(1 + n%12), Day: int32(1 + n%28)},
		TerritoryCode: "T05",
		Contact:       &intakev1.Contact{Email: "anais." + name + "@example.fr", Phone: "06 12 34 56 78", CommuneCode: "27229"},
		Rqth:          n%10 == 0,
		Situation: &intakev1.Situation{
			JobSeeker: true, EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3,
			ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL,
		},
	}
}

// plainSealer "seals" by copying: the personal fields are stored as the
// codec marshals them, in clear. For measuring what sealing costs, never
// for storing anything.
type plainSealer struct{}

func (plainSealer) Seal(_ context.Context, keyID string, plaintext, _ []byte) (*commonv1.Sealed, error) {
	return &commonv1.Sealed{KeyId: keyID, Ciphertext: plaintext}, nil
}

func (plainSealer) Open(_ context.Context, s *commonv1.Sealed, _ []byte) ([]byte, error) {
	return s.GetCiphertext(), nil
}
