package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Who may see and change which analysis, given the learner's scope (its
// territory, current and former referents, and the operators it is or was
// enrolled with, from the caseload's read models). Those who act for the
// learner write analyses and read them whole, special-category data (the
// health barrier) included: admins, the learner's referent, the
// coordinators of its territory (coordinator claim), and the referents of
// its territory while it has no referent (queued, or not yet assigned). A
// referent the learner was handed over from reads its analyses until the
// grace period ends, without the health barrier. Training operators read
// the recommended steps of the analyses of the learners enrolled with them,
// and for 30 days after their last enrolment with them ended, nothing else,
// whatever territories their token carries. Funders see the summary's
// counts, never an analysis. In the summary, every role but admin gets the
// counts from 1 to 4 withheld (the rule of small counts, package
// disclosure).

// mayChange reports whether p may start, draft, complete and revise the
// analyses of the learner of scope, and read them whole.
func mayChange(p auth.Principal, scope auth.LearnerScope) bool { return p.ActsForLearner(scope) }

// seesContent reports whether p reads the whole content of an analysis of
// the learner of scope, special-category data included.
func seesContent(p auth.Principal, scope auth.LearnerScope) bool { return p.ActsForLearner(scope) }

// readsFormer reports whether p is a referent reading the learner of scope
// on day without acting for it (the grace period after a handover): the
// content without special-category data.
func readsFormer(p auth.Principal, scope auth.LearnerScope, day civil.Date) bool {
	return p.Role == auth.RoleReferent && !p.ActsForLearner(scope) && p.ReachesLearner(scope, day)
}

// readsSteps reports whether p is an operator reading the learner of scope
// on day (enrolled with it, or in the 30 days after): the recommended steps
// only.
func readsSteps(p auth.Principal, scope auth.LearnerScope, day civil.Date) bool {
	return p.Role == auth.RoleOperator && p.ReachesLearner(scope, day)
}

// mayRead reports whether p may read an analysis of the learner of scope on
// day at all: whole, without special-category data (former referents), or
// its recommended steps only (operators the learner is enrolled with).
func mayRead(p auth.Principal, scope auth.LearnerScope, day civil.Date) bool {
	return seesContent(p, scope) || readsFormer(p, scope, day) || readsSteps(p, scope, day)
}

// mayListTerritory reports whether p may list the analyses of a whole
// territory: the referents' managers, admins. Operators list a territory
// too, within the learners enrolled with them (listsEnrolled).
func mayListTerritory(p auth.Principal) bool { return p.Role == auth.RoleAdmin }

// listsEnrolled reports whether p's listings of a territory enumerate the
// learners enrolled with it rather than the territory's index: operators.
func listsEnrolled(p auth.Principal) bool { return p.Role == auth.RoleOperator }

// seesSmallCounts reports whether p gets the summary's counts from 1 to 4,
// which could single a person out: admins only.
func seesSmallCounts(p auth.Principal) bool { return p.Role == auth.RoleAdmin }

// mayReport reports whether p may read the summary of territory: admins and
// funders everywhere, referents in their territories.
func mayReport(p auth.Principal, territory string) bool {
	return p.Is(auth.RoleAdmin, auth.RoleFunder) || (p.Role == auth.RoleReferent && p.InTerritory(territory))
}

// wholeRegion reports whether p's reporting scope covers every territory.
func wholeRegion(p auth.Principal) bool { return p.Is(auth.RoleAdmin, auth.RoleFunder) }

// ownTerritories is the sorted, deduplicated territories of p's token.
func ownTerritories(p auth.Principal) []string {
	return slices.Compact(slices.Sorted(slices.Values(p.Territories)))
}
