package consumer_test

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// TestSurvivesServerRestart restarts the server on the same data directory
// and the same port (natstest picks a new random port on every start, which
// a client cannot reconnect to), with a runner running throughout.
func TestSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	srv := startServer(t, dir, addr)
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{tb: t, js: js}
	h.ensureStream(js)

	seqs := h.publish(20)
	tr := newTracker()
	s := spec("proj-survivor")
	s.AckWait = 3 * time.Second
	// The 10th message is being handled while the server restarts; it and
	// the rest of its batch are settled with the new server.
	inFlight, restarted := make(chan struct{}), make(chan struct{})
	tenth := seqs[9] // seqs grows below while the handler runs
	h.start(s, tr.handler(func(seq uint64, call int) error {
		if seq == tenth && call == 1 {
			close(inFlight)
			<-restarted
		}
		return nil
	}))
	<-inFlight
	srv.Shutdown()
	eventually(t, 5*time.Second, func() bool { return !nc.IsConnected() }, "client disconnected")
	startServer(t, dir, addr)
	eventually(t, 10*time.Second, nc.IsConnected, "client reconnected")
	close(restarted)
	tr.waitHandled(t, seqs)

	seqs = append(seqs, h.publish(20)...)
	tr.waitHandled(t, seqs)
	h.waitAcked("proj-survivor", seqs[len(seqs)-1])
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func startServer(t *testing.T, dir, addr string) *natsx.Embedded {
	t.Helper()
	var (
		srv *natsx.Embedded
		err error
	)
	// The port of the previous server may take a moment to be released.
	for range 50 {
		srv, err = natsx.StartEmbedded(natsx.EmbeddedOptions{
			DataDir: dir, Listen: addr, ServerName: "avenir-test", Logger: slog.New(slog.DiscardHandler),
		})
		var opErr *net.OpError
		if err == nil || !errors.As(err, &opErr) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}
