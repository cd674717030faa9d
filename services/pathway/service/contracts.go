package service

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The contracts read model (contractsProjection): what an enrolment is
// checked against, from funding's contract events. Only the terms pathway's
// rules need: operator, lot, period, programme; no rates nor envelopes.
//
//	contract:<contract id>   a ContractCreated holding those terms
var contractSubjects = []string{"avenir.funding.contract.*.created", "avenir.funding.contract.*.updated"}

func contractKey(id string) string { return "contract:" + id }

// projectContract keeps the latest terms of each contract.
func (s *Service) projectContract(_ context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id    string
		terms *fundingv1.ContractTerms
	)
	switch m := ev.Data.(type) {
	case *fundingv1.ContractCreated:
		id, terms = m.GetContractId(), m.GetTerms()
	case *fundingv1.ContractUpdated:
		id, terms = m.GetContractId(), m.GetTerms()
	default:
		return nil, nil
	}
	if id == "" || terms == nil {
		return nil, nil
	}
	b, err := proto.Marshal(&fundingv1.ContractCreated{ContractId: id, Terms: &fundingv1.ContractTerms{
		OperatorId: terms.GetOperatorId(), TerritoryCodes: terms.GetTerritoryCodes(),
		PeriodFrom: terms.GetPeriodFrom(), PeriodTo: terms.GetPeriodTo(), Programme: terms.GetProgramme(),
	}})
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(contractKey(id), b)}, nil
}

// contract reads what pathway knows of a contract; Known is false when it
// has not seen the contract (yet).
func (s *Service) contract(ctx context.Context, id string) (domain.Contract, error) {
	b, err := s.store.Get(ctx, contractsProjection, contractKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return domain.Contract{ID: id}, nil
	}
	if err != nil {
		return domain.Contract{}, err
	}
	var c fundingv1.ContractCreated
	if err := proto.Unmarshal(b, &c); err != nil {
		return domain.Contract{}, fmt.Errorf("pathway: stored contract %s: %w", id, err)
	}
	t := c.GetTerms()
	return domain.Contract{
		ID: id, OperatorID: t.GetOperatorId(), Territories: t.GetTerritoryCodes(),
		From: civilpb.Date(t.GetPeriodFrom()), To: civilpb.Date(t.GetPeriodTo()),
		Programme: platform.FromWire(fundingProgrammes, t.GetProgramme()), Known: true,
	}, nil
}
