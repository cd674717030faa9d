package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Need is what the assignment policy knows of a learner.
type Need struct {
	Territory string
	// Day is the day the assignment starts: the entry date, or the day a
	// slot freed for a queued learner.
	Day civil.Date
	// Disability (RQTH) and Senior (50 or older at entry) call for the
	// matching specialties.
	Disability bool
	Senior     bool
	// Previous is the learner's referent of the previous episode, or of the
	// period that just ended; "" if none.
	Previous string
	// Exclude is a referent that may not be chosen (the one being
	// deactivated or handing over); "" if none.
	Exclude string
}

// Specialties returns the specialties the learner calls for.
func (n Need) Specialties() []Specialty {
	var s []Specialty
	if n.Disability {
		s = append(s, SpecialtyDisability)
	}
	if n.Senior {
		s = append(s, SpecialtySeniors)
	}
	return s
}

// Eligible reports whether r may take a learner of need, and why not.
func Eligible(r Referent, need Need) (bool, string) {
	switch {
	case !r.Exists():
		return false, "not registered"
	case r.Profile.Kind != KindPedagogical:
		return false, "not a pedagogical referent"
	case r.Deactivated:
		return false, "deactivated"
	case r.ID == need.Exclude:
		return false, "excluded"
	case !r.Serves(need.Territory):
		return false, "does not serve " + need.Territory
	case !r.AvailableOn(need.Day):
		return false, "absent on " + need.Day.String()
	case r.UsedHundredths()+100 > r.Profile.Capacity*100:
		if r.QualifLoad() > 0 {
			return false, fmt.Sprintf("full (%d/%d: %d active, %d followed in Qualif at %d%%)",
				PlacesUsed(r.UsedHundredths()), r.Profile.Capacity, r.Load(), r.QualifLoad(), r.QualifWeight)
		}
		return false, fmt.Sprintf("full (%d/%d)", r.Load(), r.Profile.Capacity)
	}
	return true, ""
}

// Choice is the policy's answer.
type Choice struct {
	// ReferentID is the winner, "" when no referent may take the learner.
	ReferentID string
	// Explanation says why it won (or why nobody could), for the event.
	Explanation string
	// Name is the winner's name.
	Name string
}

// Choose picks a learner's pedagogical referent among referents: those
// eligible (active, serving the territory, available on the day, below
// capacity) are ranked by the number of the learner's specialties they
// have, then continuity (the previous referent first), then the lowest load
// ratio (active learners / capacity, compared by cross-multiplication), then
// referent id. Pure and deterministic whatever the order of referents.
func Choose(need Need, referents []Referent) Choice {
	wanted := need.Specialties()
	var cands []Referent
	for _, r := range referents {
		if ok, _ := Eligible(r, need); ok {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return Choice{Explanation: fmt.Sprintf("no pedagogical referent of %s active, available on %s and below capacity, among %d", need.Territory, need.Day, len(referents))}
	}
	matched := func(r Referent) int {
		n := 0
		for _, s := range wanted {
			if r.Has(s) {
				n++
			}
		}
		return n
	}
	better := func(a, b Referent) int { // negative when a ranks first
		if ma, mb := matched(a), matched(b); ma != mb {
			return mb - ma
		}
		if ca, cb := a.ID == need.Previous, b.ID == need.Previous; ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		// a.load/a.cap < b.load/b.cap  <=>  a.load*b.cap < b.load*a.cap
		if l, r := a.UsedHundredths()*b.Profile.Capacity, b.UsedHundredths()*a.Profile.Capacity; l != r {
			if l < r {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	}
	slices.SortFunc(cands, better)
	w := cands[0]
	var why []string
	why = append(why, fmt.Sprintf("%d eligible of %d in %s on %s", len(cands), len(referents), need.Territory, need.Day))
	if len(wanted) > 0 {
		var names []string
		for _, s := range wanted {
			if w.Has(s) {
				names = append(names, string(s))
			}
		}
		if len(names) > 0 {
			why = append(why, "specialty "+strings.Join(names, ", "))
		} else {
			why = append(why, "no eligible referent with the specialty")
		}
	}
	if need.Previous != "" && w.ID == need.Previous {
		why = append(why, "continuity with the previous referent")
	}
	why = append(why, fmt.Sprintf("load %d/%d", w.Load(), w.Profile.Capacity))
	if len(cands) > 1 {
		second := cands[1]
		if matched(second) == matched(w) && (second.ID == need.Previous) == (w.ID == need.Previous) {
			if w.UsedHundredths()*second.Profile.Capacity == second.UsedHundredths()*w.Profile.Capacity {
				why = append(why, "tie on load broken by referent id")
			} else {
				why = append(why, "lowest load")
			}
		}
	}
	return Choice{ReferentID: w.ID, Explanation: strings.Join(why, "; "), Name: w.Profile.Name}
}
