package service

import "github.com/avenir-normandie/avenir/services/platform/auth"

// Who may see and change which pathway. Referents act in the territories
// they serve (their caseload, once referent assignment exists). Operators
// see the pathways of the territories their contracts cover, until
// enrolments say precisely which learners are theirs. Funders read
// pathways for billing. Admins see everything.

// mayChange reports whether p may change the pathway of a learner of
// territory.
func mayChange(p auth.Principal, territory string) bool { return p.ActsFor(territory) }

// mayRead reports whether p may read the pathway of a learner of territory.
func mayRead(p auth.Principal, territory string) bool { return p.Reaches(territory) }
