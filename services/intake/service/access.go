package service

import "github.com/avenir-normandie/avenir/services/platform/auth"

// Who may see and change which learner. Referents act in the territories
// they serve (their caseload, once referent assignment exists). Operators
// see the learners of the territories their contracts cover, until
// enrolments say precisely which learners are theirs. Funders see learners
// for billing but never special-category data. Admins see everything.

// mayRegister reports whether p may register a learner in territory.
func mayRegister(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// mayChange reports whether p may change the contact and situation of a
// learner of territory.
func mayChange(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// mayRead reports whether p may read a learner of territory.
func mayRead(p auth.Principal, territory string) bool { return p.Reaches(territory) }

// seesSpecialCategory reports whether p may see a learner's special-category
// data (RQTH): the learner's referents and admins only.
func seesSpecialCategory(p auth.Principal, territory string) bool { return p.ActsFor(territory) }
