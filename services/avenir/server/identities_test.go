package server_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

var update = flag.Bool("update", false, "rewrite deploy/nats/avenir.conf from the permission table")

const deployConf = "../../../deploy/nats/avenir.conf"

// deploy/nats/avenir.conf holds the permission table's users: the section
// between its GENERATED markers is natsx.RenderAccounts of Identities.
// go generate ./services/avenir/server rewrites it.
func TestDeployNATSConf(t *testing.T) {
	ids, err := server.Identities()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(deployConf)
	if err != nil {
		t.Fatal(err)
	}
	want, err := natsx.ReplaceGenerated(string(b), natsx.RenderAccounts(ids))
	if err != nil {
		t.Fatalf("%s: %v", deployConf, err)
	}
	if *update {
		if err := os.WriteFile(deployConf, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(b) != want {
		got, wantLines := strings.Split(string(b), "\n"), strings.Split(want, "\n")
		i := 0
		for i < len(got) && i < len(wantLines) && got[i] == wantLines[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Fatalf("deploy/nats/avenir.conf is not the permission table's (run go generate ./services/avenir/server): line %d is\n  %s\nwant\n  %s",
			i+1, line(got), line(wantLines))
	}
}

// The names the permission table hard-codes are those of the packages
// that declare them, and every stream a service reads is in the catalog
// the admin identity ensures.
func TestIdentitiesAgreeWithTheDeclarations(t *testing.T) {
	if natsx.KeysStream != privacy.Stream || !slices.Equal(privacy.StreamSpec().Subjects, []string{"avenir.keys.>"}) {
		t.Errorf("key store %s %v, the table has %s avenir.keys.>", privacy.Stream, privacy.StreamSpec().Subjects, natsx.KeysStream)
	}
	if natsx.DLQSubjects != consumer.DLQSubjectPrefix+">" {
		t.Errorf("dead letters on %s>, the table has %s", consumer.DLQSubjectPrefix, natsx.DLQSubjects)
	}
	wirings, err := server.Wirings()
	if err != nil {
		t.Fatal(err)
	}
	var catalog []string
	for _, s := range server.Catalog() {
		catalog = append(catalog, s.Name)
	}
	var names []string
	for _, w := range wirings {
		names = append(names, w.Name)
		if len(w.Consumers) == 0 {
			t.Errorf("%s declares no consumer", w.Name)
		}
		for _, c := range w.Consumers {
			if !slices.Contains(catalog, c.Stream) {
				t.Errorf("%s reads %s, which is not in the catalog %v", w.Name, c.Stream, catalog)
			}
		}
	}
	if !slices.Equal(names, server.ServiceNames()) || !slices.Contains(names, natsx.KeysEraser) {
		t.Errorf("wirings of %v, services %v", names, server.ServiceNames())
	}
}

// `server --dev` refuses NATS clients without credentials, and serves
// with the identities it generated in its data dir: each service under
// its own (intake registers a learner; pathway may not write intake's
// events), ops for people.
func TestDevServerRequiresNATSCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every service")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := servertest.Dev(dataDir)
	var banner strings.Builder
	cfg.Out = &banner
	addrs, stop := servertest.Run(t, cfg)

	if nc, err := nats.Connect(addrs.NATS); err == nil {
		nc.Close()
		t.Fatal("the dev server's NATS accepted a client without credentials")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("refused with %v, want an authorization violation", err)
	}
	ids := filepath.Join(dataDir, natsx.IdentitiesDir)
	if fi, err := os.Stat(ids); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v", ids, fi, err)
	}
	for _, name := range append(server.ServiceNames(), natsx.IdentityAdmin, natsx.IdentityOps) {
		if fi, err := os.Stat(natsx.NKeyFile(ids, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("seed of %s: %v %v", name, fi, err)
		}
	}
	opsSeed := natsx.NKeyFile(ids, natsx.IdentityOps)
	if want := "nats --server " + addrs.NATS + " --nkey " + opsSeed; !strings.Contains(banner.String(), want) {
		t.Errorf("the banner does not say %q:\n%s", want, banner.String())
	}

	// A learner registered through gRPC is in INTAKE.
	conn, err := grpc.NewClient(addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.BearerToken(servertest.Token(t, dataDir, auth.Principal{Subject: "t", Role: auth.RoleAdmin}, time.Now()))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := intakev1.NewIntakeServiceClient(conn).RegisterLearner(ctx, &intakev1.RegisterLearnerRequest{
		RequestId: "dev-nats-1", FamilyName: "Lefèvre", GivenName: "Inès",
		BirthDate: &commonv1.Date{Year: 2003, Month: 4, Day: 11}, TerritoryCode: "T13",
		Contact: &intakev1.Contact{Phone: "06 11 22 33 44", CommuneCode: "61001"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		},
	})
	if err != nil {
		t.Fatalf("register a learner: %v", err)
	}
	ops := connectAs(t, addrs.NATS, opsSeed)
	ojs, _ := jetstream.New(ops)
	st, err := ojs.Stream(ctx, "INTAKE")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetLastMsgForSubject(ctx, "avenir.intake.learner."+reg.GetLearner().GetLearnerId()+".>"); err != nil {
		t.Fatalf("the registration is not in INTAKE: %v", err)
	}
	before := st.CachedInfo().State.Msgs

	// pathway's identity may not forge an intake event.
	violations := make(chan error, 4)
	pathway := connectAs(t, addrs.NATS, natsx.NKeyFile(ids, "pathway"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		violations <- err
	}))
	if err := pathway.Publish("avenir.intake.learner.forged.registered", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("pathway's forgery: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pathway published on intake's subjects")
	}
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != before {
		t.Fatalf("INTAKE holds %d messages, had %d (%v)", info.State.Msgs, before, err)
	}

	// A restart reuses the identities.
	seed, err := os.ReadFile(opsSeed)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	cfg.Out = io.Discard
	addrs, _ = servertest.Run(t, cfg)
	if again, err := os.ReadFile(opsSeed); err != nil || string(again) != string(seed) {
		t.Fatalf("the ops seed changed at restart (%v)", err)
	}
	connectAs(t, addrs.NATS, opsSeed)
}

func connectAs(t *testing.T, url, seed string, extra ...nats.Option) *nats.Conn {
	t.Helper()
	nk, err := natsx.NKeyOption(seed)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, append([]nats.Option{nk}, extra...)...)
	if err != nil {
		t.Fatalf("connect with %s: %v", seed, err)
	}
	t.Cleanup(nc.Close)
	return nc
}
