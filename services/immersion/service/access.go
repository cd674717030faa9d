package service

import (
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Who may do what, on top of the roles of Policy. Administrators manage
// offers and sessions and act for every learner. A referent books and
// cancels for the learners it acts for (its caseload, the territory's
// unassigned pool, all of it with the coordinator claim: auth's
// ActsForLearner over the caseload read model), sees every session (the
// catalogue) but, inside a session, only the learners it reaches. An
// operator schedules, resizes, sees, cancels and records outcomes only for
// its own offers' sessions, with their learners. Funders see the
// statistics, never a learner, with the counts of people from 1 to 4
// withheld (exact for admins only).

// operates reports whether p is the operator operatorID.
func operates(p auth.Principal, operatorID string) bool {
	return p.Role == auth.RoleOperator && p.OperatorID != "" && p.OperatorID == operatorID
}

// managesSessions reports whether p may schedule and resize the sessions of
// the operator's offers.
func managesSessions(p auth.Principal, operatorID string) bool {
	return p.Role == auth.RoleAdmin || operates(p, operatorID)
}

// seesOffer reports whether p may read an offer (or session) of the
// operator: the catalogue is open to admins and referents, an operator sees
// its own.
func seesOffer(p auth.Principal, operatorID string) bool {
	return p.Is(auth.RoleAdmin, auth.RoleReferent) || operates(p, operatorID)
}

// mayBook reports whether p may book for the learner of scope.
func mayBook(p auth.Principal, scope auth.LearnerScope) bool { return p.ActsForLearner(scope) }

// mayCancel reports whether p may cancel the booking of the learner of scope
// on a session of the operator.
func mayCancel(p auth.Principal, scope auth.LearnerScope, operatorID string) bool {
	return p.ActsForLearner(scope) || operates(p, operatorID)
}

// mayRecord reports whether p may record the outcome of the learner of
// scope on a session of the operator: the host operator, and those who act
// for the learner (its referent debriefs the immersion with it).
func mayRecord(p auth.Principal, scope auth.LearnerScope, operatorID string) bool {
	return p.ActsForLearner(scope) || operates(p, operatorID)
}

// seesLearner reports whether p sees the learner of scope in a session of
// the operator on day.
func seesLearner(p auth.Principal, scope auth.LearnerScope, operatorID string, day civil.Date) bool {
	switch p.Role {
	case auth.RoleAdmin:
		return true
	case auth.RoleOperator:
		return operates(p, operatorID)
	case auth.RoleReferent:
		return p.ReachesLearner(scope, day)
	}
	return false
}

// seesStatistics reports whether p may read the statistics.
func seesStatistics(p auth.Principal) bool { return p.Is(auth.RoleAdmin, auth.RoleFunder) }

// seesExactCounts reports whether p reads the statistics' counts of people
// from 1 to 4, which could single a person out: admins only; every other
// role gets them withheld (the rule of small counts, package disclosure).
func seesExactCounts(p auth.Principal) bool { return p.Role == auth.RoleAdmin }
