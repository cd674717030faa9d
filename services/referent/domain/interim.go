package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Interims (docs/adr/0069-interim-referents-during-absences.md). An absence
// may name an interim: a referent standing in for the absent one with the
// learners it follows, on the days of the absence. The learners' referent
// does not change. Recording the absence writes, in one atomic batch:
//
//   - AvailabilitySet on the absent referent's caseload, naming the interim
//     and the territories it serves;
//   - InterimTaken on the interim's caseload (InterimReleased on the one
//     named before, if another);
//   - InterimAssigned on the assignment of each learner the absent referent
//     follows (InterimCleared when the interim goes).
//
// The per-learner facts are what every context reads (platform/caseload):
// on the interim's days, the interim acts for those learners as their
// referent does. A learner the absent referent takes before its absence
// ends, in a territory its interim served when named, gets the interim
// with its assignment (Decide). Any change of the learner's referent ends
// the interim (EvolveAssignment).

// interimFor is the interim the referent gives a learner it takes in slot:
// its interim, when one is named for an absence not over on the slot's
// first day, and served the slot's territory when named.
func (r Referent) interimFor(slot Slot) (InterimAssigned, bool) {
	if r.Interim == "" || r.AbsentTo.IsZero() || slot.From.After(r.AbsentTo) || !slices.Contains(r.InterimTerritories, slot.Territory) {
		return InterimAssigned{}, false
	}
	return InterimAssigned{
		LearnerID: slot.LearnerID, ReferentID: r.ID, Interim: r.Interim, Territory: slot.Territory, Episode: slot.Episode,
		Span: Span{From: r.AbsentFrom, To: r.AbsentTo},
	}, true
}

// Covered returns the learners of the caseload its interim stands in for
// (those of InterimTerritories), by learner id; nil without interim.
func (r Referent) Covered() []Slot {
	if r.Interim == "" {
		return nil
	}
	return slices.DeleteFunc(r.SortedLearners(), func(s Slot) bool { return !slices.Contains(r.InterimTerritories, s.Territory) })
}

// Check records the problems of the command's own fields (those that need
// no state).
func (c SetAvailability) Check(v *apperr.Violations) {
	if c.AbsentFrom.IsZero() != c.AbsentTo.IsZero() || (!c.AbsentFrom.IsZero() && c.AbsentTo.Before(c.AbsentFrom)) {
		v.Add("absent_to", "both dates or none; absent_to not before absent_from")
	}
	switch {
	case c.Interim == "":
	case c.AbsentFrom.IsZero() && c.AbsentTo.IsZero():
		v.Add("interim_referent_id", "needs an absence: absent_from and absent_to")
	case c.Interim == c.ReferentID:
		v.Add("interim_referent_id", "must differ from referent_id")
	}
}

// AvailabilityConcerns returns what an availability command on r decides
// on besides r: the caseloads of the interims (the one named now, the one
// named before) and the assignments of the learners r follows, by id.
func AvailabilityConcerns(r Referent, cmd any) (referents, learners []string) {
	if r.Interim != "" {
		referents = append(referents, r.Interim)
	}
	if c, ok := cmd.(SetAvailability); ok && c.Interim != "" && c.Interim != r.Interim {
		referents = append(referents, c.Interim)
	}
	for _, s := range r.SortedLearners() {
		learners = append(learners, s.LearnerID)
	}
	return referents, learners
}

// DecideAvailability decides SetAvailability or EndInterim on caseload r,
// given the caseloads of the referents AvailabilityConcerns names and the
// assignments of r's learners. The first event, when there are any, is
// always r's AvailabilitySet.
//
// A named interim must be an active pedagogical referent, not r, serving
// the territory of each learner r follows; otherwise the command is refused
// with a violation on interim_referent_id.
func DecideAvailability(r Referent, referents map[string]Referent, learners map[string]Assignment, cmd any) ([]Event, error) {
	var c SetAvailability
	switch cm := cmd.(type) {
	case SetAvailability:
		var v apperr.Violations
		cm.Check(&v)
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := changeable(r, cm.ReferentID); err != nil {
			return nil, err
		}
		c = cm
	case EndInterim:
		if !r.Exists() || r.Deactivated || r.Interim == "" || r.Interim != cm.Interim {
			return nil, nil // nothing to end: a deactivated referent follows nobody
		}
		c = SetAvailability{ReferentID: r.ID, AbsentFrom: r.AbsentFrom, AbsentTo: r.AbsentTo}
	default:
		return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
	}
	var territories []string
	if c.Interim != "" {
		i := referents[c.Interim]
		if problem := interimProblem(r, i); problem != "" {
			return nil, apperr.Invalid(apperr.FieldViolation{Field: "interim_referent_id", Description: problem})
		}
		territories = slices.Clone(i.Profile.Territories)
	}
	span := Span{From: c.AbsentFrom, To: c.AbsentTo}
	next := r
	next.AbsentFrom, next.AbsentTo, next.Interim, next.InterimTerritories = c.AbsentFrom, c.AbsentTo, c.Interim, territories

	var others []Event
	// The interims' caseloads.
	if r.Interim != "" && r.Interim != c.Interim {
		others = append(others, InterimReleased{ReferentID: r.Interim, For: r.ID})
	}
	if c.Interim != "" && (c.Interim != r.Interim || referents[c.Interim].Covers[r.ID] != span) {
		others = append(others, InterimTaken{ReferentID: c.Interim, For: r.ID, Span: span})
	}
	// The learners' assignments.
	for _, s := range r.SortedLearners() {
		a, ok := learners[s.LearnerID]
		if !ok || a.Current != r.ID {
			continue // not r's learner (the caseload and the assignment are written together: never)
		}
		want, covered := next.interimFor(Slot{LearnerID: s.LearnerID, Territory: s.Territory, Episode: s.Episode})
		switch {
		case covered && (a.Interim != want.Interim || a.InterimDays != want.Span):
			others = append(others, want)
		case !covered && a.Interim != "":
			others = append(others, InterimCleared{LearnerID: s.LearnerID, ReferentID: r.ID, Interim: a.Interim})
		}
	}
	same := r.AbsentFrom == c.AbsentFrom && r.AbsentTo == c.AbsentTo && r.Interim == c.Interim && slices.Equal(r.InterimTerritories, territories)
	if same && len(others) == 0 {
		return nil, nil
	}
	// Recorded again, unchanged, when only learners need their interim
	// (taken after the absence was recorded): the batch opens on r.
	set := AvailabilitySet{
		ReferentID: r.ID, AbsentFrom: c.AbsentFrom, AbsentTo: c.AbsentTo, Territories: r.Profile.Territories,
		Interim: c.Interim, InterimTerritories: territories,
	}
	return append([]Event{set}, others...), nil
}

// interimProblem says why i cannot stand in for r's learners, "" if it can.
func interimProblem(r, i Referent) string {
	switch {
	case !i.Exists():
		return "is not a referent of the directory"
	case i.ID == r.ID:
		return "must differ from referent_id"
	case i.Deactivated:
		return "is deactivated"
	case i.Profile.Kind != KindPedagogical:
		return "is not a pedagogical referent"
	}
	var missing []string
	for _, s := range r.SortedLearners() {
		if !i.Serves(s.Territory) && !slices.Contains(missing, s.Territory) {
			missing = append(missing, s.Territory)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Sprintf("does not serve %s, where %s follows learners", strings.Join(missing, ", "), r.ID)
	}
	return ""
}
