package cli_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
)

func TestHealthcheckSaysWhetherTheServerIsReady(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Out = io.Discard
	addrs, stop := servertest.Run(t, cfg)
	run := func(url string) int {
		var out, errOut bytes.Buffer
		return cli.Main(context.Background(), []string{"healthcheck", "--url", url}, &out, &errOut)
	}
	if code := run("http://" + addrs.Admin + "/readyz"); code != 0 {
		t.Fatalf("a serving server: exit %d", code)
	}
	stop()
	if code := run("http://" + addrs.Admin + "/readyz"); code != 1 {
		t.Fatalf("a stopped server: exit %d, want 1", code)
	}
}
