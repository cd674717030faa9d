package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Who may see and change which analysis. The learner's referents (those
// serving its territory, its caseload once referent assignment exists) and
// admins write analyses and read them whole, special-category data (the
// health barrier) included. Training operators read the recommended steps
// of the analyses of the territories their contracts cover, nothing else,
// until enrolments say which learners are theirs. Funders see the summary's
// counts, never an analysis.

// mayChange reports whether p may start, draft, complete and revise the
// analyses of a learner of territory, and read them whole.
func mayChange(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// seesContent reports whether p reads the whole content of an analysis of a
// learner of territory, special-category data included.
func seesContent(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// mayRead reports whether p may read an analysis of territory at all:
// whole, or its recommended steps only (operators of the territory).
func mayRead(p auth.Principal, territory string) bool {
	return seesContent(p, territory) || (p.Role == auth.RoleOperator && p.InTerritory(territory))
}

// mayListTerritory reports whether p may list the analyses of a whole
// territory: the referents' managers, admins.
func mayListTerritory(p auth.Principal) bool { return p.Role == auth.RoleAdmin }

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
