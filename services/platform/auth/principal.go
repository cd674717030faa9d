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

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleReferent, RoleOperator, RoleFunder}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

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

// Reaches reports whether the principal's scope reaches objects of
// territory: admins and funders cover the whole region, referents and
// operators the territories of their token.
func (p Principal) Reaches(territory string) bool {
	switch p.Role {
	case RoleAdmin, RoleFunder:
		return true
	case RoleReferent, RoleOperator:
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
