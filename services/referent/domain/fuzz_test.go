package domain_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// FuzzRegisterReferent: any profile is either registered or refused with
// InvalidArgument; never a panic.
func FuzzRegisterReferent(f *testing.F) {
	f.Add("Anne Leroy", "AFPA", "T05", 40, "disability", "fr", "pedagogical")
	f.Add("", "", "", 0, "", "", "")
	f.Add("Paul", "CCI", "T05", 0, "seniors", "en", "economic")
	f.Add("X", "Y", "T0.5", 501, "astrology", "FRA", "other")
	f.Fuzz(func(t *testing.T, name, org, territory string, capacity int, specialty, language, kind string) {
		p := domain.Profile{
			Name: name, Organisation: org, Territories: []string{territory}, Capacity: capacity,
			Specialties: []domain.Specialty{domain.Specialty(specialty)}, Languages: []string{language}, Kind: domain.Kind(kind),
		}
		evs, err := domain.DecideReferent(domain.Referent{}, domain.RegisterReferent{ReferentID: "r", Profile: p})
		if err != nil && apperr.KindOf(err) != apperr.KindInvalidArgument {
			t.Fatalf("error of kind %v: %v", apperr.KindOf(err), err)
		}
		if err == nil && len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
	})
}
