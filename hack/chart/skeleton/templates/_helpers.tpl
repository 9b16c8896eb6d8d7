{{- /* The helm.sh/chart label: the chart's name and version. */}}
{{- define "mcp-registry-operator.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
