package domain

import "github.com/avenir-normandie/avenir/services/platform/text"

// EducationLevel is a diploma level in the French nomenclature of 2019.
// Levels 3 to 8 have their number as value.
type EducationLevel int

// Education levels.
const (
	EducationUnspecified EducationLevel = 0
	NoDiploma            EducationLevel = 1 // levels 1 and 2: no qualification
	Level3               EducationLevel = 3 // CAP, BEP
	Level4               EducationLevel = 4 // baccalauréat
	Level5               EducationLevel = 5 // bac + 2
	Level6               EducationLevel = 6 // bac + 3 or 4
	Level7               EducationLevel = 7 // bac + 5
	Level8               EducationLevel = 8 // doctorate
)

// Valid reports whether e is one of the levels (not unspecified).
func (e EducationLevel) Valid() bool { return e == NoDiploma || (e >= Level3 && e <= Level8) }

// AbovePublic reports whether e is above the scheme's public, people
// without the baccalauréat: level 4 and up. Such a person is welcomed only
// with a justification (Situation.EducationJustification).
func (e EducationLevel) AbovePublic() bool { return e >= Level4 && e <= Level8 }

// JustificationRule is the rule of an education level's justification: a
// free text of at most 500 characters (docs/adr/0058-one-rule-for-identifiers-and-texts.md).
var JustificationRule = text.Rule{Kind: text.Block, Max: 500, Required: true}

// ReferralSource is who sent a person to #Avenir.
type ReferralSource int

// Referral sources.
const (
	ReferralUnspecified ReferralSource = iota
	MissionLocale
	FranceTravail
	CapEmploi
	MaisonFranceServices
	CCAS
	Employer
	Self
	OtherReferral
)

// Valid reports whether r is one of the sources (not unspecified).
func (r ReferralSource) Valid() bool { return r >= MissionLocale && r <= OtherReferral }

// Contact is how to reach a learner and where the learner lives.
type Contact struct {
	Email string
	// Phone is a French number in E.164 form.
	Phone string
	// Commune is the INSEE code of the commune of residence.
	Commune string
}

// Situation is a learner's administrative situation.
type Situation struct {
	// JobSeeker: registered as a job seeker with France Travail.
	JobSeeker bool
	// FranceTravailID is normalised (see NormalizeFranceTravailID), or empty.
	FranceTravailID string
	// RSA: receives the minimum income.
	RSA bool
	// RQTH: recognised disability. Special-category data.
	RQTH      bool
	Education EducationLevel
	// QPV: lives in a priority area of city policy.
	QPV bool
	// ZRR: lives in a rural revitalisation area.
	ZRR      bool
	Referral ReferralSource
	// EducationJustification is why a person above the scheme's public
	// (Education.AbovePublic) is welcomed: required with those levels since
	// the rule, empty with the others. Personal data, sealed with the
	// situation.
	EducationJustification string
}
