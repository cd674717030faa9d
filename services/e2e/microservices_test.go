package e2e

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
)

// One process per service against a shared NATS and Redis: each serves only
// its own API, and the journey crosses them through the streams.
func TestMicroservicesMode(t *testing.T) {
	redisURL := redistest.URL(t)
	nats := natstest.Start(t)
	dataDir := t.TempDir() // only the dev signing key: streams are on the NATS server
	base := servertest.Dev(dataDir)
	base.NATSURL, base.RedisURL, base.RedisPrefix = nats.ClientURL(), redisURL, redistest.Prefix(t)
	// pathway first: it waits for intake and needs to create the INTAKE and
	// NEEDS streams; needs waits for PATHWAY, which pathway creates before
	// it waits.
	pathwayCfg := base
	pathwayCfg.Services = []string{"pathway"}
	pathwayAddrs := make(chan server.Addrs, 1)
	go func() {
		a, _ := servertest.Run(t, pathwayCfg)
		pathwayAddrs <- a
	}()
	time.Sleep(200 * time.Millisecond)
	needsCfg := base
	needsCfg.Services = []string{"needs"}
	needs, _ := servertest.Run(t, needsCfg)
	intakeCfg := base
	intakeCfg.Services = []string{"intake"}
	intake, _ := servertest.Run(t, intakeCfg)
	var pathway server.Addrs
	select {
	case pathway = <-pathwayAddrs:
	case <-time.After(60 * time.Second):
		t.Fatal("pathway did not start once INTAKE and NEEDS existed")
	}

	intakeConn, pathwayConn := dialAs(t, intake.GRPC, dataDir, referent), dialAs(t, pathway.GRPC, dataDir, referent)
	needsConn := dialAs(t, needs.GRPC, dataDir, referent)
	learner, entered := crossJourney(t, intakeConn, pathwayConn, needsConn, "micro-journey")
	if learner.GetLearnerId() == "" || entered.GetVersion() == 0 {
		t.Fatalf("journey: %v %v", learner, entered)
	}
	// Each process serves its own API only.
	_, err := intakev1.NewIntakeServiceClient(pathwayConn).GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: learner.GetLearnerId()})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("intake API on the pathway process: %v", err)
	}
}
