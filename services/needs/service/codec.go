package service

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The wire forms of the domain's codes. A value missing from a map (a value
// added to the .proto by a newer version, or UNSPECIFIED) maps to the
// domain's zero value, which the domain refuses as input.
var (
	skillDomains = map[domain.SkillDomain]needsv1.SkillDomain{
		domain.SkillFrenchCommunication:      needsv1.SkillDomain_SKILL_DOMAIN_FRENCH_COMMUNICATION,
		domain.SkillCalculation:              needsv1.SkillDomain_SKILL_DOMAIN_CALCULATION,
		domain.SkillDigital:                  needsv1.SkillDomain_SKILL_DOMAIN_DIGITAL,
		domain.SkillTeamwork:                 needsv1.SkillDomain_SKILL_DOMAIN_TEAMWORK,
		domain.SkillAutonomy:                 needsv1.SkillDomain_SKILL_DOMAIN_AUTONOMY,
		domain.SkillLearningToLearn:          needsv1.SkillDomain_SKILL_DOMAIN_LEARNING_TO_LEARN,
		domain.SkillHygieneSafetyEnvironment: needsv1.SkillDomain_SKILL_DOMAIN_HYGIENE_SAFETY_ENVIRONMENT,
	}
	skillLevels = map[domain.SkillLevel]needsv1.SkillLevel{
		domain.LevelNotAssessed: needsv1.SkillLevel_SKILL_LEVEL_NOT_ASSESSED,
		domain.LevelToAcquire:   needsv1.SkillLevel_SKILL_LEVEL_TO_ACQUIRE,
		domain.LevelInProgress:  needsv1.SkillLevel_SKILL_LEVEL_IN_PROGRESS,
		domain.LevelAcquired:    needsv1.SkillLevel_SKILL_LEVEL_ACQUIRED,
	}
	experienceKinds = map[domain.ExperienceKind]needsv1.ExperienceKind{
		domain.ExperienceWork:      needsv1.ExperienceKind_EXPERIENCE_KIND_WORK,
		domain.ExperienceVolunteer: needsv1.ExperienceKind_EXPERIENCE_KIND_VOLUNTEER,
	}
	barrierKinds = map[domain.BarrierKind]needsv1.BarrierKind{
		domain.BarrierMobility:       needsv1.BarrierKind_BARRIER_KIND_MOBILITY,
		domain.BarrierChildcare:      needsv1.BarrierKind_BARRIER_KIND_CHILDCARE,
		domain.BarrierHousing:        needsv1.BarrierKind_BARRIER_KIND_HOUSING,
		domain.BarrierHealth:         needsv1.BarrierKind_BARRIER_KIND_HEALTH,
		domain.BarrierFinances:       needsv1.BarrierKind_BARRIER_KIND_FINANCES,
		domain.BarrierDigitalAccess:  needsv1.BarrierKind_BARRIER_KIND_DIGITAL_ACCESS,
		domain.BarrierFrenchLanguage: needsv1.BarrierKind_BARRIER_KIND_FRENCH_LANGUAGE,
		domain.BarrierAdministrative: needsv1.BarrierKind_BARRIER_KIND_ADMINISTRATIVE,
	}
	severities = map[domain.Severity]needsv1.BarrierSeverity{
		domain.SeverityLow:      needsv1.BarrierSeverity_BARRIER_SEVERITY_LOW,
		domain.SeverityModerate: needsv1.BarrierSeverity_BARRIER_SEVERITY_MODERATE,
		domain.SeverityHigh:     needsv1.BarrierSeverity_BARRIER_SEVERITY_HIGH,
	}
	maturities = map[domain.Maturity]needsv1.ProjectMaturity{
		domain.MaturityNone:      needsv1.ProjectMaturity_PROJECT_MATURITY_NONE,
		domain.MaturityEmerging:  needsv1.ProjectMaturity_PROJECT_MATURITY_EMERGING,
		domain.MaturityToConfirm: needsv1.ProjectMaturity_PROJECT_MATURITY_TO_CONFIRM,
		domain.MaturityValidated: needsv1.ProjectMaturity_PROJECT_MATURITY_VALIDATED,
	}
	statuses = map[domain.Status]needsv1.AnalysisStatus{
		domain.StatusDraft:     needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT,
		domain.StatusCompleted: needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED,
	}
)

// maturityFromWire maps an unknown maturity number to a value the domain
// refuses, but UNSPECIFIED to the draft's "not assessed yet".
func maturityFromWire(w needsv1.ProjectMaturity) domain.Maturity {
	if w == needsv1.ProjectMaturity_PROJECT_MATURITY_UNSPECIFIED {
		return domain.MaturityUnknown
	}
	if m := platform.FromWire(maturities, w); m != domain.MaturityUnknown {
		return m
	}
	return domain.Maturity(fmt.Sprintf("unknown(%d)", w))
}

// contentFromProto reads a content as entered; the domain checks it.
func contentFromProto(c *needsv1.AnalysisContent) domain.Content {
	var out domain.Content
	for _, s := range c.GetSkills() {
		out.Skills = append(out.Skills, domain.Skill{Domain: platform.FromWire(skillDomains, s.GetDomain()), Level: platform.FromWire(skillLevels, s.GetLevel())})
	}
	for _, d := range c.GetDiplomas() {
		out.Diplomas = append(out.Diplomas, domain.Diploma{Title: d.GetTitle(), Level: int(d.GetLevel()), Year: int(d.GetYear())})
	}
	for _, e := range c.GetExperiences() {
		out.Experiences = append(out.Experiences, domain.Experience{
			Kind: platform.FromWire(experienceKinds, e.GetKind()), Role: e.GetRole(), ROMECode: e.GetRomeCode(), DurationMonths: int(e.GetDurationMonths()),
		})
	}
	for _, b := range c.GetBarriers() {
		out.Barriers = append(out.Barriers, domain.Barrier{
			Kind: platform.FromWire(barrierKinds, b.GetKind()), Severity: platform.FromWire(severities, b.GetSeverity()), SupportArranged: b.GetSupportArranged(),
		})
	}
	p := c.GetProject()
	out.Project = domain.Project{
		TargetROMECodes: p.GetTargetRomeCodes(), Maturity: maturityFromWire(p.GetMaturity()),
		MaxWeeklyHours: int(p.GetConstraints().GetMaxWeeklyHours()), MaxTravelKm: int(p.GetConstraints().GetMaxTravelKm()),
	}
	out.Steps = stepsFromProto(c.GetRecommendedSteps())
	return out
}

func stepsFromProto(steps []*needsv1.RecommendedStep) []domain.Step {
	var out []domain.Step
	for _, s := range steps {
		var step domain.Step
		switch st := s.GetStep().(type) {
		case *needsv1.RecommendedStep_ProjectWorkshops:
			step = domain.Step{Kind: domain.StepProjectWorkshops, Workshops: int(st.ProjectWorkshops.GetCount())}
		case *needsv1.RecommendedStep_TradeDiscovery:
			step = domain.Step{Kind: domain.StepTradeDiscovery, ROMECodes: st.TradeDiscovery.GetRomeCodes()}
		case *needsv1.RecommendedStep_BasicSkillsTraining:
			step = domain.Step{Kind: domain.StepBasicSkillsTraining}
		case *needsv1.RecommendedStep_QualifyingTraining:
			step = domain.Step{Kind: domain.StepQualifyingTraining}
		case *needsv1.RecommendedStep_EmploymentSupport:
			step = domain.Step{Kind: domain.StepEmploymentSupport}
		case *needsv1.RecommendedStep_Other:
			step = domain.Step{Kind: domain.StepOther, Description: st.Other.GetDescription()}
		}
		out = append(out, step)
	}
	return out
}

func contentToProto(c domain.Content) *needsv1.AnalysisContent {
	out := &needsv1.AnalysisContent{RecommendedSteps: stepsToProto(c.Steps)}
	for _, s := range c.Skills {
		out.Skills = append(out.Skills, &needsv1.SkillAssessment{Domain: skillDomains[s.Domain], Level: skillLevels[s.Level]})
	}
	for _, d := range c.Diplomas {
		out.Diplomas = append(out.Diplomas, &needsv1.Diploma{Title: d.Title, Level: int32(d.Level), Year: int32(d.Year)})
	}
	for _, e := range c.Experiences {
		out.Experiences = append(out.Experiences, &needsv1.Experience{
			Kind: experienceKinds[e.Kind], Role: e.Role, RomeCode: e.ROMECode, DurationMonths: int32(e.DurationMonths),
		})
	}
	for _, b := range c.Barriers {
		out.Barriers = append(out.Barriers, &needsv1.Barrier{Kind: barrierKinds[b.Kind], Severity: severities[b.Severity], SupportArranged: b.SupportArranged})
	}
	out.Project = &needsv1.ProfessionalProject{
		TargetRomeCodes: c.Project.TargetROMECodes, Maturity: maturities[c.Project.Maturity],
		Constraints: &needsv1.ProjectConstraints{MaxWeeklyHours: int32(c.Project.MaxWeeklyHours), MaxTravelKm: int32(c.Project.MaxTravelKm)},
	}
	return out
}

func stepsToProto(steps []domain.Step) []*needsv1.RecommendedStep {
	var out []*needsv1.RecommendedStep
	for _, s := range steps {
		var step needsv1.RecommendedStep
		switch s.Kind {
		case domain.StepProjectWorkshops:
			step.Step = &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: int32(s.Workshops)}}
		case domain.StepTradeDiscovery:
			step.Step = &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: s.ROMECodes}}
		case domain.StepBasicSkillsTraining:
			step.Step = &needsv1.RecommendedStep_BasicSkillsTraining{BasicSkillsTraining: &needsv1.BasicSkillsTraining{}}
		case domain.StepQualifyingTraining:
			step.Step = &needsv1.RecommendedStep_QualifyingTraining{QualifyingTraining: &needsv1.QualifyingTraining{}}
		case domain.StepEmploymentSupport:
			step.Step = &needsv1.RecommendedStep_EmploymentSupport{EmploymentSupport: &needsv1.EmploymentSupport{}}
		case domain.StepOther:
			step.Step = &needsv1.RecommendedStep_Other{Other: &needsv1.OtherStep{Description: s.Description}}
		}
		out = append(out, &step)
	}
	return out
}

// analysisPrefix begins the subjects of the analyses' events:
// avenir.needs.analysis.<id>.<event>.
const analysisPrefix = "avenir.needs.analysis."

// analysisKind is the analysis aggregate, folded with domain.Evolve.
var analysisKind = eventstore.Kind[domain.Analysis, domain.Event]{
	Stream: Stream,
	Prefix: analysisPrefix,
	Decode: func(ev event.Event) (domain.Event, bool) { return fromProto(ev.Data) },
	Evolve: domain.Evolve,
	Encode: drafts,
}

// drafts gives the domain's events their wire form.
func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		var (
			id, name string
			data     proto.Message
		)
		switch e := e.(type) {
		case domain.AnalysisStarted:
			id, name = e.AnalysisID, "started"
			data = &needsv1.AnalysisStarted{
				AnalysisId: e.AnalysisID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode),
				Version: 1, StartedOn: civilpb.FromDate(e.StartedOn),
			}
		case domain.AnalysisRevised:
			id, name = e.AnalysisID, "revised"
			data = &needsv1.AnalysisRevised{
				AnalysisId: e.AnalysisID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode),
				Version: int32(e.Version), PreviousAnalysisId: e.Previous, Content: contentToProto(e.Content), StartedOn: civilpb.FromDate(e.StartedOn),
			}
		case domain.AnalysisDrafted:
			id, name = e.AnalysisID, "drafted"
			data = &needsv1.AnalysisDrafted{
				AnalysisId: e.AnalysisID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, Version: int32(e.Version),
				Content: contentToProto(e.Content), DraftedOn: civilpb.FromDate(e.DraftedOn),
			}
		case domain.AnalysisCompleted:
			id, name = e.AnalysisID, "completed"
			data = &needsv1.AnalysisCompleted{
				AnalysisId: e.AnalysisID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode),
				Version: int32(e.Version), PreviousAnalysisId: e.Previous, CompletedOn: civilpb.FromDate(e.CompletedOn),
				RecommendedSteps: stepsToProto(e.Steps),
			}
		default:
			return nil, fmt.Errorf("needs: no wire form for event %T", e)
		}
		out = append(out, event.Draft{Subject: analysisPrefix + id + "." + name, AggregateID: id, Data: data})
	}
	return out, nil
}

// storedContent reads a content the service stored: already checked, so
// taken as it is.
func storedContent(c *needsv1.AnalysisContent) domain.Content {
	out := contentFromProto(c)
	if len(out.Skills) == 0 {
		out.Skills = domain.EmptyContent().Skills
	}
	return out
}

// fromProto reads an event of an analysis's history; false for any other
// message.
func fromProto(m proto.Message) (domain.Event, bool) {
	switch m := m.(type) {
	case *needsv1.AnalysisStarted:
		return domain.AnalysisStarted{
			AnalysisID: m.GetAnalysisId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(),
			Episode: int(m.GetEpisodeNumber()), StartedOn: civilpb.Date(m.GetStartedOn()),
		}, true
	case *needsv1.AnalysisRevised:
		return domain.AnalysisRevised{
			AnalysisID: m.GetAnalysisId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(),
			Episode: int(m.GetEpisodeNumber()), Version: int(m.GetVersion()), Previous: m.GetPreviousAnalysisId(),
			Content: storedContent(m.GetContent()), StartedOn: civilpb.Date(m.GetStartedOn()),
		}, true
	case *needsv1.AnalysisDrafted:
		return domain.AnalysisDrafted{
			AnalysisID: m.GetAnalysisId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(),
			Version: int(m.GetVersion()), Content: storedContent(m.GetContent()), DraftedOn: civilpb.Date(m.GetDraftedOn()),
		}, true
	case *needsv1.AnalysisCompleted:
		return domain.AnalysisCompleted{
			AnalysisID: m.GetAnalysisId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(),
			Episode: int(m.GetEpisodeNumber()), Version: int(m.GetVersion()), Previous: m.GetPreviousAnalysisId(),
			CompletedOn: civilpb.Date(m.GetCompletedOn()), Steps: stepsFromProto(m.GetRecommendedSteps()),
		}, true
	}
	return nil, false
}

// view is the API's view of an analysis, with every field: see redact for
// what a caller sees. Current and revised_by come from the read model.
func view(a domain.Analysis) *needsv1.Analysis {
	return &needsv1.Analysis{
		AnalysisId: a.ID, LearnerId: a.LearnerID, TerritoryCode: a.Territory, EpisodeNumber: int32(a.Episode),
		Version: int32(a.Version), PreviousAnalysisId: a.Previous, Status: statuses[a.Status],
		StartedOn: civilpb.FromDate(a.StartedOn), CompletedOn: civilpb.FromDate(a.CompletedOn), Content: contentToProto(a.Content),
	}
}

// fromView is the inverse of view, to continue folding a stored view.
func fromView(v *needsv1.Analysis) domain.Analysis {
	if v == nil {
		return domain.Analysis{}
	}
	return domain.Analysis{
		ID: v.GetAnalysisId(), LearnerID: v.GetLearnerId(), Territory: v.GetTerritoryCode(), Episode: int(v.GetEpisodeNumber()),
		Version: int(v.GetVersion()), Previous: v.GetPreviousAnalysisId(), Status: platform.FromWire(statuses, v.GetStatus()),
		StartedOn: civilpb.Date(v.GetStartedOn()), CompletedOn: civilpb.Date(v.GetCompletedOn()),
		Content: storedContent(v.GetContent()),
	}
}
