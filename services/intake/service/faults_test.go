package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/service"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// With the read-model store down, a command whose decision needs no read
// model is stored and answered from the state it decided; one whose access
// check needs the assignments read model answers Unavailable and stores
// nothing; and its retry with the same request id, once the store is back,
// answers as a first run would. Nothing answers Internal.
func TestCommandsAnswerFromTheStateTheyDecided(t *testing.T) {
	t.Parallel()
	store := servicetest.NewFaultyStore()
	env, client := startWith(t, servicetest.Options{Store: store}, service.Config{})
	store.SetDown(true)

	reg, err := client.RegisterLearner(ctx(t), validRequest("reg-1"))
	if err != nil {
		t.Fatalf("register with the read models down: %v", err)
	}
	id := reg.GetLearner().GetLearnerId()
	if reg.GetLearner().GetFamilyName() != "Lefèvre" || reg.GetLearner().Rqth == nil {
		t.Fatalf("register answered %v", reg.GetLearner())
	}
	// The retry answers the stored learner, not a second one.
	again, err := client.RegisterLearner(ctx(t), validRequest("reg-1"))
	if err != nil || again.GetLearner().GetLearnerId() != id {
		t.Fatalf("retried registration: %v %v", again, err)
	}

	before := len(env.Events(t, service.Stream, "avenir.intake.learner."+id+".>"))
	update := &intakev1.UpdateContactRequest{RequestId: "upd-1", LearnerId: id, Phone: new(string)}
	*update.Phone = "06 12 34 56 78"
	if _, err := client.UpdateContact(ctx(t), update); status.Code(err) != codes.Unavailable {
		t.Fatalf("update with the assignments read model down: %v, want Unavailable", err)
	}
	if _, err := client.GetLearner(ctx(t), &intakev1.GetLearnerRequest{LearnerId: id}); status.Code(err) != codes.Unavailable {
		t.Fatalf("read with the read models down: %v, want Unavailable", err)
	}
	if n := len(env.Events(t, service.Stream, "avenir.intake.learner."+id+".>")); n != before {
		t.Fatalf("a refused update appended %d events", n-before)
	}

	store.SetDown(false)
	updated, err := client.UpdateContact(ctx(t), update)
	if err != nil || updated.GetLearner().GetContact().GetPhone() != "+33612345678" {
		t.Fatalf("update retried with the store back: %v %v", updated, err)
	}
}
