package service

import (
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Who may see and change which learner, given the learner's scope (its
// territory, current referent and former referents, from the assignments
// read model). Referents act for the learners assigned to them, for every
// learner of the territories they coordinate (coordinator claim), and for
// the learners of their territories that have no referent (not yet in the
// pathway, queued, or out of it): the territory's shared intake pool. A
// referent reads the learners it handed over until the grace period ends.
// Operators see the learners of the territories their contracts cover,
// until enrolments say precisely which learners are theirs. Funders see
// learners for billing but never special-category data. Admins see
// everything.

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
	return p.ReachesLearner(scope, day)
}

// mayReadTerritory reports whether p may search the learners of territory
// (each learner found is then checked with mayRead).
func mayReadTerritory(p auth.Principal, territory string) bool { return p.Reaches(territory) }

// seesSpecialCategory reports whether p may see the special-category data
// (RQTH) of the learner of scope: those who act for it only.
func seesSpecialCategory(p auth.Principal, scope auth.LearnerScope) bool {
	return p.ActsForLearner(scope)
}
