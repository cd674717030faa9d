package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
)

func TestHealthcheckSaysWhetherTheServerIsReady(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Out = io.Discard
	addrs, stop := servertest.Run(t, cfg)
	var out, errOut bytes.Buffer
	run := func(url string) int {
		out.Reset()
		errOut.Reset()
		return cli.Main(context.Background(), []string{"healthcheck", "--url", url}, &out, &errOut)
	}
	if code := run("http://" + addrs.Admin + "/readyz"); code != 0 || !strings.HasPrefix(out.String(), "ready: ") {
		t.Fatalf("a serving server: exit %d, %q %q", code, out.String(), errOut.String())
	}
	stop()
	if code := run("http://" + addrs.Admin + "/readyz"); code != 1 {
		t.Fatalf("a stopped server: exit %d, want 1", code)
	}
}

func TestHealthcheckNamesTheFailingChecks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"ready":false,"checks":[{"name":"nats","ok":true},`+
			`{"name":"stream INTAKE","ok":false,"detail":"full: 1048000 of 1048576 bytes used; raise --stream-max-bytes"},`+
			`{"name":"read-model store","ok":false,"detail":"connection refused"}],"failed":["stream INTAKE","read-model store"]}`)
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"healthcheck", "--url", srv.URL + "/readyz"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "stream INTAKE (full: 1048000 of 1048576 bytes used; raise --stream-max-bytes); read-model store (connection refused)") {
		t.Fatalf("exit %d, %q", code, errOut.String())
	}
}
