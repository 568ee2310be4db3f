{{/* Resource name prefix: "portcullis" for a release named portcullis. */}}
{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.controllerName" -}}
{{- printf "%s-controller" (include "portcullis.fullname" .) -}}
{{- end -}}

{{- define "portcullis.serviceAccountName" -}}
{{- default (include "portcullis.controllerName" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "portcullis.mutatingWebhookName" -}}
{{- printf "%s-sidecar-injector" (include "portcullis.fullname" .) -}}
{{- end -}}

{{- define "portcullis.validatingWebhookName" -}}
{{- printf "%s-policybundle-validator" (include "portcullis.fullname" .) -}}
{{- end -}}

{{- define "portcullis.webhookSecretName" -}}
{{- if eq .Values.webhook.certMode "certManager" -}}
{{- printf "%s-webhook-cert" (include "portcullis.fullname" .) -}}
{{- else -}}
{{- printf "%s-webhook-tls" (include "portcullis.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.bundleSigningSecretName" -}}
{{- printf "%s-bundle-signing" (include "portcullis.fullname" .) -}}
{{- end -}}

{{- define "portcullis.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "portcullis.jaegerName" -}}
{{- printf "%s-jaeger" (include "portcullis.fullname" .) -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "portcullis.labels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The controller pods' selector: stable across upgrades. */}}
{{- define "portcullis.controllerSelector" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Where the controller's spans go; empty for none. */}}
{{- define "portcullis.otlpEndpoint" -}}
{{- if .Values.tracing.otlpEndpoint -}}
{{- .Values.tracing.otlpEndpoint -}}
{{- else if .Values.jaeger.enabled -}}
{{- printf "http://%s.%s.svc:4318" (include "portcullis.jaegerName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Where injected sidecars' spans go; empty for none. */}}
{{- define "portcullis.sidecarOtlpEndpoint" -}}
{{- default (include "portcullis.otlpEndpoint" .) .Values.tracing.sidecarOtlpEndpoint -}}
{{- end -}}
