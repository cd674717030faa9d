package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// erasureReads is what the read models answer about an erased learner.
type erasureReads struct {
	pathway, pathwayToReferent *pathwayv1.GetPathwayResponse
	list                       *pathwayv1.ListPathwaysResponse
	timeline, briefs           *pathwayv1.GetTimelineResponse
	breakdowns                 *pathwayv1.GetBreakdownsResponse
}

func (r erasureReads) messages() []proto.Message {
	return []proto.Message{r.pathway, r.pathwayToReferent, r.list, r.timeline, r.briefs, r.breakdowns}
}

// readErased reads them with the service's methods, as admin, the
// learner's referent (who acts for it) and a funder.
func readErased(t *testing.T, svc pathwayv1.PathwayServiceServer, id string) erasureReads {
	t.Helper()
	as := func(p auth.Principal) context.Context { return auth.NewContext(ctx(t), p) }
	admin := as(servicetest.Admin)
	var r erasureReads
	var errs [6]error
	r.pathway, errs[0] = svc.GetPathway(admin, &pathwayv1.GetPathwayRequest{LearnerId: id})
	r.pathwayToReferent, errs[1] = svc.GetPathway(as(referentT09), &pathwayv1.GetPathwayRequest{LearnerId: id})
	r.list, errs[2] = svc.ListPathways(admin, &pathwayv1.ListPathwaysRequest{TerritoryCode: "T09"})
	r.timeline, errs[3] = svc.GetTimeline(admin, &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.briefs, errs[4] = svc.GetTimeline(as(funder), &pathwayv1.GetTimelineRequest{LearnerId: id})
	r.breakdowns, errs[5] = svc.GetBreakdowns(admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 10), ToMonth: month(2026, 11)})
	noError(t, errs[:]...)
	return r
}

var referentT09 = auth.Principal{Subject: "u-ref9", Role: auth.RoleReferent, ReferentID: "ref-9", Territories: []string{"T09"}}

// storedValue is the value of key in the read model name, nil for none.
func storedValue(t *testing.T, store projection.Store, name, key string) []byte {
	t.Helper()
	values, err := store.GetMany(ctx(t), name, []string{key})
	if err != nil {
		t.Fatalf("read %s %s: %v", name, key, err)
	}
	return values[0]
}

// When intake erases a learner, pathway keeps nothing personal of it: no
// birth date, no situation, no exit detail (never copied: read from the
// stream, where it can no longer be opened); its pathway, timeline and
// figures stay, and read the same from read models rebuilt after the
// erasure.
func TestErasureLeavesNothingPersonalInTheReadModels(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fresh := storetest.Fresh(t, kind)
			live := fresh()
			env, client := start(t, servicetest.Options{Store: live})
			id := registeredOn(t, env, "T09", date(2026, 10, 1)) // Léa Martin, born 14 May 2001, RQTH
			publishSituation(t, env, id, date(2026, 10, 20), true, &intakev1.Situation{RsaRecipient: true, EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3})
			enter(t, client, id, date(2026, 10, 28))
			analyse(t, env, id, 1) // its recommended steps are sealed
			env.CaughtUp(t)
			const detail = "Moved to Lyon to live with her sister"
			exit(t, client, id, today, pathwayv1.ExitReason_EXIT_REASON_OTHER, detail)
			other := registeredOn(t, env, "T09", date(2026, 10, 1))
			enter(t, client, other, date(2026, 11, 4))
			exit(t, client, other, date(2026, 11, 5), pathwayv1.ExitReason_EXIT_REASON_OTHER, "Another text")
			env.CaughtUp(t)

			// Before: those who act for the learner read the detail; no read
			// model holds it.
			before := readErased(t, env.Services[0].(*service.Service), id)
			if got := before.pathway.GetPathway().GetEpisodes()[0].GetExitDetail(); got != detail {
				t.Fatalf("detail before the erasure %q", got)
			}
			if before.pathwayToReferent.GetPathway().GetEpisodes()[0].GetExitDetail() != detail {
				t.Fatalf("the referent reads %v", before.pathwayToReferent)
			}
			for _, key := range []string{"pathway:" + id, "exits:" + id} {
				if v := storedValue(t, live, "pathway-pathways-v3", key); v == nil || strings.Contains(string(v), "Lyon") {
					t.Fatalf("%s holds %q", key, v)
				}
			}
			if v := storedValue(t, live, "pathway-learners-v2", "learner:"+id); !strings.Contains(string(v), "2001-05-14") {
				t.Fatalf("learner before the erasure: %s", v)
			}

			erase(t, env, id, "T09")

			// The learner as pathway keeps it: territory and registration,
			// erased on the day; nothing else.
			if v := string(storedValue(t, live, "pathway-learners-v2", "learner:"+id)); v != `{"territory":"T09","registered_on":"2026-10-01","erased":true,"erased_on":"2026-11-26"}` {
				t.Fatalf("learner after the erasure: %s", v)
			}
			after := readErased(t, env.Services[0].(*service.Service), id)
			ep := after.pathway.GetPathway().GetEpisodes()[0]
			if ep.ExitDetail == nil || ep.GetExitDetail() != "" || ep.GetExitReason() != pathwayv1.ExitReason_EXIT_REASON_OTHER ||
				after.pathwayToReferent.GetPathway().GetEpisodes()[0].GetExitDetail() != "" {
				t.Fatalf("the erased learner's exit reads %v", ep)
			}
			for _, p := range after.list.GetPathways() {
				want := ""
				if p.GetLearnerId() == other {
					want = "Another text"
				}
				if got := p.GetEpisodes()[0].GetExitDetail(); got != want {
					t.Fatalf("listed %s with detail %q, want %q", p.GetLearnerId(), got, want)
				}
			}
			entries := after.timeline.GetEntries()
			i := slices.IndexFunc(entries, func(e *pathwayv1.TimelineEntry) bool { return e.GetEventType() == "avenir.intake.v1.LearnerErased" })
			if len(entries) != len(before.timeline.GetEntries())+1 || i < 0 ||
				entries[i].GetSummary() != "Personal data erased on 2026-11-26 (request): the learner reads « "+intakecontract.ErasedName+" »" {
				t.Fatalf("timeline after the erasure: %v", after.timeline)
			}
			for _, e := range append(entries, after.briefs.GetEntries()...) {
				for _, secret := range []string{"Martin", "Léa", "2001", "Lyon", "sister", "workshops", "K2204", "psycholog"} {
					if strings.Contains(e.GetSummary(), secret) {
						t.Errorf("the timeline reads %q in %q", secret, e.GetSummary())
					}
				}
			}
			// Nothing more is recorded about the learner.
			_, err := client.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{RequestId: event.NewID(), LearnerId: id, EntryDate: today})
			servicetest.Refused(t, err, codes.FailedPrecondition, domain.ReasonLearnerErased)

			// Rebuilt from the streams, in which the learner's personal
			// fields can no longer be opened: the same values, the same reads.
			rebuiltStore := fresh()
			rebuilt := env.Rebuild(t, rebuiltStore, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) })
			for _, v := range []struct{ name, key string }{
				{"pathway-learners-v2", "learner:" + id}, {"pathway-learners-v2", "learner:" + other},
				{"pathway-pathways-v3", "pathway:" + id}, {"pathway-pathways-v3", "exits:" + id}, {"pathway-pathways-v3", "exits:" + other},
			} {
				if got, want := storedValue(t, rebuiltStore, v.name, v.key), storedValue(t, live, v.name, v.key); string(got) != string(want) {
					t.Errorf("%s %s rebuilt as %s, the purge left %s", v.name, v.key, got, want)
				}
			}
			again := readErased(t, rebuilt.(*service.Service), id)
			mine, theirs := after.messages(), again.messages()
			for i := range mine {
				if !proto.Equal(mine[i], theirs[i]) {
					t.Errorf("read %d rebuilt as\n%v\nthe purge left\n%v", i, theirs[i], mine[i])
				}
			}
		})
	}
}
