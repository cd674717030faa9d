package cli

import (
	"fmt"
	"strings"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

var (
	pathwayExitReasons = enumFlag{pathwayv1.ExitReason(0).Descriptor(), "EXIT_REASON_"}
	pathwayProgrammes  = enumFlag{pathwayv1.Programme(0).Descriptor(), "PROGRAMME_"}
	pathwayOutcomes    = enumFlag{pathwayv1.ReferralOutcome(0).Descriptor(), "REFERRAL_OUTCOME_"}
	pathwayPhases      = enumFlag{pathwayv1.PathwayPhase(0).Descriptor(), "PATHWAY_PHASE_"}
	pathwayStatuses    = enumFlag{pathwayv1.PathwayStatus(0).Descriptor(), "PATHWAY_STATUS_"}
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
	return s
}

// pathwayReferral reads "#2 qualif, AFPA Caen, 2026-11-05: accepted 2026-11-06".
func pathwayReferral(r *pathwayv1.Referral) string {
	s := fmt.Sprintf("#%d %s, %s, %s", r.GetNumber(), pathwayProgrammes.name(r.GetProgramme().Number()), r.GetOrganisation(), dateString(r.GetReferralDate()))
	if o := pathwayOutcomes.name(r.GetOutcome().Number()); o != "" {
		return s + fmt.Sprintf(": %s %s", o, dateString(r.GetOutcomeDate()))
	}
	return s + ": pending"
}

var pathwayListHeader = []string{"LEARNER ID", "TERRITORY", "STATUS", "PHASE", "EPISODES", "LAST ENTRY", "LAST EXIT"}

// pathwayListRows is one row per pathway listed.
func pathwayListRows(resp *pathwayv1.ListPathwaysResponse) [][]string {
	var rows [][]string
	for _, p := range resp.GetPathways() {
		var entry, exit string
		if eps := p.GetEpisodes(); len(eps) > 0 {
			last := eps[len(eps)-1]
			entry, exit = dateString(last.GetEntryDate()), dateString(last.GetExitDate())
		}
		rows = append(rows, []string{
			p.GetLearnerId(), p.GetTerritoryCode(), pathwayStatuses.name(p.GetStatus().Number()),
			pathwayPhases.name(p.GetPhase().Number()), fmt.Sprint(len(p.GetEpisodes())), entry, exit,
		})
	}
	return rows
}

func pathwayTimelineRows(entries []*pathwayv1.TimelineEntry) [][]string {
	rows := [][]string{{"TIME (PARIS)", "SOURCE", "ACTOR", "EVENT"}}
	for _, e := range entries {
		rows = append(rows, []string{
			parisTime(e.GetTime()), e.GetSource(), e.GetActor(), e.GetSummary(),
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
		median := "-"
		if s.MedianDaysInPathway != nil {
			median = fmt.Sprint(s.GetMedianDaysInPathway())
		}
		var reasons []string
		for _, c := range s.GetExitsByReason() {
			reasons = append(reasons, fmt.Sprintf("%s %d", pathwayExitReasons.name(c.GetReason().Number()), c.GetCount()))
		}
		rows = append(rows, []string{
			territory, monthString(s.GetMonth()),
			fmt.Sprint(s.GetEntries()), fmt.Sprint(s.GetExits()), fmt.Sprint(s.GetActiveAtMonthEnd()), median, strings.Join(reasons, ", "),
		})
	}
	for _, a := range answers {
		for _, s := range a.resp.GetTerritories() {
			add(s.GetTerritoryCode(), s)
		}
	}
	if len(answers) == 1 && !answers[0].several {
		for _, s := range answers[0].resp.GetTotals() {
			add("TOTAL", s)
		}
	}
	return rows
}
