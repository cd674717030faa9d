package e2e

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// process is a running `avenir server --dev`.
type process struct {
	cmd    *exec.Cmd
	args   []string
	out    *lockedBuffer
	GRPC   string
	Admin  string
	NATS   string
	waited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort finds a loopback port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startServer runs the binary on dataDir with fresh ports and waits until its
// gRPC health check answers SERVING.
func startServer(t *testing.T, dataDir string, extra ...string) *process {
	t.Helper()
	p := &process{
		out:    &lockedBuffer{},
		GRPC:   "127.0.0.1:" + freePort(t),
		Admin:  "127.0.0.1:" + freePort(t),
		NATS:   "127.0.0.1:" + freePort(t),
		waited: make(chan error, 1),
	}
	// The console too, on a port of its own (not 8080, which make run may
	// hold).
	p.args = append([]string{"server", "--dev", "--data-dir", dataDir,
		"--grpc-addr", p.GRPC, "--admin-addr", p.Admin, "--nats-listen", p.NATS,
		"--console-addr", "127.0.0.1:" + freePort(t)}, extra...)
	t.Cleanup(func() { p.kill(t) })
	p.start(t)
	return p
}

// startServers runs one binary per argument list on dataDir, all at once
// (each creates the streams it reads if their owner has not yet), and
// waits until each serves.
func startServers(t *testing.T, dataDir string, argLists ...[]string) []*process {
	t.Helper()
	procs := make([]*process, len(argLists))
	for i, extra := range argLists {
		p := &process{
			out:    &lockedBuffer{},
			GRPC:   "127.0.0.1:" + freePort(t),
			Admin:  "127.0.0.1:" + freePort(t),
			NATS:   "127.0.0.1:" + freePort(t),
			waited: make(chan error, 1),
		}
		p.args = append([]string{"server", "--dev", "--data-dir", dataDir,
			"--grpc-addr", p.GRPC, "--admin-addr", p.Admin, "--nats-listen", p.NATS,
			"--console-addr", "127.0.0.1:" + freePort(t)}, extra...)
		t.Cleanup(func() { p.kill(t) })
		p.launch(t)
		procs[i] = p
	}
	for _, p := range procs {
		p.waitServing(t)
	}
	return procs
}

// restart starts the server again on the same data dir and ports, after
// it stopped or was killed.
func (p *process) restart(t *testing.T) {
	t.Helper()
	p.waited = make(chan error, 1)
	p.start(t)
}

// start runs the binary and waits until its gRPC health check answers
// SERVING.
func (p *process) start(t *testing.T) {
	t.Helper()
	p.launch(t)
	p.waitServing(t)
}

// launch runs the binary.
func (p *process) launch(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(binary, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waited <- p.cmd.Wait() }()
}

// waitServing waits until the gRPC health check answers SERVING.
func (p *process) waitServing(t *testing.T) {
	t.Helper()
	conn := dial(t, p.GRPC)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		select {
		case err := <-p.waited:
			t.Fatalf("server exited: %v\n%s", err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not serving after 60s: %v\n%s", err, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL (no graceful stop at all) and waits for the exit.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.waited:
	case <-time.After(10 * time.Second):
		t.Errorf("server did not die after SIGKILL")
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.waited:
		if err != nil {
			t.Fatalf("graceful stop: %v\n%s", err, p.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop after SIGTERM\n%s", p.out)
	}
}

// dial connects without a token (health checks are open).
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	return dialWith(t, addr)
}

// dialAs connects with a token minted for p with the dev key of dataDir.
func dialAs(t *testing.T, addr, dataDir string, p auth.Principal) *grpc.ClientConn {
	t.Helper()
	return dialWith(t, addr, grpc.WithPerRPCCredentials(auth.BearerToken(servertest.Token(t, dataDir, p, time.Now()))))
}

// referent serves the territory of the journeys' learners.
var referent = auth.Principal{Subject: "e2e-referent", Role: auth.RoleReferent, ReferentID: "ref-e2e", Territories: []string{"T13", "T05"}}

func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
