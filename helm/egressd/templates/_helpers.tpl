{{/* Names and labels. */}}
{{- define "egressd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "egressd.fullname" -}}
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

{{- define "egressd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egressd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "egressd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "egressd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "egressd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "egressd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "egressd.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
What each source can need (README.md, "Privileges"; each found by running the agent with exactly
these capabilities and shown to fail without each one):
  eBPF flow programs:         BPF + PERFMON (load, kfuncs) and NET_ADMIN (TCX, netfilter hooks)
  DNS tracer (cgroup_skb):    BPF + PERFMON + NET_ADMIN
  netfilter conntrack:        NET_ADMIN (ctnetlink dumps and events)
  Cilium's pinned maps:       none as uid 0 (the pins are root's files); SYS_ADMIN to read a
                              map's BTF (cilium.readMapBtf)
*/}}
{{- define "egressd.usesEbpf" -}}{{ if has .Values.source (list "auto" "ebpf") }}true{{ end }}{{- end -}}
{{- define "egressd.usesNetfilter" -}}{{ if has .Values.source (list "auto" "netfilter") }}true{{ end }}{{- end -}}
{{- define "egressd.usesCilium" -}}{{ if has .Values.source (list "auto" "cilium") }}true{{ end }}{{- end -}}

{{- define "egressd.capabilities" -}}
{{- $caps := list -}}
{{- if or (include "egressd.usesEbpf" .) .Values.dnsTracer.enabled -}}
{{- $caps = concat $caps (list "BPF" "PERFMON" "NET_ADMIN") -}}
{{- end -}}
{{- if include "egressd.usesNetfilter" . -}}
{{- $caps = append $caps "NET_ADMIN" -}}
{{- end -}}
{{- if and (include "egressd.usesCilium" .) .Values.cilium.readMapBtf -}}
{{- $caps = append $caps "SYS_ADMIN" -}}
{{- end -}}
{{- toJson (uniq $caps) -}}
{{- end -}}
