{{/*
The engine's configuration: TAGENT_* variables read once by tagent.settings.Settings. Credentials only
ever arrive through secretKeyRef: no value of a secret is ever rendered by this chart.
*/}}
{{- define "tagent.engineEnv" -}}
- {name: TAGENT_API_HOST, value: "0.0.0.0"}
- {name: TAGENT_API_PORT, value: {{ .Values.engine.port | quote }}}
- {name: TAGENT_DATA_DIR, value: /data}
- {name: HOME, value: /tmp}
- {name: TAGENT_RULES, value: {{ include "tagent.rulesLocation" . | quote }}}
- {name: TAGENT_CLUSTER_NAME, value: {{ .Values.clusterName | quote }}}
{{- with .Values.clusters }}
{{- $remote := list }}
{{- range . }}
{{- $c := dict "name" .name "kubeconfig" (printf "/etc/tagent/clusters/%s/%s" .name (default "kubeconfig" .key)) }}
{{- if .context }}{{- $_ := set $c "context" .context }}{{- end }}
{{- if .prometheusUrl }}{{- $_ := set $c "prometheus_url" .prometheusUrl }}{{- end }}
{{- $remote = append $remote $c }}
{{- end }}
- {name: TAGENT_CLUSTERS, value: {{ toJson $remote | quote }}}
{{- end }}
{{- if include "tagent.ha" . }}
- name: POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- {name: TAGENT_LEADER_ELECTION, value: "true"}
- {name: TAGENT_LEASE_NAME, value: {{ include "tagent.leaseName" . | quote }}}
- {name: TAGENT_LEASE_NAMESPACE, value: {{ .Release.Namespace | quote }}}
- {name: TAGENT_LEASE_DURATION, value: {{ .Values.engine.leaderElection.leaseDuration | quote }}}
- {name: TAGENT_LEASE_RENEW_DEADLINE, value: {{ .Values.engine.leaderElection.renewDeadline | quote }}}
- {name: TAGENT_LEASE_RETRY_PERIOD, value: {{ .Values.engine.leaderElection.retryPeriod | quote }}}
- {name: TAGENT_ADVERTISE_URL, value: {{ printf "http://$(POD_IP):%v" .Values.engine.port | quote }}}
{{- end }}
{{- if eq .Values.rules.source "git" }}
- {name: TAGENT_RULES_BRANCH, value: {{ .Values.rules.branch | quote }}}
- {name: TAGENT_RULES_PATH, value: {{ .Values.rules.path | quote }}}
- {name: TAGENT_RULES_POLL_INTERVAL, value: {{ .Values.rules.pollInterval | quote }}}
{{- if .Values.rules.existingSecret }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_RULES_GIT_TOKEN" "secret" .Values.rules.existingSecret "key" "token") }}
{{- end }}
{{- end }}
{{- if .Values.database.existingSecret }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_DB_URL" "secret" .Values.database.existingSecret "key" .Values.database.urlKey) }}
{{- end }}
{{- with include "tagent.prometheusUrl" . }}
- {name: TAGENT_PROMETHEUS_URL, value: {{ . | quote }}}
{{- end }}
{{- with include "tagent.lokiUrl" . }}
- {name: TAGENT_LOKI_URL, value: {{ . | quote }}}
{{- end }}
- {name: TAGENT_DRY_RUN, value: {{ or .Values.readOnly .Values.safety.dryRun | toString | quote }}}
- {name: TAGENT_PROTECTED_NAMESPACES, value: {{ include "tagent.protectedNamespaces" . | quote }}}
- {name: TAGENT_EXCLUDED_NAMESPACES, value: {{ .Values.safety.excludedNamespaces | toJson | quote }}}
- {name: TAGENT_PROTECTED_WORKLOADS, value: {{ .Values.safety.protectedWorkloads | toJson | quote }}}
- {name: TAGENT_RATE_LIMIT_GLOBAL_PER_HOUR, value: {{ .Values.safety.rateLimitGlobalPerHour | quote }}}
- {name: TAGENT_RATE_LIMIT_NAMESPACE_PER_HOUR, value: {{ .Values.safety.rateLimitNamespacePerHour | quote }}}
- {name: TAGENT_MAINTENANCE_WINDOWS, value: {{ .Values.safety.maintenanceWindows | toJson | quote }}}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_API_TOKEN" "secret" (include "tagent.apiSecretName" .) "key" .Values.api.tokenKey) }}
{{- if and .Values.api.existingSecret .Values.api.webhookTokenKey }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_WEBHOOK_TOKEN" "secret" .Values.api.existingSecret "key" .Values.api.webhookTokenKey) }}
{{- end }}
{{- range $channel, $key := .Values.notify.channels }}
{{ include "tagent.secretEnv" (dict "name" (printf "TAGENT_NOTIFY_URLS__%s" $channel) "secret" $.Values.notify.existingSecret "key" $key) }}
{{- end }}
{{- with .Values.notify.phones }}
- {name: TAGENT_PHONES, value: {{ toJson . | quote }}}
{{- end }}
{{- if .Values.twilio.existingSecret }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_TWILIO_ACCOUNT_SID" "secret" .Values.twilio.existingSecret "key" .Values.twilio.accountSidKey) }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_TWILIO_AUTH_TOKEN" "secret" .Values.twilio.existingSecret "key" .Values.twilio.authTokenKey) }}
{{- end }}
{{- with .Values.twilio.from }}
- {name: TAGENT_TWILIO_FROM, value: {{ . | quote }}}
{{- end }}
{{- with include "tagent.publicUrl" . }}
- {name: TAGENT_PUBLIC_URL, value: {{ . | quote }}}
{{- end }}
{{- with .Values.llm.baseUrl }}
- {name: TAGENT_LLM_BASE_URL, value: {{ . | quote }}}
{{- end }}
- {name: TAGENT_LLM_MODEL, value: {{ .Values.llm.model | quote }}}
{{- if .Values.llm.existingSecret }}
{{ include "tagent.secretEnv" (dict "name" "TAGENT_LLM_API_KEY" "secret" .Values.llm.existingSecret "key" .Values.llm.apiKeyKey) }}
{{- end }}
{{- with .Values.engine.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
git-sync (registry.k8s.io/git-sync, v4 flags as environment): a clone of rules.repo under /git,
published atomically through the /git/current symlink. Credentials are files from rules.existingSecret.
*/}}
{{- define "tagent.gitSyncContainer" -}}
{{- $v := .root.Values.rules -}}
- name: {{ .name }}
  image: {{ printf "%s:%s" $v.gitSync.image.repository $v.gitSync.image.tag | quote }}
  imagePullPolicy: {{ $v.gitSync.image.pullPolicy }}
  env:
    - {name: GITSYNC_REPO, value: {{ $v.repo | quote }}}
    - {name: GITSYNC_REF, value: {{ $v.branch | quote }}}
    - {name: GITSYNC_ROOT, value: /git}
    - {name: GITSYNC_LINK, value: current}
    - {name: GITSYNC_DEPTH, value: "1"}
    - {name: GITSYNC_PERIOD, value: {{ printf "%vs" $v.pollInterval | quote }}}
    {{- if .oneTime }}
    - {name: GITSYNC_ONE_TIME, value: "true"}
    {{- else }}
    - {name: GITSYNC_MAX_FAILURES, value: "-1"}
    {{- end }}
    - {name: HOME, value: /tmp}
    {{- if $v.existingSecret }}
    {{- if $v.gitSync.ssh }}
    - {name: GITSYNC_SSH_KEY_FILE, value: /etc/git-secret/ssh}
    - {name: GITSYNC_SSH_KNOWN_HOSTS, value: "true"}
    - {name: GITSYNC_SSH_KNOWN_HOSTS_FILE, value: /etc/git-secret/known_hosts}
    {{- else }}
    - name: GITSYNC_USERNAME
      valueFrom:
        secretKeyRef: {name: {{ $v.existingSecret }}, key: username}
    - {name: GITSYNC_PASSWORD_FILE, value: /etc/git-secret/password}
    {{- end }}
    {{- end }}
  securityContext:
    {{- include "tagent.containerSecurityContext" .root | nindent 4 }}
  resources:
    {{- toYaml $v.gitSync.resources | nindent 4 }}
  volumeMounts:
    - {name: git, mountPath: /git}
    - {name: git-tmp, mountPath: /tmp}
    {{- if $v.existingSecret }}
    - {name: git-secret, mountPath: /etc/git-secret, readOnly: true}
    {{- end }}
{{- end -}}
