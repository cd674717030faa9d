//go:build cluster

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/demo"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
)

// services are the avenir services, one process each in the cluster.
var services = []string{"intake", "pathway", "needs", "referent", "immersion", "funding"}

// TestClusterJourneySurvivesTheLossOfAStreamLeader runs microservices mode
// on a 3-node JetStream cluster: one avenir process per service (streams
// with 3 replicas), Redis for the read models, and the demo's journey
// scaled down. Halfway, the NATS node leading the busiest stream is shut
// down. The journey completes; then every stream is replayed and compared
// with the read models: nothing acknowledged is lost, nothing is applied
// twice.
//
//	make test-cluster
func TestClusterJourneySurvivesTheLossOfAStreamLeader(t *testing.T) {
	nodes := startCluster(t, 3)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.ClientURL())
	}
	redisURL := redistest.URL(t)
	prefix := redistest.Prefix(t)
	dataDir := filepath.Join(t.TempDir(), "data") // the dev key and the demo clocks, shared
	from := demo.DefaultFrom(civil.Of(time.Now()))

	// The streams first, with the binary's own command (as compose and the
	// chart run it): the services create none.
	if out, err := exec.Command(binary, "streams", "ensure", "--nats-url", strings.Join(urls, ","), "--replicas", "3").CombinedOutput(); err != nil {
		t.Fatalf("avenir streams ensure: %v\n%s", err, out)
	}
	var argLists [][]string
	for _, svc := range services {
		argLists = append(argLists, []string{"--services", svc, "--nats-url", strings.Join(urls, ","), "--replicas", "3",
			"--redis-url", redisURL, "--redis-prefix", prefix, "--demo-clock", from.String()})
	}
	procs := map[string]*process{}
	for i, p := range startServers(t, dataDir, argLists...) {
		procs[services[i]] = p
	}
	conns := map[string]grpc.ClientConnInterface{}
	var clocks multiClock
	for svc, p := range procs {
		conns[svc] = dial(t, p.GRPC)
		clocks = append(clocks, demo.HTTPClock{URL: "http://" + p.Admin + "/demo/clock"})
	}
	tokens, err := demo.DevTokens(dataDir)
	if err != nil {
		t.Fatal(err)
	}

	// Streams are replicated on the three nodes.
	js := clusterJS(t, urls)
	for _, name := range []string{"INTAKE", "PATHWAY", "NEEDS", "REFERENT", "IMMERSION", "FUNDING"} {
		st, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Fatalf("stream %s has %d replicas, want 3", name, r)
		}
	}

	const days = 60
	var killed string
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sum, err := demo.Run(ctx, demo.Options{
		Conn: routed(conns), Clock: clocks, Tokens: tokens, Seed: 5, Learners: 120, Days: days, From: from,
		AfterDay: func(ctx context.Context, day int) error {
			if day != days/2 {
				return nil
			}
			name, leader := busiestStreamLeader(t, js)
			for _, n := range nodes {
				if n.Name() == leader {
					t.Logf("day %d: shutting down %s, leader of %s", day, leader, name)
					n.Shutdown()
					n.WaitForShutdown()
					killed = leader
				}
			}
			return nil
		},
	})
	if err != nil {
		for svc, p := range procs {
			t.Logf("%s:\n%s", svc, p.out)
		}
		t.Fatalf("the journey did not complete: %v", err)
	}
	if killed == "" {
		t.Fatal("no stream leader was shut down")
	}
	t.Logf("%d learners entered, %d sessions, %d statements closed", sum.LearnersEntered, sum.Sessions, sum.StatementsClosed)

	// Replay the streams and compare with the read models.
	var live []string
	for _, n := range nodes {
		if n.Name() != killed {
			live = append(live, n.ClientURL())
		}
	}
	js = clusterJS(t, live)
	last := from.AddDays(days - 1)
	tok, err := tokens(auth.Principal{Subject: "e2e-admin", Role: auth.RoleAdmin}, last)
	if err != nil {
		t.Fatal(err)
	}
	as := grpc.PerRPCCredsCallOption{Creds: auth.BearerToken(tok)}
	replay := replayStreams(t, js, dataDir)

	// Every event is stored once: no event id twice in any stream.
	for stream, evs := range replay {
		seen := map[string]bool{}
		for _, ev := range evs {
			if seen[ev.ID] {
				t.Errorf("%s holds event %s twice", stream, ev.ID)
			}
			seen[ev.ID] = true
		}
	}
	// Every learner the journey registered is in INTAKE once, and intake's
	// search read model finds each of them once.
	registered := map[string]int{}
	for _, ev := range replay["INTAKE"] {
		if m, ok := ev.Data.(*intakev1.LearnerRegistered); ok {
			registered[m.GetLearnerId()]++
		}
	}
	for _, l := range sum.World.Learners {
		if registered[l.ID] != 1 {
			t.Errorf("learner %s registered %d times in INTAKE", l.ID, registered[l.ID])
		}
	}
	// Pathway's read model holds exactly the episodes its stream holds.
	episodes := map[string][][2]civil.Date{}
	for _, ev := range replay["PATHWAY"] {
		switch m := ev.Data.(type) {
		case *pathwayv1.PathwayEntered:
			episodes[m.GetLearnerId()] = append(episodes[m.GetLearnerId()], [2]civil.Date{civilpb.Date(m.GetEntryDate())})
		case *pathwayv1.PathwayExited:
			eps := episodes[m.GetLearnerId()]
			eps[m.GetEpisodeNumber()-1][1] = civilpb.Date(m.GetExitDate())
		}
	}
	pw := pathwayv1.NewPathwayServiceClient(conns["pathway"])
	for _, l := range sum.World.Learners {
		got, err := pw.GetPathway(callCtx(t), &pathwayv1.GetPathwayRequest{LearnerId: l.ID}, as)
		if err != nil {
			t.Fatalf("pathway %s: %v", l.ID, err)
		}
		var model [][2]civil.Date
		for _, e := range got.GetPathway().GetEpisodes() {
			model = append(model, [2]civil.Date{civilpb.Date(e.GetEntryDate()), civilpb.Date(e.GetExitDate())})
		}
		if !slices.Equal(model, episodes[l.ID]) {
			t.Errorf("learner %s: read model episodes %v, stream %v", l.ID, model, episodes[l.ID])
		}
	}
	// And the services agree with each other, as on one machine.
	checkInvariants(t, routed(conns), tokens, last, sum.World)
}

// startCluster starts n in-process NATS servers with JetStream, clustered
// on loopback ports, and waits for the JetStream meta leader.
func startCluster(t *testing.T, n int) []*server.Server {
	t.Helper()
	clusterPorts := make([]string, n)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
	}
	var routes []string
	for _, p := range clusterPorts {
		routes = append(routes, "nats-route://127.0.0.1:"+p)
	}
	var nodes []*server.Server
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), JetStreamMaxStore: 1 << 40, JetStreamMaxMemory: 256 << 20,
			// Replicas hold every write: a periodic fsync is safe at R3.
			SyncInterval: 10 * time.Second, NoSigs: true, MaxPayload: 4 << 20,
			Cluster: server.ClusterOpts{Name: "avenir", Host: "127.0.0.1", Port: atoi(t, clusterPorts[i])},
		}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		t.Cleanup(srv.Shutdown)
		nodes = append(nodes, srv)
	}
	for _, s := range nodes {
		if !s.ReadyForConnections(30 * time.Second) {
			t.Fatalf("%s not ready", s.Name())
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := 0
		for _, s := range nodes {
			if s.JetStreamIsClustered() && s.JetStreamIsCurrent() {
				ready++
			}
		}
		if ready == n {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream cluster not formed after 60s (%d/%d current)", ready, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func clusterJS(t *testing.T, urls []string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// busiestStreamLeader is the stream holding the most messages and the name
// of the node leading it.
func busiestStreamLeader(t *testing.T, js jetstream.JetStream) (string, string) {
	t.Helper()
	var name, leader string
	var most uint64
	for _, s := range []string{"INTAKE", "PATHWAY", "NEEDS", "REFERENT", "IMMERSION", "FUNDING"} {
		st, err := js.Stream(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs > most && info.Cluster != nil {
			most, name, leader = info.State.Msgs, s, info.Cluster.Leader
		}
	}
	if leader == "" {
		t.Fatal("no stream leader known")
	}
	return name, leader
}

// replayStreams reads every stream from its first message, opening the
// personal fields with the master key of dataDir.
func replayStreams(t *testing.T, js jetstream.JetStream, dataDir string) map[string][]event.Event {
	t.Helper()
	master, err := privacy.LoadOrCreateDevMasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.New(js, privacy.Options{Master: master})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	codec := event.Codec{Sealer: keys}
	out := map[string][]event.Event{}
	for _, name := range []string{"INTAKE", "PATHWAY", "NEEDS", "REFERENT", "IMMERSION", "FUNDING"} {
		st, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{
			AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute, Replicas: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		for uint64(len(out[name])) < info.State.Msgs {
			batch, err := c.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for msg := range batch.Messages() {
				ev, err := codec.FromMsg(context.Background(), msg)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				out[name] = append(out[name], ev)
				n++
			}
			if n == 0 {
				t.Fatalf("%s: %d of %d messages replayed", name, len(out[name]), info.State.Msgs)
			}
		}
	}
	return out
}

// multiClock moves the demo clock of every process.
type multiClock []demo.Clock

func (m multiClock) Set(ctx context.Context, day civil.Date) error {
	var wg sync.WaitGroup
	errs := make([]error, len(m))
	for i, c := range m {
		wg.Go(func() { errs[i] = c.Set(ctx, day) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// routedConn sends each call to the process serving its service
// (/avenir.<service>.v1.<Service>/<Method>).
type routedConn struct {
	conns map[string]grpc.ClientConnInterface
}

func routed(conns map[string]grpc.ClientConnInterface) routedConn { return routedConn{conns} }

func (r routedConn) pick(method string) (grpc.ClientConnInterface, error) {
	parts := strings.Split(strings.TrimPrefix(method, "/"), ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("no service in method %q", method)
	}
	c, ok := r.conns[parts[1]]
	if !ok {
		return nil, fmt.Errorf("no process serves %q", method)
	}
	return c, nil
}

func (r routedConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c, err := r.pick(method)
	if err != nil {
		return err
	}
	return c.Invoke(ctx, method, args, reply, opts...)
}

func (r routedConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c, err := r.pick(method)
	if err != nil {
		return nil, err
	}
	return c.NewStream(ctx, desc, method, opts...)
}
