{{/* Names and labels shared by every template. */}}

{{- define "woocommerce.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "woocommerce.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "woocommerce.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image: repository@digest when a digest pins it (chart.image.digest
in purrvision.yaml), else repository:tag, the tag pinned (never empty or
latest). */}}
{{- define "woocommerce.image" -}}
{{- if .digest -}}
{{ .repository }}@{{ .digest }}
{{- else -}}
{{- if or (not .tag) (eq (toString .tag) "latest") -}}
{{- fail "images.*.tag must be a pinned version, never empty or latest" -}}
{{- end -}}
{{ .repository }}:{{ .tag }}
{{- end -}}
{{- end -}}

{{- define "woocommerce.secret" -}}
{{- required "credentials.existingSecret is required: name the Secret holding the store's passwords" .Values.credentials.existingSecret -}}
{{- end -}}

{{/* The Secret of the database passwords: credentials.databaseSecret, or
the one Secret of every password when it is not set. */}}
{{- define "woocommerce.databaseSecret" -}}
{{- default (include "woocommerce.secret" .) .Values.credentials.databaseSecret -}}
{{- end -}}

{{- define "woocommerce.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "woocommerce.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The database connection every WordPress container reads. */}}
{{- define "woocommerce.dbEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ include "woocommerce.fullname" . }}-database
- name: WORDPRESS_DB_NAME
  value: wordpress
- name: WORDPRESS_DB_USER
  value: wordpress
- name: WORDPRESS_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "woocommerce.databaseSecret" . }}
      key: mariadb-password
{{- end -}}

{{/* The scheme people reach the store with: https when the Ingress serves
TLS, or when the store is behind a Gateway whose listener does. */}}
{{- define "woocommerce.scheme" -}}
{{- if or (and .Values.ingress.enabled .Values.ingress.tls) (and .Values.httpRoute.enabled .Values.httpRoute.tls) -}}
https
{{- else -}}
http
{{- end -}}
{{- end -}}
