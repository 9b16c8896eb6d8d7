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

package livesync

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// metricValue is the sum of the samples of family name with the labels given; -1 when there is
// none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	v, found, err := utils.MetricSum(reg, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return -1
	}
	return v
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ms, err := metrics.NewLiveSync(reg)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what, name string, labels map[string]string, want float64) {
		t.Helper()
		eventually(t, what, func() bool { return metricValue(t, reg, name, labels) == want })
	}
	expectStreams := func(connected, connecting, waiting float64) {
		t.Helper()
		expect("connected streams", "mcp_registry_live_streams", map[string]string{"state": metrics.StreamConnected}, connected)
		expect("connecting streams", "mcp_registry_live_streams", map[string]string{"state": metrics.StreamConnecting}, connecting)
		expect("waiting streams", "mcp_registry_live_streams", map[string]string{"state": metrics.StreamWaiting}, waiting)
	}

	d := newFakeDialer()
	// A manager not started (a standby) reports no stream, whatever it was handed.
	standby := New(Options{MaxStreams: 1, Dial: d.dial, Metrics: ms})
	standby.Ensure(key("a"), 1, endpoint("a"))
	expectStreams(0, 0, 0)

	// The leader's manager replaces the standby's as the source.
	m, stop := startWith(t, d, 1, ms)
	defer stop()
	url := endpoint("a").URL
	d.fail(url, errors.New("connection refused"))
	m.Ensure(key("a"), 1, endpoint("a"))
	waitDial(t, d, url) // a has the one slot before b asks
	m.Ensure(key("b"), 1, endpoint("b"))
	eventually(t, "a Connected", connected(m, "a"))
	expectStreams(1, 0, 1)
	expect("a failed dial", "mcp_registry_live_stream_failures_total", nil, 1)
	expect("the sync after a reconnect", "mcp_registry_live_syncs_total", map[string]string{"reason": metrics.LiveSyncReconnect}, 1)

	c := d.last(url)
	for range 4 {
		c.notify()
	}
	expect("notifications", "mcp_registry_live_notifications_total", nil, 4)
	expect("one debounced sync", "mcp_registry_live_syncs_total", map[string]string{"reason": metrics.LiveSyncNotification}, 1)

	// Burst is 3: three more syncs go at once, the next waits (RefillEvery is an hour).
	for i := range 3 {
		c.notify()
		expect("a burst sync", "mcp_registry_live_syncs_total", map[string]string{"reason": metrics.LiveSyncNotification}, float64(min(i+2, 3)))
	}
	expect("rate-limited once", "mcp_registry_live_rate_limited_total", nil, 1)
	c.notify()
	expect("still once", "mcp_registry_live_rate_limited_total", nil, 1)

	// A stream lost: counted, and connecting until it is back.
	d.fail(url, errors.New("connection refused"), errors.New("connection refused"), errors.New("connection refused"))
	c.drop(errors.New("the server closed the stream"))
	expect("the lost stream and its failed dials", "mcp_registry_live_stream_failures_total", nil, 5)
	eventually(t, "a Connected again", func() bool { return d.count(url) == 2 && connected(m, "a")() })
	expectStreams(1, 0, 1)
	expect("the sync after the reconnect", "mcp_registry_live_syncs_total", map[string]string{"reason": metrics.LiveSyncReconnect}, 2)

	m.Stop(key("a"))
	expectStreams(1, 0, 0) // b took the slot
	stop()
	expectStreams(0, 0, 0)
}
