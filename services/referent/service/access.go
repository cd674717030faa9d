package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// Who may see what. Administrators keep the directory, assign and hand over,
// and see everything, queues included. A referent reads the assignments of
// the learners of its territories, those it follows, and, for the grace
// period after a handover (Config.HandoverGraceDays), those it handed over;
// it reads its own caseload and those of the referents sharing one of its
// territories, and the directory and loads of its territories. Funders read
// the territories' loads (counts only). Operators see nothing here. Only
// administrators read exact counts of learners in the loads; every other
// role reads them under the rule of small counts
// (docs/adr/0061-counts-under-five.md).

// seesAssignment reports whether p may read the learner's assignment on day.
func seesAssignment(p auth.Principal, a domain.Assignment, day civil.Date, graceDays int) bool {
	if p.Role == auth.RoleAdmin {
		return true
	}
	if p.Role != auth.RoleReferent {
		return false
	}
	return p.InTerritory(a.Territory) || a.ReadableBy(p.ReferentID, day, graceDays)
}

// seesCaseload reports whether p may list the referent's caseload.
func seesCaseload(p auth.Principal, r domain.Referent) bool {
	if p.Role == auth.RoleAdmin {
		return true
	}
	if p.Role != auth.RoleReferent {
		return false
	}
	return p.ReferentID == r.ID || slices.ContainsFunc(r.Profile.Territories, p.InTerritory)
}

// seesDirectory reports whether p may list the referents of territory.
func seesDirectory(p auth.Principal, territory string) bool {
	return p.Role == auth.RoleAdmin || (p.Role == auth.RoleReferent && p.InTerritory(territory))
}

// seesLoad reports whether p may read the load of territory.
func seesLoad(p auth.Principal, territory string) bool {
	return p.Is(auth.RoleAdmin, auth.RoleFunder) || (p.Role == auth.RoleReferent && p.InTerritory(territory))
}

// exactCounts reports whether p reads exact counts of learners: admins only.
func exactCounts(p auth.Principal) bool { return p.Role == auth.RoleAdmin }
