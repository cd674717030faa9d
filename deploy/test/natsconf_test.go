package deploytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var natsUsers = append(append([]string{}, serviceNames...), "ops", "sys")

// startCluster starts the three nodes of deploy/nats in-process, from their
// configuration files as written, with only the addresses moved to loopback
// ports and the store to a temporary directory.
func startCluster(t *testing.T) (clientURLs []string) {
	t.Helper()
	for _, u := range natsUsers {
		t.Setenv(strings.ToUpper(u)+"_PASSWORD", "pw-"+u)
	}
	routePorts := make([]int, 3)
	for i := range routePorts {
		routePorts[i] = freePort(t)
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	var servers []*server.Server
	for i := range 3 {
		opts, err := server.ProcessConfigFile(filepath.Join("..", "nats", fmt.Sprintf("nats-%d.conf", i+1)))
		if err != nil {
			t.Fatalf("nats-%d.conf: %v", i+1, err)
		}
		if opts.ServerName != fmt.Sprintf("nats-%d", i+1) {
			t.Errorf("nats-%d.conf: server_name %q", i+1, opts.ServerName)
		}
		if !opts.JetStream || opts.SyncAlways || opts.SyncInterval != time.Second {
			t.Errorf("nats-%d.conf: jetstream %v, sync always %v, sync interval %v; want JetStream syncing every second",
				i+1, opts.JetStream, opts.SyncAlways, opts.SyncInterval)
		}
		if opts.Cluster.Name != "avenir" || len(opts.Routes) != 3 {
			t.Errorf("nats-%d.conf: cluster %q with %d routes", i+1, opts.Cluster.Name, len(opts.Routes))
		}
		opts.Host, opts.Port = "127.0.0.1", -1
		opts.HTTPPort = 0
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", routePorts[i]
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		opts.StoreDir = t.TempDir()
		opts.NoLog, opts.NoSigs = true, true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats-%d: %v", i+1, err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers = append(servers, s)
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s not ready", s.Name())
		}
		clientURLs = append(clientURLs, s.ClientURL())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ready := true
		for _, s := range servers {
			if s.JetStreamIsClustered() && !s.JetStreamIsCurrent() || s.NumRoutes() < 2 {
				ready = false
			}
		}
		if ready && servers[0].JetStreamIsClustered() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the JetStream cluster did not form")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return clientURLs
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// connect connects as user, recording the asynchronous errors (permission
// violations arrive that way).
func connect(t *testing.T, urls []string, user string) (*nats.Conn, chan error) {
	t.Helper()
	errs := make(chan error, 16)
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserInfo(user, "pw-"+user),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// streamConfig is what natsx.StreamSpec.Config makes of a stream in a cluster.
func streamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: name, Subjects: subjects, Storage: jetstream.FileStorage, Replicas: 3,
		Discard: jetstream.DiscardNew, MaxBytes: 1 << 30, Duplicates: 10 * time.Minute,
		DenyDelete: true, DenyPurge: true, AllowDirect: true, AllowAtomicPublish: true,
	}
}

func TestNATSClusterConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	urls := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// intake creates its R3 stream and the dead-letter stream, appends its
	// events and a dead letter.
	intake, intakeErrs := connect(t, urls, "intake")
	ijs, _ := jetstream.New(intake)
	st, err := ijs.CreateOrUpdateStream(ctx, streamConfig("INTAKE", "avenir.intake.>"))
	if err != nil {
		t.Fatalf("intake creates INTAKE: %v", err)
	}
	if info, err := st.Info(ctx); err != nil || info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("INTAKE is not R3 on the cluster: %+v %v", info, err)
	}
	if _, err := ijs.CreateOrUpdateStream(ctx, streamConfig("AVENIR_DLQ", "avenir.dlq.>")); err != nil {
		t.Fatalf("intake creates AVENIR_DLQ: %v", err)
	}
	msg := nats.NewMsg("avenir.intake.learner.01.registered")
	msg.Header.Set("Nats-Msg-Id", "01-registered")
	if _, err := ijs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("intake appends its event: %v", err)
	}
	if _, err := ijs.Publish(ctx, "avenir.dlq.intake-projection", []byte("x")); err != nil {
		t.Fatalf("intake writes a dead letter: %v", err)
	}

	// pathway follows INTAKE with a durable consumer: create, fetch, ack.
	pathway, pathwayErrs := connect(t, urls, "pathway")
	pjs, _ := jetstream.New(pathway)
	if _, err := pjs.CreateOrUpdateStream(ctx, streamConfig("PATHWAY", "avenir.pathway.>")); err != nil {
		t.Fatalf("pathway creates PATHWAY: %v", err)
	}
	cons, err := pjs.CreateOrUpdateConsumer(ctx, "INTAKE", jetstream.ConsumerConfig{
		Durable: "pathway-learners", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 5,
		FilterSubjects: []string{"avenir.intake.learner.*.registered"},
	})
	if err != nil {
		t.Fatalf("pathway creates its consumer on INTAKE: %v", err)
	}
	// A consumer just created on an R3 stream may not have elected its leader
	// yet: a fetch then finds no responders, and the service retries.
	n := 0
	var fetchErr error
	for deadline := time.Now().Add(10 * time.Second); n == 0 && time.Now().Before(deadline); {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			n++
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("pathway acks: %v", err)
			}
		}
		if fetchErr = batch.Error(); fetchErr != nil && !errors.Is(fetchErr, nats.ErrNoResponders) {
			break
		}
	}
	if n != 1 {
		t.Fatalf("pathway fetched %d messages: %v", n, fetchErr)
	}
	if got, _ := pjs.Stream(ctx, "INTAKE"); got == nil {
		t.Fatal("pathway cannot read INTAKE's info")
	}

	// A service publishes only on its own subjects...
	for _, tc := range []struct {
		nc   *nats.Conn
		errs chan error
		subj string
	}{
		{intake, intakeErrs, "avenir.pathway.pathway.01.entered"},
		{pathway, pathwayErrs, "avenir.intake.learner.02.registered"},
		{pathway, pathwayErrs, "avenir.funding.contract.01.created"},
	} {
		if err := tc.nc.Publish(tc.subj, []byte("forged")); err != nil {
			t.Fatal(err)
		}
		tc.nc.Flush()
		if err := permissionError(tc.errs); err == nil {
			t.Errorf("%s published on %s", tc.nc.Opts.User, tc.subj)
		}
	}
	// ... (and the forged events did not reach the streams).
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("INTAKE holds %v messages (%v), want 1", info.State.Msgs, err)
	}

	// ... and cannot delete or purge a stream.
	// (A denied request gets no answer: it times out.)
	for _, js := range []jetstream.JetStream{ijs, pjs} {
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := js.DeleteStream(short, "INTAKE"); err == nil {
			t.Error("a service deleted the INTAKE stream")
		}
		cancel()
	}
	if _, err := ijs.Stream(ctx, "INTAKE"); err != nil {
		t.Errorf("INTAKE after the delete attempts: %v", err)
	}

	// Operators may do anything in the account (backups, repairs); a wrong
	// password is refused.
	ops, _ := connect(t, urls, "ops")
	ojs, _ := jetstream.New(ops)
	if _, err := ojs.Stream(ctx, "INTAKE"); err != nil {
		t.Errorf("ops reads INTAKE: %v", err)
	}
	if _, err := nats.Connect(urls[0], nats.UserInfo("intake", "wrong")); err == nil {
		t.Error("a wrong password was accepted")
	}
}

func permissionError(errs chan error) error {
	select {
	case err := <-errs:
		if errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			return err
		}
		return nil
	case <-time.After(2 * time.Second):
		return nil
	}
}

func TestNATSConfigNeverAsync(t *testing.T) {
	b, err := os.ReadFile("../nats/avenir.conf")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		code, _, _ := strings.Cut(line, "#")
		if strings.Contains(code, "persist_mode") {
			t.Errorf("avenir.conf:%d: %s (never persist_mode: async; the default, sync, is what avenir needs)", i+1, line)
		}
	}
}
