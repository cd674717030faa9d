package service

import (
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// Who may see what. Administrators keep the directory, assign and hand over,
// and see everything, queues included. Coordinators (a referent whose token
// has the coordinator claim) assign, hand over, list the queues and record
// absences for the territories they coordinate (see coordinates). A referent reads the assignments of
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
	return p.InTerritory(a.Territory) || a.ReadableBy(p.ReferentID, day, graceDays) || a.StandsIn(p.ReferentID, day)
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

// Coordinators. Scope comes from recorded facts, not from token claims
// alone: a coordinator coordinates the territories of its token that are
// also in its own directory profile, while the directory holds it as an
// active referent (coordinates). On those, it manages assignments
// (AssignReferent and Handover of a learner whose assignment is in one of
// them; the queues of ListPendingAssignments) and absences
// (SetAvailability of a referent serving one of them). Naming an interim
// opens a referent's learners to another referent: a coordinator does it
// only for a referent all of whose territories it coordinates (clearing
// one needs no more than the absence). Outside its scope, an object the
// caller cannot read answers NotFound (auth.Denied), one it reads
// PermissionDenied. Other referents, operators and funders may not manage.

// manager is what the caller of a managing RPC manages: every territory
// (administrators) or those it coordinates.
type manager struct {
	admin       bool
	territories []string
}

// manages reports whether the manager manages territory.
func (m manager) manages(territory string) bool {
	return m.admin || slices.Contains(m.territories, territory)
}

// coordinates returns the territories p coordinates, given its own caseload
// self (loaded by p.ReferentID): those of its token also in self's profile,
// when p is a coordinator and self an active referent; nil otherwise.
func coordinates(p auth.Principal, self domain.Referent) []string {
	if p.Role != auth.RoleReferent || !p.Coordinator || p.ReferentID == "" || self.ID != p.ReferentID || !self.Exists() || self.Deactivated {
		return nil
	}
	var out []string
	for _, t := range self.Profile.Territories {
		if p.InTerritory(t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// errNotManager refuses a managing RPC to a caller that manages nothing.
func errNotManager(p auth.Principal) error {
	if p.Role == auth.RoleReferent && p.Coordinator {
		return apperr.PermissionDenied("the directory holds you as coordinating none of your token's territories: ask an administrator")
	}
	return apperr.PermissionDenied("only administrators and coordinators manage assignments and absences")
}

// managesAssignment says whether m (the manager p) may assign or hand over
// learner, whose assignment is a, read on day: nil, or why not.
func managesAssignment(p auth.Principal, m manager, learner string, a domain.Assignment, day civil.Date, graceDays int) error {
	switch {
	case m.admin:
		return nil
	case !a.Exists() || !seesAssignment(p, a, day, graceDays):
		return auth.Denied("learner", learner)
	case !m.manages(a.Territory):
		return apperr.PermissionDenied("learner %s is in %s, which you do not coordinate", learner, a.Territory)
	}
	return nil
}

// managesReferent says whether m (the manager p) may record the absence of
// referent id, whose caseload is r, and name its interim when interim: nil,
// or why not.
func managesReferent(p auth.Principal, m manager, id string, r domain.Referent, interim bool) error {
	switch {
	case m.admin:
		return nil
	case !r.Exists() || !seesCaseload(p, r):
		return auth.Denied("referent", id)
	case !slices.ContainsFunc(r.Profile.Territories, m.manages):
		return apperr.PermissionDenied("referent %s serves none of the territories you coordinate", id)
	case interim && !allManaged(m, r):
		return apperr.PermissionDenied("referent %s serves territories you do not coordinate: only an administrator names its interim", id)
	}
	return nil
}

// allManaged reports whether m manages every territory r serves and every
// territory of a learner r follows.
func allManaged(m manager, r domain.Referent) bool {
	for _, t := range r.Profile.Territories {
		if !m.manages(t) {
			return false
		}
	}
	for _, s := range append(r.SortedLearners(), r.SortedQualif()...) {
		if !m.manages(s.Territory) {
			return false
		}
	}
	return true
}
