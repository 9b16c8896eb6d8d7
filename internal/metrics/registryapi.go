/*
Copyright 2026 The mcp-registry-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RegistryAPI are the metrics of the MCP Registry API the manager serves. Labels are the endpoint
// (a fixed set) and the status code, never a server name.
type RegistryAPI struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRegistryAPI creates the registry API metrics and registers them on reg.
func NewRegistryAPI(reg prometheus.Registerer) (*RegistryAPI, error) {
	m := &RegistryAPI{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_registry_api_requests_total",
			Help: "Requests to the MCP Registry API, by endpoint (list, versions, version, write, options, other) and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_registry_api_request_duration_seconds",
			Help:    "Time to answer a request to the MCP Registry API, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"endpoint"}),
	}
	if err := Register(reg, m.requests, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// ObserveRegistryRequest records one answered request.
func (m *RegistryAPI) ObserveRegistryRequest(endpoint string, code int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}
