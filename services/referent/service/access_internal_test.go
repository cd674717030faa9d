package service

import (
	"slices"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

var accessDay = civil.Date{Year: 2026, Month: 11, Day: 26}

func directory(id string, territories ...string) domain.Referent {
	return domain.EvolveReferent(domain.Referent{}, domain.ReferentRegistered{ReferentID: id, Profile: domain.Profile{
		Name: id, Organisation: "AFPA", Territories: territories, Capacity: 10, Kind: domain.KindPedagogical,
	}})
}

// A coordinator coordinates the territories of its token that its own
// directory entry also holds, while it is an active referent.
func TestCoordinates(t *testing.T) {
	coordinator := func(id string, territories ...string) auth.Principal {
		return auth.Principal{Subject: "u-" + id, Role: auth.RoleReferent, ReferentID: id, Territories: territories, Coordinator: true}
	}
	plain := coordinator("r-c", "T01", "T02")
	plain.Coordinator = false
	admin := auth.Principal{Subject: "a", Role: auth.RoleAdmin, ReferentID: "r-c", Coordinator: true}
	deactivated := domain.EvolveReferent(directory("r-c", "T01"), domain.ReferentDeactivated{ReferentID: "r-c", On: accessDay})
	for _, tc := range []struct {
		name string
		p    auth.Principal
		self domain.Referent
		want []string
	}{
		{"token and directory agree", coordinator("r-c", "T01"), directory("r-c", "T01"), []string{"T01"}},
		{"the intersection, sorted", coordinator("r-c", "T03", "T01", "T02"), directory("r-c", "T02", "T01", "T09"), []string{"T01", "T02"}},
		{"the token claims a territory the directory lacks", coordinator("r-c", "T02"), directory("r-c", "T01"), nil},
		{"the directory holds a territory the token lacks", coordinator("r-c", "T01"), directory("r-c", "T01", "T02"), []string{"T01"}},
		{"not in the directory", coordinator("r-c", "T01"), domain.Referent{}, nil},
		{"deactivated", coordinator("r-c", "T01"), deactivated, nil},
		{"another referent's entry", coordinator("r-c", "T01"), directory("r-x", "T01"), nil},
		{"no coordinator claim", plain, directory("r-c", "T01"), nil},
		{"an admin is no coordinator (it manages everything otherwise)", admin, directory("r-c", "T01"), nil},
		{"no referent id", coordinator("", "T01"), directory("", "T01"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := coordinates(tc.p, tc.self); !slices.Equal(got, tc.want) {
				t.Fatalf("coordinates %v, want %v", got, tc.want)
			}
		})
	}
}

// Object-level checks of the managing RPCs, against the loaded facts.
func TestManagerScope(t *testing.T) {
	coordinator := auth.Principal{Subject: "u-c", Role: auth.RoleReferent, ReferentID: "r-c", Territories: []string{"T01", "T03"}, Coordinator: true}
	m := manager{territories: []string{"T01"}} // T03: token only
	admin := manager{admin: true}
	assignment := func(territory string) domain.Assignment {
		return domain.EvolveAssignment(domain.Assignment{}, domain.AssignmentPending{LearnerID: "l-1", Territory: territory, Episode: 1, Since: accessDay})
	}
	// ok is the kind of a nil error here.
	const ok = apperr.Kind(255)
	code := func(err error) apperr.Kind {
		if err == nil {
			return ok
		}
		return apperr.KindOf(err)
	}
	for _, tc := range []struct {
		name string
		m    manager
		a    domain.Assignment
		want apperr.Kind
	}{
		{"admin, any learner", admin, assignment("T09"), ok},
		{"admin, a learner unknown (the decision answers)", admin, domain.Assignment{}, ok},
		{"a learner of the coordinated territory", m, assignment("T01"), ok},
		{"a learner of a territory of the token only: seen, not managed", m, assignment("T03"), apperr.KindPermissionDenied},
		{"a learner of another territory: hidden", m, assignment("T02"), apperr.KindNotFound},
		{"a learner unknown: hidden", m, domain.Assignment{}, apperr.KindNotFound},
	} {
		t.Run("assignment/"+tc.name, func(t *testing.T) {
			if got := code(managesAssignment(coordinator, tc.m, "l-1", tc.a, accessDay, 30)); got != tc.want {
				t.Fatalf("%v, want %v", got, tc.want)
			}
		})
	}
	withLearner := func(r domain.Referent, territory string) domain.Referent {
		return domain.EvolveReferent(r, domain.LearnerTaken{ReferentID: r.ID, Slot: domain.Slot{LearnerID: "l-" + territory, Territory: territory}})
	}
	for _, tc := range []struct {
		name    string
		m       manager
		r       domain.Referent
		interim bool
		want    apperr.Kind
	}{
		{"admin, any referent, with an interim", admin, directory("r-a", "T09"), true, ok},
		{"a referent of the coordinated territory", m, directory("r-a", "T01"), false, ok},
		{"a referent sharing one coordinated territory", m, directory("r-a", "T01", "T03"), false, ok},
		{"a referent of a territory of the token only: seen, not managed", m, directory("r-a", "T03"), false, apperr.KindPermissionDenied},
		{"a referent of another territory: hidden", m, directory("r-a", "T02"), false, apperr.KindNotFound},
		{"a referent unknown: hidden", m, domain.Referent{}, false, apperr.KindNotFound},
		{"an interim for a referent of coordinated territories only", m, withLearner(directory("r-a", "T01"), "T01"), true, ok},
		{"an interim for a referent serving another territory too", m, directory("r-a", "T01", "T03"), true, apperr.KindPermissionDenied},
		{"an interim for a referent following a learner elsewhere", m, withLearner(directory("r-a", "T01"), "T03"), true, apperr.KindPermissionDenied},
	} {
		t.Run("referent/"+tc.name, func(t *testing.T) {
			if got := code(managesReferent(coordinator, tc.m, "r-a", tc.r, tc.interim)); got != tc.want {
				t.Fatalf("%v, want %v", got, tc.want)
			}
		})
	}
	if !admin.manages("T18") || !m.manages("T01") || m.manages("T03") || (manager{}).manages("T01") {
		t.Fatal("manages")
	}
}
