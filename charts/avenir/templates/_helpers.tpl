{{/* The services, in the order of the README, then notify. */}}
{{- define "avenir.serviceNames" -}}
intake pathway needs referent immersion funding notify
{{- end }}

{{/* Chart name. */}}
{{- define "avenir.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-avenir, or the release name when it already says avenir.
Kept short enough for a "-<service>" suffix (63 characters at most). */}}
{{- define "avenir.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "avenir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "avenir.labels" -}}
app.kubernetes.io/name: {{ include "avenir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "avenir.commonLabels" . }}
{{- end }}

{{/* Labels of every object but the selector ones. */}}
{{- define "avenir.commonLabels" -}}
helm.sh/chart: {{ include "avenir.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: avenir
{{- end }}

{{/* Selector labels of one service: dict "root" $ "name" <service>. */}}
{{- define "avenir.selectorLabels" -}}
app.kubernetes.io/name: {{ include "avenir.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "avenir.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "avenir.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "avenir.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "avenir.configName" -}}
{{- include "avenir.fullname" . }}-config
{{- end }}

{{- define "avenir.natsSecretName" -}}
{{- default (printf "%s-nats" (include "avenir.fullname" .)) .Values.nats.auth.existingSecret }}
{{- end }}

{{/* Comma-separated NATS server URLs, without credentials. */}}
{{- define "avenir.natsServers" -}}
{{- if .Values.nats.url }}
{{- .Values.nats.url }}
{{- else if .Values.nats.enabled }}
{{- printf "nats://%s-nats:4222" .Release.Name }}
{{- else }}
{{- fail "nats.url is required when nats.enabled is false" }}
{{- end }}
{{- end }}

{{/* The NATS URL of one service: dict "root" $ "name" <service>. With password
authentication, each server URL carries the service's user and
$(NATS_PASSWORD), which Kubernetes expands from the variable of that name
defined before AVENIR_NATS_URL in the container's env. */}}
{{- define "avenir.natsURL" -}}
{{- $servers := include "avenir.natsServers" .root }}
{{- if eq .root.Values.nats.auth.type "password" }}
{{- $urls := list }}
{{- range splitList "," $servers }}
{{- $u := trim . }}
{{- if not (regexMatch "^(nats|tls)://[^@/]+$" $u) }}
{{- fail (printf "nats.url: %q is not nats://host:port or tls://host:port (no credentials, no path)" $u) }}
{{- end }}
{{- $urls = append $urls (regexReplaceAll "^(nats|tls)://" $u (printf "${1}://%s:$$(NATS_PASSWORD)@" $.name)) }}
{{- end }}
{{- join "," $urls }}
{{- else }}
{{- $servers }}
{{- end }}
{{- end }}

{{- define "avenir.redisURL" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if .Values.redis.enabled }}
{{- printf "redis://%s-redis-master:6379/0" .Release.Name }}
{{- else }}
{{- fail "redis.url (or redis.existingSecret) is required when redis.enabled is false" }}
{{- end }}
{{- end }}

{{/* The file name of an identity's credentials in the Secret, for the
creds and nkey auth types: dict "root" $ "name" <identity>. */}}
{{- define "avenir.natsCredsFile" -}}
{{- if eq .root.Values.nats.auth.type "creds" }}
{{- printf "%s.creds" .name }}
{{- else }}
{{- printf "%s.nk" .name }}
{{- end }}
{{- end }}

{{/* The container env connecting as one NATS identity (a service, or
admin): dict "root" $ "name" <identity>. With password authentication
NATS_PASSWORD comes first, for $(NATS_PASSWORD) in AVENIR_NATS_URL to
expand. */}}
{{- define "avenir.natsEnv" -}}
{{- $type := .root.Values.nats.auth.type }}
{{- if eq $type "password" }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "avenir.natsSecretName" .root }}
      key: {{ .name }}-password
{{- else if eq $type "creds" }}
- name: AVENIR_NATS_CREDS
  value: /etc/avenir/nats-creds/{{ include "avenir.natsCredsFile" . }}
{{- else if eq $type "nkey" }}
- name: AVENIR_NATS_NKEY
  value: /etc/avenir/nats-creds/{{ include "avenir.natsCredsFile" . }}
{{- end }}
- name: AVENIR_NATS_URL
  value: {{ include "avenir.natsURL" . | quote }}
{{- end }}

{{/* Whether the auth type mounts a credentials file. */}}
{{- define "avenir.natsCredsMounted" -}}
{{- if or (eq .Values.nats.auth.type "creds") (eq .Values.nats.auth.type "nkey") }}true{{ end }}
{{- end }}

{{/* The Secret holding the master key (docs/adr/0064): masterKey.existingSecret,
or <release>-avenir-master-key, which the chart creates from masterKey.value.
Exactly one of the two is required (values.schema.json says so too; this
also holds when the schema is skipped). */}}
{{- define "avenir.masterKeySecretName" -}}
{{- $mk := .Values.masterKey }}
{{- if and $mk.existingSecret $mk.value }}
{{- fail "masterKey: set existingSecret or value, not both" }}
{{- else if $mk.existingSecret }}
{{- $mk.existingSecret }}
{{- else if $mk.value }}
{{- if not (regexMatch "^[0-9a-fA-F]{64}$" $mk.value) }}
{{- fail "masterKey.value must be 64 hex characters (openssl rand -hex 32)" }}
{{- end }}
{{- printf "%s-master-key" (include "avenir.fullname" .) }}
{{- else }}
{{- fail "masterKey.existingSecret (recommended) or masterKey.value is required: the master key wrapping the learners' data keys, the same for every service (docs/operations/backups.md)" }}
{{- end }}
{{- end }}

{{/* The key of the master key in its Secret. */}}
{{- define "avenir.masterKeySecretKey" -}}
{{- if .Values.masterKey.existingSecret }}
{{- default "master-key" .Values.masterKey.existingSecretKey }}
{{- else }}
{{- print "master-key" }}
{{- end }}
{{- end }}

{{/* The container env carrying the master key, from its Secret: never in
the ConfigMap. */}}
{{- define "avenir.masterKeyEnv" -}}
- name: AVENIR_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "avenir.masterKeySecretName" . }}
      key: {{ include "avenir.masterKeySecretKey" . }}
{{- end }}

{{/* The console's --console-upstreams: service=<fullname>-<service>:<grpcPort>
for every enabled service (the console calls their gRPC APIs with the
user's token). The console itself is not in avenir.serviceNames: it has no
NATS identity, no stream and no master key. */}}
{{- define "avenir.consoleUpstreams" -}}
{{- $ups := list }}
{{- range $name := splitList " " (include "avenir.serviceNames" .) }}
{{- if (get $.Values.services $name).enabled }}
{{- $ups = append $ups (printf "%s=%s-%s:%d" $name (include "avenir.fullname" $) $name (int $.Values.service.grpcPort)) }}
{{- end }}
{{- end }}
{{- if not $ups }}
{{- fail "console.enabled needs at least one enabled service to call (services.<name>.enabled), or set console.enabled=false" }}
{{- end }}
{{- join "," $ups }}
{{- end }}

{{/* The console's public address (console.url), required with
console.enabled: the console refuses to start without it beyond loopback
and with an OIDC issuer. Without a trailing slash. */}}
{{- define "avenir.consoleURL" -}}
{{- $url := .Values.console.url | default "" | trimSuffix "/" }}
{{- if not $url }}
{{- fail "console.url is required with console.enabled: the console's public https address, e.g. --set console.url=https://avenir.example.fr (the identity provider sends people back to <console.url>/connexion/retour); or set console.enabled=false" }}
{{- end }}
{{- if not (regexMatch "^(https://[^\\s/?#@]+|http://(localhost|127\\.0\\.0\\.1|\\[::1\\])(:[0-9]+)?)$" $url) }}
{{- fail (printf "console.url: %q is not https://host[:port] (no path): plain http only on a loopback address, session cookies must be Secure" .Values.console.url) }}
{{- end }}
{{- $url }}
{{- end }}

{{/* The console Ingress host: console.ingress.host, or console.url's. */}}
{{- define "avenir.consoleHost" -}}
{{- default (urlParse (include "avenir.consoleURL" .)).hostname .Values.console.ingress.host }}
{{- end }}
