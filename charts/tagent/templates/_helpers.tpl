{{/* Names and labels, the usual Helm way so several releases can share a namespace. */}}
{{- define "tagent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tagent.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tagent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "tagent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tagent
{{- end -}}

{{/* Selector labels of one component (engine | dashboard); never change them after a release exists. */}}
{{- define "tagent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tagent.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tagent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tagent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tagent.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "tagent.engineUrl" -}}
{{- printf "http://%s-engine.%s.svc:%v" (include "tagent.fullname" .) .Release.Namespace .Values.engine.service.port -}}
{{- end -}}

{{/* SQLite on the data volume unless an external database is named. */}}
{{- define "tagent.sqlite" -}}
{{- if not .Values.database.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
A bundled dependency's full name, computed the way the upstream charts compute theirs
(fullnameOverride, else release name, else "<release>-<chart>"), so the engine finds its service.
*/}}
{{- define "tagent.subchartFullname" -}}
{{- $sub := index .root.Values .chart | default dict -}}
{{- if $sub.fullnameOverride -}}
{{- $sub.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .chart $sub.nameOverride -}}
{{- if contains $name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tagent.prometheusUrl" -}}
{{- if .Values.observability.prometheusUrl -}}
{{- .Values.observability.prometheusUrl -}}
{{- else if .Values.prometheus.enabled -}}
{{- /* upstream's prometheus.server.fullname: server.fullnameOverride, else <release>[-prometheus]-server */ -}}
{{- $server := .Values.prometheus.server | default dict -}}
{{- $name := default "prometheus" .Values.prometheus.nameOverride -}}
{{- $host := "" -}}
{{- if $server.fullnameOverride -}}
{{- $host = $server.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $host = printf "%s-%s" .Release.Name (default "server" $server.name) -}}
{{- else -}}
{{- $host = printf "%s-%s-%s" .Release.Name $name (default "server" $server.name) -}}
{{- end -}}
{{- printf "http://%s.%s.svc" ($host | trunc 63 | trimSuffix "-") .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "tagent.lokiUrl" -}}
{{- if .Values.observability.lokiUrl -}}
{{- .Values.observability.lokiUrl -}}
{{- else if .Values.loki.enabled -}}
{{- printf "http://%s-gateway.%s.svc" (include "tagent.subchartFullname" (dict "root" . "chart" "loki")) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "tagent.otlpEndpoint" -}}
{{- if .Values.observability.otlpEndpoint -}}
{{- .Values.observability.otlpEndpoint -}}
{{- else if (index .Values "opentelemetry-collector").enabled -}}
{{- printf "http://%s.%s.svc:4317" (include "tagent.subchartFullname" (dict "root" . "chart" "opentelemetry-collector")) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The release's namespace is always protected: Tagent never remediates itself. */}}
{{- define "tagent.protectedNamespaces" -}}
{{- append .Values.safety.protectedNamespaces .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/* Where the engine reads rules/ and playbooks/ (TAGENT_RULES). */}}
{{- define "tagent.rulesLocation" -}}
{{- if eq .Values.rules.source "git" -}}
{{- .Values.rules.repo -}}
{{- else if eq .Values.rules.source "gitSync" -}}
{{- trimSuffix "/" (printf "/git/current/%s" (trimPrefix "/" .Values.rules.path)) -}}
{{- else -}}
/etc/tagent/pack
{{- end -}}
{{- end -}}

{{/* Cross-field checks the schema cannot say clearly; each fails with one sentence. */}}
{{- define "tagent.validate" -}}
{{- if and (gt (int .Values.engine.replicas) 1) (include "tagent.sqlite" .) -}}
{{- fail "engine.replicas > 1 needs database.existingSecret: SQLite on one volume cannot be shared by several engines" -}}
{{- end -}}
{{- if and (ne .Values.rules.source "builtin") (not .Values.rules.repo) -}}
{{- fail (printf "rules.source=%s needs rules.repo (the Git URL of your rules repository)" .Values.rules.source) -}}
{{- end -}}
{{- if and .Values.notify.channels (not .Values.notify.existingSecret) -}}
{{- fail "notify.channels needs notify.existingSecret: the Secret that holds the apprise URLs" -}}
{{- end -}}
{{- if and (index .Values "kube-prometheus-stack").enabled (not .Values.observability.prometheusUrl) -}}
{{- fail "kube-prometheus-stack.enabled needs observability.prometheusUrl (its Prometheus service, e.g. http://<release>-kube-prometheus-prometheus.<namespace>.svc:9090)" -}}
{{- end -}}
{{- if and .Values.prometheus.enabled (index .Values "kube-prometheus-stack").enabled -}}
{{- fail "enable one of prometheus and kube-prometheus-stack, not both" -}}
{{- end -}}
{{- end -}}

{{/* The fixed, hardened security contexts (values may only choose the non-root ids). */}}
{{- define "tagent.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tagent.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* A secretKeyRef env entry: name, secret, key. */}}
{{- define "tagent.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/* The default rules pack: every YAML file under files/rules and files/playbooks. */}}
{{- define "tagent.rulesGlob" -}}
files/{rules,playbooks}/**.{yaml,yml}
{{- end -}}

{{- define "tagent.rulesKey" -}}
{{- trimPrefix "files/" . | replace "/" "." -}}
{{- end -}}
