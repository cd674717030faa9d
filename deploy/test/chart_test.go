package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/avenir"

// serviceNames are the six avenir services, each of which must get its
// Deployment and Service.
var serviceNames = []string{"intake", "pathway", "needs", "referent", "immersion", "funding"}

// manifests is a rendered release, decoded.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        map[string]*policyv1.PodDisruptionBudget
	accounts    map[string]*corev1.ServiceAccount
	notes       string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return v
}

// render installs the chart client-side, as `helm template` does: values
// coalesced with the defaults, validated against values.schema.json, the
// dependencies' conditions applied, templates rendered.
func render(t *testing.T, vals map[string]any) (*manifests, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = "avenir"
	install.Namespace = "avenir"
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}
	rel, err := install.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	if os.Getenv("AVENIR_CHART_DUMP") != "" {
		t.Logf("rendered manifests:\n%s\nNOTES:\n%s", rel.Manifest, rel.Info.Notes)
	}
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		configMaps:  map[string]*corev1.ConfigMap{},
		secrets:     map[string]*corev1.Secret{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
		accounts:    map[string]*corev1.ServiceAccount{},
		notes:       rel.Info.Notes,
	}
	docs := releaseutil.SplitManifests(rel.Manifest)
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[key]
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("manifest %s: %v\n%s", key, err, doc)
		}
		name := head.Metadata.Name
		var into any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			m.deployments[name], into = d, d
		case "v1 Service":
			s := &corev1.Service{}
			m.services[name], into = s, s
		case "v1 ConfigMap":
			c := &corev1.ConfigMap{}
			m.configMaps[name], into = c, c
		case "v1 Secret":
			s := &corev1.Secret{}
			m.secrets[name], into = s, s
		case "policy/v1 PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			m.pdbs[name], into = p, p
		case "v1 ServiceAccount":
			a := &corev1.ServiceAccount{}
			m.accounts[name], into = a, a
		default:
			t.Fatalf("manifest %s: unexpected %s %s", key, head.APIVersion, head.Kind)
		}
		if err := decodeStrict(doc, into); err != nil {
			t.Fatalf("manifest %s (%s %s): %v\n%s", key, head.Kind, name, err, doc)
		}
	}
	return m, nil
}

// decodeStrict decodes one YAML manifest into a Kubernetes API type: an
// unknown or duplicated field, or a value of the wrong type, fails.
func decodeStrict(doc string, into any) error {
	js, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the manifest")
	}
	return nil
}

func mustRender(t *testing.T, vals map[string]any) *manifests {
	t.Helper()
	m, err := render(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return m
}

func TestChartDefaultValues(t *testing.T) {
	m := mustRender(t, nil)
	want := map[string]int32{}
	for _, name := range serviceNames {
		want[name] = 1
	}
	checkServices(t, m, want)
	cm := m.configMaps["avenir-config"]
	if cm == nil {
		t.Fatalf("no ConfigMap avenir-config; have %v", slices.Sorted(maps.Keys(m.configMaps)))
	}
	for k, v := range map[string]string{
		"AVENIR_REPLICAS": "3", "AVENIR_GRPC_ADDR": ":50051", "AVENIR_ADMIN_ADDR": ":9464",
		"AVENIR_REDIS_URL": "redis://redis:6379/0", "AVENIR_STREAM_MAX_BYTES": "8589934592",
		"AVENIR_AUDIENCE": "avenir",
	} {
		if got := cm.Data[k]; got != v {
			t.Errorf("ConfigMap %s = %q, want %q", k, got, v)
		}
	}
	if len(m.pdbs) != 0 {
		t.Errorf("PodDisruptionBudgets with one replica each: %v", slices.Sorted(maps.Keys(m.pdbs)))
	}
	// No passwords given: the chart creates no Secret, the pods read the one
	// the operator creates, and the notes say so.
	if len(m.secrets) != 0 {
		t.Errorf("Secrets rendered without passwords: %v", slices.Sorted(maps.Keys(m.secrets)))
	}
	for _, s := range []string{"oidc.issuer is empty", "avenir-nats", "intake-password"} {
		if !strings.Contains(m.notes, s) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", s, m.notes)
		}
	}
	sa := m.accounts["avenir"]
	if sa == nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount avenir must not automount a token: %+v", sa)
	}
	// Password authentication: the URL carries the service's user and the
	// password variable, which Kubernetes expands from NATS_PASSWORD.
	c := m.deployments["avenir-intake"].Spec.Template.Spec.Containers[0]
	if got, want := env(t, c, "AVENIR_NATS_URL").Value, "nats://intake:$(NATS_PASSWORD)@nats:4222"; got != want {
		t.Errorf("AVENIR_NATS_URL = %q, want %q", got, want)
	}
	if ref := env(t, c, "NATS_PASSWORD").ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
		ref.SecretKeyRef.Name != "avenir-nats" || ref.SecretKeyRef.Key != "intake-password" {
		t.Errorf("NATS_PASSWORD not from Secret avenir-nats key intake-password: %+v", ref)
	}
	if slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "NATS_PASSWORD" }) >
		slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "AVENIR_NATS_URL" }) {
		t.Error("NATS_PASSWORD must come before AVENIR_NATS_URL for $(NATS_PASSWORD) to expand")
	}
}

func TestChartProductionValues(t *testing.T) {
	m := mustRender(t, readValues(t, filepath.Join(chartDir, "ci", "production-values.yaml")))
	checkServices(t, m, map[string]int32{
		"intake": 2, "pathway": 3, "needs": 2, "referent": 2, "immersion": 2, "funding": 3,
	})
	cm := m.configMaps["avenir-config"]
	if cm == nil {
		t.Fatal("no ConfigMap avenir-config")
	}
	if got := cm.Data["AVENIR_OIDC_ISSUER"]; got != "https://login.example.fr/realms/avenir" {
		t.Errorf("AVENIR_OIDC_ISSUER = %q", got)
	}
	if _, ok := cm.Data["AVENIR_REDIS_URL"]; ok {
		t.Error("AVENIR_REDIS_URL in the ConfigMap although it comes from a Secret")
	}
	if got := cm.Data["AVENIR_NATS_CA"]; got != "/etc/avenir/nats-tls/ca.crt" {
		t.Errorf("AVENIR_NATS_CA = %q", got)
	}
	if got := cm.Data["OTEL_EXPORTER_OTLP_ENDPOINT"]; got != "http://otel-collector.observability.svc:4318" {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT = %q", got)
	}
	for _, name := range serviceNames {
		d := m.deployments["avenir-"+name]
		c := d.Spec.Template.Spec.Containers[0]
		url := env(t, c, "AVENIR_NATS_URL").Value
		if n := strings.Count(url, "tls://"+name+":$(NATS_PASSWORD)@nats-"); n != 3 {
			t.Errorf("%s: AVENIR_NATS_URL %q: want 3 TLS servers with the service's user", name, url)
		}
		if ref := env(t, c, "AVENIR_REDIS_URL").ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
			ref.SecretKeyRef.Name != "avenir-redis" || ref.SecretKeyRef.Key != "url" {
			t.Errorf("%s: AVENIR_REDIS_URL not from Secret avenir-redis/url: %+v", name, ref)
		}
		if !slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
			return v.Secret != nil && v.Secret.SecretName == "avenir-nats-ca"
		}) {
			t.Errorf("%s: the NATS CA Secret is not mounted", name)
		}
		if tsc := d.Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].LabelSelector == nil ||
			tsc[0].LabelSelector.MatchLabels["app.kubernetes.io/component"] != name {
			t.Errorf("%s: topology spread constraint without the service's selector: %+v", name, tsc)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != "registry.example.fr/avenir/avenir:1.4.2" {
			t.Errorf("%s: image %q", name, got)
		}
		// More than one replica: a disruption budget keeps one serving.
		pdb := m.pdbs["avenir-"+name]
		if pdb == nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("%s: PodDisruptionBudget %+v", name, pdb)
		}
	}
	funding := m.deployments["avenir-funding"].Spec.Template.Spec.Containers[0]
	if got := env(t, funding, "GOMEMLIMIT").Value; got != "3600MiB" {
		t.Errorf("funding GOMEMLIMIT = %q (extra env)", got)
	}
	if got := funding.Resources.Limits.Memory().String(); got != "4Gi" {
		t.Errorf("funding memory limit %s, want 4Gi", got)
	}
}

// Passwords given in the values: the chart creates the Secret, one key per
// enabled service; a disabled service gets no Deployment.
func TestChartPasswordsSecret(t *testing.T) {
	pw := map[string]any{}
	for _, name := range serviceNames {
		pw[name] = "pw-" + name
	}
	m := mustRender(t, map[string]any{
		"oidc":     map[string]any{"issuer": "https://login.example.fr/realms/avenir"},
		"nats":     map[string]any{"auth": map[string]any{"passwords": pw}},
		"services": map[string]any{"needs": map[string]any{"enabled": false}},
	})
	s := m.secrets["avenir-nats"]
	if s == nil {
		t.Fatalf("no Secret avenir-nats; have %v", slices.Sorted(maps.Keys(m.secrets)))
	}
	for _, name := range serviceNames {
		got, ok := s.StringData[name+"-password"]
		switch {
		case name == "needs" && ok:
			t.Errorf("Secret holds the password of the disabled service needs")
		case name != "needs" && got != "pw-"+name:
			t.Errorf("Secret %s-password = %q", name, got)
		}
	}
	if _, ok := m.deployments["avenir-needs"]; ok {
		t.Error("Deployment of the disabled service needs")
	}
	if len(m.deployments) != 5 || len(m.services) != 5 {
		t.Errorf("%d Deployments and %d Services, want 5 each", len(m.deployments), len(m.services))
	}
	if strings.Contains(m.notes, "WARNING") {
		t.Errorf("NOTES.txt warns although issuer and passwords are set:\n%s", m.notes)
	}
}

// Credentials files: each pod mounts its own service's file only.
func TestChartCredsFiles(t *testing.T) {
	m := mustRender(t, map[string]any{"nats": map[string]any{"auth": map[string]any{"type": "creds", "existingSecret": "nats-creds"}}})
	for _, name := range serviceNames {
		spec := m.deployments["avenir-"+name].Spec.Template.Spec
		c := spec.Containers[0]
		if got := env(t, c, "AVENIR_NATS_CREDS").Value; got != "/etc/avenir/nats-creds/"+name+".creds" {
			t.Errorf("%s: AVENIR_NATS_CREDS = %q", name, got)
		}
		if got := env(t, c, "AVENIR_NATS_URL").Value; got != "nats://nats:4222" {
			t.Errorf("%s: AVENIR_NATS_URL = %q", name, got)
		}
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "nats-creds" })
		if i < 0 || spec.Volumes[i].Secret.SecretName != "nats-creds" ||
			len(spec.Volumes[i].Secret.Items) != 1 || spec.Volumes[i].Secret.Items[0].Key != name+".creds" {
			t.Errorf("%s: credentials volume %+v", name, spec.Volumes)
		}
	}
}

// The schema refuses what the chart would otherwise silently ignore or
// render wrong.
func TestChartSchemaRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals string
		want string // in the error
	}{
		{"unknown service", "services:\n  billing: {enabled: true, replicas: 1}\n", "billing"},
		{"unknown service field", "services:\n  intake: {enabled: true, replicas: 1, replica: 2}\n", "replica"},
		{"replicas of the wrong type", "services:\n  pathway: {enabled: true, replicas: \"three\"}\n", "replicas"},
		{"negative replicas", "services:\n  funding: {enabled: true, replicas: -1}\n", "replicas"},
		{"unknown top-level key", "oidcIssuer: https://login.example.fr\n", "oidcIssuer"},
		{"stream replicas 2", "nats:\n  replicas: 2\n", "replicas"},
		{"plain http issuer", "oidc:\n  issuer: http://login.example.fr/realms/avenir\n", "issuer"},
		{"unknown auth type", "nats:\n  auth: {type: token}\n", "type"},
		{"writable root filesystem", "securityContext:\n  readOnlyRootFilesystem: false\n", "readOnlyRootFilesystem"},
		{"bad log level", "config:\n  logLevel: verbose\n", "logLevel"},
		{"env var without a name", "services:\n  needs: {enabled: true, replicas: 1, env: [{value: x}]}\n", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := chartutil.ReadValues([]byte(tc.vals))
			if err != nil {
				t.Fatal(err)
			}
			_, err = render(t, vals)
			if err == nil {
				t.Fatalf("values accepted:\n%s", tc.vals)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not blame the schema and %q: %v", tc.want, err)
			}
		})
	}
}

// The values files of the repository validate against the schema on their
// own (so does values.yaml, as the defaults of every render above).
func TestChartValuesFilesValidate(t *testing.T) {
	c := loadChart(t)
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci values files: %v", err)
	}
	for _, f := range append(files, filepath.Join(chartDir, "values.yaml")) {
		vals, err := chartutil.CoalesceValues(c, readValues(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := chartutil.ValidateAgainstSchema(c, vals); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(chartDir, "charts")); err == nil {
		t.Error("charts/avenir/charts exists: dependency charts are fetched by `helm dependency build`, not committed")
	}
}

// checkServices checks that each service has its Deployment and Service,
// with the replicas wanted, probes and a hardened security context.
func checkServices(t *testing.T, m *manifests, replicas map[string]int32) {
	t.Helper()
	if len(m.deployments) != len(replicas) || len(m.services) != len(replicas) {
		t.Errorf("%d Deployments and %d Services for %d services: %v %v", len(m.deployments), len(m.services),
			len(replicas), slices.Sorted(maps.Keys(m.deployments)), slices.Sorted(maps.Keys(m.services)))
	}
	for _, name := range serviceNames {
		d := m.deployments["avenir-"+name]
		if d == nil {
			t.Errorf("%s: no Deployment avenir-%s", name, name)
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas[name] {
			t.Errorf("%s: replicas %v, want %d", name, d.Spec.Replicas, replicas[name])
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Errorf("%s: rolling update must keep every pod until its successor is ready (maxUnavailable 0): %+v", name, ru)
		}
		sel := d.Spec.Selector.MatchLabels
		if sel["app.kubernetes.io/component"] != name {
			t.Errorf("%s: selector %v", name, sel)
		}
		pod := d.Spec.Template
		for k, v := range sel {
			if pod.Labels[k] != v {
				t.Errorf("%s: pod label %s = %q, selector wants %q", name, k, pod.Labels[k], v)
			}
		}
		checkPod(t, name, pod.Spec)

		s := m.services["avenir-"+name]
		if s == nil {
			t.Errorf("%s: no Service avenir-%s", name, name)
			continue
		}
		if !maps.Equal(s.Spec.Selector, sel) {
			t.Errorf("%s: Service selector %v, Deployment selector %v", name, s.Spec.Selector, sel)
		}
		ports := map[string]int32{}
		for _, p := range s.Spec.Ports {
			ports[p.Name] = p.Port
		}
		if !maps.Equal(ports, map[string]int32{"grpc": 50051, "admin": 9464}) {
			t.Errorf("%s: Service ports %v", name, ports)
		}
	}
}

func checkPod(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if want := []string{"server", "--services=" + name}; !slices.Equal(c.Args, want) {
		t.Errorf("%s: args %q, want %q", name, c.Args, want)
	}
	if c.Command != nil {
		t.Errorf("%s: command %q overrides the image's entrypoint", name, c.Command)
	}
	for probeName, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != 50051 {
			t.Errorf("%s: %s probe is not a gRPC health check on 50051: %+v", name, probeName, p)
		}
	}
	if len(c.Ports) != 2 {
		t.Errorf("%s: container ports %+v", name, c.Ports)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", name, c.Resources)
	}
	if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.ConfigMapRef != nil && e.ConfigMapRef.Name == "avenir-config"
	}) {
		t.Errorf("%s: the shared ConfigMap is not in envFrom", name)
	}
	if got := env(t, c, "OTEL_SERVICE_NAME").Value; got != "avenir-"+name {
		t.Errorf("%s: OTEL_SERVICE_NAME = %q", name, got)
	}

	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no container securityContext", name)
	case !isTrue(sc.RunAsNonRoot), sc.RunAsUser == nil || *sc.RunAsUser == 0,
		!isTrue(sc.ReadOnlyRootFilesystem),
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
		isTrue(sc.Privileged),
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0,
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		b, _ := json.Marshal(sc)
		t.Errorf("%s: container securityContext not hardened: %s", name, b)
	}
	psc := spec.SecurityContext
	if psc == nil || !isTrue(psc.RunAsNonRoot) || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext not hardened: %+v", name, psc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the pod mounts a service account token", name)
	}
	// A read-only root filesystem: /tmp is a (bounded) emptyDir.
	if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/tmp" }) ||
		!slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "tmp" && v.EmptyDir != nil }) {
		t.Errorf("%s: no emptyDir on /tmp", name)
	}
}

func env(t *testing.T, c corev1.Container, name string) corev1.EnvVar {
	t.Helper()
	var found []corev1.EnvVar
	for _, e := range c.Env {
		if e.Name == name {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Errorf("container %s: %d env vars %s", c.Name, len(found), name)
		return corev1.EnvVar{}
	}
	return found[0]
}

func isTrue(b *bool) bool { return b != nil && *b }

// helm lint: Chart.yaml, values, templates, schema (the dependencies are
// not fetched, so their absence is the one message tolerated).
func TestChartLint(t *testing.T) {
	for _, vals := range []map[string]any{nil, readValues(t, filepath.Join(chartDir, "ci", "production-values.yaml"))} {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "avenir"
		res := lint.Run([]string{chartDir}, vals)
		for _, m := range res.Messages {
			switch {
			case m.Severity < support.WarningSev:
				t.Logf("helm lint: %s", m)
			case strings.Contains(m.Err.Error(), "missing these dependencies: nats,redis"):
			default:
				t.Errorf("helm lint: %s", m)
			}
		}
	}
}
