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
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Live sync stream states, the label of mcp_registry_live_streams.
const (
	StreamConnected  = "connected"
	StreamConnecting = "connecting"
	StreamWaiting    = "waiting"
)

// Why a live sync asked for a sync, the label of mcp_registry_live_syncs_total.
const (
	LiveSyncNotification = "notification"
	LiveSyncReconnect    = "reconnect"
)

// LiveSync are the metrics of the live sync streams. They outlive the stream manager of one
// leadership (a new one is made each time the manager is elected), which hands over its stream
// counts with SetStreams. A nil *LiveSync records nothing.
type LiveSync struct {
	notifications prometheus.Counter
	syncs         *prometheus.CounterVec
	reconnects    prometheus.Counter
	rateLimited   prometheus.Counter
	streams       *streamsCollector
}

// NewLiveSync creates the live sync metrics and registers them on reg.
func NewLiveSync(reg prometheus.Registerer) (*LiveSync, error) {
	m := &LiveSync{
		notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_registry_live_notifications_total",
			Help: "list_changed notifications (tools or prompts) received on live sync streams.",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_registry_live_syncs_total",
			Help: "Syncs live sync asked for, by reason: notification (after the debounce and the rate limit) or reconnect (a stream back after a drop, when notifications may have been missed).",
		}, []string{"reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_registry_live_stream_failures_total",
			Help: "Live sync streams that could not be opened or were lost, each followed by a reconnect with backoff.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcp_registry_live_rate_limited_total",
			Help: "Times a server's notifications came faster than the live sync rate limit (status.liveSyncMessage says so while it lasts).",
		}),
		streams: &streamsCollector{desc: prometheus.NewDesc("mcp_registry_live_streams",
			"Live sync streams of this manager by state: connected, connecting (opening, or waiting to reconnect), waiting (past --max-live-streams). 0 on a standby.",
			[]string{"state"}, nil)},
	}
	if err := Register(reg, m.notifications, m.syncs, m.reconnects, m.rateLimited, m.streams); err != nil {
		return nil, err
	}
	return m, nil
}

// CountNotification counts one list_changed notification.
func (m *LiveSync) CountNotification() {
	if m != nil {
		m.notifications.Inc()
	}
}

// CountSync counts one sync asked for, by reason.
func (m *LiveSync) CountSync(reason string) {
	if m != nil {
		m.syncs.WithLabelValues(reason).Inc()
	}
}

// CountFailure counts a stream that could not be opened or was lost.
func (m *LiveSync) CountFailure() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// CountRateLimited counts a server becoming rate-limited.
func (m *LiveSync) CountRateLimited() {
	if m != nil {
		m.rateLimited.Inc()
	}
}

// SetStreams makes counts the source of mcp_registry_live_streams, read at scrape time; the last
// one set wins (the stream manager of the current leadership).
func (m *LiveSync) SetStreams(counts func() map[string]int) {
	if m != nil {
		m.streams.source.Store(&counts)
	}
}

// streamsCollector reports the stream counts of the current source.
type streamsCollector struct {
	desc   *prometheus.Desc
	source atomic.Pointer[func() map[string]int]
}

func (c *streamsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *streamsCollector) Collect(ch chan<- prometheus.Metric) {
	var counts map[string]int
	if f := c.source.Load(); f != nil {
		counts = (*f)()
	}
	for _, state := range []string{StreamConnected, StreamConnecting, StreamWaiting} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[state]), state)
	}
}
