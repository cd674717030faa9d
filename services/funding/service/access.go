package service

import (
	"context"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Who may do what, on top of the roles of Policy. Administrators manage
// contracts and read everything. Funders read everything and review, close
// and export statements. An operator reports, claims, corrects and reads
// only under its own contracts (the contract's operator_id is its
// OperatorID); another operator's contract reads as unknown. Referents see
// of billing only the lines of the learners they act for (auth's
// ActsForLearner over the caseload read model of the assignments), without
// amounts; another learner reads as unknown. No health data is kept here.

// operates reports whether p is the operator operatorID.
func operates(p auth.Principal, operatorID string) bool {
	return p.Role == auth.RoleOperator && p.OperatorID != "" && p.OperatorID == operatorID
}

// seesContract reports whether p may read a contract of the operator, its
// statements and its budget.
func seesContract(p auth.Principal, operatorID string) bool {
	return p.Is(auth.RoleAdmin, auth.RoleFunder) || operates(p, operatorID)
}

// contractFor loads a contract the caller must see (else NotFound, so that
// existence does not leak) and act on (else PermissionDenied).
func (s *Service) contractFor(ctx context.Context, id string, acts func(auth.Principal, domain.Terms) bool) (domain.Contract, error) {
	snap, err := s.contracts.Load(ctx, id)
	if err != nil {
		return domain.Contract{}, err
	}
	c := snap.State
	caller, _ := auth.FromContext(ctx)
	if !c.Exists() || !seesContract(caller, c.Terms.OperatorID) {
		return domain.Contract{}, auth.Denied("contract", id)
	}
	if acts != nil && !acts(caller, c.Terms) {
		return domain.Contract{}, apperr.PermissionDenied("not allowed on contract %s", id)
	}
	return c, nil
}

// reports: only the contract's operator reports, claims and corrects.
func reports(p auth.Principal, t domain.Terms) bool { return operates(p, t.OperatorID) }

// readsLearnerLines reports whether p may list the lines of the learner of
// scope: admins, and the referents acting for the learner.
func readsLearnerLines(p auth.Principal, scope auth.LearnerScope) bool {
	return p.Role == auth.RoleAdmin || (p.Role == auth.RoleReferent && p.ActsForLearner(scope))
}

// seesAmounts reports whether p reads the money of billing lines: not
// referents, who follow a learner's pathway, not its price.
func seesAmounts(p auth.Principal) bool { return p.Role != auth.RoleReferent }
