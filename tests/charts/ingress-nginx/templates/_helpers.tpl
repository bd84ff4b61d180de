{{- define "ingress-nginx.controllerName" -}}
{{ include "ingress-nginx.fullname" . }}-{{ .Values.controller.name }}
{{- end -}}
{{- define "ingress-nginx.labels" -}}
app.kubernetes.io/name: ingress-nginx
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}
