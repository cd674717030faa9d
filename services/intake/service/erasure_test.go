package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The facts of other contexts, published as their services would.

func enter(t *testing.T, env *servicetest.Env, learnerID string, episode int32, on *commonv1.Date) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".entered", &pathwayv1.PathwayEntered{
		LearnerId: learnerID, EpisodeNumber: episode, EntryDate: on, TerritoryCode: "T05",
	})
}

func exit(t *testing.T, env *servicetest.Env, learnerID string, episode int32, entry, on *commonv1.Date) {
	t.Helper()
	env.Publish(t, "avenir.pathway.pathway."+learnerID+".exited", &pathwayv1.PathwayExited{
		LearnerId: learnerID, EpisodeNumber: episode, EntryDate: entry, ExitDate: on,
		Reason: pathwayv1.ExitReason_EXIT_REASON_OTHER, Detail: "moved to Lyon with her sister", TerritoryCode: "T05",
	})
}

func freezeBreakdowns(t *testing.T, env *servicetest.Env, year, month int32) {
	t.Helper()
	env.Publish(t, fmt.Sprintf("avenir.pathway.statistics.%04d-%02d.frozen", year, month), &pathwayv1.BreakdownsFrozen{
		Month: &commonv1.Month{Year: year, Month: month}, FrozenOn: civilDate(env.Now()),
	})
}

func freezeSummary(t *testing.T, env *servicetest.Env, year, month int32) {
	t.Helper()
	env.Publish(t, fmt.Sprintf("avenir.needs.statistics.%04d-%02d.frozen", year, month), &needsv1.SummaryFrozen{
		Month: &commonv1.Month{Year: year, Month: month}, FrozenOn: civilDate(env.Now()),
	})
}

func completeAnalysis(t *testing.T, env *servicetest.Env, learnerID string, on *commonv1.Date) {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.needs.analysis."+id+".completed", &needsv1.AnalysisCompleted{
		AnalysisId: id, LearnerId: learnerID, TerritoryCode: "T05", EpisodeNumber: 1, Version: 1, CompletedOn: on,
	})
}

// reportHours reports a trainee-hour line of the learner under contract,
// billed on period.
func reportHours(t *testing.T, env *servicetest.Env, learnerID, contract string, on *commonv1.Date, period *commonv1.Month) {
	t.Helper()
	ledger := event.NewID()
	env.Publish(t, "avenir.funding.hours."+ledger+".reported", &fundingv1.TraineeHoursReported{
		LedgerId: ledger, ContractId: contract, OperatorId: "op-5", LearnerId: learnerID, RequestId: "r-" + ledger,
		Lines: []*fundingv1.TraineeHourLine{{
			OperatorLineId: "line-" + ledger, Date: on, Minutes: 120, BillingPeriod: period,
			RatePerHourCents: 1500, AmountCents: 3000,
		}},
	})
}

func closeStatement(t *testing.T, env *servicetest.Env, contract string, period *commonv1.Month) {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.funding.statement."+id+".closed", &fundingv1.StatementClosed{
		StatementId: id, ContractId: contract, OperatorId: "op-5", Period: period, ClosedOn: civilDate(env.Now()),
	})
}

func civilDate(t time.Time) *commonv1.Date {
	t = t.In(time.FixedZone("CET", 3600))
	return &commonv1.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// eraseReq is an erasure on the person's request.
func eraseReq(requestID, learnerID string) *intakev1.EraseLearnerRequest {
	return &intakev1.EraseLearnerRequest{
		RequestId: requestID, LearnerId: learnerID, Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "ticket 12",
	}
}

// refusedWith checks a FailedPrecondition with reason whose message says
// each of says.
func refusedWith(t *testing.T, err error, reason string, says ...string) {
	t.Helper()
	servicetest.Refused(t, err, codes.FailedPrecondition, reason)
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
}

// An erasure waits for every fact that would change with it: an open
// episode, lines on an open statement, statistics of a month not frozen;
// each refusal says why, and the erasure goes ahead once the fact changes.
// Then the learner reads as erased everywhere, its key is destroyed, its
// claims released, and the same person can be registered again.
func TestEraseLearner(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	id := registered(t, env)
	nov := &commonv1.Month{Year: 2026, Month: 11}
	enter(t, env, id, 1, nov2)
	reportHours(t, env, id, "c-1", nov20, nov)
	completeAnalysis(t, env, id, nov20)
	env.CaughtUp(t)
	before := countEvents(t, env)

	_, err := admin.EraseLearner(ctx(t), eraseReq("erase", id))
	refusedWith(t, err, "LEARNER_IN_EPISODE", "open episode", "2026-11-02")

	exit(t, env, id, 1, nov2, nov20)
	env.CaughtUp(t)
	_, err = admin.EraseLearner(ctx(t), eraseReq("erase", id))
	refusedWith(t, err, "LINES_ON_OPEN_STATEMENT", "contract c-1 2026-11")

	closeStatement(t, env, "c-1", nov)
	env.CaughtUp(t)
	_, err = admin.EraseLearner(ctx(t), eraseReq("erase", id))
	refusedWith(t, err, "STATISTICS_NOT_FROZEN", "pathway breakdowns of 2026-11", "needs summary of 2026-11", "erasure is possible from 2027-01-01")

	freezeBreakdowns(t, env, 2026, 11)
	env.CaughtUp(t)
	_, err = admin.EraseLearner(ctx(t), eraseReq("erase", id))
	refusedWith(t, err, "STATISTICS_NOT_FROZEN", "needs summary of 2026-11")
	if strings.Contains(err.Error(), "pathway") {
		t.Errorf("a frozen month still holds: %v", err)
	}
	freezeSummary(t, env, 2026, 11)
	env.CaughtUp(t)
	if n := countEvents(t, env); n != before {
		t.Fatalf("refused erasures appended %d events", n-before)
	}

	// Bad input, an unknown learner, and anyone but an admin.
	_, err = admin.EraseLearner(ctx(t), &intakev1.EraseLearnerRequest{RequestId: "bad", LearnerId: id, Reference: "a\u202Eb"})
	servicetest.Refused(t, err, codes.InvalidArgument, "ground", "reference")
	_, err = admin.EraseLearner(ctx(t), &intakev1.EraseLearnerRequest{RequestId: "", LearnerId: "x"})
	servicetest.Refused(t, err, codes.InvalidArgument, "request_id", "learner_id")
	_, err = admin.EraseLearner(ctx(t), eraseReq("nobody", "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"))
	servicetest.Refused(t, err, codes.NotFound)
	for _, p := range []auth.Principal{referentT05, operatorT05, funder} {
		_, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, p)).EraseLearner(ctx(t), eraseReq("as-"+p.Subject, id))
		servicetest.Refused(t, err, codes.PermissionDenied)
	}

	resp, err := admin.EraseLearner(ctx(t), eraseReq("erase", id))
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetLearner()
	want := &intakev1.Learner{
		LearnerId: id, TerritoryCode: "T05", RegisteredAt: got.GetRegisteredAt(), RegisteredOn: nov26,
		Erased: true, ErasedOn: nov26,
	}
	if got.GetRegisteredAt() == nil || !proto.Equal(got, want) {
		t.Fatalf("erased learner\n got %v\nwant %v", got, want)
	}
	evs := env.Events(t, service.Stream, "avenir.intake.learner."+id+".erased")
	wantEv := &intakev1.LearnerErased{LearnerId: id, TerritoryCode: "T05", ErasedOn: nov26,
		Ground: intakev1.ErasureGround_ERASURE_GROUND_REQUEST, Reference: "ticket 12"}
	if len(evs) != 1 || !proto.Equal(evs[0].Data, wantEv) || evs[0].Actor != "admin:test-admin" {
		t.Fatalf("erasure events %v", evs)
	}
	// The data key is destroyed and the claims are released, at once.
	if gone, err := env.Keys.Erased(ctx(t), privacy.LearnerKey(id)); err != nil || !gone {
		t.Fatalf("key erased: %v %v", gone, err)
	}
	if h := holderOf(t, env, "identity", anaisIdentity); h != "" {
		t.Errorf("identity still held by %q", h)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != "" {
		t.Errorf("France Travail id still held by %q", h)
	}
	// The stored events keep no readable personal value.
	for _, ev := range env.Events(t, service.Stream, "avenir.intake.learner."+id+".>") {
		if reg, ok := ev.Data.(*intakev1.LearnerRegistered); ok && (!ev.Erased || reg.GetFamilyName() != "" || reg.GetContact() != nil) {
			t.Fatalf("registration still readable: erased=%v %v", ev.Erased, reg)
		}
	}

	// Erasing again answers the erasure recorded, whatever the request.
	again, err := admin.EraseLearner(ctx(t), &intakev1.EraseLearnerRequest{
		RequestId: "again", LearnerId: id, Ground: intakev1.ErasureGround_ERASURE_GROUND_UNLAWFUL, Reference: "other",
	})
	if err != nil || !proto.Equal(again.GetLearner(), got) {
		t.Fatalf("again: %v %v", again, err)
	}
	retried, err := admin.EraseLearner(ctx(t), eraseReq("erase", id))
	if err != nil || !proto.Equal(retried.GetLearner(), got) {
		t.Fatalf("retried: %v %v", retried, err)
	}
	if n := countEvents(t, env); n != before+1 {
		t.Fatalf("%d events appended, want the erasure once", n-before)
	}

	// Every read shows the learner as erased.
	for _, p := range []auth.Principal{servicetest.Admin, referentT05, funder} {
		client := intakev1.NewIntakeServiceClient(env.ConnAs(t, p))
		l, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
		if err != nil || !proto.Equal(l.GetLearner(), got) {
			t.Errorf("%s reads %v %v", p.Role, l, err)
		}
	}
	h, err := admin.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id})
	if err != nil || len(h.GetChanges()) != 2 {
		t.Fatalf("history %v %v", h, err)
	}
	for _, c := range h.GetChanges() {
		if !proto.Equal(c.GetLearner(), got) {
			t.Errorf("a change shows %v", c.GetLearner())
		}
	}
	if last := h.GetChanges()[1]; last.GetKind() != intakev1.LearnerChangeKind(4) || !proto.Equal(last.GetEffectiveOn(), nov26) || last.GetActor() != "admin:test-admin" {
		t.Errorf("erasure change %v", last)
	}
	servicetest.Eventually(t, 5*time.Second, func() error {
		for _, req := range []*intakev1.SearchLearnersRequest{{FamilyNamePrefix: "lefevre"}, {TerritoryCode: "T05"}, {FranceTravailId: "1234567A"}} {
			if found := search(t, admin, req).GetLearners(); len(found) != 0 {
				return fmt.Errorf("%v finds %v", req, found)
			}
		}
		return nil
	})
	// Nothing about the person changes any more.
	_, err = admin.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "c", LearnerId: id, Email: proto.String("a@b.fr")})
	refusedWith(t, err, "LEARNER_ERASED", "erased")
	_, err = admin.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{RequestId: "s", LearnerId: id, EffectiveDate: nov26, FranceTravailId: proto.String("7654321B")})
	refusedWith(t, err, "LEARNER_ERASED", "erased")
	if h := holderOf(t, env, "ftid", "7654321B"); h != "" {
		t.Errorf("a refused change of an erased learner claimed: %q", h)
	}

	// The same person can be registered again: a new learner.
	anew, err := admin.RegisterLearner(ctx(t), validRequest("anew"))
	if err != nil {
		t.Fatal(err)
	}
	if nid := anew.GetLearner().GetLearnerId(); nid == id || holderOf(t, env, "identity", anaisIdentity) != nid {
		t.Fatalf("registered again as %s (erased %s)", nid, id)
	}
}

// A learner registered before the key store holds its claims on INTAKE
// (SHA-256 subjects): they still refuse duplicates, until the learner is
// erased.
func TestLegacyClaims(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	id := event.NewID()
	env.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Lefèvre", GivenName: "Anaïs", BirthDate: &commonv1.Date{Year: 1990, Month: 4, Day: 12},
		TerritoryCode: "T05", RegisteredOn: nov2,
		Contact: &intakev1.Contact{Email: "anais.lefevre@example.fr", CommuneCode: "27229"},
		Situation: &intakev1.Situation{FranceTravailId: "1234567A", EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4,
			ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE},
	})
	env.Publish(t, "avenir.intake.identity."+sha(anaisIdentity)+".claimed", &intakev1.IdentityClaimed{LearnerId: id})
	env.Publish(t, "avenir.intake.ftid."+sha("1234567A")+".claimed", &intakev1.FranceTravailIdClaimed{LearnerId: id})

	for name, req := range map[string]*intakev1.RegisterLearnerRequest{
		"same identity": func() *intakev1.RegisterLearnerRequest {
			r := validRequest("same-identity")
			r.Situation.FranceTravailId = ""
			return r
		}(),
		"same France Travail id": func() *intakev1.RegisterLearnerRequest {
			r := person("same-ftid", "Martin", "Léa", "T05", "27229")
			r.Situation.FranceTravailId = "1234567A"
			return r
		}(),
	} {
		_, err := admin.RegisterLearner(ctx(t), req)
		if grpcx.Metadata(err)["learner_id"] != id {
			t.Fatalf("%s: %v, want AlreadyExists naming %s", name, err, id)
		}
	}
	// Nothing was left claimed by the refused registrations.
	if h := holderOf(t, env, "identity", anaisIdentity); h != "" {
		t.Fatalf("identity held by %q", h)
	}
	env.CaughtUp(t)
	if _, err := admin.EraseLearner(ctx(t), eraseReq("erase", id)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RegisterLearner(ctx(t), validRequest("after")); err != nil {
		t.Fatalf("after the erasure: %v", err)
	}
}

// A claim left by a registration that failed after claiming (its learner
// was never recorded) is taken over; a claim of a learner in flight is not.
func TestAbandonedClaimsAreTakenOver(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	ghost := event.NewID()
	hash, err := env.Keys.Hash(ctx(t), "identity", anaisIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if holder, err := env.Keys.Claim(ctx(t), "identity", hash, ghost); err != nil || holder != ghost {
		t.Fatalf("claim: %v %v", holder, err)
	}
	start := time.Now()
	resp, err := admin.RegisterLearner(ctx(t), validRequest("real"))
	if err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, env, "identity", anaisIdentity); h != resp.GetLearner().GetLearnerId() {
		t.Fatalf("identity held by %q", h)
	}
	// It was left to the command in flight for the grace period first.
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("taken over after %v, before the grace period", waited)
	}
}

// The learners read model rebuilt from the streams after an erasure, where
// the erased learner's events read with empty personal fields, is the live
// one after the purge.
func TestErasedReadModelIsRebuiltTheSame(t *testing.T) {
	t.Parallel()
	live := projection.NewMemory()
	env, admin := startWith(t, servicetest.Options{Store: live}, service.Config{})
	erased := registered(t, env)
	kept, err := admin.RegisterLearner(ctx(t), person("kept", "Martin", "Léa", "T05", "27229"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{RequestId: "c", LearnerId: erased, CommuneCode: proto.String("27681")}); err != nil {
		t.Fatal(err)
	}
	env.CaughtUp(t)
	if _, err := admin.EraseLearner(ctx(t), eraseReq("erase", erased)); err != nil {
		t.Fatal(err)
	}
	env.CaughtUp(t)
	rebuilt := projection.NewMemory()
	svc := env.Rebuild(t, rebuilt, func(d platform.Deps) (platform.Service, error) { return service.New(d, service.Config{}) }).(*service.Service)
	for _, key := range []string{"learner:" + erased, "learner:" + kept.GetLearner().GetLearnerId()} {
		a, errA := live.Get(ctx(t), "intake-learners-v2", key)
		b, errB := rebuilt.Get(ctx(t), "intake-learners-v2", key)
		var va, vb intakev1.Learner
		if errA != nil || errB != nil || proto.Unmarshal(a, &va) != nil || proto.Unmarshal(b, &vb) != nil || !proto.Equal(&va, &vb) {
			t.Errorf("%s: live %v %v, rebuilt %v %v", key, &va, errA, &vb, errB)
		}
	}
	for index, members := range map[string]int{"name": 1, "name:T05": 1, "registered": 1, "ftid": 0} {
		a, errA := live.Range(ctx(t), "intake-learners-v2", index, projection.RangeQuery{})
		b, errB := rebuilt.Range(ctx(t), "intake-learners-v2", index, projection.RangeQuery{})
		if errA != nil || errB != nil || !slices.Equal(a, b) || len(a) != members ||
			members == 1 && !strings.HasSuffix(a[0], kept.GetLearner().GetLearnerId()) {
			t.Errorf("index %s: live %q %v, rebuilt %q %v", index, a, errA, b, errB)
		}
	}
	l, err := svc.GetLearner(auth.NewContext(ctx(t), servicetest.Admin), &intakev1.GetLearnerRequest{LearnerId: erased})
	if err != nil || !l.GetLearner().GetErased() || l.GetLearner().GetFamilyName() != "" {
		t.Fatalf("rebuilt: %v %v", l, err)
	}
}

// The learners read model of the version before erasure existed keeps the
// personal data of learners erased since: a job deletes it.
func TestEarlierReadModelsAreDeleted(t *testing.T) {
	t.Parallel()
	store := projection.NewMemory()
	gen, err := store.Generation(ctx(t), "intake-learners")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(ctx(t), "intake-learners", gen, 7, projection.Put("learner:x", []byte("Lefèvre"))); err != nil {
		t.Fatal(err)
	}
	startWith(t, servicetest.Options{Store: store}, service.Config{})
	servicetest.Eventually(t, 5*time.Second, func() error {
		if _, err := store.Get(ctx(t), "intake-learners", "learner:x"); err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
}
