package domain_test

import (
	"reflect"
	"testing"

	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// FuzzCheckContent feeds arbitrary content to the validation: it never
// panics; it refuses with InvalidArgument only, or accepts a content whose
// every value is within the rules (free texts without control or
// bidirectional characters), and which checks again to itself.
func FuzzCheckContent(f *testing.F) {
	f.Add("digital", "acquired", "CAP Cuisine", 3, 2019, "work", "Commis", "g1602", 14, "health", "high", "K2204", "to_confirm", 35, 30, "trade_discovery", 3, "K2204", "Permis B")
	f.Add("", "", "", 0, 0, "", "", "", 0, "", "", "", "", 0, 0, "", 0, "", "")
	f.Add("cooking", "expert", "a\nb", 9, 3000, "hobby", " ", "G16020", 601, "luck", "fatal", "cook", "ripe", 49, 501, "nap", 21, "K22O4", "\x00")
	f.Add("digital", "acquired", "CAP \u202eeniusiC", 3, 2019, "work", "Commis\u200b", "G1602", 14, "health", "high", "K2204", "none", 0, 0, "other", 0, "", "Permis\u2066B")
	f.Add("teamwork", "not_assessed", "Licence", -1, 1899, "volunteer", "Bénévole", "  ", -3, "mobility", "low", "", "", -1, -1, "other", -5, "", " ")
	f.Fuzz(func(t *testing.T, skill, level, title string, diplomaLevel, year int, kind, role, rome string, months int,
		barrier, severity, target, maturity string, hours, km int, step string, workshops int, discovery, description string) {
		c := domain.Content{
			Skills:      []domain.Skill{{Domain: domain.SkillDomain(skill), Level: domain.SkillLevel(level)}},
			Diplomas:    []domain.Diploma{{Title: title, Level: diplomaLevel, Year: year}},
			Experiences: []domain.Experience{{Kind: domain.ExperienceKind(kind), Role: role, ROMECode: rome, DurationMonths: months}},
			Barriers:    []domain.Barrier{{Kind: domain.BarrierKind(barrier), Severity: domain.Severity(severity)}},
			Project:     domain.Project{TargetROMECodes: []string{target}, Maturity: domain.Maturity(maturity), MaxWeeklyHours: hours, MaxTravelKm: km},
			Steps:       []domain.Step{{Kind: domain.StepKind(step), Workshops: workshops, ROMECodes: []string{discovery}, Description: description}},
		}
		var v apperr.Violations
		out := domain.CheckContent(&v, "content", c, today)
		if err := v.Err(); err != nil {
			if apperr.KindOf(err) != apperr.KindInvalidArgument {
				t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
			}
			return
		}
		if len(out.Skills) != len(domain.SkillDomains) {
			t.Fatalf("skills %+v", out.Skills)
		}
		for i, s := range out.Skills {
			if s.Domain != domain.SkillDomains[i] || !s.Level.Valid() {
				t.Fatalf("skill %+v", s)
			}
		}
		for _, d := range out.Diplomas {
			if text.Problem(d.Title, text.Rule{Kind: text.Line, Max: domain.MaxTitleLength, Required: true}) != "" || d.Level < 0 || d.Level > domain.MaxDiplomaLevel || d.Year < domain.MinDiplomaYear || d.Year > today.Year {
				t.Fatalf("diploma %+v", d)
			}
		}
		for _, e := range out.Experiences {
			if _, ok := domain.NormalizeROMECode(e.ROMECode); (e.ROMECode != "" && !ok) || e.DurationMonths < 1 ||
				text.Problem(e.Role, text.Rule{Kind: text.Line, Max: domain.MaxRoleLength, Required: true}) != "" {
				t.Fatalf("experience %+v", e)
			}
		}
		for _, b := range out.Barriers {
			if !b.Kind.Valid() || !b.Severity.Valid() {
				t.Fatalf("barrier %+v", b)
			}
		}
		for _, code := range out.Project.TargetROMECodes {
			if _, ok := domain.NormalizeROMECode(code); !ok {
				t.Fatalf("target %q", code)
			}
		}
		for _, s := range out.Steps {
			if (s.Kind == domain.StepProjectWorkshops && (s.Workshops < 1 || s.Workshops > domain.MaxWorkshops)) ||
				(s.Kind == domain.StepOther && text.Problem(s.Description, text.Rule{Kind: text.Block, Max: domain.MaxDescriptionLength, Required: true}) != "") || (s.Kind == domain.StepTradeDiscovery && len(s.ROMECodes) == 0) {
				t.Fatalf("step %+v", s)
			}
		}
		var again apperr.Violations
		if out2 := domain.CheckContent(&again, "content", out, today); again.Err() != nil || !reflect.DeepEqual(out2, out) {
			t.Fatalf("not stable: %+v (%v)", out2, again.Err())
		}
	})
}
