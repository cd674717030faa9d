package deploytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsUsers are the users of deploy/nats/avenir.conf: one per service,
// admin (stream administration), ops (people) and sys.
var natsUsers = append(append([]string{}, serviceNames...), "admin", "ops", "sys")

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
func connect(t *testing.T, urls []string, user string) (*nats.Conn, *violations) {
	t.Helper()
	v := &violations{}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserInfo(user, "pw-"+user),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.errs = append(v.errs, err)
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, v
}

// violations are the asynchronous errors of a connection.
type violations struct {
	mu   sync.Mutex
	errs []error
}

// denied reports whether a permission violation on subject arrives.
func (v *violations) denied(subject string) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		v.mu.Lock()
		found := slices.ContainsFunc(v.errs, func(err error) bool {
			return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`)
		})
		v.mu.Unlock()
		if found {
			return true
		}
	}
	return false
}

// streamConfig is what natsx.StreamSpec.Config makes of a stream in a cluster.
func streamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: name, Subjects: subjects, Storage: jetstream.FileStorage, Replicas: 3,
		Discard: jetstream.DiscardNew, MaxBytes: 1 << 30, Duplicates: 10 * time.Minute,
		DenyDelete: true, DenyPurge: true, AllowDirect: true, AllowAtomicPublish: true,
	}
}

// consumerOf finds in avenir.conf a durable consumer user may run on
// stream (the file is generated from the services' declarations).
func consumerOf(t *testing.T, user, stream string) string {
	t.Helper()
	opts, err := server.ProcessConfigFile(filepath.Join("..", "nats", "nats-1.conf"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "$JS.API.CONSUMER.MSG.NEXT." + stream + "."
	for _, u := range opts.Users {
		if u.Username != user || u.Permissions == nil {
			continue
		}
		for _, s := range u.Permissions.Publish.Allow {
			if name, ok := strings.CutPrefix(s, prefix); ok && !strings.ContainsAny(name, "*>") {
				return name
			}
		}
	}
	t.Fatalf("avenir.conf: %s runs no consumer on %s", user, stream)
	return ""
}

func TestNATSClusterConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	urls := startCluster(t)
	pathwayConsumer := consumerOf(t, "pathway", "INTAKE")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}

	// The services create no stream, and change none: admin does.
	intake, iv := connect(t, urls, "intake")
	ijs, _ := jetstream.New(intake)
	if _, err := ijs.CreateStream(short(), streamConfig("INTAKE", "avenir.intake.>")); err == nil || !iv.denied("$JS.API.STREAM.CREATE.INTAKE") {
		t.Fatalf("intake created its stream: %v", err)
	}
	admin, av := connect(t, urls, "admin")
	ajs, _ := jetstream.New(admin)
	keys := streamConfig("AVENIR_KEYS", "avenir.keys.>")
	keys.DenyDelete = false
	for _, cfg := range []jetstream.StreamConfig{
		streamConfig("INTAKE", "avenir.intake.>"), streamConfig("PATHWAY", "avenir.pathway.>"),
		streamConfig("AVENIR_DLQ", "avenir.dlq.>"), keys,
	} {
		if _, err := ajs.CreateOrUpdateStream(ctx, cfg); err != nil {
			t.Fatalf("admin creates %s: %v", cfg.Name, err)
		}
	}
	st, err := ijs.Stream(ctx, "INTAKE")
	if err != nil {
		t.Fatalf("intake reads INTAKE's info: %v", err)
	}
	if info := st.CachedInfo(); info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("INTAKE is not R3 on the cluster: %+v", info)
	}
	edited := streamConfig("INTAKE", "avenir.intake.>")
	edited.Description = "edited by intake"
	if _, err := ijs.UpdateStream(short(), edited); err == nil || !iv.denied("$JS.API.STREAM.UPDATE.INTAKE") {
		t.Errorf("intake updated INTAKE: %v", err)
	}

	// intake appends its events and a dead letter.
	msg := nats.NewMsg("avenir.intake.learner.01.registered")
	msg.Header.Set("Nats-Msg-Id", "01-registered")
	if _, err := ijs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("intake appends its event: %v", err)
	}
	if _, err := ijs.Publish(ctx, "avenir.dlq.intake-learners", []byte("x")); err != nil {
		t.Fatalf("intake writes a dead letter: %v", err)
	}
	// admin publishes no event.
	if err := admin.Publish("avenir.intake.learner.03.registered", nil); err != nil || !av.denied("avenir.intake.learner.03.registered") {
		t.Errorf("admin published an event: %v", err)
	}

	// pathway follows INTAKE with its durable consumer: create, fetch, ack.
	pathway, pv := connect(t, urls, "pathway")
	pjs, _ := jetstream.New(pathway)
	cons, err := pjs.CreateOrUpdateConsumer(ctx, "INTAKE", jetstream.ConsumerConfig{
		Durable: pathwayConsumer, AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 5,
		FilterSubjects: []string{"avenir.intake.learner.*.registered"},
	})
	if err != nil {
		t.Fatalf("pathway creates its consumer %s on INTAKE: %v", pathwayConsumer, err)
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
	// ... and no consumer it does not declare, nor another service's.
	if _, err := pjs.CreateOrUpdateConsumer(short(), "INTAKE", jetstream.ConsumerConfig{Durable: "pathway-anything", AckPolicy: jetstream.AckExplicitPolicy}); err == nil ||
		!pv.denied("$JS.API.CONSUMER.CREATE.INTAKE.pathway-anything") {
		t.Errorf("pathway created a consumer it does not declare: %v", err)
	}
	if err := ijs.DeleteConsumer(short(), "INTAKE", pathwayConsumer); err == nil || !iv.denied("$JS.API.CONSUMER.DELETE.INTAKE."+pathwayConsumer) {
		t.Errorf("intake deleted pathway's consumer: %v", err)
	}

	// A service publishes only on its own subjects...
	for _, tc := range []struct {
		nc   *nats.Conn
		v    *violations
		subj string
	}{
		{intake, iv, "avenir.pathway.pathway.01.entered"},
		{pathway, pv, "avenir.intake.learner.02.registered"},
		{pathway, pv, "avenir.funding.contract.01.created"},
	} {
		if err := tc.nc.Publish(tc.subj, []byte("forged")); err != nil {
			t.Fatal(err)
		}
		if !tc.v.denied(tc.subj) {
			t.Errorf("%s published on %s", tc.nc.Opts.User, tc.subj)
		}
	}
	// ... (and the forged events did not reach the streams).
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("INTAKE holds %v messages (%v), want 1", info.State.Msgs, err)
	}

	// The key store: every service creates data keys; intake alone erases
	// (tombstones, claims, deleting keys).
	for _, js := range []jetstream.JetStream{ijs, pjs} {
		if _, err := js.Publish(ctx, "avenir.keys.data.learner."+js.Conn().Opts.User, []byte("wrapped")); err != nil {
			t.Errorf("a service creates a data key: %v", err)
		}
	}
	for _, subj := range []string{"avenir.keys.erased.learner.intake", "avenir.keys.claim.identity.0a"} {
		if err := pathway.Publish(subj, nil); err != nil || !pv.denied(subj) {
			t.Errorf("pathway published on %s: %v", subj, err)
		}
		if _, err := ijs.Publish(ctx, subj, nil); err != nil {
			t.Errorf("intake publishes on %s: %v", subj, err)
		}
	}
	pkeys, err := pjs.Stream(ctx, "AVENIR_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	if err := pkeys.SecureDeleteMsg(short(), 2); err == nil || !pv.denied("$JS.API.STREAM.MSG.DELETE.AVENIR_KEYS") {
		t.Errorf("pathway deleted a key: %v", err)
	}
	ikeys, err := ijs.Stream(ctx, "AVENIR_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	if err := ikeys.SecureDeleteMsg(ctx, 1); err != nil {
		t.Errorf("intake deletes a key: %v", err)
	}

	// No service deletes a message of an event stream, nor deletes or
	// purges a stream. (A denied request gets no answer: it times out.)
	if err := st.DeleteMsg(short(), 1); err == nil || !iv.denied("$JS.API.STREAM.MSG.DELETE.INTAKE") {
		t.Errorf("intake deleted an event: %v", err)
	}
	for _, tc := range []struct {
		js jetstream.JetStream
		v  *violations
	}{{ijs, iv}, {pjs, pv}, {ajs, av}} {
		if err := tc.js.DeleteStream(short(), "INTAKE"); err == nil || !tc.v.denied("$JS.API.STREAM.DELETE.INTAKE") {
			t.Errorf("%s deleted the INTAKE stream: %v", tc.js.Conn().Opts.User, err)
		}
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
	if _, err := nats.Connect(urls[0]); err == nil {
		t.Error("a client without credentials was accepted")
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
