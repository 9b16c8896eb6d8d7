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

// Package metrics holds the operator's Prometheus metrics. None carries a per-object label, so
// their cardinality does not grow with the registry.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Deletion outcomes, the only label of the deletion histogram.
const (
	OutcomeDeleted  = "deleted"
	OutcomeOrphaned = "orphaned"
	OutcomeForced   = "forced"
)

// Sync results.
const (
	SyncSucceeded = "succeeded"
	SyncFailed    = "failed"
)

// Metrics are the operator's metrics. The zero value is not usable: use New.
type Metrics struct {
	deletionDuration *prometheus.HistogramVec
	blocked          prometheus.Gauge
	syncDuration     *prometheus.HistogramVec
	syncErrors       *prometheus.CounterVec
	apiUnreachable   prometheus.Gauge
	apiOutages       prometheus.Counter
	throttled        *prometheus.CounterVec

	mu          sync.Mutex
	blockedKeys map[string]bool
}

// New creates the metrics and registers them, with the given collectors (for example gauges
// computed from the cache at scrape time), on reg.
func New(reg prometheus.Registerer, collectors ...prometheus.Collector) (*Metrics, error) {
	m := &Metrics{
		deletionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_registry_server_deletion_duration_seconds",
			Help:    "Time from an MCPServer's deletionTimestamp to the removal of its finalizer, including time blocked by consumers.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400},
		}, []string{"outcome"}),
		blocked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcp_registry_servers_deletion_blocked",
			Help: "MCPServers whose deletion is currently blocked by consumers.",
		}),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_registry_sync_duration_seconds",
			Help:    "Duration of MCP syncs (connect, initialize, list tools and prompts).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"result"}),
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_registry_sync_errors_total",
			Help: "Failed MCP syncs, by condition reason (SyncFailed, AuthenticationFailed).",
		}, []string{"reason"}),
		apiUnreachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcp_registry_apiserver_unreachable",
			Help: "1 while the operator finds the API server unreachable and its reconciles and watches wait for it, else 0.",
		}),
		apiOutages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_registry_apiserver_outages_total",
			Help: "Times the operator found the API server unreachable.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_registry_upstream_throttled_total",
			Help: "Answers 429 (Too Many Requests) and 503 (Service Unavailable) from MCP servers, by status code; with Retry-After, the operator sends the host nothing until it has passed.",
		}, []string{"code"}),
		blockedKeys: map[string]bool{},
	}
	own := []prometheus.Collector{m.deletionDuration, m.blocked, m.syncDuration, m.syncErrors, m.apiUnreachable, m.apiOutages, m.throttled}
	if err := Register(reg, append(own, collectors...)...); err != nil {
		return nil, err
	}
	return m, nil
}

// Register registers more collectors on reg, e.g. gauges that need the manager's cache, which
// exists only after the metrics do.
func Register(reg prometheus.Registerer, collectors ...prometheus.Collector) error {
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// ObserveDeletion records a completed deletion that started at deletionTimestamp.
func (m *Metrics) ObserveDeletion(outcome string, deletionTimestamp, now time.Time) {
	m.deletionDuration.WithLabelValues(outcome).Observe(now.Sub(deletionTimestamp).Seconds())
}

// SetBlocked records whether the server identified by key (namespace/name) is blocked.
func (m *Metrics) SetBlocked(key string, blocked bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if blocked {
		m.blockedKeys[key] = true
	} else {
		delete(m.blockedKeys, key)
	}
	m.blocked.Set(float64(len(m.blockedKeys)))
}

// ObserveSync records one sync.
func (m *Metrics) ObserveSync(result string, d time.Duration) {
	m.syncDuration.WithLabelValues(result).Observe(d.Seconds())
}

// CountSyncError counts a failed sync by reason.
func (m *Metrics) CountSyncError(reason string) {
	m.syncErrors.WithLabelValues(reason).Inc()
}

// SetAPIServerUnreachable records that the API server became unreachable (true) or answers again.
func (m *Metrics) SetAPIServerUnreachable(unreachable bool) {
	if unreachable {
		m.apiUnreachable.Set(1)
		m.apiOutages.Inc()
		return
	}
	m.apiUnreachable.Set(0)
}

// CountThrottled counts a 429 or 503 answer from an MCP server.
func (m *Metrics) CountThrottled(code int) {
	m.throttled.WithLabelValues(strconv.Itoa(code)).Inc()
}

// GaugeFunc is a gauge computed at scrape time.
func GaugeFunc(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}
