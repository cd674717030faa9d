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
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/avenir"

// serviceNames are the seven avenir services, each of which must get its
// Deployment and Service.
var serviceNames = []string{"intake", "pathway", "needs", "referent", "immersion", "funding", "notify"}

// manifests is a rendered release, decoded.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        map[string]*policyv1.PodDisruptionBudget
	accounts    map[string]*corev1.ServiceAccount
	jobs        map[string]*batchv1.Job
	ingresses   map[string]*networkingv1.Ingress
	// hooks are the objects rendered as Helm hooks, by name, with their
	// helm.sh/hook annotation.
	hooks map[string]string
	notes string
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
	return renderChart(t, vals, false)
}

// renderChart is render, optionally skipping the schema (as
// `helm install --skip-schema-validation` does): the templates must then
// still refuse what the schema would.
func renderChart(t *testing.T, vals map[string]any, skipSchema bool) (*manifests, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.SkipSchemaValidation = skipSchema
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
		jobs:        map[string]*batchv1.Job{},
		ingresses:   map[string]*networkingv1.Ingress{},
		hooks:       map[string]string{},
		notes:       rel.Info.Notes,
	}
	docs := releaseutil.SplitManifests(rel.Manifest)
	for _, h := range rel.Hooks {
		docs["hook-"+h.Path] = h.Manifest
	}
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[key]
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("manifest %s: %v\n%s", key, err, doc)
		}
		name := head.Metadata.Name
		if strings.HasPrefix(key, "hook-") {
			m.hooks[name] = head.Metadata.Annotations["helm.sh/hook"]
		}
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
		case "batch/v1 Job":
			j := &batchv1.Job{}
			m.jobs[name], into = j, j
		case "networking.k8s.io/v1 Ingress":
			i := &networkingv1.Ingress{}
			m.ingresses[name], into = i, i
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

// testMasterKeySecret is the existing Secret holding the master key that
// keyed gives a render whose values name none.
const testMasterKeySecret = "avenir-master-key"

// The console's address and client id that keyed gives a render whose
// values name none.
const (
	testConsoleURL      = "https://avenir.example.fr"
	testConsoleClientID = "avenir-console"
)

// keyed returns vals with masterKey.existingSecret set to
// testMasterKeySecret when vals has no masterKey, and console.url and
// console.oidcClientId set to testConsoleURL and testConsoleClientID when
// vals has no console: every installation chooses them (the console is
// enabled by default), and most tests are about something else.
func keyed(vals map[string]any) map[string]any {
	out := maps.Clone(vals)
	if out == nil {
		out = map[string]any{}
	}
	if _, ok := out["masterKey"]; !ok {
		out["masterKey"] = map[string]any{"existingSecret": testMasterKeySecret}
	}
	if _, ok := out["console"]; !ok {
		out["console"] = testConsole()
	}
	return out
}

// testConsole is the console's values keyed adds: its address and client
// id, required with console.enabled.
func testConsole() map[string]any {
	return map[string]any{"url": testConsoleURL, "oidcClientId": testConsoleClientID}
}

// mustRender renders keyed(vals) and fails the test on an error.
func mustRender(t *testing.T, vals map[string]any) *manifests {
	t.Helper()
	m, err := render(t, keyed(vals))
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
	checkConsole(t, m, 1)
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
	checkMasterKey(t, m, testMasterKeySecret, "master-key")
	// No passwords given: the chart creates no Secret, the pods read the one
	// the operator creates, and the notes say so.
	if len(m.secrets) != 0 {
		t.Errorf("Secrets rendered without passwords: %v", slices.Sorted(maps.Keys(m.secrets)))
	}
	for _, s := range []string{"oidc.issuer is empty", "avenir-nats", "intake-password", "admin-password", "avenir-streams"} {
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

	// The streams Job: `avenir streams ensure` as the admin identity, a hook
	// before install and upgrade, its settings inline (the ConfigMap does
	// not exist yet when it runs).
	job := checkStreamsJob(t, m, "avenir-streams")
	jc := job.Spec.Template.Spec.Containers[0]
	if got, want := env(t, jc, "AVENIR_NATS_URL").Value, "nats://admin:$(NATS_PASSWORD)@nats:4222"; got != want {
		t.Errorf("streams Job: AVENIR_NATS_URL = %q, want %q", got, want)
	}
	if ref := env(t, jc, "NATS_PASSWORD").ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
		ref.SecretKeyRef.Name != "avenir-nats" || ref.SecretKeyRef.Key != "admin-password" {
		t.Errorf("streams Job: NATS_PASSWORD not from Secret avenir-nats key admin-password: %+v", ref)
	}
	if slices.IndexFunc(jc.Env, func(e corev1.EnvVar) bool { return e.Name == "NATS_PASSWORD" }) >
		slices.IndexFunc(jc.Env, func(e corev1.EnvVar) bool { return e.Name == "AVENIR_NATS_URL" }) {
		t.Error("streams Job: NATS_PASSWORD must come before AVENIR_NATS_URL")
	}
	for k, v := range map[string]string{"AVENIR_REPLICAS": "3", "AVENIR_STREAM_MAX_BYTES": "8589934592", "AVENIR_TIMEOUT": "580s"} {
		if got := env(t, jc, k).Value; got != v {
			t.Errorf("streams Job: %s = %q, want %q", k, got, v)
		}
	}
}

// checkStreamsJob checks the streams Job: a pre-install and pre-upgrade
// hook running `avenir streams ensure` once, hardened like the services.
func checkStreamsJob(t *testing.T, m *manifests, name string) *batchv1.Job {
	t.Helper()
	job := m.jobs[name]
	if job == nil {
		t.Fatalf("no Job %s; have %v", name, slices.Sorted(maps.Keys(m.jobs)))
	}
	if hook := m.hooks[name]; hook != "pre-install,pre-upgrade" {
		t.Errorf("Job %s: hook %q, want pre-install,pre-upgrade", name, hook)
	}
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || !slices.Equal(spec.Containers[0].Args, []string{"streams", "ensure"}) {
		t.Fatalf("Job %s: containers %+v", name, spec.Containers)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever || job.Spec.ActiveDeadlineSeconds == nil || job.Spec.BackoffLimit == nil {
		t.Errorf("Job %s: restart policy %q, deadline %v, backoff limit %v", name, spec.RestartPolicy, job.Spec.ActiveDeadlineSeconds, job.Spec.BackoffLimit)
	}
	// Hooks run before the release's ServiceAccount exists.
	if spec.ServiceAccountName != "" || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("Job %s: service account %q, automount %v", name, spec.ServiceAccountName, spec.AutomountServiceAccountToken)
	}
	c := spec.Containers[0]
	if len(c.EnvFrom) != 0 {
		t.Errorf("Job %s: envFrom %+v: a hook runs before the ConfigMap exists", name, c.EnvFrom)
	}
	if sc := c.SecurityContext; sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) || !isTrue(sc.RunAsNonRoot) ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("Job %s: container securityContext not hardened: %+v", name, sc)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("Job %s: no memory limit", name)
	}
	return job
}

func TestChartProductionValues(t *testing.T) {
	m := mustRender(t, readValues(t, filepath.Join(chartDir, "ci", "production-values.yaml")))
	checkServices(t, m, map[string]int32{
		"intake": 2, "pathway": 3, "needs": 2, "referent": 2, "immersion": 2, "funding": 3, "notify": 2,
	})
	checkConsole(t, m, 2)
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
	checkMasterKey(t, m, "avenir-master-key", "masterkey")
	job := checkStreamsJob(t, m, "avenir-streams")
	jc := job.Spec.Template.Spec.Containers[0]
	if url := env(t, jc, "AVENIR_NATS_URL").Value; strings.Count(url, "tls://admin:$(NATS_PASSWORD)@nats-") != 3 {
		t.Errorf("streams Job: AVENIR_NATS_URL %q: want 3 TLS servers with the admin user", url)
	}
	if got := env(t, jc, "AVENIR_NATS_CA").Value; got != "/etc/avenir/nats-tls/ca.crt" {
		t.Errorf("streams Job: AVENIR_NATS_CA = %q", got)
	}
	if !slices.ContainsFunc(job.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Secret != nil && v.Secret.SecretName == "avenir-nats-ca"
	}) {
		t.Error("streams Job: the NATS CA Secret is not mounted")
	}
	if ref := env(t, jc, "NATS_PASSWORD").ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
		ref.SecretKeyRef.Name != "avenir-nats-passwords" || ref.SecretKeyRef.Key != "admin-password" {
		t.Errorf("streams Job: NATS_PASSWORD %+v", ref)
	}
	if got := env(t, jc, "AVENIR_STREAM_MAX_BYTES").Value; got != "68719476736" {
		t.Errorf("streams Job: AVENIR_STREAM_MAX_BYTES = %q", got)
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
	pw := map[string]any{"admin": "pw-admin"}
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
	if got := s.StringData["admin-password"]; got != "pw-admin" {
		t.Errorf("Secret admin-password = %q", got)
	}
	// The streams Job, a hook, runs before the release's objects exist: the
	// Secret it reads is a hook created before it.
	if m.hooks["avenir-nats"] != "pre-install,pre-upgrade" {
		t.Errorf("Secret avenir-nats: hook %q, want pre-install,pre-upgrade", m.hooks["avenir-nats"])
	}
	checkStreamsJob(t, m, "avenir-streams")
	if _, ok := m.deployments["avenir-needs"]; ok {
		t.Error("Deployment of the disabled service needs")
	}
	// The enabled services (all but needs) and the console.
	if n := len(serviceNames); len(m.deployments) != n || len(m.services) != n {
		t.Errorf("%d Deployments and %d Services, want %d each", len(m.deployments), len(m.services), n)
	}
	if strings.Contains(m.notes, "WARNING") {
		t.Errorf("NOTES.txt warns although issuer and passwords are set:\n%s", m.notes)
	}
}

// Credentials files (creds) and NKey seed files (nkey): each pod mounts its
// own identity's file only, the streams Job admin's.
func TestChartCredsFiles(t *testing.T) {
	for _, tc := range []struct{ auth, variable, suffix string }{
		{"creds", "AVENIR_NATS_CREDS", ".creds"},
		{"nkey", "AVENIR_NATS_NKEY", ".nk"},
	} {
		m := mustRender(t, map[string]any{"nats": map[string]any{"auth": map[string]any{"type": tc.auth, "existingSecret": "nats-creds"}}})
		check := func(identity string, spec corev1.PodSpec) {
			t.Helper()
			c := spec.Containers[0]
			if got := env(t, c, tc.variable).Value; got != "/etc/avenir/nats-creds/"+identity+tc.suffix {
				t.Errorf("%s %s: %s = %q", tc.auth, identity, tc.variable, got)
			}
			if got := env(t, c, "AVENIR_NATS_URL").Value; got != "nats://nats:4222" {
				t.Errorf("%s %s: AVENIR_NATS_URL = %q", tc.auth, identity, got)
			}
			i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "nats-creds" })
			if i < 0 || spec.Volumes[i].Secret.SecretName != "nats-creds" ||
				len(spec.Volumes[i].Secret.Items) != 1 || spec.Volumes[i].Secret.Items[0].Key != identity+tc.suffix {
				t.Errorf("%s %s: credentials volume %+v", tc.auth, identity, spec.Volumes)
			}
			if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.Name == "nats-creds" }) {
				t.Errorf("%s %s: credentials not mounted", tc.auth, identity)
			}
		}
		for _, name := range serviceNames {
			check(name, m.deployments["avenir-"+name].Spec.Template.Spec)
		}
		check("admin", checkStreamsJob(t, m, "avenir-streams").Spec.Template.Spec)
		checkConsole(t, m, 1)
		if len(m.secrets) != 0 {
			t.Errorf("%s: Secrets rendered: %v", tc.auth, slices.Sorted(maps.Keys(m.secrets)))
		}
	}
}

// Without the streams Job, nothing is a hook and no admin password is
// needed; the notes say to run the command.
func TestChartWithoutStreamsJob(t *testing.T) {
	pw := map[string]any{}
	for _, name := range serviceNames {
		pw[name] = "pw-" + name
	}
	m := mustRender(t, map[string]any{
		"nats":       map[string]any{"auth": map[string]any{"passwords": pw}},
		"streamsJob": map[string]any{"enabled": false},
	})
	if len(m.jobs) != 0 || len(m.hooks) != 0 {
		t.Errorf("Jobs %v, hooks %v", slices.Sorted(maps.Keys(m.jobs)), m.hooks)
	}
	if s := m.secrets["avenir-nats"]; s == nil || s.StringData["admin-password"] != "" {
		t.Errorf("Secret avenir-nats %+v", s)
	}
	if !strings.Contains(m.notes, "avenir streams ensure") {
		t.Errorf("NOTES.txt does not say to ensure the streams:\n%s", m.notes)
	}
	// With the Job, passwords without admin's are refused.
	if _, err := render(t, keyed(map[string]any{"nats": map[string]any{"auth": map[string]any{"passwords": pw}}})); err == nil ||
		!strings.Contains(err.Error(), "nats.auth.passwords.admin") {
		t.Errorf("passwords without admin's: %v", err)
	}
}

// checkMasterKey checks that every service's container reads
// AVENIR_MASTER_KEY from the Secret secret, key key (the same for all of
// them), that no ConfigMap carries it, that the streams Job (which needs no
// master key) does not get it, and that the notes say to back it up apart
// from the streams.
func checkMasterKey(t *testing.T, m *manifests, secret, key string) {
	t.Helper()
	if len(m.deployments) == 0 {
		t.Fatal("no Deployment rendered")
	}
	for name, d := range m.deployments {
		if name == "avenir-console" {
			// It has no master key (checkConsole checks it gets none).
			continue
		}
		e := env(t, d.Spec.Template.Spec.Containers[0], "AVENIR_MASTER_KEY")
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("%s: AVENIR_MASTER_KEY %+v, want it from Secret %s key %s", name, e, secret, key)
		}
	}
	for name, cm := range m.configMaps {
		for k, v := range cm.Data {
			if strings.Contains(k, "MASTER_KEY") || strings.Contains(v, "MASTER_KEY") {
				t.Errorf("ConfigMap %s carries the master key: %s", name, k)
			}
		}
	}
	for name, j := range m.jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "AVENIR_MASTER_KEY" }) {
				t.Errorf("Job %s gets the master key, which it does not need", name)
			}
		}
	}
	for _, s := range []string{"Master key", secret, "apart from the streams", "docs/operations/backups.md"} {
		if !strings.Contains(m.notes, s) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", s, m.notes)
		}
	}
}

// A master key given in the values: the chart creates its Secret, kept on
// uninstall, and the key appears nowhere else.
func TestChartMasterKeyValue(t *testing.T) {
	key := strings.Repeat("0123456789abcdef", 4)
	m := mustRender(t, map[string]any{"masterKey": map[string]any{"value": key}})
	s := m.secrets["avenir-master-key"]
	if s == nil {
		t.Fatalf("no Secret avenir-master-key; have %v", slices.Sorted(maps.Keys(m.secrets)))
	}
	if got := s.StringData["master-key"]; got != key {
		t.Errorf("Secret avenir-master-key: master-key = %q", got)
	}
	if got := s.Annotations["helm.sh/resource-policy"]; got != "keep" {
		t.Errorf("Secret avenir-master-key: resource policy %q, want keep (uninstall must not lose the key)", got)
	}
	if _, ok := m.hooks["avenir-master-key"]; ok {
		t.Error("Secret avenir-master-key is a hook")
	}
	checkMasterKey(t, m, "avenir-master-key", "master-key")
	for name, obj := range map[string]any{"ConfigMaps": m.configMaps, "Deployments": m.deployments, "Jobs": m.jobs, "NOTES.txt": m.notes} {
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), key) {
			t.Errorf("the master key appears in the %s", name)
		}
	}
}

// Without a master key the chart does not render: the schema refuses it,
// and so do the templates when the schema is skipped.
func TestChartMasterKeyRequired(t *testing.T) {
	if _, err := render(t, nil); err == nil || !strings.Contains(err.Error(), "masterKey") {
		t.Errorf("no master key: %v, want the schema to require masterKey", err)
	}
	key := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		mk   map[string]any
		want string
	}{
		{"none", nil, "masterKey.existingSecret (recommended) or masterKey.value is required"},
		{"both", map[string]any{"existingSecret": "avenir-master-key", "value": key}, "not both"},
		{"short", map[string]any{"value": key[:62]}, "64 hex characters"},
		{"not hex", map[string]any{"value": strings.Repeat("g", 64)}, "64 hex characters"},
	} {
		vals := map[string]any{"console": testConsole()}
		if tc.mk != nil {
			vals["masterKey"] = tc.mk
		}
		if _, err := renderChart(t, vals, true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, schema skipped: %v, want %q", tc.name, err, tc.want)
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
		{"no master key", "masterKey: {existingSecret: \"\", value: \"\"}\n", "masterKey"},
		{"master key twice", "masterKey: {existingSecret: avenir-master-key, value: " + strings.Repeat("ab", 32) + "}\n", "masterKey"},
		{"short master key", "masterKey: {value: " + strings.Repeat("ab", 16) + "}\n", "value"},
		{"master key not hex", "masterKey: {value: " + strings.Repeat("zz", 32) + "}\n", "value"},
		{"master key secret without a key", "masterKey: {existingSecret: avenir-master-key, existingSecretKey: \"\"}\n", "existingSecretKey"},
		{"unknown console key", "console: {url: https://avenir.example.fr, oidcClientId: c, sessionStore: redis}\n", "sessionStore"},
		{"console as a service", "services:\n  console: {enabled: true, replicas: 1}\n", "console"},
		{"unknown console ingress key", "console: {url: https://avenir.example.fr, oidcClientId: c, ingress: {enabled: true, path: /console}}\n", "path"},
		{"unknown console secret key", "console: {url: https://avenir.example.fr, oidcClientId: c, oidcClientSecret: {value: s3cret}}\n", "value"},
		{"console url with a path", "console: {url: https://avenir.example.fr/console, oidcClientId: c}\n", "url"},
		{"console url plain http", "console: {url: http://avenir.example.fr, oidcClientId: c}\n", "url"},
		{"console idle timeout", "console: {url: https://avenir.example.fr, oidcClientId: c, idleTimeout: 30}\n", "idleTimeout"},
		{"console negative replicas", "console: {url: https://avenir.example.fr, oidcClientId: c, replicas: -1}\n", "replicas"},
		{"console enabled missing", "console: {enabled: null}\n", "enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := chartutil.ReadValues([]byte(tc.vals))
			if err != nil {
				t.Fatal(err)
			}
			_, err = render(t, keyed(vals))
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
	for _, f := range files {
		vals, err := chartutil.CoalesceValues(c, readValues(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := chartutil.ValidateAgainstSchema(c, vals); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// values.yaml names no master key on purpose (an installation must
	// choose it): it validates once one is given, and is refused without.
	defaults := filepath.Join(chartDir, "values.yaml")
	for _, withKey := range []bool{true, false} {
		v := readValues(t, defaults)
		if withKey {
			v["masterKey"] = map[string]any{"existingSecret": testMasterKeySecret}
		}
		vals, err := chartutil.CoalesceValues(c, v)
		if err != nil {
			t.Fatal(err)
		}
		err = chartutil.ValidateAgainstSchema(c, vals)
		switch {
		case withKey && err != nil:
			t.Errorf("%s with a master key: %v", defaults, err)
		case !withKey && (err == nil || !strings.Contains(err.Error(), "masterKey")):
			t.Errorf("%s without a master key: %v, want the schema to require masterKey", defaults, err)
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
	// The console, checked by checkConsole, aside.
	consoles := 0
	if _, ok := m.deployments["avenir-console"]; ok {
		consoles = 1
	}
	if len(m.deployments) != len(replicas)+consoles || len(m.services) != len(replicas)+consoles {
		t.Errorf("%d Deployments and %d Services for %d services and %d console: %v %v", len(m.deployments), len(m.services),
			len(replicas), consoles, slices.Sorted(maps.Keys(m.deployments)), slices.Sorted(maps.Keys(m.services)))
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
	want := []string{"server", "--services=" + name}
	if name == "notify" {
		// notify reads learners' addresses from the release's intake, and
		// links to the console when its address is known.
		want = append(want, "--notify-intake-addr=avenir-intake:50051")
		if len(c.Args) == 4 {
			want = append(want, "--console-url="+testConsoleURL)
		}
	}
	if !slices.Equal(c.Args, want) {
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
	checkHardened(t, name, spec)
}

// checkHardened checks the pod's and its container's security contexts, no
// service account token, and the bounded /tmp of a read-only root
// filesystem.
func checkHardened(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	c := spec.Containers[0]
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
	for _, vals := range []map[string]any{keyed(nil), readValues(t, filepath.Join(chartDir, "ci", "production-values.yaml"))} {
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

// consoleConfigKeys are the keys of the shared ConfigMap the console reads:
// not the Redis URL nor the NATS settings.
var consoleConfigKeys = []string{
	"AVENIR_ADMIN_ADDR", "AVENIR_OIDC_ISSUER", "AVENIR_AUDIENCE", "AVENIR_LOG_LEVEL",
	"AVENIR_LOG_FORMAT", "AVENIR_SHUTDOWN_TIMEOUT", "OTEL_EXPORTER_OTLP_ENDPOINT",
}

// checkConsole checks the web console's Deployment and Service: `avenir
// server --services=console` calling the enabled services (those with a
// Deployment), HTTP probes on the admin port, hardened like the services,
// no NATS identity, no Redis, no master key, only the ConfigMap keys it
// needs, a disruption budget past one replica. It returns the container.
func checkConsole(t *testing.T, m *manifests, replicas int32) corev1.Container {
	t.Helper()
	d := m.deployments["avenir-console"]
	if d == nil {
		t.Fatalf("no Deployment avenir-console; have %v", slices.Sorted(maps.Keys(m.deployments)))
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("console: replicas %v, want %d", d.Spec.Replicas, replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("console: rolling update %+v, want maxUnavailable 0", ru)
	}
	sel := d.Spec.Selector.MatchLabels
	if sel["app.kubernetes.io/component"] != "console" {
		t.Errorf("console: selector %v", sel)
	}
	for k, v := range sel {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("console: pod label %s = %q, selector wants %q", k, d.Spec.Template.Labels[k], v)
		}
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("console: %d containers", len(spec.Containers))
	}
	checkHardened(t, "console", spec)
	c := spec.Containers[0]
	if c.Command != nil {
		t.Errorf("console: command %q overrides the image's entrypoint", c.Command)
	}
	if want := []string{"server", "--services=console", "--console-addr=0.0.0.0:8080"}; len(c.Args) < 3 || !slices.Equal(c.Args[:3], want) {
		t.Errorf("console: args %q, want them to start with %q", c.Args, want)
	}
	var ups []string
	for _, name := range serviceNames {
		if _, ok := m.deployments["avenir-"+name]; ok {
			ups = append(ups, name+"=avenir-"+name+":50051")
		}
	}
	if want := "--console-upstreams=" + strings.Join(ups, ","); !slices.Contains(c.Args, want) {
		t.Errorf("console: args %q lack %s", c.Args, want)
	}
	for _, flag := range []string{"--console-url=https://", "--console-oidc-client-id=", "--console-idle-timeout="} {
		if !slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, flag) && len(a) > len(flag) }) {
			t.Errorf("console: args %q lack %s...", c.Args, flag)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if !maps.Equal(ports, map[string]int32{"http": 8080, "admin": 9464}) {
		t.Errorf("console: container ports %v", ports)
	}
	for probeName, tc := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}} {
		if tc.p == nil || tc.p.HTTPGet == nil || tc.p.HTTPGet.Path != tc.path || tc.p.HTTPGet.Port.String() != "admin" {
			t.Errorf("console: %s probe %+v, want GET %s on the admin port", probeName, tc.p, tc.path)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("console: resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	// Nothing of NATS, Redis nor the master key: no envFrom of the whole
	// ConfigMap, only the keys it needs, and no Secret but its client's.
	if len(c.EnvFrom) != 0 {
		t.Errorf("console: envFrom %+v: it reads only the ConfigMap keys it needs", c.EnvFrom)
	}
	cm := m.configMaps["avenir-config"]
	for _, e := range c.Env {
		switch {
		case e.Name == "NATS_PASSWORD", strings.HasPrefix(e.Name, "AVENIR_NATS"), strings.HasPrefix(e.Name, "AVENIR_REDIS"),
			e.Name == "AVENIR_MASTER_KEY", e.Name == "AVENIR_MASTER_KEY_FILE":
			t.Errorf("console: gets %s, which it does not need", e.Name)
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Name != "AVENIR_CONSOLE_OIDC_CLIENT_SECRET":
			t.Errorf("console: %s from Secret %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if ref.Name != "avenir-config" || ref.Key != e.Name || !slices.Contains(consoleConfigKeys, ref.Key) {
				t.Errorf("console: %s from ConfigMap %s key %s", e.Name, ref.Name, ref.Key)
			}
			// A missing key would keep the pod from starting.
			if _, ok := cm.Data[ref.Key]; cm == nil || !ok {
				t.Errorf("console: %s from key %s, which the ConfigMap lacks", e.Name, ref.Key)
			}
		}
	}
	for _, k := range []string{"AVENIR_OIDC_ISSUER", "AVENIR_AUDIENCE", "AVENIR_ADMIN_ADDR"} {
		if ref := env(t, c, k).ValueFrom; ref == nil || ref.ConfigMapKeyRef == nil {
			t.Errorf("console: %s not from the shared ConfigMap", k)
		}
	}
	if got := env(t, c, "OTEL_SERVICE_NAME").Value; got != "avenir-console" {
		t.Errorf("console: OTEL_SERVICE_NAME = %q", got)
	}
	for _, v := range spec.Volumes {
		if v.Name != "tmp" {
			t.Errorf("console: volume %s (%+v): it mounts nothing but /tmp", v.Name, v.VolumeSource)
		}
	}

	s := m.services["avenir-console"]
	if s == nil {
		t.Fatal("no Service avenir-console")
	}
	if !maps.Equal(s.Spec.Selector, sel) {
		t.Errorf("console: Service selector %v, Deployment selector %v", s.Spec.Selector, sel)
	}
	sports := map[string]string{}
	for _, p := range s.Spec.Ports {
		sports[p.Name] = fmt.Sprintf("%d->%s", p.Port, p.TargetPort.String())
	}
	if !maps.Equal(sports, map[string]string{"http": "8080->http", "admin": "9464->admin"}) {
		t.Errorf("console: Service ports %v", sports)
	}
	if _, ok := m.pdbs["avenir-console"]; ok != (replicas > 1) {
		t.Errorf("console: PodDisruptionBudget %v with %d replicas", ok, replicas)
	}
	for _, n := range []string{"Web console", "/connexion/retour", "sticky sessions"} {
		if !strings.Contains(m.notes, n) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", n, m.notes)
		}
	}
	return c
}

// The console by default: one replica calling the six services, a public
// client, no Ingress; the notes give its address and the redirect URI.
func TestChartConsole(t *testing.T) {
	m := mustRender(t, nil)
	c := checkConsole(t, m, 1)
	want := []string{
		"server", "--services=console", "--console-addr=0.0.0.0:8080",
		"--console-url=" + testConsoleURL,
		"--console-upstreams=intake=avenir-intake:50051,pathway=avenir-pathway:50051,needs=avenir-needs:50051," +
			"referent=avenir-referent:50051,immersion=avenir-immersion:50051,funding=avenir-funding:50051,notify=avenir-notify:50051",
		"--console-oidc-client-id=" + testConsoleClientID,
		"--console-idle-timeout=30m",
	}
	if !slices.Equal(c.Args, want) {
		t.Errorf("console: args\n%q\nwant\n%q", c.Args, want)
	}
	if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "AVENIR_CONSOLE_OIDC_CLIENT_SECRET" }) {
		t.Error("console: a client secret without console.oidcClientSecret.existingSecret")
	}
	if len(m.ingresses) != 0 {
		t.Errorf("Ingresses with console.ingress.enabled false: %v", slices.Sorted(maps.Keys(m.ingresses)))
	}
	for _, n := range []string{testConsoleURL + "/connexion/retour", "public client", "Past one replica"} {
		if !strings.Contains(m.notes, n) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", n, m.notes)
		}
	}
	// The NATS passwords Secret and the notes' commands name no console
	// identity: the console has none.
	pw := map[string]any{"admin": "pw-admin"}
	for _, name := range serviceNames {
		pw[name] = "pw-" + name
	}
	m = mustRender(t, map[string]any{"nats": map[string]any{"auth": map[string]any{"passwords": pw}}})
	if _, ok := m.secrets["avenir-nats"].StringData["console-password"]; ok || strings.Contains(m.notes, "console-password") {
		t.Error("a NATS password for the console, which has no NATS identity")
	}
	checkConsole(t, m, 1)
}

// Disabled, the console is not deployed and needs neither url nor client
// id; the services are unchanged.
func TestChartConsoleDisabled(t *testing.T) {
	m := mustRender(t, map[string]any{"console": map[string]any{"enabled": false}})
	for _, objs := range []map[string]bool{
		{"Deployment": m.deployments["avenir-console"] != nil},
		{"Service": m.services["avenir-console"] != nil},
		{"Ingress": len(m.ingresses) != 0},
		{"PodDisruptionBudget": m.pdbs["avenir-console"] != nil},
	} {
		for kind, found := range objs {
			if found {
				t.Errorf("console disabled: %s rendered", kind)
			}
		}
	}
	want := map[string]int32{}
	for _, name := range serviceNames {
		want[name] = 1
	}
	checkServices(t, m, want)
	if strings.Contains(m.notes, "Web console") || strings.Contains(m.notes, "and the console") {
		t.Errorf("NOTES.txt speaks of the disabled console:\n%s", m.notes)
	}
}

// The console calls the enabled services only; without any it refuses.
func TestChartConsoleUpstreams(t *testing.T) {
	m := mustRender(t, map[string]any{"services": map[string]any{
		"needs":   map[string]any{"enabled": false},
		"funding": map[string]any{"enabled": false},
	}})
	c := checkConsole(t, m, 1)
	want := "--console-upstreams=intake=avenir-intake:50051,pathway=avenir-pathway:50051,referent=avenir-referent:50051,immersion=avenir-immersion:50051,notify=avenir-notify:50051"
	if !slices.Contains(c.Args, want) {
		t.Errorf("console: args %q lack %s", c.Args, want)
	}
	none := map[string]any{}
	for _, name := range serviceNames {
		none[name] = map[string]any{"enabled": false}
	}
	if _, err := render(t, keyed(map[string]any{"services": none})); err == nil || !strings.Contains(err.Error(), "at least one enabled service") {
		t.Errorf("console without any service: %v", err)
	}
}

// The Ingress: the host of console.url (or console.ingress.host), its TLS
// Secret, class and annotations, to the Service's http port.
func TestChartConsoleIngress(t *testing.T) {
	for _, tc := range []struct {
		name, host, want string
	}{
		{"host of the url", "", "avenir.example.fr"},
		{"host given", "console.avenir.example.fr", "console.avenir.example.fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			console := testConsole()
			console["ingress"] = map[string]any{
				"enabled": true, "className": "nginx", "host": tc.host, "tlsSecret": "avenir-console-tls",
				"annotations": map[string]any{"nginx.ingress.kubernetes.io/affinity": "cookie"},
			}
			m := mustRender(t, map[string]any{"console": console})
			checkConsole(t, m, 1)
			ing := m.ingresses["avenir-console"]
			if ing == nil {
				t.Fatalf("no Ingress avenir-console; have %v", slices.Sorted(maps.Keys(m.ingresses)))
			}
			if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
				t.Errorf("Ingress class %v", ing.Spec.IngressClassName)
			}
			if ing.Annotations["nginx.ingress.kubernetes.io/affinity"] != "cookie" {
				t.Errorf("Ingress annotations %v", ing.Annotations)
			}
			if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "avenir-console-tls" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{tc.want}) {
				t.Errorf("Ingress TLS %+v, want %s for %s", ing.Spec.TLS, "avenir-console-tls", tc.want)
			}
			if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != tc.want || ing.Spec.Rules[0].HTTP == nil || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
				t.Fatalf("Ingress rules %+v", ing.Spec.Rules)
			}
			p := ing.Spec.Rules[0].HTTP.Paths[0]
			if p.Path != "/" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix ||
				p.Backend.Service == nil || p.Backend.Service.Name != "avenir-console" || p.Backend.Service.Port.Name != "http" {
				t.Errorf("Ingress path %+v", p)
			}
			if !strings.Contains(m.notes, "Ingress host "+tc.want) {
				t.Errorf("NOTES.txt does not name the Ingress host %s:\n%s", tc.want, m.notes)
			}
		})
	}
}

// The console's production settings (ci/production-values.yaml): two
// replicas behind cookie affinity, a confidential client.
func TestChartConsoleProduction(t *testing.T) {
	m := mustRender(t, readValues(t, filepath.Join(chartDir, "ci", "production-values.yaml")))
	c := checkConsole(t, m, 2)
	if ref := env(t, c, "AVENIR_CONSOLE_OIDC_CLIENT_SECRET").ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
		ref.SecretKeyRef.Name != "avenir-console-oidc" || ref.SecretKeyRef.Key != "client-secret" {
		t.Errorf("console: AVENIR_CONSOLE_OIDC_CLIENT_SECRET %+v, want it from Secret avenir-console-oidc key client-secret", ref)
	}
	for _, a := range []string{"--console-url=https://avenir.example.fr", "--console-oidc-client-id=avenir-console", "--console-idle-timeout=20m"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("console: args %q lack %s", c.Args, a)
		}
	}
	if ref := env(t, c, "OTEL_EXPORTER_OTLP_ENDPOINT").ValueFrom; ref == nil || ref.ConfigMapKeyRef == nil {
		t.Errorf("console: OTEL_EXPORTER_OTLP_ENDPOINT %+v", ref)
	}
	if got := c.Image; got != "registry.example.fr/avenir/avenir:1.4.2" {
		t.Errorf("console: image %q", got)
	}
	d := m.deployments["avenir-console"]
	if tsc := d.Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].LabelSelector == nil ||
		tsc[0].LabelSelector.MatchLabels["app.kubernetes.io/component"] != "console" {
		t.Errorf("console: topology spread constraint without the console's selector: %+v", tsc)
	}
	if ing := m.ingresses["avenir-console"]; ing == nil || ing.Annotations["nginx.ingress.kubernetes.io/affinity"] != "cookie" {
		t.Errorf("console: Ingress without cookie affinity: %+v", ing)
	}
	for _, n := range []string{"confidential client", "avenir-console-oidc", "2 replicas: route each browser to one pod with sticky sessions"} {
		if !strings.Contains(m.notes, n) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", n, m.notes)
		}
	}
}

// Enabled, the console needs its address and client id: the render fails
// with a message naming the value, schema or not (the console would refuse
// to start); plain http is for a loopback address only.
func TestChartConsoleRequired(t *testing.T) {
	for _, tc := range []struct {
		name    string
		console map[string]any
		want    string
	}{
		{"no url", map[string]any{"oidcClientId": "c"}, "console.url is required with console.enabled"},
		{"empty url", map[string]any{"url": "", "oidcClientId": "c"}, "console.url is required with console.enabled"},
		{"no client id", map[string]any{"url": testConsoleURL}, "console.oidcClientId is required with console.enabled"},
	} {
		for _, skip := range []bool{false, true} {
			if _, err := renderChart(t, keyed(map[string]any{"console": tc.console}), skip); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (schema skipped %v): %v, want %q", tc.name, skip, err, tc.want)
			}
		}
	}
	for _, url := range []string{"http://avenir.example.fr", "https://avenir.example.fr/console", "ftp://avenir.example.fr"} {
		_, err := renderChart(t, keyed(map[string]any{"console": map[string]any{"url": url, "oidcClientId": "c"}}), true)
		if err == nil || !strings.Contains(err.Error(), "plain http only on a loopback address") {
			t.Errorf("console.url %s, schema skipped: %v", url, err)
		}
	}
	// A loopback address (kubectl port-forward) may be plain http; a
	// trailing slash is dropped.
	for url, want := range map[string]string{"http://localhost:8080": "http://localhost:8080", "https://avenir.example.fr/": testConsoleURL} {
		m := mustRender(t, map[string]any{"console": map[string]any{"url": url, "oidcClientId": "c"}})
		if c := m.deployments["avenir-console"].Spec.Template.Spec.Containers[0]; !slices.Contains(c.Args, "--console-url="+want) {
			t.Errorf("console.url %s: args %q", url, c.Args)
		}
	}
}
