package cli

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

var (
	pathwayExitReasons = enumFlag{pathwayv1.ExitReason(0).Descriptor(), "EXIT_REASON_"}
	pathwayProgrammes  = enumFlag{pathwayv1.Programme(0).Descriptor(), "PROGRAMME_"}
	pathwayOutcomes    = enumFlag{pathwayv1.ReferralOutcome(0).Descriptor(), "REFERRAL_OUTCOME_"}
	pathwayPhases      = enumFlag{pathwayv1.PathwayPhase(0).Descriptor(), "PATHWAY_PHASE_"}
	pathwayStatuses    = enumFlag{pathwayv1.PathwayStatus(0).Descriptor(), "PATHWAY_STATUS_"}
	pathwayPending     = enumFlag{pathwayv1.PendingReferrals(0).Descriptor(), "PENDING_REFERRALS_"}
	pathwaySituations  = enumFlag{pathwayv1.FollowUpSituation(0).Descriptor(), "FOLLOW_UP_SITUATION_"}
	pathwayEmployments = enumFlag{pathwayv1.EmploymentType(0).Descriptor(), "EMPLOYMENT_TYPE_"}
)

func pathwayRows(p *pathwayv1.Pathway) []field {
	var episodes, referrals []string
	for _, e := range p.GetEpisodes() {
		episodes = append(episodes, pathwayEpisode(e))
		for _, r := range e.GetReferrals() {
			referrals = append(referrals, pathwayReferral(r))
		}
	}
	return []field{
		{"LEARNER ID", p.GetLearnerId()},
		{"TERRITORY", p.GetTerritoryCode()},
		{"STATUS", strings.ToUpper(pathwayStatuses.name(p.GetStatus().Number()))},
		{"PHASE", pathwayPhases.name(p.GetPhase().Number())},
		{"EPISODES", strings.Join(episodes, "; ")},
		{"REFERRALS", strings.Join(referrals, "; ")},
		{"ENROLMENTS", pathwayEnrolments(p)},
		{"VERSION", fmt.Sprint(p.GetVersion())},
	}
}

// pathwayEpisode reads "#1 entered 2026-03-02, exited 2026-05-29 (employment-permanent: CDI)".
func pathwayEpisode(e *pathwayv1.Episode) string {
	s := fmt.Sprintf("#%d entered %s", e.GetNumber(), dateString(e.GetEntryDate()))
	if e.GetExitDate() != nil {
		s += fmt.Sprintf(", exited %s (%s", dateString(e.GetExitDate()), pathwayExitReasons.name(e.GetExitReason().Number()))
		if e.GetExitDetail() != "" {
			s += ": " + e.GetExitDetail()
		}
		s += ")"
	}
	if e.GetFollowingInQualif() {
		s += ", following in Qualif"
	}
	if f := e.GetFollowUp(); f != nil {
		s += fmt.Sprintf(", 6-month follow-up %s: %s", dateString(f.GetRecordedOn()), pathwaySituations.name(f.GetSituation().Number()))
		if t := pathwayEmployments.name(f.GetEmploymentType().Number()); t != "" {
			s += " " + t
		}
	} else if due := e.GetFollowUpDueOn(); due != nil {
		s += ", 6-month follow-up due " + dateString(due)
	}
	return s
}

// pathwayReferral reads "#2 qualif, AFPA Caen, 2026-11-05: accepted 2026-11-06".
func pathwayReferral(r *pathwayv1.Referral) string {
	s := fmt.Sprintf("#%d %s, %s, %s", r.GetNumber(), pathwayProgrammes.name(r.GetProgramme().Number()), r.GetOrganisation(), dateString(r.GetReferralDate()))
	switch {
	case r.GetCarriedOver():
		s += " (carried over)"
	case r.GetFollowedInQualif():
		s += " (followed in Qualif)"
	}
	if o := pathwayOutcomes.name(r.GetOutcome().Number()); o != "" {
		s += fmt.Sprintf(": %s %s", o, dateString(r.GetOutcomeDate()))
		if code := r.GetRncpCode(); code != "" {
			s += fmt.Sprintf(" (%s, %s)", code, dateString(r.GetCertificationDate()))
		}
		return s
	}
	return s + ": pending"
}

var pathwayListHeader = []string{"LEARNER ID", "NAME", "TERRITORY", "STATUS", "PHASE", "EPISODES", "LAST ENTRY", "LAST EXIT"}

// pathwayListRows is one row per pathway listed, with the learners'
// names.
func pathwayListRows(resp *pathwayv1.ListPathwaysResponse, names map[string]string) [][]string {
	var rows [][]string
	for _, p := range resp.GetPathways() {
		var entry, exit string
		if eps := p.GetEpisodes(); len(eps) > 0 {
			last := eps[len(eps)-1]
			entry, exit = dateString(last.GetEntryDate()), dateString(last.GetExitDate())
		}
		rows = append(rows, []string{
			p.GetLearnerId(), names[p.GetLearnerId()], p.GetTerritoryCode(), pathwayStatuses.name(p.GetStatus().Number()),
			pathwayPhases.name(p.GetPhase().Number()), fmt.Sprint(len(p.GetEpisodes())), entry, exit,
		})
	}
	return rows
}

// pathwayTimelineRows is the header, then one row per entry, with the
// names of the actors (referents) names knows.
func pathwayTimelineRows(entries []*pathwayv1.TimelineEntry, names map[string]string) [][]string {
	rows := [][]string{{"TIME (PARIS)", "SOURCE", "ACTOR", "ACTOR NAME", "EVENT"}}
	for _, e := range entries {
		rows = append(rows, []string{
			parisTime(e.GetTime()), e.GetSource(), e.GetActor(), names[e.GetActor()], e.GetSummary(),
		})
	}
	return rows
}

// pathwayStatsRows is the header, then a row per territory and month of
// the answers, then the totals of a single answer (several territories
// asked one by one have no total: medians do not add up).
func pathwayStatsRows(answers []territoryAnswer[*pathwayv1.GetFlowStatisticsResponse]) [][]string {
	rows := [][]string{{"TERRITORY", "MONTH", "ENTRIES", "EXITS", "ACTIVE", "MEDIAN DAYS", "EXITS BY REASON"}}
	add := func(territory string, s *pathwayv1.FlowStatistics) {
		var reasons []string
		for _, c := range s.GetExitsByReason() {
			reasons = append(reasons, pathwayExitReasons.name(c.GetReason().Number())+" "+countString(c.GetExits()))
		}
		rows = append(rows, []string{
			territory, monthString(s.GetMonth()), countString(s.GetEntered()), countString(s.GetExited()),
			countString(s.GetActive()), optionalString(s.MedianDaysInPathway, ""), strings.Join(reasons, ", "),
		})
	}
	for _, a := range answers {
		for _, s := range a.resp.GetTerritories() {
			add(s.GetTerritoryCode(), s)
		}
	}
	if totalsShown(answers) {
		for _, s := range answers[0].resp.GetTotals() {
			add("TOTAL", s)
		}
	}
	return rows
}

// totalsShown reports whether answers is the answer of one call, whose
// totals are shown (several territories asked one by one have none).
func totalsShown[R proto.Message](answers []territoryAnswer[R]) bool {
	return len(answers) == 1 && !answers[0].several
}

// optionalString is the value of an optional figure followed by unit, or
// "-" when it is absent (nothing to compute, or withheld).
func optionalString(n *int32, unit string) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n) + unit
}

// pathwayProgrammeOrder is the programmes of the totals of answers, in
// their order, then any other programme of their rows.
func pathwayProgrammeOrder(answers []territoryAnswer[*pathwayv1.GetProgrammeTargetsResponse]) []commonv1.FundingProgramme {
	var order []commonv1.FundingProgramme
	add := func(ps []*pathwayv1.ProgrammeProgress) {
		for _, p := range ps {
			if !slices.Contains(order, p.GetProgramme()) {
				order = append(order, p.GetProgramme())
			}
		}
	}
	for _, a := range answers {
		add(a.resp.GetTotals())
	}
	for _, a := range answers {
		add(a.resp.GetTerritories())
	}
	return order
}

// pathwayTargetRows is the header, then per programme a row per
// territory of the answers and the whole scheme's (the same in every
// answer) against its target.
func pathwayTargetRows(answers []territoryAnswer[*pathwayv1.GetProgrammeTargetsResponse]) [][]string {
	rows := [][]string{{"PROGRAMME", "TERRITORY", "BENEFICIARIES", "TARGET", "% OF TARGET"}}
	for _, programme := range pathwayProgrammeOrder(answers) {
		name := fundingProgrammes.name(programme.Number())
		for _, a := range answers {
			for _, p := range a.resp.GetTerritories() {
				if p.GetProgramme() == programme {
					rows = append(rows, []string{name, p.GetTerritoryCode(), countString(p.GetBeneficiaries()), "", ""})
				}
			}
		}
		if len(answers) == 0 {
			continue
		}
		for _, p := range answers[0].resp.GetTotals() {
			if p.GetProgramme() == programme {
				percent := fmt.Sprintf("%d%%", p.GetPercentOfTarget())
				if p.GetBeneficiaries().GetFewerThanFive() {
					percent = "-" // it would give the count back; the server answers 0
				}
				rows = append(rows, []string{name, "TOTAL", countString(p.GetBeneficiaries()), fmt.Sprint(p.GetTarget()), percent})
			}
		}
	}
	return rows
}

// pathwayTargetMonthRows is the header, then per programme a row per
// territory of the answers and month, then the whole scheme's months.
func pathwayTargetMonthRows(answers []territoryAnswer[*pathwayv1.GetProgrammeTargetsResponse]) [][]string {
	rows := [][]string{{"PROGRAMME", "TERRITORY", "MONTH", "NEW", "SINCE JANUARY"}}
	add := func(name, territory string, p *pathwayv1.ProgrammeProgress) {
		for _, m := range p.GetMonths() {
			rows = append(rows, []string{name, territory, monthString(m.GetMonth()), countString(m.GetNewBeneficiaries()), countString(m.GetCumulative())})
		}
	}
	for _, programme := range pathwayProgrammeOrder(answers) {
		name := fundingProgrammes.name(programme.Number())
		for _, a := range answers {
			for _, p := range a.resp.GetTerritories() {
				if p.GetProgramme() == programme {
					add(name, p.GetTerritoryCode(), p)
				}
			}
		}
		if len(answers) == 0 {
			continue
		}
		for _, p := range answers[0].resp.GetTotals() {
			if p.GetProgramme() == programme {
				add(name, "TOTAL", p)
			}
		}
	}
	return rows
}

// pathwayOutcomeRows is the header, then a row per operator and territory
// of the answers, then the total of a single answer.
func pathwayOutcomeRows(answers []territoryAnswer[*pathwayv1.GetOutcomesResponse]) [][]string {
	rows := [][]string{{"OPERATOR", "TERRITORY", "EXITS", "MEDIAN DAYS", "EXITS BY REASON", "IMMERSIONS", "COMPLETED", "PARTIAL", "COMPLETION", "FOLLOW-UPS", "FOLLOW-UPS BY SITUATION"}}
	add := func(operator, territory string, o *pathwayv1.Outcomes) {
		var reasons, situations []string
		for _, c := range o.GetExitsByReason() {
			reasons = append(reasons, pathwayExitReasons.name(c.GetReason().Number())+" "+countString(c.GetCount()))
		}
		for _, c := range o.GetFollowUpsBySituation() {
			name := pathwaySituations.name(c.GetSituation().Number())
			if t := pathwayEmployments.name(c.GetEmploymentType().Number()); t != "" {
				name += "/" + t
			}
			situations = append(situations, name+" "+countString(c.GetCount()))
		}
		rows = append(rows, []string{
			operator, territory, countString(o.GetExits()), optionalString(o.MedianDaysInPathway, ""), strings.Join(reasons, ", "),
			countString(o.GetImmersionsWithOutcome()), countString(o.GetImmersionsCompleted()),
			countString(o.GetImmersionsPartiallyCompleted()), optionalString(o.ImmersionCompletionPercent, "%"),
			countString(o.GetFollowUps()), strings.Join(situations, ", "),
		})
	}
	for _, a := range answers {
		for _, o := range a.resp.GetOutcomes() {
			operator := o.GetOperatorId()
			if operator == "" {
				operator = "-" // exits without an accompaniment
			}
			add(operator, o.GetTerritoryCode(), o)
		}
	}
	if totalsShown(answers) {
		add("TOTAL", "", answers[0].resp.GetTotal())
	}
	return rows
}

// pathwayAgeBands are the age bands, in order.
var pathwayAgeBands = enumFlag{pathwayv1.AgeBand(0).Descriptor(), "AGE_BAND_"}

// pathwayBreakdownRows is the header, then a row per territory of the
// answers, then the total of a single answer.
func pathwayBreakdownRows(answers []territoryAnswer[*pathwayv1.GetBreakdownsResponse]) [][]string {
	header := []string{"TERRITORY", "ENTRIES", "RQTH", "QPV", "ZRR", "RSA"}
	var bands []pathwayv1.AgeBand
	values := pathwayAgeBands.desc.Values()
	for i := range values.Len() {
		if n := values.Get(i).Number(); n != 0 {
			bands = append(bands, pathwayv1.AgeBand(n))
			header = append(header, "AGE "+strings.ToUpper(pathwayAgeBands.name(n)))
		}
	}
	rows := [][]string{append(header, "EDUCATION LEVELS", "ABOVE PUBLIC")}
	add := func(territory string, b *pathwayv1.Breakdown) {
		row := []string{territory, countString(b.GetEntries()), countString(b.GetRqth()), countString(b.GetQpv()), countString(b.GetZrr()), countString(b.GetRsa())}
		for _, band := range bands {
			cell := "0"
			for _, c := range b.GetAgeBands() {
				if c.GetBand() == band {
					cell = countString(c.GetCount())
				}
			}
			row = append(row, cell)
		}
		var levels []string
		for _, l := range b.GetEducationLevels() {
			levels = append(levels, educationLevels.name(l.GetLevel().Number())+": "+countString(l.GetCount()))
		}
		rows = append(rows, append(row, strings.Join(levels, ", "), countString(b.GetAbovePublic())))
	}
	for _, a := range answers {
		for _, b := range a.resp.GetTerritories() {
			add(b.GetTerritoryCode(), b)
		}
	}
	if totalsShown(answers) {
		add("TOTAL", answers[0].resp.GetTotal())
	}
	return rows
}
