package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// SkillDomain is one of the seven domains of the CléA certification of
// basic and transversal skills.
type SkillDomain string

// The CléA domains, in the order of the certification.
const (
	SkillFrenchCommunication      SkillDomain = "french_communication"
	SkillCalculation              SkillDomain = "calculation"
	SkillDigital                  SkillDomain = "digital"
	SkillTeamwork                 SkillDomain = "teamwork"
	SkillAutonomy                 SkillDomain = "autonomy"
	SkillLearningToLearn          SkillDomain = "learning_to_learn"
	SkillHygieneSafetyEnvironment SkillDomain = "hygiene_safety_environment"
)

// SkillDomains lists the seven domains in order.
var SkillDomains = []SkillDomain{
	SkillFrenchCommunication, SkillCalculation, SkillDigital, SkillTeamwork,
	SkillAutonomy, SkillLearningToLearn, SkillHygieneSafetyEnvironment,
}

// SkillLevel is where a learner stands in a domain.
type SkillLevel string

// The levels.
const (
	LevelNotAssessed SkillLevel = "not_assessed"
	LevelToAcquire   SkillLevel = "to_acquire"
	LevelInProgress  SkillLevel = "in_progress"
	LevelAcquired    SkillLevel = "acquired"
)

// Valid reports whether l is one of the four levels.
func (l SkillLevel) Valid() bool {
	return l == LevelNotAssessed || l == LevelToAcquire || l == LevelInProgress || l == LevelAcquired
}

// Skill is the level reached in one domain.
type Skill struct {
	Domain SkillDomain
	Level  SkillLevel
}

// Diploma is a diploma or certification. Level is its level in the national
// nomenclature (1..8), 0 when it has none.
type Diploma struct {
	Title string
	Level int
	Year  int
}

// ExperienceKind says whether an experience was paid work or volunteering.
type ExperienceKind string

// The kinds of experience.
const (
	ExperienceWork      ExperienceKind = "work"
	ExperienceVolunteer ExperienceKind = "volunteer"
)

// Experience is a work or volunteer experience; ROMECode is "" when unknown.
type Experience struct {
	Kind           ExperienceKind
	Role           string
	ROMECode       string
	DurationMonths int
}

// BarrierKind is a kind of barrier to the pathway.
type BarrierKind string

// The barriers. Their values are stable: they key the summary's counts.
const (
	BarrierMobility       BarrierKind = "mobility"
	BarrierChildcare      BarrierKind = "childcare"
	BarrierHousing        BarrierKind = "housing"
	BarrierHealth         BarrierKind = "health" // special-category data
	BarrierFinances       BarrierKind = "finances"
	BarrierDigitalAccess  BarrierKind = "digital_access"
	BarrierFrenchLanguage BarrierKind = "french_language"
	BarrierAdministrative BarrierKind = "administrative"
)

// BarrierKinds lists the barriers in the order reports show them.
var BarrierKinds = []BarrierKind{
	BarrierMobility, BarrierChildcare, BarrierHousing, BarrierHealth,
	BarrierFinances, BarrierDigitalAccess, BarrierFrenchLanguage, BarrierAdministrative,
}

// Valid reports whether k is one of BarrierKinds.
func (k BarrierKind) Valid() bool { return slices.Contains(BarrierKinds, k) }

// SpecialCategory reports whether a barrier of kind k is special-category
// data (health), for the learner's referents and admins only.
func (k BarrierKind) SpecialCategory() bool { return k == BarrierHealth }

// Severity is how much a barrier hinders the pathway.
type Severity string

// The severities.
const (
	SeverityLow      Severity = "low"
	SeverityModerate Severity = "moderate"
	SeverityHigh     Severity = "high"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s == SeverityLow || s == SeverityModerate || s == SeverityHigh }

// Barrier is one barrier, with whether support was arranged to lift it.
type Barrier struct {
	Kind            BarrierKind
	Severity        Severity
	SupportArranged bool
}

// Maturity is how far the professional project has come.
type Maturity string

// The maturities; MaturityUnknown is a draft's before it is assessed.
const (
	MaturityUnknown   Maturity = ""
	MaturityNone      Maturity = "none"
	MaturityEmerging  Maturity = "emerging"
	MaturityToConfirm Maturity = "to_confirm"
	MaturityValidated Maturity = "validated"
)

// Valid reports whether m is a maturity that can be recorded (unknown included).
func (m Maturity) Valid() bool {
	return m == MaturityUnknown || m == MaturityNone || m == MaturityEmerging || m == MaturityToConfirm || m == MaturityValidated
}

// Project is the learner's professional project. MaxWeeklyHours and
// MaxTravelKm are 0 when no constraint was stated.
type Project struct {
	TargetROMECodes []string
	Maturity        Maturity
	MaxWeeklyHours  int
	MaxTravelKm     int
}

// StepKind is a kind of recommended step.
type StepKind string

// The steps an analysis may recommend.
const (
	StepProjectWorkshops    StepKind = "project_workshops"
	StepTradeDiscovery      StepKind = "trade_discovery"       // #Action immersions
	StepBasicSkillsTraining StepKind = "basic_skills_training" // "Savoirs"
	StepQualifyingTraining  StepKind = "qualifying_training"   // "Qualif"
	StepEmploymentSupport   StepKind = "employment_support"
	StepOther               StepKind = "other" // the description says what
)

// StepKinds lists the kinds of step.
var StepKinds = []StepKind{
	StepProjectWorkshops, StepTradeDiscovery, StepBasicSkillsTraining,
	StepQualifyingTraining, StepEmploymentSupport, StepOther,
}

// Step is a recommended step. Workshops is for StepProjectWorkshops,
// ROMECodes for StepTradeDiscovery, Description for StepOther.
type Step struct {
	Kind        StepKind
	Workshops   int
	ROMECodes   []string
	Description string
}

// Content is everything an analysis records.
type Content struct {
	// Skills holds the seven domains in order once checked (CheckContent);
	// a domain left out of the input is not assessed.
	Skills      []Skill
	Diplomas    []Diploma
	Experiences []Experience
	Barriers    []Barrier
	Project     Project
	Steps       []Step
}

// EmptyContent is the content of an analysis just started: every domain
// not assessed, nothing else.
func EmptyContent() Content {
	skills := make([]Skill, len(SkillDomains))
	for i, d := range SkillDomains {
		skills[i] = Skill{Domain: d, Level: LevelNotAssessed}
	}
	return Content{Skills: skills}
}

// Limits of an analysis's content.
const (
	MaxDiplomas          = 20
	MaxExperiences       = 50
	MaxTargetTrades      = 10
	MaxSteps             = 20
	MaxDiscoveryTrades   = 5
	MaxWorkshops         = 20
	MaxTitleLength       = 200
	MaxRoleLength        = 200
	MaxDescriptionLength = 500
	MaxDurationMonths    = 600
	MaxWeeklyHours       = 48
	MaxTravelKm          = 500
	MaxDiplomaLevel      = 8
	MinDiplomaYear       = 1900
)

var romeCode = regexp.MustCompile(`^[A-Z][0-9]{4}$`)

// NormalizeROMECode trims a ROME code and puts it in upper case; ok is false
// when it is not a letter and four digits.
func NormalizeROMECode(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, romeCode.MatchString(s)
}

// The free texts of an analysis, as people type them: titles and roles on
// one line, a step's description on several. None holds control characters
// or bidirectional controls (see platform/text).
var (
	titleRule       = text.Rule{Kind: text.Line, Max: MaxTitleLength, Required: true}
	roleRule        = text.Rule{Kind: text.Line, Max: MaxRoleLength, Required: true}
	descriptionRule = text.Rule{Kind: text.Block, Max: MaxDescriptionLength, Required: true}
)

// checkText trims s and records its problem under field by rule r; a
// required text left empty gets the description required, which says what
// the text is for. It returns the trimmed text.
func checkText(v *apperr.Violations, field, s string, r text.Rule, required string) string {
	s = strings.TrimSpace(s)
	if r.Required && s == "" {
		v.Add(field, required)
		return s
	}
	text.Check(v, field, s, r)
	return s
}

// checkCount records a list longer than limit.
func checkCount(v *apperr.Violations, field string, n, limit int) {
	if n > limit {
		v.Addf(field, "must hold at most %d entries, got %d", limit, n)
	}
}

// checkROMECodes checks a list of distinct ROME codes and returns them
// normalised.
func checkROMECodes(v *apperr.Violations, field string, codes []string) []string {
	var out []string
	for i, c := range codes {
		f := fmt.Sprintf("%s[%d]", field, i)
		code, ok := NormalizeROMECode(c)
		switch {
		case !ok:
			v.Addf(f, "%q is not a ROME code: a letter and four digits, such as K2204", c)
		case slices.Contains(out, code):
			v.Addf(f, "%s is listed twice", code)
		}
		out = append(out, code)
	}
	return out
}

// CheckContent records every problem of c, each named by its path in the
// request (field is the content's own path, "content"), and returns the
// content normalised: texts trimmed, ROME codes in upper case, the seven
// skill domains in order (a domain left out is not assessed). Today bounds
// the years of diplomas.
func CheckContent(v *apperr.Violations, field string, c Content, today civil.Date) Content {
	out := Content{Skills: EmptyContent().Skills}

	seen := map[SkillDomain]int{}
	for i, s := range c.Skills {
		f := fmt.Sprintf("%s.skills[%d]", field, i)
		j := slices.Index(SkillDomains, s.Domain)
		switch {
		case j < 0:
			v.Add(f+".domain", "must be one of the seven CléA domains")
		case seen[s.Domain] > 0:
			v.Addf(f+".domain", "%s is assessed twice (skills[%d])", s.Domain, seen[s.Domain]-1)
		default:
			seen[s.Domain] = i + 1
		}
		if !s.Level.Valid() {
			v.Add(f+".level", "must be not assessed, to acquire, in progress or acquired")
		} else if j >= 0 {
			out.Skills[j].Level = s.Level
		}
	}

	checkCount(v, field+".diplomas", len(c.Diplomas), MaxDiplomas)
	for i, d := range c.Diplomas {
		f := fmt.Sprintf("%s.diplomas[%d]", field, i)
		d.Title = checkText(v, f+".title", d.Title, titleRule, "is required: the diploma's title")
		if d.Level < 0 || d.Level > MaxDiplomaLevel {
			v.Addf(f+".level", "must be a level of the national nomenclature, 1 to %d, or 0 for none", MaxDiplomaLevel)
		}
		switch {
		case d.Year == 0:
			v.Add(f+".year", "is required: the year it was obtained")
		case d.Year < MinDiplomaYear || d.Year > today.Year:
			v.Addf(f+".year", "must be between %d and %d", MinDiplomaYear, today.Year)
		}
		out.Diplomas = append(out.Diplomas, d)
	}

	checkCount(v, field+".experiences", len(c.Experiences), MaxExperiences)
	for i, e := range c.Experiences {
		f := fmt.Sprintf("%s.experiences[%d]", field, i)
		if e.Kind != ExperienceWork && e.Kind != ExperienceVolunteer {
			v.Add(f+".kind", "must be work or volunteer")
		}
		e.Role = checkText(v, f+".role", e.Role, roleRule, "is required: the role held")
		if strings.TrimSpace(e.ROMECode) != "" {
			code, ok := NormalizeROMECode(e.ROMECode)
			if !ok {
				v.Addf(f+".rome_code", "%q is not a ROME code: a letter and four digits, such as K2204 (leave it empty when unknown)", e.ROMECode)
			}
			e.ROMECode = code
		} else {
			e.ROMECode = ""
		}
		if e.DurationMonths < 1 || e.DurationMonths > MaxDurationMonths {
			v.Addf(f+".duration_months", "must be a whole number of months, 1 to %d", MaxDurationMonths)
		}
		out.Experiences = append(out.Experiences, e)
	}

	barriers := map[BarrierKind]int{}
	for i, b := range c.Barriers {
		f := fmt.Sprintf("%s.barriers[%d]", field, i)
		switch {
		case !b.Kind.Valid():
			v.Add(f+".kind", "must be mobility, childcare, housing, health, finances, digital access, French language or administrative")
		case barriers[b.Kind] > 0:
			v.Addf(f+".kind", "%s is recorded twice (barriers[%d])", b.Kind, barriers[b.Kind]-1)
		default:
			barriers[b.Kind] = i + 1
		}
		if !b.Severity.Valid() {
			v.Add(f+".severity", "must be low, moderate or high")
		}
		out.Barriers = append(out.Barriers, b)
	}

	p := c.Project
	checkCount(v, field+".project.target_rome_codes", len(p.TargetROMECodes), MaxTargetTrades)
	out.Project.TargetROMECodes = checkROMECodes(v, field+".project.target_rome_codes", p.TargetROMECodes)
	if !p.Maturity.Valid() {
		v.Add(field+".project.maturity", "must be none, emerging, to confirm or validated")
	}
	out.Project.Maturity = p.Maturity
	if p.MaxWeeklyHours < 0 || p.MaxWeeklyHours > MaxWeeklyHours {
		v.Addf(field+".project.constraints.max_weekly_hours", "must be 0 (no constraint) to %d hours", MaxWeeklyHours)
	}
	if p.MaxTravelKm < 0 || p.MaxTravelKm > MaxTravelKm {
		v.Addf(field+".project.constraints.max_travel_km", "must be 0 (no constraint) to %d km", MaxTravelKm)
	}
	out.Project.MaxWeeklyHours, out.Project.MaxTravelKm = p.MaxWeeklyHours, p.MaxTravelKm

	checkCount(v, field+".recommended_steps", len(c.Steps), MaxSteps)
	for i, s := range c.Steps {
		f := fmt.Sprintf("%s.recommended_steps[%d]", field, i)
		step := Step{Kind: s.Kind}
		switch s.Kind {
		case StepProjectWorkshops:
			if s.Workshops < 1 || s.Workshops > MaxWorkshops {
				v.Addf(f+".project_workshops.count", "must be 1 to %d workshops", MaxWorkshops)
			}
			step.Workshops = s.Workshops
		case StepTradeDiscovery:
			switch n := len(s.ROMECodes); {
			case n == 0:
				v.Add(f+".trade_discovery.rome_codes", "is required: the trades to discover, as ROME codes")
			case n > MaxDiscoveryTrades:
				v.Addf(f+".trade_discovery.rome_codes", "must hold at most %d entries, got %d", MaxDiscoveryTrades, n)
			}
			step.ROMECodes = checkROMECodes(v, f+".trade_discovery.rome_codes", s.ROMECodes)
		case StepOther:
			step.Description = checkText(v, f+".other.description", s.Description, descriptionRule, "is required: say what the step is")
		case StepBasicSkillsTraining, StepQualifyingTraining, StepEmploymentSupport:
		default:
			v.Add(f, "must be one of project_workshops, trade_discovery, basic_skills_training, qualifying_training, employment_support or other")
		}
		out.Steps = append(out.Steps, step)
	}
	return out
}

// completionProblems lists what a content lacks to be completed.
func completionProblems(c Content) []string {
	var problems []string
	if len(c.Steps) == 0 {
		problems = append(problems, "it recommends no step (content.recommended_steps): a completed analysis recommends at least one")
	}
	switch c.Project.Maturity {
	case MaturityUnknown:
		problems = append(problems, "the project's maturity is not assessed (content.project.maturity)")
	case MaturityToConfirm, MaturityValidated:
		if len(c.Project.TargetROMECodes) == 0 {
			problems = append(problems, "a project to confirm or validated names its target trades (content.project.target_rome_codes)")
		}
	}
	return problems
}
