package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
)

// The console's configuration problems are named, flag by flag.
func TestConsoleConfiguration(t *testing.T) {
	c := valid()
	c.Services = []string{server.ConsoleService}
	c.Console = server.ConsoleConfig{Addr: "0.0.0.0:8080"}
	err := c.Validate()
	for _, want := range []string{
		"console-url: required when the console listens beyond loopback",
		"console-upstreams: required when the console runs without the other services",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported in: %v", want, err)
		}
	}
	c.Console = server.ConsoleConfig{Addr: "0.0.0.0:8080", URL: "http://console.example.fr", Upstreams: "intake=intake:50051,billing=x:1"}
	err = c.Validate()
	for _, want := range []string{"console-url: \"http://console.example.fr\": plain http only on a loopback address", "console-upstreams: \"billing=x:1\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported in: %v", want, err)
		}
	}
	c.Dev, c.OIDCIssuer = false, "https://login.example.fr/realms/avenir"
	c.Console = server.ConsoleConfig{Addr: "0.0.0.0:8080", URL: "https://console.example.fr", Upstreams: "intake=intake:50051"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "console-oidc-client-id: required with --oidc-issuer") {
		t.Errorf("a console without its OIDC client id: %v", err)
	}
	c.Console.OIDCClientID = "avenir-console"
	if err := c.Validate(); err != nil {
		t.Errorf("a console alone, with its upstreams: %v", err)
	}
}

// The console runs alone (microservices mode) against the services of
// another process: its login page lists the referents those services know,
// and the services it has no address for are reported unavailable, not
// called elsewhere.
func TestConsoleAloneCallsItsUpstreams(t *testing.T) {
	dir := t.TempDir()
	backend, _ := servertest.Run(t, servertest.Dev(dir))

	cfg := servertest.Dev(dir)
	cfg.Services = []string{server.ConsoleService}
	cfg.Console.Upstreams = "intake=" + backend.GRPC + ",referent=" + backend.GRPC + ",pathway=" + backend.GRPC
	addrs, _ := servertest.Run(t, cfg)
	if addrs.Console == "" || addrs.GRPC != "" {
		t.Fatalf("console alone: %+v", addrs)
	}
	res, err := http.Get("http://" + addrs.Console + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Connexion") {
		t.Fatalf("login page: %d\n%s", res.StatusCode, b)
	}
	// No funding address: the dev login cannot list operators, and says
	// nothing of them (the page still serves).
	if strings.Contains(string(b), `value="operator"`) {
		t.Fatal("the login page offers operators without a funding service")
	}
	ready, err := http.Get("http://" + addrs.Admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusOK {
		t.Fatalf("/readyz of the console alone: %d", ready.StatusCode)
	}
}
