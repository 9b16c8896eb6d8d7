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

package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// liveBenchChanges is how many upstream changes each mode is measured over.
const liveBenchChanges = 50

// BenchmarkLiveSync measures, on envtest with the real controllers and the default live sync
// settings (500 ms debounce), in one run (use -benchtime=1x), the latency from an upstream tool
// change (the test server changes a tool's description at run time) to the MCPTool reflecting
// it, over 50 changes: live (50 servers on a notification stream, syncInterval 1h) against
// polling (50 servers with spec.liveSync false at syncInterval 10s, the minimum). The changes are
// spread over one poll interval, so polling sees them at uniformly spread phases. Reported as
// live-p50-ms, live-p99-ms (target: p99 under 2 s), poll-p50-ms and poll-p99-ms.
func BenchmarkLiveSync(b *testing.B) {
	env := utils.StartEnvtest(b)
	stop := runLiveSyncManager(b, env.Config, env.Scheme, liveManagerOptions{maxStreams: 1000}).stop
	defer stop()
	ctx := context.Background()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		live, poll := changeLatencies(ctx, b, wc)
		slices.Sort(live)
		slices.Sort(poll)
		b.ReportMetric(float64(percentile(live, 50).Milliseconds()), "live-p50-ms")
		b.ReportMetric(float64(percentile(live, 99).Milliseconds()), "live-p99-ms")
		b.ReportMetric(float64(percentile(poll, 50).Milliseconds()), "poll-p50-ms")
		b.ReportMetric(float64(percentile(poll, 99).Milliseconds()), "poll-p99-ms")
	}
}

// changeLatencies sets up 50 live and 50 polling servers, changes each one's tool once, and
// returns how long each change took to reach its MCPTool.
func changeLatencies(ctx context.Context, b *testing.B, c client.WithWatch) (live, poll []time.Duration) {
	ns := newBenchNamespace(ctx, b, c, "bench-live")
	type target struct {
		name     string
		live     bool
		upstream *mcpserver.Server
	}
	var targets []target
	for i := range liveBenchChanges * 2 {
		t := target{name: fmt.Sprintf("live-%02d", i/2), live: i%2 == 0}
		if !t.live {
			t.name = fmt.Sprintf("poll-%02d", i/2)
		}
		upstream, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1), Stateful: t.live})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = upstream.Close() })
		t.upstream = upstream
		server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: t.name, Namespace: ns}, Spec: mcpv1alpha1.MCPServerSpec{
			URL: upstream.URL(), SyncInterval: &metav1.Duration{Duration: time.Hour}, Timeout: &metav1.Duration{Duration: 5 * time.Second},
		}}
		if !t.live {
			server.Spec.SyncInterval.Duration = 10 * time.Second
			server.Spec.LiveSync = ptr.To(false)
		}
		if err := c.Create(ctx, server); err != nil {
			b.Fatal(err)
		}
		targets = append(targets, t)
	}
	waitFor(b, 2*time.Minute, "every server synced, the live ones connected", func() bool {
		list := &mcpv1alpha1.MCPServerList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false
		}
		ready := 0
		for _, s := range list.Items {
			want := mcpv1alpha1.LiveSyncDisabled
			if s.Spec.LiveSync == nil || *s.Spec.LiveSync {
				want = mcpv1alpha1.LiveSyncConnected
			}
			if s.Status.ToolCount == 1 && s.Status.LiveSync == want {
				ready++
			}
		}
		return ready == len(targets)
	})

	// Seen records when each server's MCPTool first shows the change, from a watch.
	var mu sync.Mutex
	seen := map[string]time.Time{}
	list := &mcpv1alpha1.MCPToolList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	w, err := c.Watch(ctx, &mcpv1alpha1.MCPToolList{}, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for ev := range w.ResultChan() {
			tool, ok := ev.Object.(*mcpv1alpha1.MCPTool)
			if !ok || ev.Type == watch.Deleted || tool.Spec.Description != "changed" {
				continue
			}
			mu.Lock()
			if _, done := seen[tool.Spec.ServerRef.Name]; !done {
				seen[tool.Spec.ServerRef.Name] = time.Now()
			}
			mu.Unlock()
		}
	}()

	// The changes, live and polling interleaved, spread over one poll interval.
	changed := map[string]time.Time{}
	spacing := 10 * time.Second / time.Duration(len(targets))
	for _, t := range targets {
		changed[t.name] = time.Now()
		t.upstream.Update(func(c *mcpserver.Config) { c.Tools[0].Description = "changed" })
		time.Sleep(spacing)
	}
	waitFor(b, time.Minute, "every change reflected", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(targets)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, t := range targets {
		d := seen[t.name].Sub(changed[t.name])
		if t.live {
			live = append(live, d)
		} else {
			poll = append(poll, d)
		}
	}
	return live, poll
}
