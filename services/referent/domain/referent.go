// Package domain holds the rules of referent assignment: the directory of
// referents with their caseloads (one aggregate per referent), each learner's
// dated assignments (one aggregate per learner), and the policy that chooses
// a learner's pedagogical referent. An assignment changes a learner's
// assignment and one or two caseloads at once; the decisions here return the
// events of every aggregate concerned. It is pure: no I/O.
package domain

import (
	"maps"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Kind is what a referent does.
type Kind string

// The kinds of referents.
const (
	KindPedagogical Kind = "pedagogical"
	KindEconomic    Kind = "economic"
)

// Specialty is a public a referent is specialised in.
type Specialty string

// The specialties.
const (
	SpecialtyDisability   Specialty = "disability"
	SpecialtySeniors      Specialty = "seniors"
	SpecialtyYoungPeople  Specialty = "young-people"
	SpecialtyFrenchSecond Specialty = "french-second-language"
)

// Specialties lists every specialty.
var Specialties = []Specialty{SpecialtyDisability, SpecialtySeniors, SpecialtyYoungPeople, SpecialtyFrenchSecond}

// MaxCapacity bounds a referent's capacity.
const MaxCapacity = 500

// Profile is a referent's directory entry.
type Profile struct {
	Name         string
	Organisation string
	Territories  []string
	Capacity     int
	Specialties  []Specialty
	Languages    []string
	Kind         Kind
}

// Slot is one learner of a caseload.
type Slot struct {
	LearnerID string
	Territory string
	Episode   int
	From      civil.Date
}

// Span is a run of days, both included.
type Span struct {
	From, To civil.Date
}

// Covers reports whether day is in the span.
func (s Span) Covers(day civil.Date) bool { return !day.Before(s.From) && !day.After(s.To) }

// Referent is a referent's caseload aggregate, folded from its events: the
// directory entry and the learners followed now.
type Referent struct {
	ID            string
	Profile       Profile
	AbsentFrom    civil.Date
	AbsentTo      civil.Date
	Deactivated   bool
	DeactivatedOn civil.Date
	// Learners are the active learners, by learner id.
	Learners map[string]Slot
	// Qualif are the learners followed in Qualif (exited to qualifying
	// training, until the outcome), by learner id: they count apart, with
	// QualifWeight.
	Qualif map[string]Slot
	// QualifWeight is what a learner followed in Qualif weighs in the
	// capacity, in percent of an active learner: the service's
	// configuration, set when the caseload is loaded (not an event's).
	QualifWeight int
	// Interim stands in for the referent during its absence (AbsentFrom to
	// AbsentTo), for its learners of InterimTerritories (those the interim
	// served when named); "" when nobody does.
	Interim            string
	InterimTerritories []string
	// Covers are the absences of other referents this one stands in for:
	// the absent referent's id and the days.
	Covers map[string]Span
}

// Exists reports whether the referent was registered.
func (r Referent) Exists() bool { return r.Profile.Kind != "" }

// Load is the number of active learners.
func (r Referent) Load() int { return len(r.Learners) }

// QualifLoad is the number of learners followed in Qualif.
func (r Referent) QualifLoad() int { return len(r.Qualif) }

// UsedHundredths is the capacity used, in hundredths of a place: 100 per
// active learner, QualifWeight per learner followed in Qualif (integer
// arithmetic: with 50, two Qualif learners take one place).
func (r Referent) UsedHundredths() int {
	return UsedHundredths(r.Load(), r.QualifLoad(), r.QualifWeight)
}

// UsedHundredths is the capacity used by active learners and qualif
// learners followed in Qualif weighing weight percent each.
func UsedHundredths(active, qualif, weight int) int { return active*100 + qualif*weight }

// PlacesUsed is the capacity used in places, rounded up: a referent takes a
// new learner while PlacesUsed is below its capacity.
func PlacesUsed(hundredths int) int { return (hundredths + 99) / 100 }

// SortedQualif returns the learners followed in Qualif ordered by id.
func (r Referent) SortedQualif() []Slot {
	out := make([]Slot, 0, len(r.Qualif))
	for _, s := range r.Qualif {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Slot) int { return strings.Compare(a.LearnerID, b.LearnerID) })
	return out
}

// Serves reports whether the referent serves territory.
func (r Referent) Serves(territory string) bool {
	return slices.Contains(r.Profile.Territories, territory)
}

// AvailableOn reports whether the referent is active and not absent on day.
func (r Referent) AvailableOn(day civil.Date) bool {
	if !r.Exists() || r.Deactivated {
		return false
	}
	if r.AbsentFrom.IsZero() {
		return true
	}
	return day.Before(r.AbsentFrom) || day.After(r.AbsentTo)
}

// Has reports whether the referent has the specialty.
func (r Referent) Has(s Specialty) bool { return slices.Contains(r.Profile.Specialties, s) }

// SortedLearners returns the caseload ordered by learner id.
func (r Referent) SortedLearners() []Slot {
	out := make([]Slot, 0, len(r.Learners))
	for _, s := range r.Learners {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Slot) int { return strings.Compare(a.LearnerID, b.LearnerID) })
	return out
}

// Events of a caseload.
type (
	// ReferentRegistered: a referent entered the directory.
	ReferentRegistered struct {
		ReferentID string
		Profile    Profile
	}
	// ReferentUpdated: the whole profile after the change.
	ReferentUpdated struct {
		ReferentID string
		Profile    Profile
	}
	// AvailabilitySet: the absence, both dates zero when available, and
	// the referent standing in for this one during it ("" when none) with
	// the territories it served when named.
	AvailabilitySet struct {
		ReferentID         string
		AbsentFrom         civil.Date
		AbsentTo           civil.Date
		Territories        []string
		Interim            string
		InterimTerritories []string
	}
	// InterimTaken: the referent stands in for an absent one (For) on the
	// days of Span; recorded again when they change.
	InterimTaken struct {
		ReferentID string
		For        string
		Span       Span
	}
	// InterimReleased: the referent no longer stands in for For.
	InterimReleased struct {
		ReferentID string
		For        string
	}
	// ReferentDeactivated: out of the directory.
	ReferentDeactivated struct {
		ReferentID  string
		On          civil.Date
		Territories []string
	}
	// LearnerTaken: a learner entered the caseload.
	LearnerTaken struct {
		ReferentID string
		Slot       Slot
	}
	// LearnerReleased: a learner left the caseload (InQualif: it was
	// followed in Qualif).
	LearnerReleased struct {
		ReferentID string
		LearnerID  string
		Territory  string
		To         civil.Date
		InQualif   bool
	}
	// LearnerFollowedInQualif: a learner of the caseload left the pathway
	// for qualifying training; the referent follows it until the outcome,
	// counted apart.
	LearnerFollowedInQualif struct {
		ReferentID string
		LearnerID  string
		Territory  string
		From       civil.Date
	}
)

// Event is an event of either aggregate.
type Event interface{ isEvent() }

func (ReferentRegistered) isEvent()      {}
func (ReferentUpdated) isEvent()         {}
func (AvailabilitySet) isEvent()         {}
func (InterimTaken) isEvent()            {}
func (InterimReleased) isEvent()         {}
func (ReferentDeactivated) isEvent()     {}
func (LearnerTaken) isEvent()            {}
func (LearnerReleased) isEvent()         {}
func (LearnerFollowedInQualif) isEvent() {}

// EvolveReferent applies one event to a caseload; events of other aggregates
// leave it unchanged.
func EvolveReferent(r Referent, ev Event) Referent {
	switch e := ev.(type) {
	case ReferentRegistered:
		r.ID, r.Profile = e.ReferentID, e.Profile
	case ReferentUpdated:
		r.Profile = e.Profile
	case AvailabilitySet:
		r.AbsentFrom, r.AbsentTo = e.AbsentFrom, e.AbsentTo
		r.Interim, r.InterimTerritories = e.Interim, e.InterimTerritories
	case InterimTaken:
		r.Covers = maps.Clone(r.Covers)
		if r.Covers == nil {
			r.Covers = map[string]Span{}
		}
		r.Covers[e.For] = e.Span
	case InterimReleased:
		r.Covers = maps.Clone(r.Covers)
		delete(r.Covers, e.For)
	case ReferentDeactivated:
		r.Deactivated, r.DeactivatedOn = true, e.On
	case LearnerTaken:
		r.Learners = cloneSlots(r.Learners)
		r.Learners[e.Slot.LearnerID] = e.Slot
	case LearnerReleased:
		r.Learners, r.Qualif = cloneSlots(r.Learners), cloneSlots(r.Qualif)
		delete(r.Learners, e.LearnerID)
		delete(r.Qualif, e.LearnerID)
	case LearnerFollowedInQualif:
		slot, ok := r.Learners[e.LearnerID]
		if !ok {
			slot = Slot{LearnerID: e.LearnerID, Territory: e.Territory}
		}
		r.Learners, r.Qualif = cloneSlots(r.Learners), cloneSlots(r.Qualif)
		delete(r.Learners, e.LearnerID)
		r.Qualif[e.LearnerID] = slot
	}
	return r
}

func cloneSlots(m map[string]Slot) map[string]Slot {
	out := make(map[string]Slot, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ProfileField names a field of a profile that an update may change alone;
// the values are the fields' names in requests and violations.
type ProfileField string

// The fields of a profile an update may name.
const (
	FieldName         ProfileField = "name"
	FieldOrganisation ProfileField = "organisation"
	FieldTerritories  ProfileField = "territory_codes"
	FieldCapacity     ProfileField = "capacity"
	FieldSpecialties  ProfileField = "specialties"
	FieldLanguages    ProfileField = "languages"
)

// ProfileFields lists every field an update may name, in profile order.
// The kind is not among them: it never changes.
var ProfileFields = []ProfileField{FieldName, FieldOrganisation, FieldTerritories, FieldCapacity, FieldSpecialties, FieldLanguages}

// withFields returns p with the fields named taken from q; the others
// keep their values.
func (p Profile) withFields(q Profile, fields []ProfileField) Profile {
	for _, f := range fields {
		switch f {
		case FieldName:
			p.Name = q.Name
		case FieldOrganisation:
			p.Organisation = q.Organisation
		case FieldTerritories:
			p.Territories = q.Territories
		case FieldCapacity:
			p.Capacity = q.Capacity
		case FieldSpecialties:
			p.Specialties = q.Specialties
		case FieldLanguages:
			p.Languages = q.Languages
		}
	}
	return p
}

// normalized returns p with its texts trimmed, as it is checked and stored.
func (p Profile) normalized() Profile {
	p.Name, p.Organisation = strings.TrimSpace(p.Name), strings.TrimSpace(p.Organisation)
	return p
}

// Directory commands.
type (
	// RegisterReferent adds a referent.
	RegisterReferent struct {
		ReferentID string
		Profile    Profile
	}
	// UpdateReferent changes the profile; the kind stays. Fields names the
	// fields of Profile to change, the others keeping their current values
	// (merged on the caseload as the decision finds it, so that concurrent
	// updates of other fields are kept); nil replaces the whole profile.
	UpdateReferent struct {
		ReferentID string
		Profile    Profile
		Fields     []ProfileField
	}
	// SetAvailability records an absence (both dates) or clears it (none).
	// Interim, with an absence, names the referent standing in for the
	// referent's learners during it (see DecideAvailability).
	SetAvailability struct {
		ReferentID string
		AbsentFrom civil.Date
		AbsentTo   civil.Date
		Interim    string
	}
	// EndInterim releases Interim from the absence of ReferentID, if it
	// still stands in for it (the interim was deactivated); the absence
	// stays.
	EndInterim struct {
		ReferentID string
		Interim    string
	}
	// DeactivateReferent removes a referent from the directory.
	DeactivateReferent struct {
		ReferentID string
		On         civil.Date
		Today      civil.Date
	}
)

// nameRule is the rule of a referent's name and organisation: one line
// (no control, bidirectional or invisible formatting characters), required,
// at most 200 characters, the bound profiles were always registered with.
var nameRule = text.Rule{Kind: text.Line, Max: 200, Required: true}

// CheckProfile records the problems of a whole profile under field. Names
// are checked as stored: trimmed.
func CheckProfile(v *apperr.Violations, field string, p Profile) {
	checkProfile(v, field, p.normalized(), ProfileFields)
	if p.Kind != KindPedagogical && p.Kind != KindEconomic {
		v.Add(field+".kind", "must be pedagogical or economic")
	}
}

// checkProfile records the problems of the fields named of p, whose kind
// is known.
func checkProfile(v *apperr.Violations, field string, p Profile, fields []ProfileField) {
	named := func(f ProfileField) bool { return slices.Contains(fields, f) }
	if named(FieldName) {
		text.Check(v, field+".name", p.Name, nameRule)
	}
	if named(FieldOrganisation) {
		text.Check(v, field+".organisation", p.Organisation, nameRule)
	}
	if named(FieldTerritories) {
		if len(p.Territories) == 0 || len(p.Territories) > 18 {
			v.Add(field+".territory_codes", "needs 1 to 18 territories")
		}
		for i, t := range p.Territories {
			if problem := ident.CheckTerritory(t); problem != "" {
				v.Addf(field+".territory_codes", "entry %d: %s", i, problem)
			} else if slices.Contains(p.Territories[:i], t) {
				v.Addf(field+".territory_codes", "entry %d: %s given twice", i, t)
			}
		}
	}
	if named(FieldCapacity) {
		switch p.Kind {
		case KindPedagogical:
			if p.Capacity < 1 || p.Capacity > MaxCapacity {
				v.Addf(field+".capacity", "must be 1 to %d active learners", MaxCapacity)
			}
		case KindEconomic:
			if p.Capacity != 0 {
				v.Add(field+".capacity", "must be 0: economic referents are never assigned learners")
			}
		}
	}
	if named(FieldSpecialties) {
		for i, s := range p.Specialties {
			if !slices.Contains(Specialties, s) {
				v.Addf(field+".specialties", "entry %d is not a known specialty", i)
			} else if slices.Contains(p.Specialties[:i], s) {
				v.Addf(field+".specialties", "entry %d: %s given twice", i, s)
			}
		}
	}
	if named(FieldLanguages) {
		for i, l := range p.Languages {
			if len(l) != 2 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" {
				v.Addf(field+".languages", "entry %d: %q is not an ISO 639-1 code (two lower-case letters)", i, l)
			}
		}
	}
}

// DecideReferent decides a directory command on a caseload.
func DecideReferent(r Referent, cmd any) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterReferent:
		var v apperr.Violations
		CheckProfile(&v, "profile", c.Profile)
		if err := v.Err(); err != nil {
			return nil, err
		}
		if r.Exists() {
			return nil, apperr.AlreadyExists("referent %s already exists", r.ID).WithMeta("referent_id", r.ID)
		}
		return []Event{ReferentRegistered{ReferentID: c.ReferentID, Profile: c.Profile.normalized()}}, nil
	case UpdateReferent:
		return decideUpdate(r, c)
	case SetAvailability:
		// Without the caseloads of interims nor the learners' assignments:
		// enough for an absence without interim, before and after.
		return DecideAvailability(r, nil, nil, c)
	case DeactivateReferent:
		if c.On.After(c.Today) {
			return nil, apperr.Invalid(apperr.FieldViolation{Field: "effective_date", Description: "cannot be in the future"})
		}
		if err := changeable(r, c.ReferentID); err != nil {
			return nil, err
		}
		return []Event{ReferentDeactivated{ReferentID: r.ID, On: c.On, Territories: r.Profile.Territories}}, nil
	}
	return nil, apperr.New(apperr.KindInternal, "unknown command %T", cmd)
}

// decideUpdate changes the whole profile, or the fields named, on the
// caseload as it stands.
func decideUpdate(r Referent, c UpdateReferent) ([]Event, error) {
	next := c.Profile
	if c.Fields == nil {
		var v apperr.Violations
		CheckProfile(&v, "profile", c.Profile)
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	if err := changeable(r, c.ReferentID); err != nil {
		return nil, err
	}
	if c.Fields != nil {
		// Only the fields named are checked: a value stored under older
		// rules does not block a change of another field.
		next = r.Profile.withFields(c.Profile, c.Fields)
		var v apperr.Violations
		checkProfile(&v, "profile", next.normalized(), c.Fields)
		if err := v.Err(); err != nil {
			return nil, err
		}
	} else if c.Profile.Kind != r.Profile.Kind {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "profile.kind", Description: "cannot change: register another referent"})
	}
	next = next.normalized()
	if next.Capacity < r.Load() {
		return nil, apperr.FailedPrecondition("referent %s follows %d learners: capacity %d is too low, hand learners over first", r.ID, r.Load(), next.Capacity)
	}
	for _, s := range r.SortedLearners() {
		if !slices.Contains(next.Territories, s.Territory) {
			return nil, apperr.FailedPrecondition("referent %s follows learners of %s: hand them over before leaving the territory", r.ID, s.Territory)
		}
	}
	if sameProfile(r.Profile, next) {
		return nil, nil
	}
	return []Event{ReferentUpdated{ReferentID: r.ID, Profile: next}}, nil
}

func changeable(r Referent, id string) error {
	if !r.Exists() {
		return apperr.NotFound("referent %s not found", id)
	}
	if r.Deactivated {
		return apperr.FailedPrecondition("referent %s is deactivated", r.ID)
	}
	return nil
}

func sameProfile(a, b Profile) bool {
	return a.Name == b.Name && a.Organisation == b.Organisation && a.Capacity == b.Capacity && a.Kind == b.Kind &&
		slices.Equal(a.Territories, b.Territories) && slices.Equal(a.Specialties, b.Specialties) && slices.Equal(a.Languages, b.Languages)
}
