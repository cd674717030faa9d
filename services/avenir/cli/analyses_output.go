package cli

import (
	"fmt"
	"strings"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
)

var (
	analysisStatuses   = enumFlag{needsv1.AnalysisStatus(0).Descriptor(), "ANALYSIS_STATUS_"}
	analysisDomains    = enumFlag{needsv1.SkillDomain(0).Descriptor(), "SKILL_DOMAIN_"}
	analysisLevels     = enumFlag{needsv1.SkillLevel(0).Descriptor(), "SKILL_LEVEL_"}
	analysisExperience = enumFlag{needsv1.ExperienceKind(0).Descriptor(), "EXPERIENCE_KIND_"}
	analysisBarriers   = enumFlag{needsv1.BarrierKind(0).Descriptor(), "BARRIER_KIND_"}
	analysisSeverities = enumFlag{needsv1.BarrierSeverity(0).Descriptor(), "BARRIER_SEVERITY_"}
	analysisMaturities = enumFlag{needsv1.ProjectMaturity(0).Descriptor(), "PROJECT_MATURITY_"}
)

func analysisRows(a *needsv1.Analysis) []field {
	rows := []field{
		{"ANALYSIS ID", a.GetAnalysisId()},
		{"LEARNER ID", a.GetLearnerId()},
		{"TERRITORY", a.GetTerritoryCode()},
		{"EPISODE", fmt.Sprint(a.GetEpisodeNumber())},
		{"VERSION", fmt.Sprint(a.GetVersion())},
		{"STATUS", analysisStatuses.name(a.GetStatus().Number())},
		{"CURRENT", yesNo(a.GetCurrent())},
		{"STARTED", dateString(a.GetStartedOn())},
		{"COMPLETED", dateString(a.GetCompletedOn())},
		{"PREVIOUS VERSION", a.GetPreviousAnalysisId()},
		{"REVISED BY", a.GetRevisedByAnalysisId()},
	}
	c := a.GetContent()
	if a.GetStepsOnly() {
		return append(rows, field{"CONTENT", "recommended steps only"}, field{"STEPS", analysisSteps(c.GetRecommendedSteps())})
	}
	var skills, diplomas, experiences, barriers []string
	for _, s := range c.GetSkills() {
		skills = append(skills, analysisDomains.name(s.GetDomain().Number())+" "+analysisLevels.name(s.GetLevel().Number()))
	}
	for _, d := range c.GetDiplomas() {
		level := "no level"
		if d.GetLevel() > 0 {
			level = fmt.Sprintf("level %d", d.GetLevel())
		}
		diplomas = append(diplomas, fmt.Sprintf("%s (%s, %d)", d.GetTitle(), level, d.GetYear()))
	}
	for _, e := range c.GetExperiences() {
		s := fmt.Sprintf("%s: %s, %d months", analysisExperience.name(e.GetKind().Number()), e.GetRole(), e.GetDurationMonths())
		if e.GetRomeCode() != "" {
			s += " (" + e.GetRomeCode() + ")"
		}
		experiences = append(experiences, s)
	}
	for _, b := range c.GetBarriers() {
		s := analysisBarriers.name(b.GetKind().Number()) + " " + analysisSeverities.name(b.GetSeverity().Number())
		if b.GetSupportArranged() {
			s += ", support arranged"
		}
		barriers = append(barriers, s)
	}
	p := c.GetProject()
	project := analysisMaturities.name(p.GetMaturity().Number())
	if project == "" {
		project = "maturity not assessed"
	}
	if codes := p.GetTargetRomeCodes(); len(codes) > 0 {
		project += ": " + strings.Join(codes, ", ")
	}
	if h := p.GetConstraints().GetMaxWeeklyHours(); h > 0 {
		project += fmt.Sprintf("; at most %d h/week", h)
	}
	if km := p.GetConstraints().GetMaxTravelKm(); km > 0 {
		project += fmt.Sprintf("; at most %d km", km)
	}
	return append(rows,
		field{"SKILLS", strings.Join(skills, "; ")},
		field{"DIPLOMAS", strings.Join(diplomas, "; ")},
		field{"EXPERIENCES", strings.Join(experiences, "; ")},
		field{"BARRIERS", strings.Join(barriers, "; ")},
		field{"PROJECT", project},
		field{"STEPS", analysisSteps(c.GetRecommendedSteps())},
	)
}

// analysisSteps reads "1. project workshops (3); 2. trade discovery (K2204)".
func analysisSteps(steps []*needsv1.RecommendedStep) string {
	var out []string
	for i, st := range steps {
		var s string
		switch step := st.GetStep().(type) {
		case *needsv1.RecommendedStep_ProjectWorkshops:
			s = fmt.Sprintf("project workshops (%d)", step.ProjectWorkshops.GetCount())
		case *needsv1.RecommendedStep_TradeDiscovery:
			s = fmt.Sprintf("trade discovery (%s)", strings.Join(step.TradeDiscovery.GetRomeCodes(), ", "))
		case *needsv1.RecommendedStep_BasicSkillsTraining:
			s = "basic-skills training (Savoirs)"
		case *needsv1.RecommendedStep_QualifyingTraining:
			s = "qualifying training (Qualif)"
		case *needsv1.RecommendedStep_EmploymentSupport:
			s = "employment support"
		case *needsv1.RecommendedStep_Other:
			s = "other: " + step.Other.GetDescription()
		}
		out = append(out, fmt.Sprintf("%d. %s", i+1, s))
	}
	return strings.Join(out, "; ")
}

var analysisListHeader = []string{"ANALYSIS ID", "LEARNER ID", "NAME", "TERRITORY", "EPISODE", "VERSION", "STATUS", "CURRENT", "STARTED", "COMPLETED", "STEPS"}

// analysisListRows is one row per analysis listed, with the learners'
// names.
func analysisListRows(resp *needsv1.ListAnalysesResponse, names map[string]string) [][]string {
	var rows [][]string
	for _, a := range resp.GetAnalyses() {
		rows = append(rows, []string{
			a.GetAnalysisId(), a.GetLearnerId(), names[a.GetLearnerId()], a.GetTerritoryCode(), fmt.Sprint(a.GetEpisodeNumber()), fmt.Sprint(a.GetVersion()),
			analysisStatuses.name(a.GetStatus().Number()), yesNo(a.GetCurrent()), dateString(a.GetStartedOn()),
			dateString(a.GetCompletedOn()), fmt.Sprint(len(a.GetContent().GetRecommendedSteps())),
		})
	}
	return rows
}

// analysisMonthRows is the header, then a row per territory and month of
// the answers, then the total of a single answer.
func analysisMonthRows(answers []territoryAnswer[*needsv1.GetAnalysisSummaryResponse]) [][]string {
	rows := [][]string{{"TERRITORY", "MONTH", "COMPLETED", "REVISIONS"}}
	add := func(territory string, s *needsv1.AnalysisSummary) {
		for _, m := range s.GetMonths() {
			rows = append(rows, []string{
				territory, monthString(m.GetMonth()),
				countString(m.GetFirstVersions()), countString(m.GetRevisions()),
			})
		}
	}
	for _, a := range answers {
		for _, s := range a.resp.GetTerritories() {
			add(s.GetTerritoryCode(), s)
		}
	}
	if len(answers) == 1 && !answers[0].several {
		add("TOTAL", answers[0].resp.GetTotal())
	}
	return rows
}

// analysisRankRows is the header, then a row per territory of the
// answers, then the total of a single answer.
func analysisRankRows(answers []territoryAnswer[*needsv1.GetAnalysisSummaryResponse]) [][]string {
	rows := [][]string{{"TERRITORY", "MOST FREQUENT BARRIERS", "MOST TARGETED TRADES"}}
	add := func(territory string, s *needsv1.AnalysisSummary) {
		var barriers, trades []string
		for _, b := range s.GetBarriers() {
			barriers = append(barriers, analysisBarriers.name(b.GetKind().Number())+" "+peopleString(b.GetCount(), b.GetFewerThanFive()))
		}
		for _, t := range s.GetTrades() {
			trades = append(trades, t.GetRomeCode()+" "+peopleString(t.GetCount(), t.GetFewerThanFive()))
		}
		rows = append(rows, []string{territory, strings.Join(barriers, ", "), strings.Join(trades, ", ")})
	}
	for _, a := range answers {
		for _, s := range a.resp.GetTerritories() {
			add(s.GetTerritoryCode(), s)
		}
	}
	if len(answers) == 1 && !answers[0].several {
		add("TOTAL", answers[0].resp.GetTotal())
	}
	return rows
}
