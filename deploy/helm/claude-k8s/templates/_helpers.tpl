{{/* Namespace where agent Jobs run. */}}
{{- define "claude-k8s.agentsNamespace" -}}
{{- default .Release.Namespace .Values.agents.namespace.name -}}
{{- end -}}

{{/* Namespace of the Paperclip server's ServiceAccount (where Paperclip runs). */}}
{{- define "claude-k8s.serverNamespace" -}}
{{- default .Release.Namespace .Values.adapter.serviceAccount.namespace -}}
{{- end -}}

{{/* Namespace of the Paperclip pods the agents' NetworkPolicy lets them call. */}}
{{- define "claude-k8s.paperclipPodNamespace" -}}
{{- default (include "claude-k8s.serverNamespace" .) .Values.networkPolicy.paperclip.namespace -}}
{{- end -}}

{{/* Labels on every object of the release. */}}
{{- define "claude-k8s.labels" -}}
app.kubernetes.io/part-of: claude-k8s
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Name of the Paperclip Deployment, Service, volume and Secrets. */}}
{{- define "claude-k8s.paperclipName" -}}
paperclip
{{- end -}}

{{/* The in-cluster URL of the Paperclip Service. */}}
{{- define "claude-k8s.paperclipServiceUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "claude-k8s.paperclipName" .) .Release.Namespace (int .Values.paperclip.service.port) -}}
{{- end -}}

{{/* Paperclip image reference. */}}
{{- define "claude-k8s.paperclipImage" -}}
{{- if not .Values.paperclip.image.repository -}}
{{- fail "paperclip.image.repository is empty: name a Paperclip image (default ghcr.io/paperclipai/paperclip)" -}}
{{- end -}}
{{- printf "%s:%s" .Values.paperclip.image.repository (default .Values.paperclip.version .Values.paperclip.image.tag) -}}
{{- end -}}

{{/* Checks across values that the schema cannot express. */}}
{{- define "claude-k8s.validate" -}}
{{- if and .Values.agents.namespace.create (eq (include "claude-k8s.agentsNamespace" .) .Release.Namespace) -}}
{{- fail (printf "agents.namespace.create=true would create the release namespace %q, which must exist before the install: set agents.namespace.name to another namespace, or agents.namespace.create=false" .Release.Namespace) -}}
{{- end -}}
{{- if and .Values.paperclip.enabled .Values.adapter.serviceAccount.namespace (ne .Values.adapter.serviceAccount.namespace .Release.Namespace) -}}
{{- fail (printf "paperclip.enabled=true runs Paperclip in the release namespace %q, but adapter.serviceAccount.namespace is %q: leave it empty" .Release.Namespace .Values.adapter.serviceAccount.namespace) -}}
{{- end -}}
{{- if and .Values.paperclip.enabled .Values.paperclip.adapter.install.enabled (not (hasPrefix "/opt/claude-k8s/node_modules/" .Values.paperclip.adapter.path)) -}}
{{- fail (printf "paperclip.adapter.path %q is outside /opt/claude-k8s/node_modules/, where paperclip.adapter.install puts the adapter: keep the default path, or set paperclip.adapter.install.enabled=false and provide the package at that path (your image or paperclip.extraVolumes)" .Values.paperclip.adapter.path) -}}
{{- end -}}
{{- if and .Values.paperclip.enabled (eq .Values.paperclip.database.type "external") (not .Values.paperclip.database.existingSecret) -}}
{{- fail "paperclip.database.type=external needs paperclip.database.existingSecret (a Secret with DATABASE_URL)" -}}
{{- end -}}
{{- end -}}
