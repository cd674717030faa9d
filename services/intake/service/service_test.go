package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

func start(t *testing.T) (*servicetest.Env, intakev1.IntakeServiceClient) {
	t.Helper()
	return startWith(t, servicetest.Options{}, service.Config{})
}

func startWith(t *testing.T, opts servicetest.Options, cfg service.Config) (*servicetest.Env, intakev1.IntakeServiceClient) {
	t.Helper()
	env := servicetest.Start(t, opts, func(d platform.Deps) (platform.Service, error) {
		return service.New(d, cfg)
	})
	return env, intakev1.NewIntakeServiceClient(env.Conn)
}

// validRequest registers Anaïs Lefèvre in Évreux (T05, Eure).
func validRequest(requestID string) *intakev1.RegisterLearnerRequest {
	return &intakev1.RegisterLearnerRequest{
		RequestId:     requestID,
		FamilyName:    "Lefèvre",
		GivenName:     "Anaïs",
		BirthDate:     &commonv1.Date{Year: 1990, Month: 4, Day: 12},
		TerritoryCode: "T05",
		Contact:       &intakev1.Contact{Email: "anais.lefevre@example.fr", Phone: "06 12 34 56 78", CommuneCode: "27229"},
		Situation: &intakev1.Situation{
			JobSeeker: true, FranceTravailId: "1234567a",
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4,
			ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
			// Level 4 is above the scheme's public: welcomed with a reason.
			EducationLevelJustification: "  " + anaisJustification + "\n",
		},
	}
}

// anaisJustification is why Anaïs, who has the baccalauréat, is welcomed.
const anaisJustification = "Licenciée après 20 ans de travail,\nbac obtenu en 1995 et jamais utilisé."

// person registers someone else, without a France Travail id.
func person(requestID, family, given string, territory, commune string) *intakev1.RegisterLearnerRequest {
	r := validRequest(requestID)
	r.FamilyName, r.GivenName, r.TerritoryCode, r.Contact.CommuneCode, r.Situation.FranceTravailId = family, given, territory, commune, ""
	return r
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func sha(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// holderOf returns who holds the claim of value for purpose in the key
// store ("identity": domain.IdentityKey, "ftid": normalised France Travail
// id), "" when nobody does.
func holderOf(t *testing.T, env *servicetest.Env, purpose, value string) string {
	t.Helper()
	hash, err := env.Keys.Hash(ctx(t), purpose, value)
	if err != nil {
		t.Fatal(err)
	}
	holder, _, err := env.Keys.Holder(ctx(t), purpose, hash)
	if err != nil {
		t.Fatal(err)
	}
	return holder
}

const anaisIdentity = "lefevre\x00anais\x001990-04-12"

// countEvents counts the stored intake events.
func countEvents(t *testing.T, env *servicetest.Env) int {
	t.Helper()
	return len(env.Events(t, service.Stream, "avenir.intake.>"))
}

func TestRegisterLearnerAppendsTheLearnerAndItsClaimsAndAnswersIt(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	resp, err := client.RegisterLearner(ctx(t), validRequest("req-1"))
	if err != nil {
		t.Fatal(err)
	}
	l := resp.GetLearner()
	id := l.GetLearnerId()
	want := &intakev1.Learner{
		LearnerId: id, FamilyName: "Lefèvre", GivenName: "Anaïs",
		BirthDate: &commonv1.Date{Year: 1990, Month: 4, Day: 12}, TerritoryCode: "T05",
		RegisteredAt: l.GetRegisteredAt(), Rqth: proto.Bool(false),
		Contact: &intakev1.Contact{Email: "anais.lefevre@example.fr", Phone: "+33612345678", CommuneCode: "27229"},
		Situation: &intakev1.Situation{
			JobSeeker: true, FranceTravailId: "1234567A",
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_4,
			ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
			// Trimmed.
			EducationLevelJustification: anaisJustification,
		},
		SituationSince: &commonv1.Date{Year: 2026, Month: 11, Day: 26},
		RegisteredOn:   &commonv1.Date{Year: 2026, Month: 11, Day: 26},
	}
	if id == "" || l.GetRegisteredAt() == nil || !proto.Equal(l, want) {
		t.Fatalf("learner\n got %v\nwant %v", l, want)
	}

	evs := env.Events(t, service.Stream, "avenir.intake.>")
	if len(evs) != 1 {
		t.Fatalf("%d events, want the registration alone (claims are in the key store)", len(evs))
	}
	ev := evs[0]
	reg, ok := ev.Data.(*intakev1.LearnerRegistered)
	if !ok {
		t.Fatalf("event %T", ev.Data)
	}
	if ev.Subject != "avenir.intake.learner."+id+".registered" || ev.Type != "avenir.intake.v1.LearnerRegistered" ||
		ev.Source != "intake" || ev.AggregateID != id || ev.RequestID != "req-1" || ev.Actor != "admin:test-admin" {
		t.Errorf("envelope %+v", ev)
	}
	wantReg := &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Lefèvre", GivenName: "Anaïs",
		BirthDate: &commonv1.Date{Year: 1990, Month: 4, Day: 12}, TerritoryCode: "T05",
		RegisteredOn: &commonv1.Date{Year: 2026, Month: 11, Day: 26},
		Contact:      want.GetContact(), Situation: want.GetSituation(),
	}
	if !proto.Equal(reg, wantReg) {
		t.Errorf("payload %v, want %v", reg, wantReg)
	}
	// The claims: in the key store, named by keyed hashes of the
	// normalised values, held by the learner.
	if h := holderOf(t, env, "identity", anaisIdentity); h != id {
		t.Errorf("identity claim held by %q", h)
	}
	if h := holderOf(t, env, "ftid", "1234567A"); h != id {
		t.Errorf("France Travail claim held by %q", h)
	}

	got, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.GetLearner(), l) {
		t.Errorf("GetLearner %v, want %v", got.GetLearner(), l)
	}
}

func TestSeniorAtEntryIsDerivedOnceAndRecorded(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	r := person("senior", "Durand", "Marc", "T05", "27229")
	r.BirthDate = &commonv1.Date{Year: 1976, Month: 11, Day: 26} // 50 today
	resp, err := client.RegisterLearner(ctx(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetLearner().GetSeniorAtEntry() {
		t.Fatal("a 50-year-old is not a senior at entry")
	}
	if reg := env.Events(t, service.Stream, "avenir.intake.learner.>")[0].Data.(*intakev1.LearnerRegistered); !reg.GetSeniorAtEntry() {
		t.Fatalf("event %v", reg)
	}
	// Still a senior at entry years later, and a 49-year-old is not.
	env.SetNow(env.Now().AddDate(3, 0, 0))
	client = intakev1.NewIntakeServiceClient(env.ConnAs(t, servicetest.Admin))
	again, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: resp.GetLearner().GetLearnerId()})
	if err != nil || !again.GetLearner().GetSeniorAtEntry() {
		t.Fatalf("later: %v %v", again, err)
	}
	young := person("young", "Durand", "Luc", "T05", "27229")
	young.BirthDate = &commonv1.Date{Year: 1979, Month: 11, Day: 27} // 49 on 2029-11-26
	yresp, err := client.RegisterLearner(ctx(t), young)
	if err != nil || yresp.GetLearner().GetSeniorAtEntry() {
		t.Fatalf("49: %v %v", yresp, err)
	}
}

func TestRegisterLearnerIsIdempotentOnRequestID(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	// Concurrent retries of one command, as a client with a flaky network sends them.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			resp, err := client.RegisterLearner(ctx(t), validRequest("same-request"))
			ids[i], errs[i] = resp.GetLearner().GetLearnerId(), err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("retry %d: id %q err %v (first id %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if n := countEvents(t, env); n != 1 {
		t.Fatalf("%d events after retries, want 1", n)
	}
	// A different request for someone else is a different learner.
	other, err := client.RegisterLearner(ctx(t), person("other-request", "Martin", "Léa", "T05", "27229"))
	if err != nil {
		t.Fatal(err)
	}
	if other.GetLearner().GetLearnerId() == ids[0] {
		t.Fatal("two people gave one learner")
	}
}

// Twenty referents' desks register the same person at the same moment, each
// with its own request: one learner, the others told which one it is. The
// person is recognised by the France Travail id, and without one by the
// names and birth date, however they are spelt.
func TestConcurrentRegistrationsOfOnePersonMakeOneLearner(t *testing.T) {
	t.Parallel()
	spellings := []struct{ family, given string }{{"Lefèvre", "Anaïs"}, {"LEFEVRE", "anais"}, {" le-fèvre", "ANAÏS "}, {"Lefevre", "Anais"}}
	for name, withID := range map[string]bool{"with a France Travail id": true, "by identity": false} {
		t.Run(name, func(t *testing.T) {
			env, client := start(t)
			const n = 20
			ids := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r := validRequest(fmt.Sprintf("desk-%d", i))
					r.FamilyName, r.GivenName = spellings[i%len(spellings)].family, spellings[i%len(spellings)].given
					if !withID {
						r.Situation.FranceTravailId = ""
					}
					resp, err := client.RegisterLearner(ctx(t), r)
					ids[i], errs[i] = resp.GetLearner().GetLearnerId(), err
				})
			}
			wg.Wait()
			var winner string
			for i := range n {
				if errs[i] == nil {
					if winner != "" {
						t.Fatalf("two learners registered: %s and %s", winner, ids[i])
					}
					winner = ids[i]
				}
			}
			if winner == "" {
				t.Fatalf("nobody registered: %v", errs)
			}
			for i, err := range errs {
				if err == nil {
					continue
				}
				if status.Code(err) != codes.AlreadyExists || grpcx.Metadata(err)["learner_id"] != winner {
					t.Errorf("desk %d: %v %v, want AlreadyExists naming %s", i, err, grpcx.Metadata(err), winner)
				}
			}
			registered := env.Events(t, service.Stream, "avenir.intake.learner.>")
			if len(registered) != 1 || registered[0].AggregateID != winner {
				t.Fatalf("learner events %v, want one registration of %s", registered, winner)
			}
			if n := countEvents(t, env); n != 1 {
				t.Fatalf("%d events, want the registration alone", n)
			}
			if h := holderOf(t, env, "identity", anaisIdentity); h != winner {
				t.Errorf("identity claim held by %q, want %s", h, winner)
			}
			if h := holderOf(t, env, "ftid", "1234567A"); withID && h != winner || !withID && h != "" {
				t.Errorf("France Travail claim held by %q", h)
			}
		})
	}
}

func TestDuplicatesAreRefusedNamingTheExistingLearner(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	first, err := client.RegisterLearner(ctx(t), validRequest("first"))
	if err != nil {
		t.Fatal(err)
	}
	id := first.GetLearner().GetLearnerId()
	before := countEvents(t, env)
	cases := map[string]struct {
		req   *intakev1.RegisterLearnerRequest
		match string
	}{
		"same names and birth date, spelt differently": {
			req: func() *intakev1.RegisterLearnerRequest {
				r := validRequest("respelt")
				r.FamilyName, r.GivenName, r.Situation.FranceTravailId = " LEFEVRE ", "anais", "7654321B"
				return r
			}(),
			match: "identity",
		},
		"same France Travail id, other person": {
			req: func() *intakev1.RegisterLearnerRequest {
				r := person("same-ftid", "Martin", "Léa", "T05", "27229")
				r.Situation.FranceTravailId = "1234567A"
				return r
			}(),
			match: "france_travail_id",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.RegisterLearner(ctx(t), tc.req)
			if status.Code(err) != codes.AlreadyExists {
				t.Fatalf("want AlreadyExists, got %v", err)
			}
			meta := grpcx.Metadata(err)
			if meta["learner_id"] != id || meta["match"] != tc.match || !strings.Contains(err.Error(), id) {
				t.Fatalf("error %v meta %v, want learner %s matched on %s", err, meta, id, tc.match)
			}
		})
	}
	// Also across territories and callers: a referent elsewhere is told.
	r := validRequest("elsewhere")
	r.TerritoryCode, r.Contact.CommuneCode = "T01", "14118"
	_, err = intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT01)).RegisterLearner(ctx(t), r)
	if status.Code(err) != codes.AlreadyExists || grpcx.Metadata(err)["learner_id"] != id {
		t.Fatalf("from T01: %v", err)
	}
	if n := countEvents(t, env); n != before {
		t.Fatalf("refused duplicates appended %d events", n-before)
	}
}

func TestBadInputIsInvalidArgumentWithFieldsAndWritesNothing(t *testing.T) {
	t.Parallel()
	env, client := start(t)
	mod := func(id string, f func(*intakev1.RegisterLearnerRequest)) *intakev1.RegisterLearnerRequest {
		r := validRequest(id)
		f(r)
		return r
	}
	cases := map[string]struct {
		req    *intakev1.RegisterLearnerRequest
		fields []string
	}{
		"empty names": {
			req:    mod("r1", func(r *intakev1.RegisterLearnerRequest) { r.FamilyName, r.GivenName = "", "  " }),
			fields: []string{"family_name", "given_name"},
		},
		"birth date in the future": {
			req:    mod("r2", func(r *intakev1.RegisterLearnerRequest) { r.BirthDate = &commonv1.Date{Year: 2027, Month: 1, Day: 1} }),
			fields: []string{"birth_date"},
		},
		"younger than sixteen": {
			req:    mod("r2b", func(r *intakev1.RegisterLearnerRequest) { r.BirthDate = &commonv1.Date{Year: 2010, Month: 11, Day: 27} }),
			fields: []string{"birth_date"},
		},
		"no birth date": {
			req:    mod("r3", func(r *intakev1.RegisterLearnerRequest) { r.BirthDate = nil }),
			fields: []string{"birth_date"},
		},
		"unknown territory": {
			req:    mod("r4", func(r *intakev1.RegisterLearnerRequest) { r.TerritoryCode = "T42" }),
			fields: []string{"territory_code"},
		},
		"missing request id": {
			req:    validRequest(""),
			fields: []string{"request_id"},
		},
		"no contact at all": {
			req:    mod("r5", func(r *intakev1.RegisterLearnerRequest) { r.Contact = nil }),
			fields: []string{"contact.commune_code", "contact"},
		},
		"bad e-mail and phone": {
			req: mod("r6", func(r *intakev1.RegisterLearnerRequest) {
				r.Contact.Email, r.Contact.Phone = "anais@example", "+32 2 123 45 67"
			}),
			fields: []string{"contact.email", "contact.phone"},
		},
		"commune outside the territory's département": {
			req:    mod("r7", func(r *intakev1.RegisterLearnerRequest) { r.Contact.CommuneCode = "76540" }),
			fields: []string{"contact.commune_code"},
		},
		"malformed commune": {
			req:    mod("r8", func(r *intakev1.RegisterLearnerRequest) { r.Contact.CommuneCode = "Evreux" }),
			fields: []string{"contact.commune_code"},
		},
		"situation": {
			req: mod("r9", func(r *intakev1.RegisterLearnerRequest) {
				r.Situation.FranceTravailId = "ABC"
				r.Situation.EducationLevel = intakev1.EducationLevel(2)
				r.Situation.ReferralSource = intakev1.ReferralSource_REFERRAL_SOURCE_UNSPECIFIED
			}),
			fields: []string{"situation.france_travail_id", "situation.education_level", "situation.referral_source"},
		},
		"no situation": {
			req:    mod("r10", func(r *intakev1.RegisterLearnerRequest) { r.Situation = nil }),
			fields: []string{"situation.education_level", "situation.referral_source"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.RegisterLearner(ctx(t), tc.req)
			servicetest.Refused(t, err, codes.InvalidArgument, tc.fields...)
		})
	}
	if n := countEvents(t, env); n != 0 {
		t.Fatalf("bad input appended %d events", n)
	}
}

func TestGetLearnerErrors(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	_, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: "not-a-uuid"})
	servicetest.Refused(t, err, codes.InvalidArgument, "learner_id")
	_, err = client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	servicetest.Refused(t, err, codes.NotFound)
}

var (
	referentT05 = auth.Principal{Subject: "u-ref5", Role: auth.RoleReferent, ReferentID: "ref-5", Territories: []string{"T05", "T06"}}
	referentT01 = auth.Principal{Subject: "u-ref1", Role: auth.RoleReferent, ReferentID: "ref-1", Territories: []string{"T01"}}
	operatorT05 = auth.Principal{Subject: "u-op5", Role: auth.RoleOperator, OperatorID: "op-5", Territories: []string{"T05"}}
	operatorT01 = auth.Principal{Subject: "u-op1", Role: auth.RoleOperator, OperatorID: "op-1", Territories: []string{"T01"}}
	// operatorEnrolled has the learner of TestAccess enrolled with it; its
	// token's territory is not the learner's.
	operatorEnrolled = auth.Principal{Subject: "u-op-e", Role: auth.RoleOperator, OperatorID: "op-e", Territories: []string{"T01"}}
	funder           = auth.Principal{Subject: "u-fund", Role: auth.RoleFunder}
)

// Every role against every RPC: allowed, denied by role, or hidden because
// the learner is outside the caller's scope; and whether the
// special-category field is present.
func TestAccess(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	reg := validRequest("access-setup")
	reg.Rqth = true
	created, err := admin.RegisterLearner(ctx(t), reg) // a learner in T05
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetLearner().GetLearnerId()
	enrol(t, env, id, operatorEnrolled.OperatorID, 1, "T05")
	type want struct {
		code codes.Code
		rqth bool // the special-category field is present
	}
	type rpc func(intakev1.IntakeServiceClient, string) (*intakev1.Learner, error)
	rpcs := []struct {
		name string
		call rpc
	}{
		{"RegisterLearner", func(c intakev1.IntakeServiceClient, caller string) (*intakev1.Learner, error) {
			r := person("register-as-"+caller, "Access", caller, "T05", "27229")
			r.Rqth = true
			resp, err := c.RegisterLearner(ctx(t), r)
			return resp.GetLearner(), err
		}},
		{"GetLearner", func(c intakev1.IntakeServiceClient, _ string) (*intakev1.Learner, error) {
			resp, err := c.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
			return resp.GetLearner(), err
		}},
		{"UpdateContact", func(c intakev1.IntakeServiceClient, caller string) (*intakev1.Learner, error) {
			resp, err := c.UpdateContact(ctx(t), &intakev1.UpdateContactRequest{
				RequestId: "contact-as-" + caller, LearnerId: id, Email: proto.String(caller + "@example.fr"),
			})
			return resp.GetLearner(), err
		}},
		{"UpdateSituation", func(c intakev1.IntakeServiceClient, caller string) (*intakev1.Learner, error) {
			resp, err := c.UpdateSituation(ctx(t), &intakev1.UpdateSituationRequest{
				RequestId: "situation-as-" + caller, LearnerId: id,
				EffectiveDate: &commonv1.Date{Year: 2026, Month: 11, Day: 26}, RsaRecipient: proto.Bool(true),
			})
			return resp.GetLearner(), err
		}},
		{"SearchLearners", func(c intakev1.IntakeServiceClient, _ string) (*intakev1.Learner, error) {
			resp, err := c.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "lefevre"})
			if err != nil || len(resp.GetLearners()) == 0 {
				return nil, err
			}
			return resp.GetLearners()[0], nil
		}},
		{"GetLearnerHistory", func(c intakev1.IntakeServiceClient, _ string) (*intakev1.Learner, error) {
			resp, err := c.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id})
			if err != nil {
				return nil, err
			}
			return resp.GetChanges()[0].GetLearner(), nil
		}},
		{"BatchGetLearners", func(c intakev1.IntakeServiceClient, _ string) (*intakev1.Learner, error) {
			resp, err := c.BatchGetLearners(ctx(t), &intakev1.BatchGetLearnersRequest{LearnerIds: []string{id}})
			if err != nil || len(resp.GetLearners()) == 0 {
				return nil, err
			}
			return resp.GetLearners()[0], nil
		}},
	}
	// The search reads a read model: wait until it knows the learner.
	servicetest.Eventually(t, 5*time.Second, func() error {
		resp, err := admin.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "lefevre"})
		if err != nil || len(resp.GetLearners()) != 1 {
			return fmt.Errorf("%v %v", resp, err)
		}
		return nil
	})
	ok, okRQTH := want{codes.OK, false}, want{codes.OK, true}
	denied, hidden := want{code: codes.PermissionDenied}, want{code: codes.NotFound}
	anonymous := want{code: codes.Unauthenticated}
	// Searches out of scope find nobody rather than failing, and a batch
	// lists the learner as unreadable: NotFound here stands for an empty
	// result.
	tests := []struct {
		name  string
		as    *auth.Principal // nil: no token
		wants []want          // in the order of rpcs
	}{
		{"admin", &servicetest.Admin, []want{okRQTH, okRQTH, okRQTH, okRQTH, okRQTH, okRQTH, okRQTH}},
		{"referent of the territory", &referentT05, []want{okRQTH, okRQTH, okRQTH, okRQTH, okRQTH, okRQTH, okRQTH}},
		{"referent of another territory", &referentT01, []want{denied, hidden, hidden, hidden, hidden, hidden, hidden}},
		// Operators read the learners enrolled with them, not those of the
		// territories in their token.
		{"operator enrolled with the learner", &operatorEnrolled, []want{denied, ok, denied, denied, ok, ok, ok}},
		{"operator with a token of the territory", &operatorT05, []want{denied, hidden, denied, denied, hidden, hidden, hidden}},
		{"operator of another territory", &operatorT01, []want{denied, hidden, denied, denied, hidden, hidden, hidden}},
		{"funder", &funder, []want{denied, ok, denied, denied, ok, ok, ok}},
		{"anonymous", nil, []want{anonymous, anonymous, anonymous, anonymous, anonymous, anonymous, anonymous}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := env.ConnAnonymous(t)
			caller := "anonymous"
			if tc.as != nil {
				conn = env.ConnAs(t, *tc.as)
				caller = string(tc.as.Role) + "-" + tc.as.Subject
			}
			client := intakev1.NewIntakeServiceClient(conn)
			for i, r := range rpcs {
				l, err := r.call(client, caller)
				w := tc.wants[i]
				code := status.Code(err)
				if code == codes.OK && l == nil {
					code = codes.NotFound // an empty search
				}
				if code != w.code {
					t.Fatalf("%s: %v, want %v", r.name, err, w.code)
				}
				if err == nil && l != nil && (l.Rqth != nil) != w.rqth {
					t.Errorf("%s: rqth present=%v, want %v", r.name, l.Rqth != nil, w.rqth)
				}
			}
		})
	}
	// Refused calls appended nothing: the setup's registration, then the
	// admin's and the referent's registrations and contact changes, and
	// one situation change (the referent's repeats the admin's).
	for filter, want := range map[string]int{
		"avenir.intake.learner.*.registered":        3,
		"avenir.intake.learner.*.contact_updated":   2,
		"avenir.intake.learner.*.situation_updated": 1,
	} {
		if n := len(env.Events(t, service.Stream, filter)); n != want {
			t.Errorf("%s: %d events, want %d", filter, n, want)
		}
	}
}

// The special-category field is absent, not false, for an operator; the
// learner's referent sees its value. The event records who registered.
func TestRQTHIsVisibleOnlyToTheLearnersReferent(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	reg := validRequest("rqth")
	reg.Rqth = true
	created, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).RegisterLearner(ctx(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetLearner().GetLearnerId()
	enrol(t, env, id, operatorT05.OperatorID, 1, "T05")
	asOperator, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, operatorT05)).GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if asOperator.GetLearner().Rqth != nil {
		t.Fatalf("operator sees rqth=%v", *asOperator.GetLearner().Rqth)
	}
	if asOperator.GetLearner().ProtoReflect().Has(asOperator.GetLearner().ProtoReflect().Descriptor().Fields().ByName("rqth")) {
		t.Fatal("rqth present on the wire for an operator")
	}
	asReferent, err := intakev1.NewIntakeServiceClient(env.ConnAs(t, referentT05)).GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if asReferent.GetLearner().Rqth == nil || !asReferent.GetLearner().GetRqth() {
		t.Fatalf("referent sees rqth %v, want true", asReferent.GetLearner().Rqth)
	}
	evs := env.Events(t, service.Stream, "avenir.intake.learner."+id+".>")
	if len(evs) != 1 || evs[0].Actor != "referent:ref-5" || !evs[0].Data.(*intakev1.LearnerRegistered).GetRqth() {
		t.Fatalf("registration: %+v", evs)
	}
	// Nor do the search and the history show it to an operator or a funder.
	for _, p := range []auth.Principal{operatorT05, funder} {
		client := intakev1.NewIntakeServiceClient(env.ConnAs(t, p))
		servicetest.Eventually(t, 5*time.Second, func() error {
			resp, err := client.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{TerritoryCode: "T05"})
			if err != nil || len(resp.GetLearners()) != 1 {
				return fmt.Errorf("%v %v", resp, err)
			}
			if resp.GetLearners()[0].Rqth != nil {
				t.Fatalf("%s finds rqth in a search", p.Role)
			}
			return nil
		})
		h, err := client.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id})
		if err != nil || h.GetChanges()[0].GetLearner().Rqth != nil {
			t.Fatalf("%s history: %v %v", p.Role, h, err)
		}
	}
}

func TestTokensAreChecked(t *testing.T) {
	t.Parallel()
	env, _ := start(t)
	expired := env.Token(t, referentT05)
	env.SetNow(env.Now().Add(2 * time.Hour))
	client := intakev1.NewIntakeServiceClient(env.ConnAnonymous(t))
	_, err := client.GetLearner(metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+expired),
		&intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), expired) {
		t.Fatalf("expired token: %v", err)
	}
	_, err = client.GetLearner(metadata.AppendToOutgoingContext(ctx(t), "authorization", "Basic dXNlcjpwYXNz"),
		&intakev1.GetLearnerRequest{LearnerId: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("basic auth: %v", err)
	}
}

// The territories come from a file when configured: a region with other
// territories accepts registrations there only, checking communes against
// their départements.
func TestTerritoriesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "territories.json")
	if err := os.WriteFile(path, []byte(`{"version":"test-1","territories":[
		{"code":"T01","name":"Caen","department":"14"},
		{"code":"T19","name":"Le Havre","department":"76"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env, client := startWith(t, servicetest.Options{}, service.Config{TerritoriesFile: path})
	r := person("havre", "Martin", "Léa", "T19", "76351")
	if _, err := client.RegisterLearner(ctx(t), r); err != nil {
		t.Fatalf("in T19: %v", err)
	}
	_, err := client.RegisterLearner(ctx(t), person("evreux", "Martin", "Théo", "T05", "27229"))
	servicetest.Refused(t, err, codes.InvalidArgument, "territory_code")
	_, err = client.RegisterLearner(ctx(t), person("caen", "Martin", "Jules", "T19", "14118"))
	servicetest.Refused(t, err, codes.InvalidArgument, "contact.commune_code")
	if n := countEvents(t, env); n != 1 {
		t.Fatalf("%d events, want the T19 registration", n)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":"x","territories":[{"code":"X","name":"","department":"75"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	deps := env.Deps
	for name, cfg := range map[string]service.Config{
		"missing file":   {TerritoriesFile: filepath.Join(t.TempDir(), "none.json")},
		"invalid file":   {TerritoriesFile: bad},
		"set and a file": {TerritoriesFile: path, Territories: domain.DefaultTerritories()},
	} {
		if _, err := service.New(deps, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
