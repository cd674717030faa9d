package cli_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
)

// avenir streams ensure against a dev server: with the admin identity of
// its data dir, every stream is there as declared; without credentials,
// the server refuses the connection.
func TestStreamsEnsure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every service")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := servertest.Dev(dataDir)
	cfg.Out = io.Discard
	addrs, _ := servertest.Run(t, cfg)
	listen := strings.TrimPrefix(addrs.NATS, "nats://")

	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := cli.Main(context.Background(), args, &out, &out)
		return code, out.String()
	}
	code, out := run("streams", "ensure", "--data-dir", dataDir, "--nats-listen", listen)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"INTAKE", "FUNDING", "AVENIR_DLQ", "AVENIR_KEYS"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, "created") || strings.Contains(out, "updated") {
		t.Errorf("the dev server ensured its streams already:\n%s", out)
	}
	// A bigger bound: the streams are updated.
	if code, out := run("streams", "ensure", "--data-dir", dataDir, "--nats-listen", listen, "--stream-max-bytes", "9000000000"); code != 0 || !strings.Contains(out, "updated") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if code, out := run("streams", "ensure", "--nats-url", addrs.NATS, "--timeout", "5s"); code != 1 || !strings.Contains(out, "Authorization Violation") {
		t.Errorf("without credentials: exit %d:\n%s", code, out)
	}
	if code, out := run("streams", "ensure", "--data-dir", filepath.Join(t.TempDir(), "none"), "--nats-listen", listen); code != 1 || !strings.Contains(out, "no admin identity") {
		t.Errorf("a data dir without identities: exit %d:\n%s", code, out)
	}
	if code, _ := run("streams", "ensure", "--replicas", "2"); code != 2 {
		t.Errorf("--replicas 2: exit %d, want 2", code)
	}
}
