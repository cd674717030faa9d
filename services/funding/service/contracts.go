package service

import (
	"context"
	"slices"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// CreateContract implements fundingv1.FundingServiceServer. The contract's
// id derives from the request id and the caller, so a retried creation
// addresses the same contract.
func (s *Service) CreateContract(ctx context.Context, req *fundingv1.CreateContractRequest) (*fundingv1.CreateContractResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	id := event.DeriveID("funding/contract/"+caller.Subject, req.GetRequestId())
	c, err := s.execContract(ctx, req.GetRequestId(), id, domain.CreateContract{ContractID: id, Terms: termsFromProto(req.GetTerms())})
	if err != nil {
		return nil, err
	}
	view, err := s.contractView(ctx, c)
	if err != nil {
		return nil, err
	}
	return &fundingv1.CreateContractResponse{Contract: view}, nil
}

// UpdateContract implements fundingv1.FundingServiceServer.
func (s *Service) UpdateContract(ctx context.Context, req *fundingv1.UpdateContractRequest) (*fundingv1.UpdateContractResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
	checkID(&v, "contract_id", req.GetContractId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.execContract(ctx, req.GetRequestId(), req.GetContractId(), domain.UpdateContract{
		ContractID: req.GetContractId(), Terms: termsFromProto(req.GetTerms()), Reason: req.GetReason(),
	})
	if err != nil {
		return nil, err
	}
	view, err := s.contractView(ctx, c)
	if err != nil {
		return nil, err
	}
	return &fundingv1.UpdateContractResponse{Contract: view}, nil
}

// execContract runs a contract command and returns the contract right after.
func (s *Service) execContract(ctx context.Context, requestID, id string, cmd any) (domain.Contract, error) {
	meta := eventstore.Command{RequestID: requestID, Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, contractFilter(id), meta, func(h eventstore.History) ([]event.Draft, error) {
		evs, err := domain.DecideContract(foldContract(h.Events), cmd)
		if err != nil {
			return nil, err
		}
		return drafts(evs)
	})
	if err != nil {
		return domain.Contract{}, err
	}
	return foldContract(res.After()), nil
}

// contractView is a contract as answered, with its closed periods from the
// books read model.
func (s *Service) contractView(ctx context.Context, c domain.Contract) (*fundingv1.Contract, error) {
	out := &fundingv1.Contract{ContractId: c.ID, Terms: termsToProto(c.Terms)}
	err := s.withBooks(ctx, c.ID, func(b *domain.Books) error {
		var closed []civil.Month
		for p, ok := range b.Closed {
			if ok {
				closed = append(closed, p)
			}
		}
		slices.SortFunc(closed, civil.Month.Compare)
		for _, p := range closed {
			out.ClosedPeriods = append(out.ClosedPeriods, civilpb.FromMonth(p))
		}
		return nil
	})
	return out, err
}

// GetContract implements fundingv1.FundingServiceServer, from the contract's
// events.
func (s *Service) GetContract(ctx context.Context, req *fundingv1.GetContractRequest) (*fundingv1.GetContractResponse, error) {
	if problem := ident.CheckID(req.GetContractId()); problem != "" {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "contract_id", Description: problem})
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	view, err := s.contractView(ctx, c)
	if err != nil {
		return nil, err
	}
	return &fundingv1.GetContractResponse{Contract: view}, nil
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
	if operator != "" && !domain.ValidCode(operator) {
		v.Add("operator_id", "is not an operator id: 1 to 64 letters, digits, dashes or underscores")
	}
	if territory != "" && !domain.ValidCode(territory) {
		v.Add("territory_code", "is not a territory code, such as T05")
	}
	activeOn := checkDate(&v, "active_on", req.GetActiveOn())
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
	err := s.scan(ctx, index, after, func(ids []string) (bool, error) {
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
			view, err := s.contractView(ctx, domain.Contract{ID: id, Terms: t})
			if err != nil {
				return false, err
			}
			out.Contracts = append(out.Contracts, view)
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
