package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Who may see and change which pathway, given the learner's scope (its
// territory, current referent and former referents, from the assignments
// read model; the operators it is or was enrolled with, from the
// enrolments read model). Referents act for the learners assigned to them,
// for every learner of the territories they coordinate (coordinator claim),
// and for the learners of their territories that have no referent (not yet
// in the pathway, queued, or out of it), so that a referent enters a person
// into the pathway before assignment. A referent reads the learners it
// handed over until the grace period ends. Operators read exactly the
// learners enrolled with them, and for 30 days after their last enrolment
// with them ended, never by their token's territories. Funders read
// pathways for billing (their timeline tells what happened, not what an
// analysis says). Admins see everything.

// mayChange reports whether p may change the pathway of the learner of
// scope (enrol it too, and list the contracts it can be enrolled under),
// and see the free text of its exits.
func mayChange(p auth.Principal, scope auth.LearnerScope) bool { return p.ActsForLearner(scope) }

// mayRead reports whether p may read the pathway of the learner of scope on
// day.
func mayRead(p auth.Principal, scope auth.LearnerScope, day civil.Date) bool {
	return p.ReachesLearner(scope, day)
}

// mayReadTerritory reports whether p may list the pathways of territory
// (each pathway met is then checked with mayRead); never an operator, who
// lists its learners by enrolment.
func mayReadTerritory(p auth.Principal, territory string) bool { return p.Reaches(territory) }

// mayReport reports whether p may read the flow statistics of territory:
// admins and funders everywhere, referents in their territories.
func mayReport(p auth.Principal, territory string) bool {
	return p.Is(auth.RoleAdmin, auth.RoleFunder) || (p.Role == auth.RoleReferent && p.InTerritory(territory))
}

// wholeRegion reports whether p's reading scope covers every territory.
func wholeRegion(p auth.Principal) bool { return p.Is(auth.RoleAdmin, auth.RoleFunder) }

// ownTerritories is the sorted, deduplicated territories of p's token.
func ownTerritories(p auth.Principal) []string {
	return slices.Compact(slices.Sorted(slices.Values(p.Territories)))
}
