// Package domain holds intake's business rules: who may be registered, how
// a learner's contact and situation change, and how a learner's state
// follows from its events. It is pure: no I/O.
package domain

import (
	"strings"
	"unicode"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// MinimumAge is the youngest age at which a person can be registered.
const MinimumAge = 16

// SeniorAge is the age from which a learner counts as a senior at entry.
const SeniorAge = 50

// Learner is the state of one learner, folded from its events.
type Learner struct {
	ID           string
	FamilyName   string
	GivenName    string
	BirthDate    civil.Date
	Territory    string
	RegisteredOn civil.Date
	Contact      Contact
	// Situation is the current situation, applying since SituationSince.
	Situation      Situation
	SituationSince civil.Date
	// SeniorAtEntry: aged SeniorAge or more on RegisteredOn.
	SeniorAtEntry bool
	// Erased: the learner's personal data was erased on ErasedOn, on
	// Ground, for the case Reference. Only the id, the territory and the
	// registration day remain.
	Erased    bool
	ErasedOn  civil.Date
	Ground    ErasureGround
	Reference string
}

// Exists reports whether the learner has been registered.
func (l Learner) Exists() bool { return l.ID != "" }

// Event is a fact about a learner.
type Event interface{ learnerEvent() }

// LearnerRegistered: a person was welcomed into the scheme.
type LearnerRegistered struct {
	LearnerID     string
	FamilyName    string
	GivenName     string
	BirthDate     civil.Date
	Territory     string
	RegisteredOn  civil.Date
	Contact       Contact
	Situation     Situation
	SeniorAtEntry bool
}

// ContactUpdated: the learner's contact is now Contact.
type ContactUpdated struct {
	LearnerID   string
	Contact     Contact
	EffectiveOn civil.Date
}

// SituationUpdated: from EffectiveOn, the learner's situation is Situation.
type SituationUpdated struct {
	LearnerID   string
	Situation   Situation
	EffectiveOn civil.Date
	RecordedOn  civil.Date
}

// LearnerErased: the learner's personal data was erased (see
// EraseLearner).
type LearnerErased struct {
	LearnerID string
	Territory string
	ErasedOn  civil.Date
	Ground    ErasureGround
	Reference string
}

func (LearnerRegistered) learnerEvent() {}
func (ContactUpdated) learnerEvent()    {}
func (SituationUpdated) learnerEvent()  {}
func (LearnerErased) learnerEvent()     {}

// Command is a request to change a learner.
type Command interface{ learnerCommand() }

// Holders are the learners holding the identity and France Travail
// identifier a command needs, as found when the command was decided ("" for
// a free one). See RegisterLearner.ClaimKeys and UpdateSituation.ClaimKey.
// The claims themselves are made by the caller before the decision (they
// live outside the learner's events), so a decision that goes ahead finds
// its own learner holding them.
type Holders struct {
	Identity        string
	FranceTravailID string
}

// RegisterLearner registers a new person on Today. Contact and Situation
// are taken as entered and normalised here.
type RegisterLearner struct {
	LearnerID  string
	FamilyName string
	GivenName  string
	BirthDate  civil.Date
	Territory  string
	Contact    Contact
	Situation  Situation
	Today      civil.Date
	Holders    Holders
}

// ClaimKeys returns the identity key and the normalised France Travail
// identifier the registration claims ("" for one it cannot claim, the input
// being invalid or absent): their holders go in Holders.
func (c RegisterLearner) ClaimKeys() (identity, franceTravailID string) {
	ftid, ok := NormalizeFranceTravailID(c.Situation.FranceTravailID)
	if !ok {
		ftid = ""
	}
	return IdentityKey(c.FamilyName, c.GivenName, c.BirthDate), ftid
}

// UpdateContact changes the fields that are not nil; an empty Email or
// Phone removes it.
type UpdateContact struct {
	Email   *string
	Phone   *string
	Commune *string
	Today   civil.Date
}

// UpdateSituation changes the fields that are not nil from EffectiveDate.
// An empty FranceTravailID removes it; a new one is claimed, so its holder,
// if any, goes in FranceTravailIDHolder; the claim of the one it replaces is
// released by the caller.
type UpdateSituation struct {
	EffectiveDate   civil.Date
	JobSeeker       *bool
	FranceTravailID *string
	RSA             *bool
	RQTH            *bool
	Education       *EducationLevel
	QPV             *bool
	ZRR             *bool
	Referral        *ReferralSource
	// EducationJustification: see Situation.EducationJustification. Nil
	// keeps it, unless Education changes to a level of 3 and below, which
	// drops it.
	EducationJustification *string
	Today                  civil.Date
	FranceTravailIDHolder  string
}

// ClaimKey returns the normalised France Travail identifier the change may
// claim, "" when it sets none or an invalid one.
func (c UpdateSituation) ClaimKey() string {
	if c.FranceTravailID == nil {
		return ""
	}
	id, ok := NormalizeFranceTravailID(*c.FranceTravailID)
	if !ok {
		return ""
	}
	return id
}

func (RegisterLearner) learnerCommand() {}
func (UpdateContact) learnerCommand()   {}
func (UpdateSituation) learnerCommand() {}
func (EraseLearner) learnerCommand()    {}

// Evolve applies one event to the state. An erasure leaves only what is not
// personal: the id, the territory and the registration day.
func Evolve(l Learner, e Event) Learner {
	switch e := e.(type) {
	case LearnerRegistered:
		return Learner{
			ID: e.LearnerID, FamilyName: e.FamilyName, GivenName: e.GivenName,
			BirthDate: e.BirthDate, Territory: e.Territory, RegisteredOn: e.RegisteredOn,
			Contact: e.Contact, Situation: e.Situation, SituationSince: e.RegisteredOn, SeniorAtEntry: e.SeniorAtEntry,
		}
	case ContactUpdated:
		l.Contact = e.Contact
	case SituationUpdated:
		l.Situation, l.SituationSince = e.Situation, e.EffectiveOn
	case LearnerErased:
		return Learner{
			ID: l.ID, Territory: l.Territory, RegisteredOn: l.RegisteredOn,
			Erased: true, ErasedOn: e.ErasedOn, Ground: e.Ground, Reference: e.Reference,
		}
	}
	return l
}

// Decide checks a command against the current state and returns the events
// it produces, or why it is refused: InvalidArgument naming every offending
// field, then AlreadyExists naming the learner that holds the person's
// identity or France Travail identifier (meta "learner_id").
func Decide(l Learner, cmd Command, territories *Territories) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterLearner:
		return decideRegister(l, c, territories)
	case UpdateContact:
		return decideContact(l, c, territories)
	case UpdateSituation:
		return decideSituation(l, c)
	case EraseLearner:
		return decideErase(l, c)
	}
	return nil, apperr.Invalid(apperr.FieldViolation{Field: "command", Description: "unknown command"})
}

func decideRegister(l Learner, c RegisterLearner, territories *Territories) ([]Event, error) {
	var v apperr.Violations
	family := NormalizeSpaces(c.FamilyName)
	given := NormalizeSpaces(c.GivenName)
	checkName(&v, "family_name", family)
	checkName(&v, "given_name", given)
	switch {
	case !c.BirthDate.Valid():
		v.Add("birth_date", "must be a real date between 1900 and 2200")
	case c.BirthDate.After(c.Today):
		v.Add("birth_date", "must not be in the future")
	case c.BirthDate.YearsOn(c.Today) < MinimumAge:
		v.Addf("birth_date", "the person must be at least %d years old on the registration date", MinimumAge)
	}
	ter, known := territories.Lookup(c.Territory)
	switch {
	case c.Territory == "":
		v.Add("territory_code", "is required")
	case !known:
		v.Addf("territory_code", "unknown territory %q", c.Territory)
	}
	contact := Contact{
		Email:   checkEmail(&v, "contact.email", c.Contact.Email),
		Phone:   checkPhone(&v, "contact.phone", c.Contact.Phone),
		Commune: checkCommune(&v, "contact.commune_code", c.Contact.Commune, ter, known),
	}
	if strings.TrimSpace(c.Contact.Email) == "" && strings.TrimSpace(c.Contact.Phone) == "" {
		v.Add("contact", "an e-mail address or a phone number is required")
	}
	situation := c.Situation
	situation.FranceTravailID = checkFranceTravailID(&v, "situation.france_travail_id", c.Situation.FranceTravailID)
	if !situation.Education.Valid() {
		v.Add("situation.education_level", "is required: no diploma, or level 3 to 8")
	}
	situation.EducationJustification = checkJustification(&v, "situation.education_level_justification",
		situation.Education, c.Situation.EducationJustification)
	if !situation.Referral.Valid() {
		v.Add("situation.referral_source", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if l.Exists() {
		return nil, apperr.AlreadyExists("learner %s is already registered", l.ID).WithMeta("learner_id", l.ID)
	}
	if situation.FranceTravailID != "" {
		if err := heldByAnother(c.LearnerID, c.Holders.FranceTravailID, "france_travail_id",
			"France Travail identifier "+situation.FranceTravailID); err != nil {
			return nil, err
		}
	}
	if err := heldByAnother(c.LearnerID, c.Holders.Identity, "identity",
		"a person with this family name, given name and birth date"); err != nil {
		return nil, err
	}
	return []Event{LearnerRegistered{
		LearnerID: c.LearnerID, FamilyName: family, GivenName: given,
		BirthDate: c.BirthDate, Territory: c.Territory, RegisteredOn: c.Today,
		Contact: contact, Situation: situation, SeniorAtEntry: c.BirthDate.YearsOn(c.Today) >= SeniorAge,
	}}, nil
}

// heldByAnother refuses a claim held by a learner other than self.
func heldByAnother(self, holder, match, what string) error {
	if holder == "" || holder == self {
		return nil
	}
	return apperr.AlreadyExists("%s is already registered as learner %s", what, holder).
		WithMeta("learner_id", holder).WithMeta("match", match)
}

func decideContact(l Learner, c UpdateContact, territories *Territories) ([]Event, error) {
	if !l.Exists() {
		return nil, apperr.NotFound("learner not found")
	}
	if l.Erased {
		return nil, ErrErased()
	}
	var v apperr.Violations
	next := l.Contact
	if c.Email != nil {
		next.Email = checkEmail(&v, "email", *c.Email)
	}
	if c.Phone != nil {
		next.Phone = checkPhone(&v, "phone", *c.Phone)
	}
	if c.Commune != nil {
		ter, known := territories.Lookup(l.Territory)
		if *c.Commune == "" {
			v.Add("commune_code", "must not be empty: a learner always has a commune")
		} else {
			next.Commune = checkCommune(&v, "commune_code", *c.Commune, ter, known)
		}
	}
	if c.Email != nil && strings.TrimSpace(*c.Email) == "" && next.Phone == "" {
		v.Add("email", "cannot be removed: the learner would have neither e-mail nor phone")
	}
	if c.Phone != nil && strings.TrimSpace(*c.Phone) == "" && next.Email == "" {
		v.Add("phone", "cannot be removed: the learner would have neither e-mail nor phone")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if next == l.Contact {
		return nil, nil
	}
	return []Event{ContactUpdated{LearnerID: l.ID, Contact: next, EffectiveOn: c.Today}}, nil
}

func decideSituation(l Learner, c UpdateSituation) ([]Event, error) {
	if !l.Exists() {
		return nil, apperr.NotFound("learner not found")
	}
	if l.Erased {
		return nil, ErrErased()
	}
	var v apperr.Violations
	switch {
	case !c.EffectiveDate.Valid():
		v.Add("effective_date", "must be a real date between 1900 and 2200")
	case c.EffectiveDate.After(c.Today):
		v.Add("effective_date", "must not be in the future")
	case c.EffectiveDate.Before(l.RegisteredOn):
		v.Addf("effective_date", "must not be before the registration on %s", l.RegisteredOn)
	case c.EffectiveDate.Before(l.SituationSince):
		v.Addf("effective_date", "must not be before the current situation's effective date %s", l.SituationSince)
	}
	next := l.Situation
	setBool(&next.JobSeeker, c.JobSeeker)
	setBool(&next.RSA, c.RSA)
	setBool(&next.RQTH, c.RQTH)
	setBool(&next.QPV, c.QPV)
	setBool(&next.ZRR, c.ZRR)
	if c.FranceTravailID != nil {
		next.FranceTravailID = checkFranceTravailID(&v, "france_travail_id", *c.FranceTravailID)
	}
	if c.Education != nil {
		if !c.Education.Valid() {
			v.Add("education_level", "must be no diploma, or level 3 to 8")
		}
		next.Education = *c.Education
	}
	if c.EducationJustification != nil {
		next.EducationJustification = *c.EducationJustification
	} else if c.Education != nil && !next.Education.AbovePublic() {
		// A justification is only for a level above the scheme's public: a
		// change to a level of 3 and below drops it.
		next.EducationJustification = ""
	}
	if c.Education != nil || c.EducationJustification != nil {
		next.EducationJustification = checkJustification(&v, "education_level_justification",
			next.Education, next.EducationJustification)
	}
	if c.Referral != nil {
		if !c.Referral.Valid() {
			v.Add("referral_source", "must be one of the referral sources")
		}
		next.Referral = *c.Referral
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if next == l.Situation {
		return nil, nil
	}
	if next.FranceTravailID != "" && next.FranceTravailID != l.Situation.FranceTravailID {
		if err := heldByAnother(l.ID, c.FranceTravailIDHolder, "france_travail_id",
			"France Travail identifier "+next.FranceTravailID); err != nil {
			return nil, err
		}
	}
	return []Event{SituationUpdated{LearnerID: l.ID, Situation: next, EffectiveOn: c.EffectiveDate, RecordedOn: c.Today}}, nil
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// checkName checks a person's name: text's rule for names (one line of at
// most 100 characters, no control, bidirectional or invisible formatting
// characters), with a letter in it.
func checkName(v *apperr.Violations, field, name string) {
	if problem := text.Problem(name, text.Name); problem != "" {
		v.Add(field, problem)
		return
	}
	if !strings.ContainsFunc(name, unicode.IsLetter) || FoldName(name) == "" {
		v.Add(field, "must contain a letter")
	}
}

// checkEmail returns the normalised address, "" for an empty one.
func checkEmail(v *apperr.Violations, field, email string) string {
	if strings.TrimSpace(email) == "" {
		return ""
	}
	e, problem := NormalizeEmail(email)
	if problem != "" {
		v.Add(field, problem)
	}
	return e
}

// checkPhone returns the number in E.164 form, "" for an empty one.
func checkPhone(v *apperr.Violations, field, phone string) string {
	if strings.TrimSpace(phone) == "" {
		return ""
	}
	p, ok := NormalizePhone(phone)
	if !ok {
		v.Add(field, "must be a French phone number: 0X XX XX XX XX or +33 X XX XX XX XX")
	}
	return p
}

// checkCommune requires an INSEE commune code in the département of the
// territory (when the territory is known).
func checkCommune(v *apperr.Violations, field, commune string, ter Territory, known bool) string {
	c, ok := NormalizeCommune(commune)
	switch {
	case strings.TrimSpace(commune) == "":
		v.Add(field, "is required: the INSEE code of the commune of residence")
	case !ok:
		v.Add(field, "must be an INSEE commune code: 5 characters, the département (2 digits, 2A or 2B) then 3 digits")
	case known && communeDepartment(c) != ter.Department:
		v.Addf(field, "commune %s is not in département %s of territory %s (%s)", c, ter.Department, ter.Code, ter.Name)
	}
	return c
}

// checkJustification returns the justification of an education level,
// trimmed: required above the scheme's public (level 4 and up), refused
// with a level of 3 and below, and a free text of at most 500 characters.
// Learners recorded before the rule may have a level of 4 and up without
// one: it is checked only when the level or the justification is given.
func checkJustification(v *apperr.Violations, field string, level EducationLevel, justification string) string {
	j := strings.TrimSpace(justification)
	switch {
	case level.AbovePublic() && j == "":
		v.Add(field, "a justification is required above the scheme's public (education level 4 and up): say why the person is welcomed")
	case !level.AbovePublic() && level.Valid() && j != "":
		v.Add(field, "a justification is only for an education level above the scheme's public (4 and up)")
	case j != "":
		text.Check(v, field, j, JustificationRule)
	}
	return j
}

// checkFranceTravailID returns the normalised identifier, "" for an empty
// one.
func checkFranceTravailID(v *apperr.Violations, field, id string) string {
	if strings.TrimSpace(id) == "" {
		return ""
	}
	n, ok := NormalizeFranceTravailID(id)
	if !ok {
		v.Add(field, "must be 7 digits followed by a digit or a letter, e.g. 1234567A")
	}
	return n
}
