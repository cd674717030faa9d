package domain_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// FuzzRegister feeds arbitrary input to the registration rules: they never
// panic; they either register the learner (claims are made by the caller
// beforehand), or answer InvalidArgument, or AlreadyExists when a claim is
// held by another learner.
func FuzzRegister(f *testing.F) {
	f.Add("Lefèvre", "Anaïs", 1990, 4, 12, "T05", "anais@example.fr", "06 12 34 56 78", "27229", "1234567A", 4, 1, "")
	f.Add("", "", 0, 0, 0, "", "", "", "", "", 0, 0, "")
	f.Add("\x00\xff", "  ", 2026, 2, 30, "T99", "@", "+33", "2A004", "x", 2, 9, "")
	f.Add("O'Brien-Smith", "Jean Pierre", 2010, 11, 26, "t05", "a..b@c.fr", "0033 (0)6", "27", "123 4567 a", 8, 8, "other")
	f.Add("Durand", "Théo", 1976, 11, 26, "T13", "", "+33612345678", "76540", "", 1, 7, "other")
	refs := domain.DefaultTerritories()
	f.Fuzz(func(t *testing.T, family, given string, y, m, d int, territory, email, phone, commune, ftid string, education, referral int, holder string) {
		cmd := domain.RegisterLearner{
			LearnerID: "l", FamilyName: family, GivenName: given,
			BirthDate: civil.Date{Year: y, Month: time.Month(m), Day: d}, Territory: territory,
			Contact: domain.Contact{Email: email, Phone: phone, Commune: commune},
			Situation: domain.Situation{
				FranceTravailID: ftid, Education: domain.EducationLevel(education), Referral: domain.ReferralSource(referral),
			},
			Today:   today,
			Holders: domain.Holders{Identity: holder},
		}
		evs, err := domain.Decide(domain.Learner{}, cmd, refs)
		if err != nil {
			k := apperr.KindOf(err)
			if k != apperr.KindInvalidArgument && !(k == apperr.KindAlreadyExists && holder != "" && holder != "l") {
				t.Fatalf("kind %v for %+v: %v", k, cmd, err)
			}
			return
		}
		reg, ok := evs[0].(domain.LearnerRegistered)
		if !ok || len(evs) != 1 {
			t.Fatalf("events %v", evs)
		}
		if identity, _ := cmd.ClaimKeys(); identity != domain.IdentityKey(reg.FamilyName, reg.GivenName, reg.BirthDate) || identity == "" {
			t.Fatalf("claim key %q for %+v", identity, reg)
		}
		if reg.Contact.Email == "" && reg.Contact.Phone == "" {
			t.Fatalf("registered without contact: %+v", reg)
		}
		if reg.SeniorAtEntry != (cmd.BirthDate.YearsOn(today) >= domain.SeniorAge) {
			t.Fatalf("senior %v for %v", reg.SeniorAtEntry, cmd.BirthDate)
		}
	})
}
