package service

import (
	"slices"

	"google.golang.org/protobuf/proto"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
)

// The rule of small counts (docs/adr/0061-counts-under-five.md): every
// statistic is built with exact counts, then given as is to admins and
// after disclosure.Withhold to every other role. What is computed from
// counts (a median, a percentage) and the deprecated int32 copies of the
// counts follow, one function per response.

// exactCounts reports whether caller is shown exact counts of people:
// admins only.
func exactCounts(caller auth.Principal) bool { return caller.Role == auth.RoleAdmin }

// disclose applies the rule of small counts to resp for caller.
func disclose(resp proto.Message, caller auth.Principal) {
	if !exactCounts(caller) {
		disclosure.Withhold(resp)
	}
}

// discloseFlows discloses resp to caller: the deprecated counts read the
// values given (0 when withheld), and a month whose exits are withheld has
// no median.
func discloseFlows(resp *pathwayv1.GetFlowStatisticsResponse, caller auth.Principal) {
	disclose(resp, caller)
	for _, s := range slices.Concat(resp.GetTerritories(), resp.GetTotals()) {
		// The deprecated fields, for the clients that still read them.
		s.Entries, s.Exits, s.ActiveAtMonthEnd = s.GetEntered().GetValue(), s.GetExited().GetValue(), s.GetActive().GetValue()
		for _, c := range s.GetExitsByReason() {
			c.Count = c.GetExits().GetValue()
		}
		if disclosure.AnyWithheld(s.GetExited()) {
			s.MedianDaysInPathway = nil
		}
	}
}

// discloseTargets discloses resp to caller: a total whose beneficiaries
// are withheld has no percentage of its target (0), which would give them
// back.
func discloseTargets(resp *pathwayv1.GetProgrammeTargetsResponse, caller auth.Principal) {
	disclose(resp, caller)
	for _, t := range resp.GetTotals() {
		if disclosure.AnyWithheld(t.GetBeneficiaries()) {
			t.PercentOfTarget = 0
		}
	}
}

// discloseOutcomes discloses resp to caller: no median of withheld exits,
// no completion percentage of withheld immersions.
func discloseOutcomes(resp *pathwayv1.GetOutcomesResponse, caller auth.Principal) {
	disclose(resp, caller)
	for _, o := range append(slices.Concat(resp.GetOutcomes(), resp.GetTerritories()), resp.GetTotal()) {
		if disclosure.AnyWithheld(o.GetExits()) {
			o.MedianDaysInPathway = nil
		}
		if disclosure.AnyWithheld(o.GetImmersionsWithOutcome(), o.GetImmersionsCompleted()) {
			o.ImmersionCompletionPercent = nil
		}
	}
}
