package service

import (
	"context"
	"slices"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// CreateContract implements fundingv1.FundingServiceServer. The contract's
// id derives from the request id and the caller, so a retried creation
// addresses the same contract. The answer is the contract as created: a
// new contract has no closed period.
func (s *Service) CreateContract(ctx context.Context, req *fundingv1.CreateContractRequest) (*fundingv1.CreateContractResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := event.DeriveID("funding/contract/"+caller.Subject, req.GetRequestId())
	cmd := domain.CreateContract{ContractID: id, Terms: termsFromProto(req.GetTerms())}
	out, err := s.contracts.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(c domain.Contract) ([]domain.Event, error) {
		return domain.DecideContract(c, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &fundingv1.CreateContractResponse{Contract: contractView(out.State, nil)}, nil
}

// UpdateContract implements fundingv1.FundingServiceServer. The answer is
// the contract as updated, with the closed periods the books held before
// the decision (a read model down refuses the update, Unavailable, rather
// than failing its answer once stored).
func (s *Service) UpdateContract(ctx context.Context, req *fundingv1.UpdateContractRequest) (*fundingv1.UpdateContractResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	id := req.GetContractId()
	closed, err := s.closedPeriods(ctx, id)
	if err != nil {
		return nil, err
	}
	cmd := domain.UpdateContract{ContractID: id, Terms: termsFromProto(req.GetTerms()), Reason: req.GetReason()}
	out, err := s.contracts.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(c domain.Contract) ([]domain.Event, error) {
		return domain.DecideContract(c, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &fundingv1.UpdateContractResponse{Contract: contractView(out.State, closed)}, nil
}

// contractView is a contract as answered, with its closed periods.
func contractView(c domain.Contract, closed []civil.Month) *fundingv1.Contract {
	out := &fundingv1.Contract{ContractId: c.ID, Terms: termsToProto(c.Terms)}
	for _, p := range closed {
		out.ClosedPeriods = append(out.ClosedPeriods, civilpb.FromMonth(p))
	}
	return out
}

// closedPeriods reads the closed periods of a contract from the books read
// model, in order.
func (s *Service) closedPeriods(ctx context.Context, contractID string) ([]civil.Month, error) {
	var closed []civil.Month
	err := s.withBooks(ctx, contractID, func(b *domain.Books) error {
		for p, ok := range b.Closed {
			if ok {
				closed = append(closed, p)
			}
		}
		return nil
	})
	slices.SortFunc(closed, civil.Month.Compare)
	return closed, err
}

// GetContract implements fundingv1.FundingServiceServer, from the contract's
// events and the books' closed periods.
func (s *Service) GetContract(ctx context.Context, req *fundingv1.GetContractRequest) (*fundingv1.GetContractResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "contract_id", req.GetContractId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	closed, err := s.closedPeriods(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return &fundingv1.GetContractResponse{Contract: contractView(c, closed)}, nil
}

// MaxContractsPage caps ListContracts' page_size.
const MaxContractsPage = 500

// ListContracts implements fundingv1.FundingServiceServer, from the books
// read model, in contract id order. Operators list their own contracts
// only, whatever operator_id says.
func (s *Service) ListContracts(ctx context.Context, req *fundingv1.ListContractsRequest) (*fundingv1.ListContractsResponse, error) {
	var v apperr.Violations
	size := 50
	switch n := req.GetPageSize(); {
	case n < 0:
		v.Add("page_size", "must not be negative")
	case n > 0:
		size = min(int(n), MaxContractsPage)
	}
	operator, territory := req.GetOperatorId(), req.GetTerritoryCode()
	ident.OptionalCode(&v, "operator_id", operator)
	ident.OptionalTerritory(&v, "territory_code", territory)
	activeOn := civilpb.OptionalDate(&v, "active_on", req.GetActiveOn())
	caller, _ := auth.FromContext(ctx)
	if caller.Role == auth.RoleOperator {
		if operator != "" && operator != caller.OperatorID {
			return &fundingv1.ListContractsResponse{}, nil
		}
		operator = caller.OperatorID
	}
	query := paging.Fingerprint("contracts", operator, territory, activeOn.String())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	index := contractsIndex
	switch {
	case operator != "":
		index = operatorIndex(operator)
	case territory != "":
		index = territoryIndex(territory)
	}
	out := &fundingv1.ListContractsResponse{}
	last := ""
	err := projection.Scan(ctx, s.store, booksProjection, index, projection.RangeQuery{After: after, Limit: scanPage}, func(ids []string) (bool, error) {
		for _, id := range ids {
			last = id
			t, found, err := s.storedTerms(ctx, id)
			if err != nil {
				return false, err
			}
			switch {
			case !found, operator != "" && t.OperatorID != operator, territory != "" && !slices.Contains(t.Territories, territory),
				!activeOn.IsZero() && !t.Covers(activeOn), !seesContract(caller, t.OperatorID):
				continue
			}
			closed, err := s.closedPeriods(ctx, id)
			if err != nil {
				return false, err
			}
			out.Contracts = append(out.Contracts, contractView(domain.Contract{ID: id, Terms: t}, closed))
			if len(out.Contracts) == size {
				out.NextPageToken = paging.Encode(query, last)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
