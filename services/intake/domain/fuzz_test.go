package domain_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// FuzzRegister feeds arbitrary input to the registration rules: they never
// panic, and they either register or answer InvalidArgument.
func FuzzRegister(f *testing.F) {
	f.Add("Lefèvre", "Anaïs", 1990, 4, 12, "T05")
	f.Add("", "", 0, 0, 0, "")
	f.Add("\x00\xff", "  ", 2026, 2, 30, "T99")
	f.Add("O'Brien-Smith", "Jean Pierre", 2010, 11, 26, "t05")
	refs := domain.DefaultTerritories()
	f.Fuzz(func(t *testing.T, family, given string, y, m, d int, territory string) {
		cmd := domain.RegisterLearner{
			LearnerID: "l", FamilyName: family, GivenName: given,
			BirthDate: civil.Date{Year: y, Month: time.Month(m), Day: d}, Territory: territory, Today: today,
		}
		evs, err := domain.Decide(domain.Learner{}, cmd, refs)
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.KindInvalidArgument {
				t.Fatalf("kind %v for %+v: %v", k, cmd, err)
			}
			return
		}
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
	})
}
