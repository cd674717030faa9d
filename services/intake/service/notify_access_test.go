package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The notification service, under its own identity, reads where to write
// to a learner and nothing else: no name, birth date, phone, situation nor
// RQTH, and no other RPC; another service's identity reads nothing.
func TestNotifyServiceReadsOnlyALearnersEmail(t *testing.T) {
	t.Parallel()
	env, admin := start(t)
	reg, err := admin.RegisterLearner(ctx(t), validRequest("notify-1"))
	if err != nil {
		t.Fatal(err)
	}
	id := reg.GetLearner().GetLearnerId()
	notify := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "notify", Role: auth.RoleService}))
	got, err := notify.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		t.Fatal(err)
	}
	want := &intakev1.Learner{LearnerId: id, Contact: &intakev1.Contact{Email: "anais.lefevre@example.fr"}}
	if !proto.Equal(got.GetLearner(), want) {
		t.Fatalf("notify reads %v, want %v", got.GetLearner(), want)
	}
	_, err = notify.SearchLearners(ctx(t), &intakev1.SearchLearnersRequest{TerritoryCode: "T05"})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = notify.GetLearnerHistory(ctx(t), &intakev1.GetLearnerHistoryRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.PermissionDenied)
	other := intakev1.NewIntakeServiceClient(env.ConnAs(t, auth.Principal{Subject: "pathway", Role: auth.RoleService}))
	_, err = other.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id})
	servicetest.Refused(t, err, codes.NotFound)
}
