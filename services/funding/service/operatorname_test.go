package service_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// A contract carries its operator's display name: set at creation, in the
// event, read back and listed; an update without one keeps it, another one
// replaces it; more than 200 characters or a control character is refused
// naming the field.
func TestContractOperatorName(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	tm := terms("op-5")
	tm.OperatorName = " AFPA Normandie "
	id := createContract(t, e, tm)
	evs := e.Events(t, "FUNDING", "avenir.funding.contract."+id+".created")
	if len(evs) != 1 || evs[0].Data.(*fundingv1.ContractCreated).GetTerms().GetOperatorName() != "AFPA Normandie" {
		t.Fatalf("created %v", evs)
	}
	name := func() string {
		t.Helper()
		got, err := e.admin.GetContract(ctx(t), &fundingv1.GetContractRequest{ContractId: id})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetContract().GetTerms().GetOperatorName()
	}
	if got := name(); got != "AFPA Normandie" {
		t.Fatalf("operator name %q", got)
	}
	update := func(name string) error {
		up := terms("op-5")
		up.OperatorName = name
		_, err := e.admin.UpdateContract(ctx(t), &fundingv1.UpdateContractRequest{RequestId: event.NewID(), ContractId: id, Terms: up})
		return err
	}
	if err := update(""); err != nil || name() != "AFPA Normandie" {
		t.Fatalf("an update without a name: %v, name %q", err, name())
	}
	if err := update("GRETA Caen"); err != nil || name() != "GRETA Caen" {
		t.Fatalf("renamed: %v, name %q", err, name())
	}
	e.CaughtUp(t)
	list, err := e.admin.ListContracts(ctx(t), &fundingv1.ListContractsRequest{})
	if err != nil || len(list.GetContracts()) != 1 || list.GetContracts()[0].GetTerms().GetOperatorName() != "GRETA Caen" {
		t.Fatalf("listed %v %v", list, err)
	}
	for _, bad := range []string{strings.Repeat("é", 201), "GRETA\x1b[31m", "CIBC\nRouen"} {
		servicetest.Refused(t, update(bad), codes.InvalidArgument, "terms.operator_name")
		tm := terms("op-5")
		tm.OperatorName = bad
		_, err := e.admin.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: event.NewID(), Terms: tm})
		servicetest.Refused(t, err, codes.InvalidArgument, "terms.operator_name")
	}
}
