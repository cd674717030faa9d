package service_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// TestConcurrentAssignmentsKeepTheInvariants races automatic assignments,
// queue drains, manual assignments and handovers, exits and a capacity
// change on the real backbone, then replays the whole REFERENT stream:
// after every command (an atomic batch), no referent holds more learners
// than its capacity, and each learner is in exactly the caseload of its
// current referent — in none while queued or out of the pathway. Once
// things settle, every learner in the pathway has a referent or is queued,
// and nobody is queued while a slot is free.
func TestConcurrentAssignmentsKeepTheInvariants(t *testing.T) {
	t.Parallel()
	env, client := start(t, servicetest.Options{})
	refs := []string{
		register(t, client, profile("Anne", 3, []string{"T05"})),
		register(t, client, profile("Bruno", 3, []string{"T05"})),
	}
	const learners = 16
	ids := make([]string, learners)
	for i := range ids {
		ids[i] = registered(t, env, i%3 == 0, i%5 == 0)
	}
	// Pathway's consumer handles entries one at a time, in stream order:
	// publishing them at once would race nothing.
	for _, id := range ids {
		enter(t, env, id, "T05", 1)
	}
	for _, id := range ids {
		waitAssignment(t, client, id, "decided", func(a *referentv1.Assignment) bool { return a.GetActive() })
	}

	unexpected := make(chan error, 4*learners+8)
	tolerate := func(err error) {
		switch status.Code(err) {
		case codes.OK, codes.FailedPrecondition, codes.Aborted:
		default:
			unexpected <- err
		}
	}
	// Manual assignments race each other, the exits (handled by the
	// pathway consumer as they are published, between the assignments
	// launched), the queue drains they cause, a capacity change and a new
	// referent.
	var wg sync.WaitGroup
	for i, id := range ids {
		for _, ref := range refs {
			wg.Go(func() {
				_, err := client.AssignReferent(ctx(t), &referentv1.AssignReferentRequest{RequestId: event.NewID(), LearnerId: id, ReferentId: ref, Reason: "race"})
				tolerate(err)
			})
		}
		if i < 4 {
			exit(t, env, id, "T05", 1)
		}
	}
	wg.Go(func() {
		// The same request until it passes: Aborted only says "retry".
		req := &referentv1.UpdateReferentRequest{RequestId: event.NewID(), ReferentId: refs[0], Profile: profile("Anne", 6, []string{"T05"})}
		for {
			_, err := client.UpdateReferent(ctx(t), req)
			if status.Code(err) != codes.Aborted {
				tolerate(err)
				return
			}
		}
	})
	wg.Go(func() {
		_, err := client.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{RequestId: event.NewID(), Profile: profile("Claire", 2, []string{"T05"})})
		if err != nil {
			unexpected <- err
		}
	})
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Errorf("unexpected error: %v", err)
	}

	// Settled: the 12 learners still in the pathway fill the 11 slots, one
	// waits in the queue.
	servicetest.Eventually(t, 20*time.Second, func() error {
		var assigned, queued int
		for i, id := range ids {
			resp, err := client.GetAssignment(ctx(t), &referentv1.GetAssignmentRequest{LearnerId: id})
			if err != nil {
				return err
			}
			a := resp.GetAssignment()
			switch {
			case i < 4 && a.GetActive():
				return fmt.Errorf("learner %d exited but is active", i)
			case i < 4:
			case a.GetReferentId() != "" && !a.GetPending():
				assigned++
			case a.GetPending():
				queued++
			default:
				return fmt.Errorf("learner %d in the pathway has neither a referent nor a place in the queue: %v", i, a)
			}
		}
		if assigned != 11 || queued != 1 {
			return fmt.Errorf("%d assigned and %d queued, want 11 and 1", assigned, queued)
		}
		return nil
	})
	checkHistory(t, env)
}

// checkHistory replays the REFERENT stream and checks the invariants after
// each command (a run of events with the same request id is one atomic
// batch).
func checkHistory(t *testing.T, env *servicetest.Env) {
	t.Helper()
	evs := env.Events(t, "REFERENT", "avenir.referent.>")
	capacity := map[string]int{}
	holders := map[string]map[string]bool{} // learner -> referents holding it
	caseloads := map[string]map[string]bool{}
	current := map[string]string{} // learner -> current referent, "" if none
	check := func(at int) {
		for ref, c := range caseloads {
			if len(c) > capacity[ref] {
				t.Fatalf("after event %d: referent %s holds %d learners, capacity %d", at, ref, len(c), capacity[ref])
			}
		}
		for learner, ref := range current {
			h := holders[learner]
			if ref == "" && len(h) != 0 || ref != "" && (len(h) != 1 || !h[ref]) {
				t.Fatalf("after event %d: learner %s has referent %q but is held by %v", at, learner, ref, h)
			}
		}
	}
	for i, ev := range evs {
		switch m := ev.Data.(type) {
		case *referentv1.ReferentRegistered:
			capacity[m.GetReferentId()] = int(m.GetProfile().GetCapacity())
		case *referentv1.ReferentUpdated:
			capacity[m.GetReferentId()] = int(m.GetProfile().GetCapacity())
		case *referentv1.LearnerTaken:
			if holders[m.GetLearnerId()] == nil {
				holders[m.GetLearnerId()] = map[string]bool{}
			}
			if caseloads[m.GetReferentId()] == nil {
				caseloads[m.GetReferentId()] = map[string]bool{}
			}
			holders[m.GetLearnerId()][m.GetReferentId()] = true
			caseloads[m.GetReferentId()][m.GetLearnerId()] = true
		case *referentv1.LearnerReleased:
			delete(holders[m.GetLearnerId()], m.GetReferentId())
			delete(caseloads[m.GetReferentId()], m.GetLearnerId())
		case *referentv1.ReferentAssigned:
			current[m.GetLearnerId()] = m.GetReferentId()
		case *referentv1.AssignmentPending:
			current[m.GetLearnerId()] = ""
		case *referentv1.AssignmentEnded:
			current[m.GetLearnerId()] = ""
		}
		if i == len(evs)-1 || evs[i+1].RequestID != ev.RequestID {
			check(i)
		}
	}
}
