package auth_test

import (
	"context"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

func TestActor(t *testing.T) {
	if got := auth.ActorFrom(context.Background()); got != auth.Anonymous {
		t.Fatalf("got %q", got)
	}
	if got := auth.ActorFrom(auth.WithActor(context.Background(), "referent:42")); got != "referent:42" {
		t.Fatalf("got %q", got)
	}
}

func TestScope(t *testing.T) {
	ref := auth.Principal{Role: auth.RoleReferent, Territories: []string{"T05"}}
	op := auth.Principal{Role: auth.RoleOperator, Territories: []string{"T05"}}
	admin := auth.Principal{Role: auth.RoleAdmin}
	funder := auth.Principal{Role: auth.RoleFunder}
	for _, c := range []struct {
		p              auth.Principal
		territory      string
		reaches, actor bool
	}{
		{ref, "T05", true, true}, {ref, "T01", false, false},
		{op, "T05", false, false}, {op, "T01", false, false}, // operators reach learners by enrolment only
		{admin, "T01", true, true}, {funder, "T01", true, false},
		{auth.Principal{Role: "nobody", Territories: []string{"T05"}}, "T05", false, false},
	} {
		if got := c.p.Reaches(c.territory); got != c.reaches {
			t.Errorf("%s Reaches(%s) = %v", c.p.Role, c.territory, got)
		}
		if got := c.p.ActsFor(c.territory); got != c.actor {
			t.Errorf("%s ActsFor(%s) = %v", c.p.Role, c.territory, got)
		}
	}
}
