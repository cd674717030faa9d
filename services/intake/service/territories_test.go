package service_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// territoryCodes lists the codes of an answer, in its order.
func territoryCodes(resp *intakev1.ListTerritoriesResponse) []string {
	var out []string
	for _, t := range resp.GetTerritories() {
		out = append(out, t.GetCode())
	}
	return out
}

// Every role lists the territories shipped, in code order, with their names
// and départements; nobody without a token does.
func TestListTerritories(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	shipped := domain.DefaultTerritories()
	for _, p := range []auth.Principal{
		{Subject: "u-admin", Role: auth.RoleAdmin},
		{Subject: "u-ref", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T05"}},
		{Subject: "u-op", Role: auth.RoleOperator, OperatorID: "op-1", Territories: []string{"T01"}},
		{Subject: "u-fund", Role: auth.RoleFunder},
	} {
		c := intakev1.NewIntakeServiceClient(env.ConnAs(t, p))
		resp, err := c.ListTerritories(ctx(t), &intakev1.ListTerritoriesRequest{})
		if err != nil {
			t.Fatalf("%s: %v", p.Role, err)
		}
		if resp.GetVersion() != shipped.Version || len(resp.GetTerritories()) != 18 {
			t.Fatalf("%s: version %q, %d territories", p.Role, resp.GetVersion(), len(resp.GetTerritories()))
		}
		for i, ter := range resp.GetTerritories() {
			want, ok := shipped.Lookup(ter.GetCode())
			if !ok || ter.GetName() != want.Name || ter.GetDepartment() != want.Department {
				t.Errorf("%s: %v, shipped %v", p.Role, ter, want)
			}
			if i > 0 && resp.GetTerritories()[i-1].GetCode() >= ter.GetCode() {
				t.Errorf("%s: %s after %s", p.Role, ter.GetCode(), resp.GetTerritories()[i-1].GetCode())
			}
		}
		if first := resp.GetTerritories()[0]; first.GetCode() != "T01" || first.GetName() != "Caen" || first.GetDepartment() != "14" {
			t.Errorf("%s: first %v", p.Role, first)
		}
	}
	_, err := intakev1.NewIntakeServiceClient(env.ConnAnonymous(t)).ListTerritories(ctx(t), &intakev1.ListTerritoriesRequest{})
	servicetest.Refused(t, err, codes.Unauthenticated)
}

// With a territories file, the file's territories are listed, in code
// order whatever the file's order.
func TestListTerritoriesFromTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "territories.json")
	if err := os.WriteFile(path, []byte(`{"version":"test-2","territories":[
		{"code":"T19","name":"Le Havre","department":"76"},
		{"code":"T02","name":"Bayeux","department":"14"},
		{"code":"T11","name":"Alençon","department":"61"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, client := startWith(t, servicetest.Options{}, service.Config{TerritoriesFile: path})
	resp, err := client.ListTerritories(ctx(t), &intakev1.ListTerritoriesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := territoryCodes(resp); len(got) != 3 || got[0] != "T02" || got[1] != "T11" || got[2] != "T19" || resp.GetVersion() != "test-2" {
		t.Fatalf("%v, version %q", got, resp.GetVersion())
	}
	if h := resp.GetTerritories()[2]; h.GetName() != "Le Havre" || h.GetDepartment() != "76" {
		t.Fatalf("T19: %v", h)
	}
}
