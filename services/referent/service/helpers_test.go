package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
	"github.com/avenir-normandie/avenir/services/referent/service"
)

// The services' clock is servicetest's default: 2026-11-26, 10:00 in Paris.
var today = civil.Date{Year: 2026, Month: time.November, Day: 26}

// start runs referent alone; the tests publish intake's and pathway's
// events themselves, as those services would.
func start(t *testing.T, opts servicetest.Options) (*servicetest.Env, referentv1.ReferentServiceClient) {
	t.Helper()
	env := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
	return env, referentv1.NewReferentServiceClient(env.Conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// registered publishes intake's registration of a new learner.
func registered(t *testing.T, env *servicetest.Env, rqth, senior bool) string {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Martin", GivenName: "Léa", TerritoryCode: "T05", Rqth: rqth, SeniorAtEntry: senior,
	})
	return id
}

// enter publishes pathway's entry of the learner into episode n.
func enter(t *testing.T, env *servicetest.Env, id, territory string, n int32) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+id+".entered", &pathwayv1.PathwayEntered{
		LearnerId: id, EpisodeNumber: n, EntryDate: civilpb.FromDate(today.AddDays(-1)), TerritoryCode: territory,
	})
}

// exit publishes pathway's exit of the learner from episode n.
func exit(t *testing.T, env *servicetest.Env, id, territory string, n int32) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+id+".exited", &pathwayv1.PathwayExited{
		LearnerId: id, EpisodeNumber: n, EntryDate: civilpb.FromDate(today.AddDays(-1)), ExitDate: civilpb.FromDate(today),
		Reason: pathwayv1.ExitReason_EXIT_REASON_RELOCATION, TerritoryCode: territory,
	})
}

func profile(name string, capacity int32, territories []string, specialties ...referentv1.Specialty) *referentv1.ReferentProfile {
	return &referentv1.ReferentProfile{
		Name: name, Organisation: "AFPA Évreux", TerritoryCodes: territories, Capacity: capacity,
		Specialties: specialties, Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}
}

func register(t *testing.T, client referentv1.ReferentServiceClient, p *referentv1.ReferentProfile) string {
	t.Helper()
	resp, err := client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: event.NewID(), Profile: p})
	if err != nil {
		t.Fatalf("RegisterReferent: %v", err)
	}
	return resp.GetReferent().GetReferentId()
}

// waitAssignment waits until the learner's assignment (read from its own
// events, which the consumers append) satisfies ok.
func waitAssignment(t *testing.T, client referentv1.ReferentServiceClient, learner string, what string, ok func(*referentv1.Assignment) bool) *referentv1.Assignment {
	t.Helper()
	var got *referentv1.Assignment
	servicetest.Eventually(t, 15*time.Second, func() error {
		resp, err := client.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: learner})
		if err != nil {
			return err
		}
		got = resp.GetAssignment()
		if !ok(got) {
			return fmt.Errorf("assignment of %s is not %s: %v", learner, what, got)
		}
		return nil
	})
	return got
}

func assignedTo(ref string) func(*referentv1.Assignment) bool {
	return func(a *referentv1.Assignment) bool {
		return a.GetReferentId() == ref && !a.GetPending() && a.GetActive()
	}
}

func pending(a *referentv1.Assignment) bool { return a.GetPending() && a.GetReferentId() == "" }

// events counts the stored events of the REFERENT stream matching filter.
func events(t *testing.T, env *servicetest.Env, filter string) int {
	t.Helper()
	return len(env.Events(t, service.Stream, filter))
}
