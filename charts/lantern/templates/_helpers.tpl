{{/* Names, labels and the pieces the web, worker and migration pods share. */}}

{{- define "lantern.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lantern.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lantern.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lantern.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lantern.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lantern.labels" -}}
helm.sh/chart: {{ include "lantern.chart" . }}
{{ include "lantern.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lantern
{{- end }}

{{- define "lantern.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lantern.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lantern.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the web and worker pods read: the operator's, or the chart's. */}}
{{- define "lantern.secretName" -}}
{{- default (include "lantern.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* The Secret the migration Job reads: the operator's, or a hook Secret that exists only while it runs. */}}
{{- define "lantern.migrationSecretName" -}}
{{- default (printf "%s-migrate" (include "lantern.fullname" .)) .Values.existingSecret }}
{{- end }}

{{/* The connection settings are required unless the operator brings a Secret; the owner's only while the
     chart runs the migrations. */}}
{{- define "lantern.requireSecrets" -}}
{{- if not .Values.existingSecret }}
{{- $_ := required "secrets.databaseUrl (DATABASE_URL, the app's non-owner role) is required unless existingSecret is set" .Values.secrets.databaseUrl }}
{{- if .Values.migrations.enabled }}
{{- $_ := required "secrets.databaseOwnerUrl (DATABASE_OWNER_URL, the owner role for migrations) is required unless existingSecret is set or migrations.enabled is false" .Values.secrets.databaseOwnerUrl }}
{{- end }}
{{- $_ := required "secrets.redisUrl (REDIS_URL) is required unless existingSecret is set" .Values.secrets.redisUrl }}
{{- end }}
{{- end }}

{{- define "lantern.publicUrl" -}}
{{- if .Values.config.publicUrl }}
{{- .Values.config.publicUrl | trimSuffix "/" }}
{{- else if .Values.ingress.enabled }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- else }}
{{- printf "http://127.0.0.1:%v" .Values.config.port }}
{{- end }}
{{- end }}

{{/* A secretKeyRef env entry: (list name key optional). */}}
{{- define "lantern.secretEnv" -}}
{{- $secret := index . 0 }}{{ $key := index . 1 }}{{ $optional := index . 2 -}}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      {{- if $optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* The environment of the web and worker containers: the ConfigMap, then the app's secrets only —
     never DATABASE_OWNER_URL, which only the migration Job gets. */}}
{{- define "lantern.appEnv" -}}
{{- $secret := include "lantern.secretName" . -}}
{{ include "lantern.secretEnv" (list $secret "DATABASE_URL" false) }}
{{ include "lantern.secretEnv" (list $secret "REDIS_URL" false) }}
{{ include "lantern.secretEnv" (list $secret "LANTERN_SECRET_KEY" false) }}
{{ include "lantern.secretEnv" (list $secret "SMTP_USER" true) }}
{{ include "lantern.secretEnv" (list $secret "SMTP_PASSWORD" true) }}
{{ include "lantern.secretEnv" (list $secret "AWS_ACCESS_KEY_ID" true) }}
{{ include "lantern.secretEnv" (list $secret "AWS_SECRET_ACCESS_KEY" true) }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lantern.envFrom" -}}
- configMapRef:
    name: {{ include "lantern.fullname" . }}
{{- end }}

{{/* Writable places on the read-only root filesystem. */}}
{{- define "lantern.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .Values.config.dataDir }}
{{- if .Values.persistence.enabled }}
- name: uploads
  mountPath: {{ printf "%s/uploads" (.Values.config.dataDir | trimSuffix "/") }}
{{- end }}
{{- end }}

{{- define "lantern.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.dataDirSizeLimit }}
{{- if .Values.persistence.enabled }}
- name: uploads
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-uploads" (include "lantern.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}
{{- end }}

{{/* The pod-level settings the web, worker and migration pods share. */}}
{{- define "lantern.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Scheduling settings of one component: pass its values (web or worker). */}}
{{- define "lantern.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
