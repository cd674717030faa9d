package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The contracts read model (contractsProjection): what an enrolment is
// checked against, and what ListEnrolmentOptions offers, from funding's
// contract events. Only the terms pathway's rules and answers need:
// operator (id and name), reference, lot, period, programme; no rates nor
// envelopes.
//
//	contract:<contract id>   a ContractCreated holding those terms
//	index territory          <territory>/<operator id>/<contract id>, one per
//	                         territory of the lot
var contractSubjects = []string{"avenir.funding.contract.*.created", "avenir.funding.contract.*.updated"}

const contractTerritoryIndex = "territory"

func contractKey(id string) string { return "contract:" + id }

// contractMembers are the members of the territory index for a contract's
// terms.
func contractMembers(id string, t *fundingv1.ContractTerms) []string {
	out := make([]string, 0, len(t.GetTerritoryCodes()))
	for _, code := range t.GetTerritoryCodes() {
		out = append(out, code+"/"+t.GetOperatorId()+"/"+id)
	}
	return out
}

// projectContract keeps the latest terms of each contract, and its place
// in the territories of its lot.
func (s *Service) projectContract(ctx context.Context, ev event.Event) ([]projection.Op, error) {
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
	kept := &fundingv1.ContractTerms{
		OperatorId: terms.GetOperatorId(), OperatorName: terms.GetOperatorName(), Reference: terms.GetReference(),
		TerritoryCodes: terms.GetTerritoryCodes(), PeriodFrom: terms.GetPeriodFrom(), PeriodTo: terms.GetPeriodTo(),
		Programme: terms.GetProgramme(),
	}
	b, err := proto.Marshal(&fundingv1.ContractCreated{ContractId: id, Terms: kept})
	if err != nil {
		return nil, err
	}
	members := contractMembers(id, kept)
	var ops []projection.Op
	previous, err := s.storedContract(ctx, id)
	if err != nil {
		return nil, err
	}
	if previous != nil {
		for _, m := range contractMembers(id, previous.GetTerms()) {
			if !slices.Contains(members, m) {
				ops = append(ops, projection.IndexRemove(contractTerritoryIndex, m))
			}
		}
	}
	ops = append(ops, projection.Put(contractKey(id), b))
	for _, m := range members {
		ops = append(ops, projection.IndexAdd(contractTerritoryIndex, m))
	}
	return ops, nil
}

// storedContract reads a contract of the read model, nil when there is
// none.
func (s *Service) storedContract(ctx context.Context, id string) (*fundingv1.ContractCreated, error) {
	b, err := s.store.Get(ctx, contractsProjection, contractKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c fundingv1.ContractCreated
	if err := proto.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("pathway: stored contract %s: %w", id, err)
	}
	return &c, nil
}

// contract reads what pathway knows of a contract; Known is false when it
// has not seen the contract (yet).
func (s *Service) contract(ctx context.Context, id string) (domain.Contract, error) {
	c, err := s.storedContract(ctx, id)
	if err != nil || c == nil {
		return domain.Contract{ID: id}, err
	}
	return contractOf(id, c.GetTerms()), nil
}

func contractOf(id string, t *fundingv1.ContractTerms) domain.Contract {
	return domain.Contract{
		ID: id, OperatorID: t.GetOperatorId(), Territories: t.GetTerritoryCodes(),
		From: civilpb.Date(t.GetPeriodFrom()), To: civilpb.Date(t.GetPeriodTo()),
		Programme: platform.FromWire(fundingProgrammes, t.GetProgramme()), Known: true,
	}
}
