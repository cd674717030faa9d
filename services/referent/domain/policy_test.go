package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

var day = civil.Date{Year: 2026, Month: time.November, Day: 26}

// ref builds a pedagogical referent of T05 with load learners.
func ref(id string, capacity, load int, specialties ...domain.Specialty) domain.Referent {
	r := domain.Referent{ID: id, Profile: domain.Profile{
		Name: id, Organisation: "AFPA", Territories: []string{"T05"}, Capacity: capacity,
		Specialties: specialties, Kind: domain.KindPedagogical,
	}, Learners: map[string]domain.Slot{}}
	for i := range load {
		r.Learners[id+"-l"+string(rune('a'+i))] = domain.Slot{}
	}
	return r
}

func with(r domain.Referent, change func(*domain.Referent)) domain.Referent {
	change(&r)
	return r
}

func TestChoose(t *testing.T) {
	need := domain.Need{Territory: "T05", Day: day}
	disabled := need
	disabled.Disability = true
	senior := need
	senior.Senior = true
	both := disabled
	both.Senior = true
	returning := need
	returning.Previous = "r-b"
	tests := []struct {
		name      string
		need      domain.Need
		referents []domain.Referent
		want      string
		why       string
	}{
		{"nobody", need, nil, "", "no pedagogical referent"},
		{"lowest load ratio", need, []domain.Referent{ref("r-a", 10, 5), ref("r-b", 10, 2)}, "r-b", "lowest load"},
		{"ratio, not count: 3/10 beats 2/4", need, []domain.Referent{ref("r-a", 4, 2), ref("r-b", 10, 3)}, "r-b", "load 3/10"},
		{"tie on ratio broken by id", need, []domain.Referent{ref("r-b", 10, 2), ref("r-a", 5, 1)}, "r-a", "tie on load broken by referent id"},
		{"disability specialty first", disabled, []domain.Referent{ref("r-a", 10, 0), ref("r-b", 10, 9, domain.SpecialtyDisability)}, "r-b", "specialty disability"},
		{"seniors specialty first", senior, []domain.Referent{ref("r-a", 10, 0, domain.SpecialtyDisability), ref("r-b", 10, 9, domain.SpecialtySeniors)}, "r-b", "specialty seniors"},
		{"both specialties beat one", both, []domain.Referent{ref("r-a", 10, 0, domain.SpecialtySeniors), ref("r-b", 10, 9, domain.SpecialtySeniors, domain.SpecialtyDisability)}, "r-b", "specialty disability, seniors"},
		{"no specialist: the policy goes on", disabled, []domain.Referent{ref("r-a", 10, 3), ref("r-b", 10, 1)}, "r-b", "no eligible referent with the specialty"},
		{"specialist full: the next", disabled, []domain.Referent{ref("r-a", 10, 3), ref("r-b", 2, 2, domain.SpecialtyDisability)}, "r-a", "no eligible referent with the specialty"},
		{"continuity beats load", returning, []domain.Referent{ref("r-a", 10, 0), ref("r-b", 10, 8)}, "r-b", "continuity"},
		{"specialty beats continuity", domain.Need{Territory: "T05", Day: day, Disability: true, Previous: "r-b"}, []domain.Referent{ref("r-a", 10, 5, domain.SpecialtyDisability), ref("r-b", 10, 0)}, "r-a", "specialty"},
		{"previous referent full: load decides", returning, []domain.Referent{ref("r-a", 10, 4), ref("r-b", 8, 8)}, "r-a", "load 4/10"},
		{"capacity edge: one slot left", need, []domain.Referent{ref("r-a", 3, 2)}, "r-a", "load 2/3"},
		{"capacity edge: full", need, []domain.Referent{ref("r-a", 3, 3)}, "", "no pedagogical referent"},
		{"other territory", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.Profile.Territories = []string{"T06"} })}, "", "no pedagogical"},
		{"economic referent never", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.Profile.Kind = domain.KindEconomic })}, "", "no pedagogical"},
		{"deactivated never", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.Deactivated = true }), ref("r-b", 10, 9)}, "r-b", "1 eligible of 2"},
		{"excluded never", domain.Need{Territory: "T05", Day: day, Exclude: "r-a"}, []domain.Referent{ref("r-a", 10, 0), ref("r-b", 10, 9)}, "r-b", "load 9/10"},
		{"absent on the day", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.AbsentFrom, r.AbsentTo = day, day }), ref("r-b", 10, 5)}, "r-b", "1 eligible"},
		{"absence starting the next day", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.AbsentFrom, r.AbsentTo = day.AddDays(1), day.AddDays(9) }), ref("r-b", 10, 5)}, "r-a", "lowest load"},
		{"absence ended the day before", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.AbsentFrom, r.AbsentTo = day.AddDays(-9), day.AddDays(-1) }), ref("r-b", 10, 5)}, "r-a", "lowest load"},
		{"absence ending on the day", need, []domain.Referent{with(ref("r-a", 10, 0), func(r *domain.Referent) { r.AbsentFrom, r.AbsentTo = day.AddDays(-9), day })}, "", "no pedagogical"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.Choose(tc.need, tc.referents)
			if got.ReferentID != tc.want {
				t.Fatalf("winner %q (%s), want %q", got.ReferentID, got.Explanation, tc.want)
			}
			if !strings.Contains(got.Explanation, tc.why) {
				t.Fatalf("explanation %q does not say %q", got.Explanation, tc.why)
			}
			// The order of the referents never matters.
			rev := make([]domain.Referent, len(tc.referents))
			for i, r := range tc.referents {
				rev[len(rev)-1-i] = r
			}
			if again := domain.Choose(tc.need, rev); again != got {
				t.Fatalf("reversed input chose %+v, want %+v", again, got)
			}
		})
	}
}
