package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Who may see and change which pathway. Referents act in the territories
// they serve (their caseload, once referent assignment exists). Operators
// see the pathways of the territories their contracts cover, until
// enrolments say precisely which learners are theirs. Funders read
// pathways for billing. Admins see everything.

// mayChange reports whether p may change the pathway of a learner of
// territory, and see the free text of its exits.
func mayChange(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// mayRead reports whether p may read the pathway of a learner of territory.
func mayRead(p auth.Principal, territory string) bool { return p.Reaches(territory) }

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
