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

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// BenchmarkOperator is `make bench` (run it with -benchtime=1x): deletion and sync, bin/manager on
// the local control plane with kube-controller-manager, each measure against a baseline run side
// by side, over BENCH_ROUNDS paired rounds (default 3) whose order alternates, reported as
// medians in one table. BENCH_TOOLS (default 1000) sizes the big server, BENCH_UNBLOCKS (default
// 50) the unblock latency samples, BENCH_LOAD_SERVERS (default 200) the servers syncing meanwhile.
//
// Rounds that need no operator (the floor, the garbage collector, a raw DeleteCollection, the
// plain-client sync) run with bin/manager stopped, so nothing of the operator touches their
// objects; rounds that measure it run with bin/manager started again.
func BenchmarkOperator(b *testing.B) {
	rounds := envInt("BENCH_ROUNDS", 3)
	n := envInt("BENCH_TOOLS", 1000)
	unblocks := envInt("BENCH_UNBLOCKS", 50)
	loadServers := envInt("BENCH_LOAD_SERVERS", 200)
	const pageSize = 100
	pages := (n + pageSize - 1) / pageSize

	e := startEnv(b)
	big := startUpstream(b, mcpserver.Config{Tools: mcpserver.GeneratedTools(n), PageSize: pageSize})
	changes := startUpstream(b, mcpserver.Config{Tools: mcpserver.GeneratedTools(n), PageSize: pageSize})
	small := startUpstream(b, mcpserver.Config{Tools: mcpserver.GeneratedTools(5)})

	for range b.N {
		idle := e.unblockLatencies(b, unblocks)
		fmt.Printf("unblock, idle manager: p50 %s, p99 %s\n", percentile(idle, 50), percentile(idle, 99))

		sc := e.syncChanges(b, changes, n, pages)
		fmt.Printf("sync, nothing changed: %v; one description changed: %v\n", sc.unchanged, sc.changed)

		loadNS, syncsDuring := e.startLoad(b, small, loadServers), small.count(firstToolsPage)
		loaded := e.unblockLatencies(b, unblocks)
		syncsDuring = small.count(firstToolsPage) - syncsDuring
		fmt.Printf("unblock, %d servers syncing (%d syncs meanwhile): p50 %s, p99 %s\n",
			loadServers, syncsDuring, percentile(loaded, 50), percentile(loaded, 99))
		e.deleteNamespace(b, loadNS)

		var cascade, floor, gc, raw, syncOp, syncPlain []float64
		var vsFloor, vsGC, vsRaw, vsPlain []float64
		for round := range rounds {
			var c, f, g, r, so, sp time.Duration
			operator := func() {
				c = e.cascade(b, n)
				so = e.syncApply(b, big, n)
			}
			baselines := func() {
				if err := e.mgr.Stop(); err != nil {
					b.Fatal(err)
				}
				f = e.floor(b, n)
				g = e.garbageCollector(b, n)
				r = e.rawDeleteCollection(b, n)
				sp = e.plainSync(b, big, n)
				e.startManager(b)
			}
			if round%2 == 0 {
				operator()
				baselines()
			} else {
				baselines()
				operator()
			}
			fmt.Printf("round %d: cascade %s, floor %s, garbage collector %s, raw %s; sync %s, plain client %s\n",
				round+1, c.Round(time.Millisecond), f.Round(time.Millisecond), g.Round(time.Millisecond),
				r.Round(time.Millisecond), so.Round(time.Millisecond), sp.Round(time.Millisecond))
			cascade, floor, gc, raw = append(cascade, c.Seconds()), append(floor, f.Seconds()), append(gc, g.Seconds()), append(raw, r.Seconds())
			syncOp, syncPlain = append(syncOp, so.Seconds()), append(syncPlain, sp.Seconds())
			vsFloor, vsGC, vsRaw = append(vsFloor, c.Seconds()/f.Seconds()), append(vsGC, c.Seconds()/g.Seconds()), append(vsRaw, c.Seconds()/r.Seconds())
			vsPlain = append(vsPlain, so.Seconds()/sp.Seconds())
		}

		seconds := func(v float64) string { return fmt.Sprintf("%.2f s", v) }
		ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
		ratio := func(v float64) string { return fmt.Sprintf("%.2f×", v) }
		title := fmt.Sprintf("make bench: %d MCPTools, medians of %d paired rounds (order alternating)", n, rounds)
		printTable(title, []row{
			{measure: "cascade vs floor (DeleteCollection + bare release loop, same finalizer, same patch, same workers)",
				value: seconds(median(cascade)), baseline: seconds(median(floor)), ratio: ratio(median(vsFloor)), target: "≤ 1.2×", met: ptrBool(median(vsFloor) <= 1.2)},
			{measure: "cascade vs garbage collector (no finalizers, background propagation)",
				value: seconds(median(cascade)), baseline: seconds(median(gc)), ratio: ratio(median(vsGC)), target: "≤ 0.15×", met: ptrBool(median(vsGC) <= 0.15)},
			{measure: "cascade vs raw DeleteCollection of finalizer-free MCPTools",
				value: seconds(median(cascade)), baseline: seconds(median(raw)), ratio: ratio(median(vsRaw)), target: "-"},
			{measure: fmt.Sprintf("unblock latency p99, idle manager (%d deletes)", unblocks),
				value: ms(percentile(idle, 99)), baseline: "-", ratio: "-", target: "< 1000 ms", met: ptrBool(percentile(idle, 99) < time.Second)},
			{measure: fmt.Sprintf("unblock latency p99, %d other servers syncing (%d syncs meanwhile)", loadServers, syncsDuring),
				value: ms(percentile(loaded, 99)), baseline: "-", ratio: "-", target: "< 1000 ms", met: ptrBool(percentile(loaded, 99) < time.Second)},
			{measure: fmt.Sprintf("sync: apply → Ready with %d MCPTools vs a plain client (creates, then status with %d workers)", n, workers),
				value: seconds(median(syncOp)), baseline: seconds(median(syncPlain)), ratio: ratio(median(vsPlain)), target: "≤ 1.5×", met: ptrBool(median(vsPlain) <= 1.5)},
			{measure: fmt.Sprintf("sync, one description changed among %d: MCPTool writes (status writes)", n),
				value: fmt.Sprintf("%.0f (%.0f)", sc.changed.tools, sc.changed.toolStatus), baseline: "-", ratio: "-", target: "1", met: ptrBool(sc.changed.tools == 1)},
			{measure: "sync, nothing changed: API writes (MCPTool, MCPServer)",
				value: fmt.Sprintf("%.0f", sc.unchanged.writes()), baseline: "-", ratio: "-", target: "0", met: ptrBool(sc.unchanged.writes() == 0)},
			{measure: "sync, nothing changed: tools/list per sync",
				value: fmt.Sprintf("%.1f", sc.unchanged.listsPerSync), baseline: fmt.Sprintf("%d pages", pages), ratio: "-",
				target: fmt.Sprintf("%d", pages), met: ptrBool(sc.unchanged.listsPerSync == float64(pages))},
		})
	}
}

// startManager starts bin/manager again and waits until its controllers act (a new server gets
// its finalizer), so that no measurement includes the manager's start-up.
func (e *env) startManager(b *testing.B) {
	if err := e.mgr.Start(); err != nil {
		b.Fatal(err)
	}
	ns := e.namespace(b, "bench-warm")
	server := e.suspendedServer(b, ns, "warm")
	e.waitFinalizer(b, server)
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	e.waitServerGone(b, server, time.Minute)
}

// cascade deletes a server with n tools (created as a sync leaves them, their status written by
// the tool controller) and measures until the server and its tools are gone.
func (e *env) cascade(b *testing.B, n int) time.Duration {
	ns := e.namespace(b, "bench-cascade")
	server := e.suspendedServer(b, ns, "big")
	e.waitFinalizer(b, server)
	e.createAll(b, asObjects(toolsFor(server, namedTools(n))))
	e.watchTools(b, ns).until(b, 5*time.Minute, "the tool controller's status writes", func(m map[string]*mcpv1alpha1.MCPTool) bool {
		return readyCount(m, "") == n
	})
	tw := e.watchTools(b, ns)
	defer e.mgr.profile("cascade", 10)()
	start := time.Now()
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	tw.until(b, 5*time.Minute, "the cascade", none)
	e.waitServerGone(b, server, time.Minute)
	return time.Since(start)
}

// floor: the same n MCPTools with the same finalizer, one DeleteCollection, a bare release loop.
func (e *env) floor(b *testing.B, n int) time.Duration {
	ns := e.namespace(b, "bench-floor")
	server := e.suspendedServer(b, ns, "big")
	e.createAll(b, asObjects(toolsFor(server, namedTools(n))))
	d := e.deleteAndRelease(b, ns)
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	return d
}

// garbageCollector: the same n MCPTools without finalizers, owned by a server without ours,
// deleted with background propagation: kube-controller-manager's garbage collector removes them.
func (e *env) garbageCollector(b *testing.B, n int) time.Duration {
	ns := e.namespace(b, "bench-gc")
	server := e.suspendedServer(b, ns, "big")
	tools := toolsFor(server, namedTools(n))
	for _, t := range tools {
		t.Finalizers = nil
	}
	e.createAll(b, asObjects(tools))
	time.Sleep(2 * time.Second) // the garbage collector's graph catches up with the creates
	tw := e.watchTools(b, ns)
	start := time.Now()
	if err := e.c.Delete(context.Background(), server, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		b.Fatal(err)
	}
	tw.until(b, 10*time.Minute, "the garbage collector", none)
	return time.Since(start)
}

// rawDeleteCollection: the same n MCPTools without finalizers, one DeleteCollection.
func (e *env) rawDeleteCollection(b *testing.B, n int) time.Duration {
	ns := e.namespace(b, "bench-raw")
	server := e.suspendedServer(b, ns, "big")
	tools := toolsFor(server, namedTools(n))
	for _, t := range tools {
		t.Finalizers = nil
	}
	e.createAll(b, asObjects(tools))
	tw := e.watchTools(b, ns)
	start := time.Now()
	if err := e.c.DeleteAllOf(context.Background(), &mcpv1alpha1.MCPTool{}, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	tw.until(b, 5*time.Minute, "the DeleteCollection", none)
	d := time.Since(start)
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	return d
}

// syncApply creates a server offering n tools and measures until it is Ready with n Ready
// MCPTools; the server is then deleted (not measured).
func (e *env) syncApply(b *testing.B, up *mcpUpstream, n int) time.Duration {
	ns := e.namespace(b, "bench-sync")
	tw := e.watchTools(b, ns)
	server := syncedServer(ns, "big", up.url, 5*time.Minute)
	stopProfile := e.mgr.profile("sync", 15)
	start := time.Now()
	if err := e.c.Create(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	tw.until(b, 5*time.Minute, "the sync", func(m map[string]*mcpv1alpha1.MCPTool) bool {
		return readyCount(m, metav1.ConditionTrue) == n
	})
	e.waitReady(b, server)
	d := time.Since(start)
	stopProfile()
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	e.waitServerGone(b, server, 5*time.Minute)
	return d
}

// plainSync is what a plain client does for the same result: create the n MCPTools the sync
// creates, one after the other as the sync does, and write each one's status with the tool
// controller's concurrency as soon as it exists.
func (e *env) plainSync(b *testing.B, up *mcpUpstream, n int) time.Duration {
	ctx := context.Background()
	ns := e.namespace(b, "bench-plain")
	server := syncedServer(ns, "big", up.url, 5*time.Minute)
	if err := e.c.Create(ctx, server); err != nil {
		b.Fatal(err)
	}
	tools := toolsFor(server, discovered(up.Config().Tools))
	if len(tools) != n {
		b.Fatalf("%d tools, want %d", len(tools), n)
	}
	start := time.Now()
	created := make(chan *mcpv1alpha1.MCPTool, n)
	go func() {
		defer close(created)
		for _, t := range tools {
			if err := e.c.Create(ctx, t); err != nil {
				b.Error(err)
				return
			}
			created <- t
		}
	}()
	parallel(b, workers, workers, func(int) error {
		for t := range created {
			before := t.DeepCopy()
			meta.SetStatusCondition(&t.Status.Conditions, metav1.Condition{Type: mcpv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
				Reason: mcpv1alpha1.ReasonSucceeded, Message: "Available", ObservedGeneration: t.Generation})
			t.Status.Digest, t.Status.ObservedGeneration = t.Spec.DiscoveredDigest, t.Generation
			if err := e.c.Status().Patch(ctx, t, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
		}
		return nil
	})
	d := time.Since(start)
	e.deleteAndRelease(b, ns)
	if err := e.c.Delete(ctx, server); err != nil {
		b.Fatal(err)
	}
	return d
}

func syncedServer(ns, name, url string, interval time.Duration) *mcpv1alpha1.MCPServer {
	return &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: mcpv1alpha1.MCPServerSpec{URL: url, LiveSync: ptr.To(false),
			SyncInterval: &metav1.Duration{Duration: interval}, Timeout: &metav1.Duration{Duration: min(interval, 30*time.Second)}},
	}
}

// waitReady waits until the server is Ready at its generation.
func (e *env) waitReady(b *testing.B, server *mcpv1alpha1.MCPServer) {
	waitFor(b, 5*time.Minute, "MCPServer "+server.Name+" Ready", func() bool {
		s := &mcpv1alpha1.MCPServer{}
		if e.c.Get(context.Background(), client.ObjectKeyFromObject(server), s) != nil {
			return false
		}
		c := meta.FindStatusCondition(s.Status.Conditions, mcpv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && s.Status.ObservedGeneration == s.Generation
	})
}

// writeCounts are API writes counted at the API server over one sync.
type writeCounts struct {
	tools, toolStatus, servers, serverStatus float64
	listsPerSync                             float64
}

func (w writeCounts) writes() float64 { return w.tools + w.toolStatus + w.servers + w.serverStatus }

func (w writeCounts) String() string {
	return fmt.Sprintf("MCPTool writes %.0f (+%.0f status), MCPServer writes %.0f (+%.0f status), tools/list per sync %.1f",
		w.tools, w.toolStatus, w.servers, w.serverStatus, w.listsPerSync)
}

type syncChangeResult struct{ unchanged, changed writeCounts }

// syncChanges syncs a server offering n tools every 10 s, then counts, at the API server and at
// the MCP server, what one sync with nothing changed costs, and one after one tool's description
// changed upstream.
func (e *env) syncChanges(b *testing.B, up *mcpUpstream, n, pages int) syncChangeResult {
	ns := e.namespace(b, "bench-changes")
	tw := e.watchTools(b, ns)
	server := syncedServer(ns, "changes", up.url, 10*time.Second)
	if err := e.c.Create(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	tw.until(b, 5*time.Minute, "the first sync", func(m map[string]*mcpv1alpha1.MCPTool) bool {
		return readyCount(m, metav1.ConditionTrue) == n
	})
	e.waitReady(b, server)
	time.Sleep(3 * time.Second) // the first sync's follow-up passes
	oneSync := func() writeCounts {
		tools, toolStatus := e.apiWrites(b, "mcptools", ""), e.apiWrites(b, "mcptools", "status")
		servers, serverStatus := e.apiWrites(b, "mcpservers", ""), e.apiWrites(b, "mcpservers", "status")
		inits, lists := up.count(firstToolsPage), up.count("tools/list")
		waitFor(b, time.Minute, "the next sync", func() bool {
			return up.count(firstToolsPage) > inits && up.count("tools/list") >= lists+pages
		})
		time.Sleep(2 * time.Second) // what the sync writes, and the passes it causes
		// A sync that started meanwhile is counted whole.
		waitFor(b, time.Minute, "the sync under way", func() bool { return (up.count("tools/list")-lists)%pages == 0 })
		return writeCounts{
			tools: e.apiWrites(b, "mcptools", "") - tools, toolStatus: e.apiWrites(b, "mcptools", "status") - toolStatus,
			servers: e.apiWrites(b, "mcpservers", "") - servers, serverStatus: e.apiWrites(b, "mcpservers", "status") - serverStatus,
			listsPerSync: float64(up.count("tools/list")-lists) / float64(max(1, up.count(firstToolsPage)-inits)),
		}
	}
	var r syncChangeResult
	r.unchanged = oneSync()
	up.Update(func(c *mcpserver.Config) { c.Tools[n/2].Description = "Changed upstream." })
	r.changed = oneSync()
	if err := e.c.Delete(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	e.waitServerGone(b, server, 5*time.Minute)
	return r
}

// startLoad creates count servers, each offering the small upstream's tools and synced every 10 s,
// in a new namespace, and returns it at once: they sync while the next measurement runs.
func (e *env) startLoad(b *testing.B, up *mcpUpstream, count int) string {
	ns := e.namespace(b, "bench-load")
	objects := make([]client.Object, count)
	for i := range objects {
		objects[i] = syncedServer(ns, fmt.Sprintf("load-%03d", i), fmt.Sprintf("%s?server=%d", up.url, i), 10*time.Second)
	}
	e.createAll(b, objects)
	return ns
}

// deleteNamespace deletes a namespace and waits until the namespace controller removed it.
func (e *env) deleteNamespace(b *testing.B, ns string) {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := e.c.Delete(context.Background(), obj); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 10*time.Minute, "namespace "+ns+" to go", func() bool {
		return apierrors.IsNotFound(e.c.Get(context.Background(), client.ObjectKeyFromObject(obj), &corev1.Namespace{}))
	})
}

// unblockLatencies deletes n blocked servers and measures, for each, the time from the consumer's
// annotation being removed to the server being gone (seen through a watch).
func (e *env) unblockLatencies(b *testing.B, n int) []time.Duration {
	ctx := context.Background()
	ns := e.namespace(b, "bench-unblock")
	var out []time.Duration
	for i := range n {
		server := e.suspendedServer(b, ns, fmt.Sprintf("s%02d", i))
		e.waitFinalizer(b, server)
		tw := e.watchTools(b, ns)
		e.createAll(b, asObjects(toolsFor(server, namedTools(3))))
		// The manager's cache must hold the tools before the delete, or the reference would be
		// to tools the server does not have, which never blocks.
		tw.until(b, time.Minute, "the tools' status", func(m map[string]*mcpv1alpha1.MCPTool) bool {
			n := 0
			for _, t := range m {
				if t.Spec.ServerRef.Name == server.Name && meta.FindStatusCondition(t.Status.Conditions, mcpv1alpha1.ConditionReady) != nil {
					n++
				}
			}
			return n == 3
		})
		agent := utils.ConsumerDeployment(ns, fmt.Sprintf("agent-%02d", i), server.Name+":tool-0000")
		if err := e.c.Create(ctx, agent); err != nil {
			b.Fatal(err)
		}
		if err := e.c.Delete(ctx, server); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, "DeletionBlocked", func() bool {
			s := &mcpv1alpha1.MCPServer{}
			return e.c.Get(ctx, client.ObjectKeyFromObject(server), s) == nil &&
				meta.IsStatusConditionTrue(s.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
		})
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(mcpv1alpha1.GroupVersion.WithKind("MCPServerList"))
		if err := e.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		w, err := e.c.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			b.Fatal(err)
		}
		delete(agent.Annotations, mcpv1alpha1.ToolsAnnotation)
		start := time.Now()
		if err := e.c.Update(ctx, agent); err != nil {
			b.Fatal(err)
		}
		waitDeleted(b, w, server.Name)
		out = append(out, time.Since(start))
		if err := e.c.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: agent.Name}}); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// waitDeleted reads w until it reports name deleted.
func waitDeleted(b *testing.B, w watch.Interface, name string) {
	defer w.Stop()
	deadline := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatalf("the watch closed before %s went", name)
			}
			if obj, isObj := ev.Object.(client.Object); isObj && ev.Type == watch.Deleted && obj.GetName() == name {
				return
			}
		case <-deadline:
			b.Fatalf("timed out waiting for %s to go", name)
		}
	}
}
