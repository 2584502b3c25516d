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

{{- define "tagent.prometheusUrl" -}}
{{- .Values.observability.prometheusUrl -}}
{{- end -}}

{{- define "tagent.lokiUrl" -}}
{{- .Values.observability.lokiUrl -}}
{{- end -}}

{{/* The Secret holding the API token: yours (api.existingSecret), else the one this chart makes (secret-api.yaml). */}}
{{- define "tagent.apiSecretName" -}}
{{- default (printf "%s-api" (include "tagent.fullname" .)) .Values.api.existingSecret -}}
{{- end -}}

{{/* Where Twilio reaches the engine: publicUrl, else the Ingress host. */}}
{{- define "tagent.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tls.secretName "")) .Values.ingress.host -}}
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

{{/* Engine replicas: engine.replicas, else 2 with an external database (high availability) and 1 with SQLite. */}}
{{- define "tagent.engineReplicas" -}}
{{- if kindIs "invalid" .Values.engine.replicas -}}
{{- if include "tagent.sqlite" . }}1{{ else }}2{{ end -}}
{{- else -}}
{{- int .Values.engine.replicas -}}
{{- end -}}
{{- end -}}

{{/* Several engine replicas elect a leader on a Lease (docs/ha.md). */}}
{{- define "tagent.ha" -}}
{{- if gt (int (include "tagent.engineReplicas" .)) 1 -}}true{{- end -}}
{{- end -}}

{{- define "tagent.leaseName" -}}
{{- printf "%s-engine" (include "tagent.fullname" .) -}}
{{- end -}}

{{/* Cross-field checks the schema cannot say clearly; each fails with one sentence. */}}
{{- define "tagent.validate" -}}
{{- if and (include "tagent.ha" .) (include "tagent.sqlite" .) -}}
{{- fail "engine.replicas > 1 needs database.existingSecret (PostgreSQL): SQLite on one volume cannot be shared by several engines" -}}
{{- end -}}
{{- if and (ne .Values.rules.source "builtin") (not .Values.rules.repo) -}}
{{- fail (printf "rules.source=%s needs rules.repo (the Git URL of your rules repository)" .Values.rules.source) -}}
{{- end -}}
{{- if and .Values.notify.channels (not .Values.notify.existingSecret) -}}
{{- fail "notify.channels needs notify.existingSecret: the Secret that holds the apprise URLs" -}}
{{- end -}}
{{- if and .Values.api.webhookTokenKey (not .Values.api.existingSecret) -}}
{{- fail "api.webhookTokenKey needs api.existingSecret: the Secret the chart makes holds only the API token (which the webhook accepts too)" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.enabled needs ingress.host (the DNS name people and Twilio use, e.g. tagent.example.com)" -}}
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
