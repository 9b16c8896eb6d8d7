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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// BenchmarkDeletion measures, on envtest with the real controllers, in one run (use -benchtime=1x):
//
//   - unblock latency: from removing the last consumer reference to the server being gone, over 50
//     deletes, reported as unblock-p50-ms and unblock-p99-ms (target: p99 under 1 s);
//   - the cascade of one server with 1,000 tools against one raw DeleteCollection of 1,000
//     comparable objects (MCPTools without finalizers), reported as cascade-s, raw-s and
//     cascade/raw (target: at most 2). A ratio in the same run cancels out the machine's speed.
func BenchmarkDeletion(b *testing.B) {
	cfg, scheme, c := startTestEnv(b)
	stop, _ := runManager(b, cfg, scheme, -1)
	defer stop()
	ctx := context.Background()

	for range b.N {
		latencies := unblockLatencies(ctx, b, c, 50)
		slices.Sort(latencies)
		b.ReportMetric(float64(percentile(latencies, 50).Milliseconds()), "unblock-p50-ms")
		b.ReportMetric(float64(percentile(latencies, 99).Milliseconds()), "unblock-p99-ms")

		cascade := cascadeDuration(ctx, b, c, 1000)
		raw := rawDeleteCollectionDuration(ctx, b, c, 1000)
		b.ReportMetric(cascade.Seconds(), "cascade-s")
		b.ReportMetric(raw.Seconds(), "raw-s")
		b.ReportMetric(cascade.Seconds()/raw.Seconds(), "cascade/raw")
	}
}

// unblockLatencies deletes n blocked servers and measures, for each, the time from the consumer's
// annotation being removed to the server being gone.
func unblockLatencies(ctx context.Context, b *testing.B, c client.Client, n int) []time.Duration {
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
		waitFor(b, 30*time.Second, "server gone", func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(server), &mcpv1alpha1.MCPServer{}))
		})
		out = append(out, time.Since(start))
	}
	return out
}

// cascadeDuration deletes a server with n tools and measures until the server and tools are gone.
func cascadeDuration(ctx context.Context, b *testing.B, c client.Client, n int) time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-cascade")
	server := newSyncedServer(ctx, b, c, ns, "big", n)
	start := time.Now()
	if err := c.Delete(ctx, server); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 5*time.Minute, "cascade", func() bool {
		list := &mcpv1alpha1.MCPToolList{}
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(server), &mcpv1alpha1.MCPServer{})) &&
			c.List(ctx, list, client.InNamespace(ns)) == nil && len(list.Items) == 0
	})
	return time.Since(start)
}

// rawDeleteCollectionDuration deletes n MCPTools without finalizers with one DeleteCollection and
// measures until they are gone: the floor any cascade is compared with.
func rawDeleteCollectionDuration(ctx context.Context, b *testing.B, c client.Client, n int) time.Duration {
	ns := newBenchNamespace(ctx, b, c, "bench-raw")
	for i := range n {
		mustCreateT(b, c, &mcpv1alpha1.MCPTool{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("raw-%04d", i), Namespace: ns, Labels: map[string]string{"bench": "raw"}},
			Spec:       mcpv1alpha1.MCPToolSpec{ServerRef: mcpv1alpha1.ServerReference{Name: "none"}, ToolName: fmt.Sprintf("tool-%04d", i)},
		})
	}
	start := time.Now()
	if err := c.DeleteAllOf(ctx, &mcpv1alpha1.MCPTool{}, client.InNamespace(ns), client.MatchingLabels{"bench": "raw"}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 5*time.Minute, "raw delete", func() bool {
		list := &mcpv1alpha1.MCPToolList{}
		return c.List(ctx, list, client.InNamespace(ns)) == nil && len(list.Items) == 0
	})
	return time.Since(start)
}

// newSyncedServer creates a server with its finalizer and n owned tools, as a sync leaves them (the
// delete path needs no MCP server).
func newSyncedServer(ctx context.Context, b *testing.B, c client.Client, ns, name string, n int) *mcpv1alpha1.MCPServer {
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Finalizers: []string{mcpv1alpha1.ServerFinalizer}},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp", Suspend: ptr.To(true)},
	}
	mustCreateT(b, c, server)
	tools := make([]string, n)
	for i := range tools {
		tools[i] = fmt.Sprintf("tool-%04d", i)
	}
	desired, _ := registry.DesiredTools(server, generatedNamedTools(tools))
	for _, t := range desired {
		mustCreateT(b, c, t)
	}
	return server
}

func benchConsumer(ctx context.Context, b *testing.B, c client.Client, ns, name, tools string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: tools}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "example.com/a:1"}}},
			},
		},
	}
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
