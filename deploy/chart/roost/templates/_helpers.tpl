{{/* Names of everything the chart makes, in one place. */}}
{{- define "roost.fullname" -}}
{{- if contains "roost" .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-roost" .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "roost.labels" -}}
app.kubernetes.io/name: roost
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "roost.selector" -}}
app.kubernetes.io/name: roost
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "roost.image" -}}
{{ .repository }}:{{ .tag | default $.appVersion }}
{{- end -}}

{{- define "roost.roostImage" -}}
{{- include "roost.image" (merge (dict "appVersion" .Chart.AppVersion) .Values.image) -}}
{{- end -}}

{{- define "roost.javaImage" -}}
{{- include "roost.image" (merge (dict "appVersion" .Chart.AppVersion) .Values.javaImage) -}}
{{- end -}}

{{- define "roost.invokeTokenSecret" -}}
{{- .Values.invokeToken.existingSecret | default (printf "%s-invoke-token" (include "roost.fullname" .)) -}}
{{- end -}}

{{- define "roost.hostServiceAccount" -}}{{ include "roost.fullname" . }}-host{{- end -}}

{{/* Where the host pools run: a namespace of their own, at Pod Security baseline when functions get users of their own. */}}
{{- define "roost.hostNamespace" -}}
{{- .Values.hosts.namespace | default (printf "%s-hosts" .Release.Namespace) -}}
{{- end -}}

{{/* The Pod Security "restricted" container settings every Roost container runs with. */}}
{{- define "roost.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
A host pod's sidecar. With hosts.functionUsers it runs as root holding six
capabilities and nothing more: start each function process under a user id
of its own (SETUID, SETGID), hand it its slot (CHOWN), remove the slot after
(DAC_OVERRIDE, FOWNER: the slot is the function's, mode 0700) and stop it
(KILL). That is Pod Security "baseline", not "restricted" (which forbids root
and every added capability but NET_BIND_SERVICE), hence the namespace of its
own. Without it, the restricted settings, and functions share the sidecar's
user (the pod says roost.dev/isolation: weak).
*/}}
{{- define "roost.sidecarSecurityContext" -}}
{{- if .Values.hosts.functionUsers -}}
runAsNonRoot: false
runAsUser: 0
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
  add: [CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID]
seccompProfile:
  type: RuntimeDefault
{{- else -}}
{{ include "roost.containerSecurityContext" . }}
{{- end -}}
{{- end -}}

{{- define "roost.hostPodSecurityContext" -}}
{{- if .Values.hosts.functionUsers -}}
# The group the sidecar and the JVM bridge share (their volumes, the bridge's
# socket and secret); function processes are outside it.
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- else -}}
{{ include "roost.podSecurityContext" . }}
{{- end -}}
{{- end -}}

{{- define "roost.podSecurityContext" -}}
runAsNonRoot: true
# The token volume's files are readable by this group only (mode 0440).
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
A bound, expiring service-account token, mounted only into the container
that uses it (automount is off for every pod): the kubelet refreshes the
file before it expires and the component re-reads it.
*/}}
{{- define "roost.tokenVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0440
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3600
      - configMap:
          name: kube-root-ca.crt
          items: [{ key: ca.crt, path: ca.crt }]
      - downwardAPI:
          items:
            - path: namespace
              fieldRef: { fieldPath: metadata.namespace }
{{- end -}}

{{- define "roost.tokenMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end -}}

{{- define "roost.podEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: POD_IP
  valueFrom: { fieldRef: { fieldPath: status.podIP } }
- name: POD_UID
  valueFrom: { fieldRef: { fieldPath: metadata.uid } }
- name: ROOST_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* Where the event queue is: an existing NATS, the chart's own, or none (""). */}}
{{- define "roost.eventsUrl" -}}
{{- if .Values.events.url -}}
{{ .Values.events.url }}
{{- else if .Values.events.nats.enabled -}}
nats://{{ include "roost.fullname" . }}-nats.{{ .Release.Namespace }}.svc:4222
{{- end -}}
{{- end -}}

{{/* Pod annotations: Prometheus' scrape annotations for a /metrics port (when metrics.annotations), then the component's own. */}}
{{- define "roost.podAnnotations" -}}
{{- if .root.Values.metrics.annotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .annotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
