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
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// BenchmarkDeletion measures, on envtest with the real controllers, in one run (use -benchtime=1x):
//
//   - unblock latency: from removing the last consumer reference to the server being gone, over 50
//     deletes, reported as unblock-p50-ms and unblock-p99-ms (target: p99 under 1 s);
//   - the cascade of one server with 1,000 tools against one raw DeleteCollection of 1,000
//     comparable objects (the same MCPTools without the in-use-protection finalizer), over
//     cascadeRounds paired rounds whose order alternates, reported as the medians cascade-s, raw-s
//     and cascade/raw (target: at most 2) and the worst round's cascade/raw-max. A ratio of runs
//     made side by side cancels out the machine's speed; the median, its noise.
func BenchmarkDeletion(b *testing.B) {
	cfg, scheme, _ := startTestEnv(b)
	stop, _ := runManager(b, cfg, scheme, -1)
	defer stop()
	ctx := context.Background()
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}

	for range b.N {
		latencies := unblockLatencies(ctx, b, wc, 50)
		slices.Sort(latencies)
		b.ReportMetric(float64(percentile(latencies, 50).Milliseconds()), "unblock-p50-ms")
		b.ReportMetric(float64(percentile(latencies, 99).Milliseconds()), "unblock-p99-ms")

		var cascades, raws, ratios []float64
		for round := range cascadeRounds {
			var cascade, raw time.Duration
			if round%2 == 0 {
				cascade = cascadeDuration(ctx, b, wc, 1000)
				raw = rawDeleteCollectionDuration(ctx, b, wc, 1000)
			} else {
				raw = rawDeleteCollectionDuration(ctx, b, wc, 1000)
				cascade = cascadeDuration(ctx, b, wc, 1000)
			}
			b.Logf("round %d: cascade %s, raw %s, ratio %.2f", round+1, cascade, raw, cascade.Seconds()/raw.Seconds())
			cascades = append(cascades, cascade.Seconds())
			raws = append(raws, raw.Seconds())
			ratios = append(ratios, cascade.Seconds()/raw.Seconds())
		}
		b.ReportMetric(median(cascades), "cascade-s")
		b.ReportMetric(median(raws), "raw-s")
		b.ReportMetric(median(ratios), "cascade/raw")
		b.ReportMetric(slices.Max(ratios), "cascade/raw-max")
	}
}

// cascadeRounds is how many cascade and raw deletes the benchmark pairs.
const cascadeRounds = 5

// median returns the middle value of an odd number of values.
func median(values []float64) float64 {
	sorted := slices.Sorted(slices.Values(values))
	return sorted[len(sorted)/2]
}

// unblockLatencies deletes n blocked servers and measures, for each, the time from the consumer's
// annotation being removed to the server being gone.
func unblockLatencies(ctx context.Context, b *testing.B, c client.WithWatch, n int) []time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-unblock")
	var out []time.Duration
	for i := range n {
		server := newSyncedServer(ctx, b, c, ns, fmt.Sprintf("s%02d", i), 3)
		agent := benchConsumer(ctx, b, c, ns, fmt.Sprintf("agent-%02d", i), server.Name+":tool-0000")
		if err := c.Delete(ctx, server); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, "DeletionBlocked", func() bool {
			s := &mcpv1alpha1.MCPServer{}
			return c.Get(ctx, client.ObjectKeyFromObject(server), s) == nil &&
				isTrue(meta.FindStatusCondition(s.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked))
		})
		delete(agent.Annotations, mcpv1alpha1.ToolsAnnotation)
		start := time.Now()
		if err := c.Update(ctx, agent); err != nil {
			b.Fatal(err)
		}
		waitUntilGone(ctx, b, c, "MCPServerList", client.InNamespace(ns), client.MatchingFields{"metadata.name": server.Name})
		out = append(out, time.Since(start))
	}
	return out
}

// cascadeDuration deletes a server with n tools and measures until the server and tools are gone.
func cascadeDuration(ctx context.Context, b *testing.B, c client.WithWatch, n int) time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-cascade")
	server := newSyncedServer(ctx, b, c, ns, "big", n)
	waitToolsSettled(ctx, b, c, ns, n)
	start := time.Now()
	if err := c.Delete(ctx, server); err != nil {
		b.Fatal(err)
	}
	waitUntilGone(ctx, b, c, "MCPServerList", client.InNamespace(ns))
	waitUntilGone(ctx, b, c, "MCPToolList", client.InNamespace(ns))
	return time.Since(start)
}

// rawDeleteCollectionDuration creates n MCPTools exactly as a sync of server "raw" does (labels,
// controller ownerReference, spec), but without the in-use-protection finalizer, deletes them with
// one DeleteCollection and measures until they are gone: the API server's own floor, which the
// cascade is compared with.
func rawDeleteCollectionDuration(ctx context.Context, b *testing.B, c client.WithWatch, n int) time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-raw")
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "raw", Namespace: ns},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp", Suspend: ptr.To(true)},
	}
	mustCreateT(b, c, server)
	for _, t := range benchTools(server, n) {
		t.Finalizers = nil
		mustCreateT(b, c, t)
	}
	waitToolsSettled(ctx, b, c, ns, n)
	start := time.Now()
	if err := c.DeleteAllOf(ctx, &mcpv1alpha1.MCPTool{}, client.InNamespace(ns), client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}); err != nil {
		b.Fatal(err)
	}
	waitUntilGone(ctx, b, c, "MCPToolList", client.InNamespace(ns))
	return time.Since(start)
}

// waitToolsSettled waits until the tool controller has written the status of all n MCPTools in ns,
// so that no write left over from creating them runs during a measurement.
func waitToolsSettled(ctx context.Context, b *testing.B, c client.Client, ns string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list := &mcpv1alpha1.MCPToolList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		settled := 0
		for _, t := range list.Items {
			if meta.FindStatusCondition(t.Status.Conditions, mcpv1alpha1.ConditionReady) != nil {
				settled++
			}
		}
		if settled == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d MCPTools got a status", settled, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitUntilGone waits, through a watch, until no object of the list kind matches opts. Polling the
// API server (a List every few milliseconds) would load it more than the deletes being measured.
func waitUntilGone(ctx context.Context, b *testing.B, c client.WithWatch, listKind string, opts ...client.ListOption) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(mcpv1alpha1.GroupVersion.WithKind(listKind))
	if err := c.List(ctx, list, opts...); err != nil {
		b.Fatal(err)
	}
	left := map[string]bool{}
	for _, item := range list.Items {
		left[item.Name] = true
	}
	if len(left) == 0 {
		return
	}
	w, err := c.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})...)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	for len(left) > 0 {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				b.Fatalf("watch of %s closed with %d left", listKind, len(left))
			}
			if obj, isMeta := e.Object.(client.Object); isMeta && e.Type == watch.Deleted {
				delete(left, obj.GetName())
			}
		case <-ctx.Done():
			b.Fatalf("timed out waiting for %d %s items to go", len(left), listKind)
		}
	}
}

// newSyncedServer creates a server with its finalizer and n owned tools, as a sync leaves them (the
// delete path needs no MCP server).
func newSyncedServer(ctx context.Context, b *testing.B, c client.Client, ns, name string, n int) *mcpv1alpha1.MCPServer {
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Finalizers: []string{mcpv1alpha1.ServerFinalizer}},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp", Suspend: ptr.To(true)},
	}
	mustCreateT(b, c, server)
	for _, t := range benchTools(server, n) {
		mustCreateT(b, c, t)
	}
	return server
}

// benchTools returns the n MCPTools a sync of server creates.
func benchTools(server *mcpv1alpha1.MCPServer, n int) []*mcpv1alpha1.MCPTool {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("tool-%04d", i)
	}
	desired, _ := registry.DesiredTools(server, generatedNamedTools(names))
	return desired
}

func benchConsumer(ctx context.Context, b *testing.B, c client.Client, ns, name, tools string) *appsv1.Deployment {
	d := utils.ConsumerDeployment(ns, name, tools)
	mustCreateT(b, c, d)
	return d
}

func newBenchNamespace(ctx context.Context, b *testing.B, c client.Client, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := c.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	return ns.Name
}

// waitFor polls cond every 2 ms until it holds, failing after timeout.
func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// percentile returns the p-th percentile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}
