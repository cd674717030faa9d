package service

import (
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Who may see and change which learner, given the learner's scope (its
// territory, current and former referents, and the operators it is or was
// enrolled with, from the caseload's read models). Referents act for the
// learners assigned to them, for every learner of the territories they
// coordinate (coordinator claim), and for the learners of their territories
// that have no referent (not yet in the pathway, queued, or out of it): the
// territory's shared intake pool. A referent reads the learners it handed
// over until the grace period ends. Operators read exactly the learners
// enrolled with them, and for 30 days after their last enrolment with them
// ended, whatever territories their token carries; never the
// special-category data. Funders read learners for billing: their id,
// names, territory and registration date, nothing else (nor do they search
// by France Travail id). Admins see everything.

// mayRegister reports whether p may register a learner in territory: a new
// learner has no referent yet.
func mayRegister(p auth.Principal, territory string) bool {
	return p.ActsForLearner(auth.LearnerScope{Territory: territory})
}

// mayChange reports whether p may change the contact and situation of the
// learner of scope.
func mayChange(p auth.Principal, scope auth.LearnerScope) bool { return p.ActsForLearner(scope) }

// mayRead reports whether p may read the learner of scope on day.
func mayRead(p auth.Principal, scope auth.LearnerScope, day civil.Date) bool {
	return p.ReachesLearner(scope, day) || seesContactOnly(p)
}

// notifyService is the subject of the notification service's own tokens.
const notifyService = "notify"

// seesContactOnly reports whether p reads of a learner only where to write
// to it: the notification service, under its own identity, which sends the
// learner's notifications (docs/adr/0072-notifications.md).
func seesContactOnly(p auth.Principal) bool {
	return p.Role == auth.RoleService && p.Subject == notifyService
}

// mayReadTerritory reports whether p may search the learners of territory
// through its index (each learner found is then checked with mayRead).
// Operators reach no territory as such: they search their enrolled learners
// (searchesEnrolled).
func mayReadTerritory(p auth.Principal, territory string) bool { return p.Reaches(territory) }

// searchesEnrolled reports whether p's searches enumerate the learners
// enrolled with it rather than territories: operators.
func searchesEnrolled(p auth.Principal) bool { return p.Role == auth.RoleOperator }

// seesSpecialCategory reports whether p may see the special-category data
// (RQTH) of the learner of scope: those who act for it only.
func seesSpecialCategory(p auth.Principal, scope auth.LearnerScope) bool {
	return p.ActsForLearner(scope)
}

// seesBillingOnly reports whether p sees of a learner only what billing
// needs (id, names, territory, registration date): funders.
func seesBillingOnly(p auth.Principal) bool { return p.Role == auth.RoleFunder }

// maySearchByFranceTravailID reports whether p may search learners by
// France Travail id: a match would tell it part of the learner's situation,
// which funders do not see.
func maySearchByFranceTravailID(p auth.Principal) bool { return !seesBillingOnly(p) }
