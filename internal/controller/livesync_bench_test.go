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
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// liveBenchChanges is how many upstream changes each mode is measured over.
const liveBenchChanges = 50

// BenchmarkLiveSync measures, on envtest with the real controllers and the default live sync
// settings (500 ms debounce), in one run (use -benchtime=1x), the latency from an upstream tool
// change (the test server changes a tool's description at run time) to the MCPTool reflecting
// it, over 50 changes: live (50 servers on a notification stream, syncInterval 1h) against
// polling (50 servers with spec.liveSync false at syncInterval 10s, the minimum), and, for
// pinning, to a pinned tool reading DefinitionChanged (50 more live servers, each tool pinned to
// its digest). The changes are spread over one poll interval, so polling sees them at uniformly
// spread phases. Reported as live-p50-ms, live-p99-ms (target: p99 under 2 s), pinned-p50-ms,
// pinned-p99-ms (the same target), poll-p50-ms and poll-p99-ms.
func BenchmarkLiveSync(b *testing.B) {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	env := utils.StartEnvtest(b)
	stop := runLiveSyncManager(b, env.Config, env.Scheme, liveManagerOptions{maxStreams: 1000}).stop
	defer stop()
	ctx := context.Background()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		latencies := changeLatencies(ctx, b, wc)
		for _, kind := range []string{"live", "pinned", "poll"} {
			l := latencies[kind]
			slices.Sort(l)
			b.ReportMetric(float64(percentile(l, 50).Milliseconds()), kind+"-p50-ms")
			b.ReportMetric(float64(percentile(l, 99).Milliseconds()), kind+"-p99-ms")
		}
	}
}

// changeLatencies sets up 50 live, 50 pinned live and 50 polling servers, changes each one's
// tool once, and returns, by kind, how long each change took to reach its MCPTool (for pinned
// ones: its Ready condition reading DefinitionChanged).
func changeLatencies(ctx context.Context, b *testing.B, c client.WithWatch) map[string][]time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-live")
	type target struct {
		name, kind string
		live       bool
		upstream   *mcpserver.Server
	}
	kinds := []string{"live", "pinned", "poll"}
	var targets []target
	for i := range liveBenchChanges * len(kinds) {
		kind := kinds[i%len(kinds)]
		t := target{name: fmt.Sprintf("%s-%02d", kind, i/len(kinds)), kind: kind, live: kind != "poll"}
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
	// Each pinned server's tool pinned to the digest it shows.
	for _, t := range targets {
		if t.kind != "pinned" {
			continue
		}
		tool := &mcpv1alpha1.MCPTool{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: naming.ToolObjectName(t.name, "tool-000")}, tool); err != nil {
			b.Fatal(err)
		}
		server := &mcpv1alpha1.MCPServer{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: t.name}, server); err != nil {
			b.Fatal(err)
		}
		server.Spec.Tools = &mcpv1alpha1.ToolsSpec{Overrides: []mcpv1alpha1.ToolOverride{{Name: "tool-000", Digest: tool.Status.Digest}}}
		if err := c.Update(ctx, server); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, time.Minute, "every pinned server synced at its new generation, its tool Ready", func() bool {
		servers := &mcpv1alpha1.MCPServerList{}
		tools := &mcpv1alpha1.MCPToolList{}
		if c.List(ctx, servers, client.InNamespace(ns)) != nil || c.List(ctx, tools, client.InNamespace(ns)) != nil {
			return false
		}
		toolReady := map[string]bool{}
		for _, tool := range tools.Items {
			toolReady[tool.Spec.ServerRef.Name] = meta.IsStatusConditionTrue(tool.Status.Conditions, mcpv1alpha1.ConditionReady)
		}
		pinned := 0
		for _, s := range servers.Items {
			ready := meta.FindStatusCondition(s.Status.Conditions, mcpv1alpha1.ConditionReady)
			if s.Spec.Tools != nil && len(s.Spec.Tools.Overrides) == 1 && ready != nil && ready.Status == metav1.ConditionTrue &&
				ready.ObservedGeneration == s.Generation && toolReady[s.Name] {
				pinned++
			}
		}
		return pinned == liveBenchChanges
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
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			if ready := meta.FindStatusCondition(tool.Status.Conditions, mcpv1alpha1.ConditionReady); tool.Spec.Description != "changed" &&
				(ready == nil || ready.Reason != mcpv1alpha1.ReasonDefinitionChanged) {
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
	latencies := map[string][]time.Duration{}
	for _, t := range targets {
		latencies[t.kind] = append(latencies[t.kind], seen[t.name].Sub(changed[t.name]))
	}
	return latencies
}
