package deploytest

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of a compose file the test looks at.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

type composeService struct {
	Image       string            `json:"image"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Volumes     []string          `json:"volumes"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
	ReadOnly bool     `json:"read_only"`
	CapDrop  []string `json:"cap_drop"`
	Ports    []string `json:"ports"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Anchors and merge keys (<<) resolved as compose does. depends_on is a
	// list for some services, a map for others: decode it per service.
	var raw struct {
		Name     string                    `json:"name"`
		Services map[string]map[string]any `json:"services"`
		Volumes  map[string]any            `json:"volumes"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	f := composeFile{Name: raw.Name, Services: map[string]composeService{}, Volumes: raw.Volumes}
	for name, svc := range raw.Services {
		if deps, ok := svc["depends_on"].([]any); ok {
			m := map[string]any{}
			for _, d := range deps {
				m[d.(string)] = map[string]any{"condition": "service_started"}
			}
			svc["depends_on"] = m
		}
		js, err := yaml.Marshal(svc)
		if err != nil {
			t.Fatal(err)
		}
		var s composeService
		if err := yaml.Unmarshal(js, &s); err != nil {
			t.Fatalf("compose service %s: %v", name, err)
		}
		f.Services[name] = s
	}
	return f
}

func TestCompose(t *testing.T) {
	f := readCompose(t)
	want := append([]string{"nats-1", "nats-2", "nats-3", "redis", "otel-collector", "jaeger", "streams", "console"}, serviceNames...)
	for _, name := range want {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("compose.yaml: no service %s", name)
		}
	}
	if len(f.Services) != len(want) {
		t.Errorf("compose.yaml: services %v, want %v", sortedKeys(f.Services), want)
	}

	natsVersion := natsServerVersion(t)
	for i := 1; i <= 3; i++ {
		name := "nats-" + string(rune('0'+i))
		n := f.Services[name]
		if !strings.HasPrefix(n.Image, "nats:"+natsVersion) {
			t.Errorf("%s: image %s, want the nats-server version of go.mod (%s)", name, n.Image, natsVersion)
		}
		conf := "/etc/nats/" + name + ".conf"
		if !slices.Contains(n.Command, conf) {
			t.Errorf("%s: command %q does not load %s", name, n.Command, conf)
		}
		if _, err := os.Stat(filepath.Join("../nats", name+".conf")); err != nil {
			t.Error(err)
		}
		if n.Healthcheck == nil || !strings.Contains(strings.Join(n.Healthcheck.Test, " "), "/healthz") {
			t.Errorf("%s: no health check on /healthz", name)
		}
		if !slices.Contains(n.Volumes, name+":/data") {
			t.Errorf("%s: volumes %q: the store (/data) must be the node's own volume", name, n.Volumes)
		}
		// Every variable the NATS configuration needs is passed to the node.
		for _, v := range natsConfigVariables(t) {
			if _, ok := n.Environment[v]; !ok {
				t.Errorf("%s: %s, used by deploy/nats/avenir.conf, is not in its environment", name, v)
			}
		}
	}
	for _, name := range []string{"redis"} {
		if f.Services[name].Healthcheck == nil {
			t.Errorf("%s: no health check", name)
		}
	}

	for _, name := range serviceNames {
		s := f.Services[name]
		args := strings.Join(s.Command, " ")
		if len(s.Command) == 0 || s.Command[0] != "server" {
			t.Errorf("%s: command %q", name, s.Command)
		}
		for _, a := range []string{"--services=" + name, "--replicas=3", "--redis-url=redis://redis:6379/0", "--oidc-issuer=${AVENIR_OIDC_ISSUER"} {
			if !strings.Contains(args, a) {
				t.Errorf("%s: command lacks %s: %s", name, a, args)
			}
		}
		var url string
		for _, a := range s.Command {
			if u, ok := strings.CutPrefix(a, "--nats-url="); ok {
				url = u
			}
		}
		pw := "${" + strings.ToUpper(name) + "_PASSWORD}"
		for i, u := range strings.Split(url, ",") {
			if want := "nats://" + name + ":" + pw + "@nats-" + string(rune('1'+i)) + ":4222"; u != want {
				t.Errorf("%s: NATS URL %d is %q, want %q", name, i, u, want)
			}
		}
		if s.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" || s.Environment["OTEL_SERVICE_NAME"] != "avenir-"+name {
			t.Errorf("%s: OpenTelemetry environment %v", name, s.Environment)
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 || s.Healthcheck.Test[1] != "/avenir" || s.Healthcheck.Test[2] != "healthcheck" {
			t.Errorf("%s: health check %+v: want the image's /avenir healthcheck", name, s.Healthcheck)
		}
		for _, dep := range []string{"nats-1", "nats-2", "nats-3", "redis"} {
			if s.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s: does not wait for %s to be healthy", name, dep)
			}
		}
		if s.DependsOn["streams"].Condition != "service_completed_successfully" {
			t.Errorf("%s: does not wait for the streams to be created", name)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: read_only %v, cap_drop %v", name, s.ReadOnly, s.CapDrop)
		}
	}
}

// requiredMasterKey is the value of AVENIR_MASTER_KEY in a service's
// environment: the variable of deploy/.env, required (compose refuses to
// start without it, with a message).
var requiredMasterKey = regexp.MustCompile(`^\$\{AVENIR_MASTER_KEY:\?[^}]+\}$`)

// Every service gets the same master key from deploy/.env, which compose
// requires; the key itself is in no file, and the streams service, which
// needs none, does not get it.
func TestComposeMasterKey(t *testing.T) {
	f := readCompose(t)
	for _, name := range serviceNames {
		got, ok := f.Services[name].Environment["AVENIR_MASTER_KEY"]
		if !ok || !requiredMasterKey.MatchString(got) {
			t.Errorf("%s: AVENIR_MASTER_KEY %q, want ${AVENIR_MASTER_KEY:?<message>}", name, got)
		}
		for _, a := range f.Services[name].Command {
			if strings.Contains(a, "master-key") {
				t.Errorf("%s: command %q: the master key comes from the environment", name, a)
			}
		}
	}
	for name, s := range f.Services {
		if _, ok := s.Environment["AVENIR_MASTER_KEY"]; ok && !slices.Contains(serviceNames, name) {
			t.Errorf("%s gets the master key, which it does not need", name)
		}
	}
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if k := regexp.MustCompile(`\b[0-9a-fA-F]{64}\b`).Find(b); k != nil {
		t.Errorf("compose.yaml holds a 64-hex-character value (a master key?): %s", k)
	}
}

// deploy/.env.example sets every variable compose.yaml requires, and leaves
// the master key empty (compose then refuses to start: no key copied from
// an example is ever used) with the commands that generate one.
func TestComposeEnvExample(t *testing.T) {
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(env), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	required := regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*):\?`).FindAllSubmatch(b, -1)
	if len(required) < 10 {
		t.Fatalf("compose.yaml requires only %d variables", len(required))
	}
	for _, m := range required {
		if _, ok := vars[string(m[1])]; !ok {
			t.Errorf(".env.example does not set %s, which compose.yaml requires", m[1])
		}
	}
	if v, ok := vars["AVENIR_MASTER_KEY"]; !ok || v != "" {
		t.Errorf(".env.example: AVENIR_MASTER_KEY=%q, want it present and empty", v)
	}
	for _, s := range []string{"openssl rand -hex 32", "head -c32 /dev/urandom | xxd -p -c64"} {
		if !strings.Contains(string(env), s) {
			t.Errorf(".env.example does not say how to generate the master key (%s)", s)
		}
	}
}

// The streams are created once, as the NATS admin identity, before the
// services start (they cannot create them).
func TestComposeEnsuresTheStreamsAsAdmin(t *testing.T) {
	s := readCompose(t).Services["streams"]
	if !slices.Equal(s.Command[:2], []string{"streams", "ensure"}) || !slices.Contains(s.Command, "--replicas=3") {
		t.Errorf("streams: command %q", s.Command)
	}
	var url string
	for _, a := range s.Command {
		if u, ok := strings.CutPrefix(a, "--nats-url="); ok {
			url = u
		}
	}
	for i, u := range strings.Split(url, ",") {
		if want := "nats://admin:${ADMIN_PASSWORD}@nats-" + string(rune('1'+i)) + ":4222"; u != want {
			t.Errorf("streams: NATS URL %d is %q, want %q", i, u, want)
		}
	}
	if s.Image != "avenir:dev" || !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || s.Healthcheck != nil {
		t.Errorf("streams: image %q, read_only %v, cap_drop %v, health check %+v", s.Image, s.ReadOnly, s.CapDrop, s.Healthcheck)
	}
	for _, dep := range []string{"nats-1", "nats-2", "nats-3"} {
		if s.DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("streams: does not wait for %s to be healthy", dep)
		}
	}
}

// The collector's configuration parses and its pipelines use what it defines.
func TestOTelCollectorConfig(t *testing.T) {
	b, err := os.ReadFile("../otel/collector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Receivers  map[string]any `json:"receivers"`
		Processors map[string]any `json:"processors"`
		Exporters  map[string]any `json:"exporters"`
		Extensions map[string]any `json:"extensions"`
		Service    struct {
			Extensions []string `json:"extensions"`
			Pipelines  map[string]struct {
				Receivers  []string `json:"receivers"`
				Processors []string `json:"processors"`
				Exporters  []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("collector.yaml: %v", err)
	}
	if _, ok := c.Service.Pipelines["traces"]; !ok {
		t.Error("no traces pipeline")
	}
	for name, p := range c.Service.Pipelines {
		for kind, refs := range map[string][]string{"receiver": p.Receivers, "processor": p.Processors, "exporter": p.Exporters} {
			defined := map[string]map[string]any{"receiver": c.Receivers, "processor": c.Processors, "exporter": c.Exporters}[kind]
			for _, r := range refs {
				if _, ok := defined[r]; !ok {
					t.Errorf("pipeline %s: %s %s is not defined", name, kind, r)
				}
			}
		}
	}
	for _, e := range c.Service.Extensions {
		if _, ok := c.Extensions[e]; !ok {
			t.Errorf("extension %s is not defined", e)
		}
	}
}

// natsServerVersion is the major.minor of the nats-server module avenir
// embeds (services/platform/go.mod).
func natsServerVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../services/platform/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github\.com/nats-io/nats-server/v2 v(\d+\.\d+)\.`).FindSubmatch(b)
	if m == nil {
		t.Fatal("services/platform/go.mod: no nats-server/v2 requirement")
	}
	return string(m[1])
}

// natsConfigVariables lists the $VARIABLES of deploy/nats/avenir.conf that
// come from the environment (those not defined in the file).
func natsConfigVariables(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../nats/avenir.conf")
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		for _, m := range regexp.MustCompile(`(?:^|[\s:,])\$([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(line, -1) {
			if !slices.Contains(vars, m[1]) {
				vars = append(vars, m[1])
			}
		}
	}
	if len(vars) < 8 {
		t.Fatalf("avenir.conf: only %v as environment variables", vars)
	}
	return vars
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// The web console: `avenir server --services=console` on 0.0.0.0:8080,
// published on 8080, calling every service at its compose name, with the
// issuer the services trust. It gets nothing of NATS, Redis nor the master
// key, and passes the server's console checks: beyond loopback it needs
// --console-url, plain http only for a loopback host (localhost), and a
// client id with --oidc-issuer.
func TestComposeConsole(t *testing.T) {
	f := readCompose(t)
	s, ok := f.Services["console"]
	if !ok {
		t.Fatal("compose.yaml: no service console")
	}
	flags := map[string]string{}
	for _, a := range s.Command[1:] {
		k, v, _ := strings.Cut(a, "=")
		if _, dup := flags[k]; dup {
			t.Errorf("console: %s given twice", k)
		}
		flags[k] = v
	}
	if s.Command[0] != "server" || flags["--services"] != "console" {
		t.Errorf("console: command %q", s.Command)
	}
	for _, k := range []string{"--nats-url", "--redis-url", "--replicas", "--master-key-file"} {
		if _, ok := flags[k]; ok {
			t.Errorf("console: %s, which the console does not use", k)
		}
	}
	var ups []string
	for _, name := range serviceNames {
		ups = append(ups, name+"="+name+":50051")
	}
	if got, want := flags["--console-upstreams"], strings.Join(ups, ","); got != want {
		t.Errorf("console: --console-upstreams=%s, want %s", got, want)
	}
	// Every upstream is a compose service serving gRPC on 50051 (the
	// image's AVENIR_GRPC_ADDR) inside the network.
	for _, name := range serviceNames {
		if !slices.Contains(f.Services[name].Ports, "50051") && !slices.ContainsFunc(f.Services[name].Ports, func(p string) bool { return strings.HasSuffix(p, ":50051") }) {
			t.Errorf("%s: ports %q: the console calls it on 50051", name, f.Services[name].Ports)
		}
	}
	if want := f.Services["intake"]; !slices.ContainsFunc(want.Command, func(a string) bool { return strings.HasPrefix(a, "--oidc-issuer=${AVENIR_OIDC_ISSUER") }) ||
		!strings.HasPrefix(flags["--oidc-issuer"], "${AVENIR_OIDC_ISSUER") {
		t.Errorf("console: --oidc-issuer=%q: want the services' issuer", flags["--oidc-issuer"])
	}
	if flags["--console-oidc-client-id"] == "" {
		t.Error("console: no --console-oidc-client-id (required with --oidc-issuer)")
	}
	addr := flags["--console-addr"]
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "0.0.0.0" {
		t.Fatalf("console: --console-addr=%q: want 0.0.0.0:<port> (reachable from the host)", addr)
	}
	u, err := url.Parse(flags["--console-url"])
	if err != nil || u.Host == "" {
		t.Fatalf("console: --console-url=%q: required beyond loopback and with --oidc-issuer", flags["--console-url"])
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())) {
		t.Errorf("console: --console-url=%s: plain http only on a loopback host", u)
	}
	if u.Port() != port || !slices.Contains(s.Ports, port+":"+port) {
		t.Errorf("console: url %s, listening on %s, ports %q: the browser's address must reach the container", u, addr, s.Ports)
	}
	if _, ok := s.Environment["AVENIR_MASTER_KEY"]; ok {
		t.Error("console: gets the master key")
	}
	for k := range s.Environment {
		if strings.HasPrefix(k, "AVENIR_NATS") || strings.HasPrefix(k, "AVENIR_REDIS") || strings.HasSuffix(k, "_PASSWORD") {
			t.Errorf("console: environment %s", k)
		}
	}
	if got := s.Environment["AVENIR_CONSOLE_OIDC_CLIENT_SECRET"]; !strings.HasPrefix(got, "${AVENIR_CONSOLE_OIDC_CLIENT_SECRET") {
		t.Errorf("console: AVENIR_CONSOLE_OIDC_CLIENT_SECRET %q, want it from deploy/.env", got)
	}
	if s.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" || s.Environment["OTEL_SERVICE_NAME"] != "avenir-console" {
		t.Errorf("console: OpenTelemetry environment %v", s.Environment)
	}
	if s.Image != "avenir:dev" || !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) {
		t.Errorf("console: image %q, read_only %v, cap_drop %v", s.Image, s.ReadOnly, s.CapDrop)
	}
	if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"CMD", "/avenir", "healthcheck", "--url", "http://127.0.0.1:9464/readyz"}) {
		t.Errorf("console: health check %+v", s.Healthcheck)
	}
	for _, dep := range []string{"nats-1", "nats-2", "nats-3", "redis", "streams"} {
		if _, ok := s.DependsOn[dep]; ok {
			t.Errorf("console: depends on %s, which it does not use", dep)
		}
	}
	for _, dep := range serviceNames {
		if _, ok := s.DependsOn[dep]; !ok {
			t.Errorf("console: does not start after %s, which it calls", dep)
		}
	}
}
