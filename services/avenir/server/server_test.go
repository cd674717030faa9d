package server_test

import (
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/avenir/server"
)

func valid() server.Config {
	return server.Config{
		Dev: true, Services: server.ServiceNames(), DataDir: "data",
		GRPCAddr: "127.0.0.1:50051", AdminAddr: "127.0.0.1:9464", Replicas: 1,
		Audience: "avenir", LogLevel: "info", LogFormat: "text",
	}
}

func TestValidConfig(t *testing.T) {
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Dev, c.NATSURL, c.Replicas, c.Services = false, "nats://n1:4222,nats://n2:4222", 3, []string{"pathway"}
	c.OIDCIssuer = "https://login.example.fr/realms/avenir"
	c.MasterKeyFile = "/etc/avenir/master.key"
	if err := c.Validate(); err != nil {
		t.Fatalf("microservices mode: %v", err)
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	c := server.Config{
		Services: []string{"intake", "billing"}, GRPCAddr: "nowhere", AdminAddr: "127.0.0.1:9464",
		Replicas: 2, StreamMaxBytes: 1024, LogLevel: "loud", LogFormat: "xml",
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`unknown service "billing"`, "nats-url: required without --dev", `grpc-addr: "nowhere"`,
		"replicas: must be 1, 3 or 5", "stream-max-bytes", "log-level", "log-format", "oidc-issuer: required without --dev",
		"master-key-file: required without --dev",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported in:\n%v", want, err)
		}
	}
}

func TestEmbeddedServerHoldsOneReplica(t *testing.T) {
	c := valid()
	c.Replicas = 3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "one replica") {
		t.Fatalf("got %v", err)
	}
}

func TestInsecureNoAuthOnlyOnLoopback(t *testing.T) {
	c := valid()
	c.InsecureNoAuth = true
	if err := c.Validate(); err != nil {
		t.Fatalf("loopback: %v", err)
	}
	c.GRPCAddr = "0.0.0.0:50051"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "insecure-no-auth") {
		t.Fatalf("non-loopback: %v", err)
	}
}

func TestNATSCredentialsNeedAnExternalNATS(t *testing.T) {
	c := valid()
	c.NATSNKey = "pathway.nk"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "nats-url: required with --nats-creds or --nats-nkey") {
		t.Fatalf("an NKey for the embedded server: %v", err)
	}
	c.NATSURL, c.NATSCreds = "nats://n1:4222", "pathway.creds"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("creds and nkey: %v", err)
	}
	c.NATSCreds = ""
	if err := c.Validate(); err != nil {
		t.Fatalf("an NKey with --nats-url: %v", err)
	}
}
