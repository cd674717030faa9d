// Package auth says who is calling: JWT bearer tokens verified by a gRPC
// interceptor (an Ed25519 dev key, or an OIDC issuer's JWKS), a principal in
// the context of every call, and one policy table per service saying which
// roles may call each RPC. Object-level checks (which learner, which
// contract) stay in the services, against the loaded object.
package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Role is what a principal does in the scheme.
type Role string

// The roles of avenir.
const (
	RoleAdmin    Role = "admin"    // keeps reference data, sees everything
	RoleReferent Role = "referent" // pedagogical referent: caseloads and pathways
	RoleOperator Role = "operator" // training operator: reports hours, claims fees
	RoleFunder   Role = "funder"   // reconciles billing units and budgets
)

// Roles lists every role of people.
var Roles = []Role{RoleAdmin, RoleReferent, RoleOperator, RoleFunder}

// RoleService is a service of avenir calling another's API under its own
// identity (the token's subject is the service's name, such as "notify"):
// no policy table lists it but for what that service needs
// (docs/adr/0072-notifications.md).
const RoleService Role = "service"

// Valid reports whether r is one of Roles or RoleService.
func (r Role) Valid() bool { return slices.Contains(Roles, r) || r == RoleService }

// Principal is the verified caller.
type Principal struct {
	Subject string // the token's sub: a stable, opaque id of the person or system
	Name    string // display name, for people; never logged
	Role    Role
	// ReferentID identifies a referent in the referent directory.
	ReferentID string
	// OperatorID identifies a training operator.
	OperatorID string
	// Territories scope referents and operators (territory codes).
	Territories []string
	// Coordinator: a referent coordinating its territories acts for every
	// learner of them, not only its caseload.
	Coordinator bool
	// Day is the business day of the call (Europe/Paris) on the clock that
	// verified the token: the day on which ActsForLearner reads the dated
	// facts of a scope (an interim's days). Zero for a principal that does
	// not come from a verified token: no dated fact then applies.
	Day civil.Date
}

// Actor is how the principal is recorded in events: role and stable id,
// without personal data.
func (p Principal) Actor() string {
	switch {
	case p.Role == RoleReferent && p.ReferentID != "":
		return "referent:" + p.ReferentID
	case p.Role == RoleOperator && p.OperatorID != "":
		return "operator:" + p.OperatorID
	}
	return string(p.Role) + ":" + p.Subject
}

// InTerritory reports whether the principal's scope covers territory.
func (p Principal) InTerritory(territory string) bool {
	return slices.Contains(p.Territories, territory)
}

// Reaches reports whether the principal's scope reaches the objects of a
// whole territory: admins and funders cover the whole region, referents the
// territories of their token. Operators reach no territory as such: only
// the learners enrolled with them (ReachesLearner), whatever their token
// says.
func (p Principal) Reaches(territory string) bool {
	switch p.Role {
	case RoleAdmin, RoleFunder:
		return true
	case RoleReferent:
		return p.InTerritory(territory)
	}
	return false
}

// ActsFor reports whether the principal acts for learners of territory:
// admins, and the referents serving it. They change learners' files and may
// see their special-category data.
func (p Principal) ActsFor(territory string) bool {
	return p.Role == RoleAdmin || (p.Role == RoleReferent && p.InTerritory(territory))
}

// LearnerScope is what access to one learner depends on, from recorded
// facts: the learner's territory, its current referent ("" while it has
// none: not yet in the pathway, or queued), the referents it was handed
// over from with the last day each still reads it, and the operators it is
// or was enrolled with.
type LearnerScope struct {
	Territory       string
	Referent        string
	FormerReferents map[string]civil.Date
	// Operators maps each operator the learner is or was enrolled with to
	// the spans of days it reads the learner: from an enrolment's first day
	// to a few days after its last.
	Operators map[string][]ReadSpan
	// Interims maps each referent standing in for the learner's referent,
	// absent, to the days it does (both dates set, both included): on those
	// days it acts for the learner as the referent does
	// (docs/adr/0069-interim-referents-during-absences.md).
	Interims map[string]ReadSpan
}

// ReadSpan is the days an operator reads a learner for one enrolment: From
// to Until, both included; Until is zero while the enrolment is open, From
// zero when its first day is not known (every day before Until).
type ReadSpan struct {
	From, Until civil.Date
}

// Covers reports whether day is in the span.
func (r ReadSpan) Covers(day civil.Date) bool {
	return !day.Before(r.From) && (r.Until.IsZero() || !day.After(r.Until))
}

// ActsForLearner reports whether the principal acts for the learner of
// scope on the day of the call (p.Day): see ActsForLearnerOn.
func (p Principal) ActsForLearner(s LearnerScope) bool { return p.ActsForLearnerOn(s, p.Day) }

// ActsForLearnerOn reports whether the principal acts for the learner of
// scope on day (changes its file, sees its special-category data): admins;
// the learner's current referent; a referent standing in for it on day
// (an interim, scope.Interims); the coordinators of its territory; and the
// referents of its territory while it has no referent (the territory's
// shared intake pool).
func (p Principal) ActsForLearnerOn(s LearnerScope, day civil.Date) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleReferent:
		if p.ReferentID != "" && s.Referent == p.ReferentID {
			return true
		}
		if p.standsIn(s, day) {
			return true
		}
		return p.InTerritory(s.Territory) && (p.Coordinator || s.Referent == "")
	}
	return false
}

// standsIn reports whether the principal stands in for the learner's
// referent on day: an interim whose days, both known, cover day.
func (p Principal) standsIn(s LearnerScope, day civil.Date) bool {
	span, ok := s.Interims[p.ReferentID]
	return ok && p.ReferentID != "" && !day.IsZero() && !span.From.IsZero() && !span.Until.IsZero() && span.Covers(day)
}

// ReachesLearner reports whether the principal may read the learner of
// scope on day: whoever acts for it on day, a referent it was handed over from
// until the end of the grace period, the operators it is enrolled with on
// day (from the enrolment's first day to the end of its grace period:
// scope.Operators, never a token's territories), admins and funders.
func (p Principal) ReachesLearner(s LearnerScope, day civil.Date) bool {
	switch p.Role {
	case RoleAdmin, RoleFunder:
		return true
	case RoleOperator:
		return p.OperatorID != "" && slices.ContainsFunc(s.Operators[p.OperatorID], func(r ReadSpan) bool { return r.Covers(day) })
	case RoleReferent:
		if p.ActsForLearnerOn(s, day) {
			return true
		}
		until, ok := s.FormerReferents[p.ReferentID]
		return ok && p.ReferentID != "" && !day.After(until)
	}
	return false
}

// Is reports whether the principal has one of roles.
func (p Principal) Is(roles ...Role) bool { return slices.Contains(roles, p.Role) }

// String describes the principal for logs: role and subject only.
func (p Principal) String() string {
	var b strings.Builder
	b.WriteString(string(p.Role))
	b.WriteString(":")
	b.WriteString(p.Subject)
	return b.String()
}

type principalKey struct{}

// NewContext returns ctx carrying p; the events appended under it record
// p as their actor.
func NewContext(ctx context.Context, p Principal) context.Context {
	return WithActor(context.WithValue(ctx, principalKey{}, p), p.Actor())
}

// FromContext returns the principal of the call.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
