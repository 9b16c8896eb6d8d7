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
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// BenchmarkScale is `make bench-scale` (run it with -benchtime=1x): many tenants. At full size,
// SCALE_SERVERS (default 1000) MCPServers of SCALE_TOOLS (default 20) tools each in
// SCALE_SERVERS/10 namespaces, with 10 annotated consumer Deployments per server (there is no
// scheduler: no pod is ever created). Each size in SCALE_FRACTIONS (default "0.25 0.5 1") runs on
// a fresh control plane and bin/manager, and measures apply → all Ready, the manager's RSS and Go
// heap at steady state, API writes and the manager's CPU over SCALE_IDLE (default 10m) idle
// (metrics scraped every 15 s meanwhile, as Prometheus would),
// unblock latency with all of it cached, and the delete of a namespace holding a tenth of the
// servers and of the consumers. The table ends with the per-object costs, which must stay flat
// from one size to the next.
func BenchmarkScale(b *testing.B) {
	servers := envInt("SCALE_SERVERS", 1000)
	toolsPer := envInt("SCALE_TOOLS", 20)
	idle := envDuration("SCALE_IDLE", 10*time.Minute)
	fractions := []float64{0.25, 0.5, 1}
	if v := os.Getenv("SCALE_FRACTIONS"); v != "" {
		fractions = nil
		for _, f := range strings.Fields(v) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || x <= 0 {
				b.Fatalf("SCALE_FRACTIONS: %q is not a positive number", f)
			}
			fractions = append(fractions, x)
		}
	}
	var rows []row
	for range b.N {
		for _, f := range fractions {
			s := max(10, int(float64(servers)*f)/10*10)
			b.Run(fmt.Sprintf("servers=%d", s), func(b *testing.B) {
				rows = append(rows, scaleRun(b, s, toolsPer, idle)...)
			})
		}
		printTable(fmt.Sprintf("make bench-scale: %d tools per server, 10 consumers per server, idle %s", toolsPer, idle), rows)
	}
}

// scaleRun measures one size on a fresh control plane and returns its rows.
func scaleRun(b *testing.B, servers, toolsPer int, idle time.Duration) []row {
	ctx := context.Background()
	namespaces := servers / 10
	e := startEnv(b)
	// A few MCP server instances stand for many endpoints: each MCPServer names its own query.
	upstreams := make([]*mcpUpstream, 4)
	for i := range upstreams {
		upstreams[i] = startUpstream(b, mcpserver.Config{Tools: mcpserver.GeneratedTools(toolsPer), PageSize: 100})
	}

	// Consumers first: 10 per server, in the server's namespace, each naming one of its tools (one
	// in ten the whole server).
	start := time.Now()
	var objects []client.Object
	for n := range namespaces {
		ns := fmt.Sprintf("tenant-%03d", n)
		if err := e.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
		for s := range 10 {
			for c := range 10 {
				ref := fmt.Sprintf("server-%d:tool-%03d", s, c%toolsPer)
				if c == 9 {
					ref = fmt.Sprintf("server-%d", s)
				}
				objects = append(objects, utils.ConsumerDeployment(ns, fmt.Sprintf("agent-%d-%d", s, c), ref))
			}
		}
	}
	e.createAll(b, objects)
	consumersCreated := time.Since(start)

	start = time.Now()
	objects = objects[:0]
	for n := range namespaces {
		for s := range 10 {
			i := n*10 + s
			up := upstreams[i%len(upstreams)]
			server := syncedServer(fmt.Sprintf("tenant-%03d", n), fmt.Sprintf("server-%d", s), fmt.Sprintf("%s?server=%d", up.url, i), 5*time.Minute)
			objects = append(objects, server)
		}
	}
	e.createAll(b, objects)
	e.waitAllReady(b, servers, servers*toolsPer, 30*time.Minute)
	apply := time.Since(start)
	fmt.Printf("servers=%d: consumers created in %s; apply → all Ready in %s\n", servers, consumersCreated.Round(time.Second), apply.Round(time.Second))

	time.Sleep(30 * time.Second) // the follow-up passes settle; the Go heap after a collection
	rss, heap := e.mgr.rssBytes(), e.mgr.metric("go_memstats_heap_inuse_bytes")
	fmt.Printf("servers=%d: steady state RSS %.0f MiB, Go heap in use %.0f MiB\n", servers, rss/(1<<20), heap/(1<<20))

	writes0, cpu0 := e.allWrites(b), e.mgr.cpuSeconds()
	for end := time.Now().Add(idle); time.Now().Before(end); time.Sleep(min(15*time.Second, time.Until(end))) {
		e.mgr.metric("mcp_registry_consumers") // a scrape, as Prometheus would make
	}
	idleWrites, idleCPU := e.allWrites(b)-writes0, e.mgr.cpuSeconds()-cpu0
	fmt.Printf("servers=%d: idle %s: %.0f API writes, manager CPU %.1f s\n", servers, idle, idleWrites, idleCPU)

	unblocks := e.unblockLatencies(b, 20)
	p99 := percentile(unblocks, 99)

	// A namespace holding a tenth of the servers and of the consumers, created and synced like the
	// rest, then deleted: the namespace controller deletes the consumers and the servers, which
	// cascade once their consumers are gone.
	big := "tenant-big"
	if err := e.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: big}}); err != nil {
		b.Fatal(err)
	}
	objects = objects[:0]
	bigServers := max(1, servers/10)
	for s := range bigServers {
		up := upstreams[s%len(upstreams)]
		objects = append(objects, syncedServer(big, fmt.Sprintf("server-%d", s), fmt.Sprintf("%s?server=big-%d", up.url, s), 5*time.Minute))
		for c := range 10 {
			objects = append(objects, utils.ConsumerDeployment(big, fmt.Sprintf("agent-%d-%d", s, c), fmt.Sprintf("server-%d:tool-%03d", s, c%toolsPer)))
		}
	}
	e.createAll(b, objects)
	e.waitAllReady(b, servers+bigServers, (servers+bigServers)*toolsPer, 30*time.Minute)
	start = time.Now()
	e.deleteNamespace(b, big)
	nsDelete := time.Since(start)
	fmt.Printf("servers=%d: unblock p99 %s; namespace with %d servers and %d consumers deleted in %s\n",
		servers, p99, bigServers, bigServers*10, nsDelete.Round(time.Millisecond))

	tools, consumers := servers*toolsPer, servers*10
	objectsCached := float64(servers + tools + consumers)
	size := fmt.Sprintf("%d servers", servers)
	return []row{
		{measure: size + ": apply → all Ready (" + strconv.Itoa(tools) + " MCPTools)", value: apply.Round(time.Second).String(),
			baseline: "-", ratio: fmt.Sprintf("%.2f ms per MCPTool", float64(apply.Milliseconds())/float64(tools)), target: "flat per object"},
		{measure: size + ": manager RSS at steady state", value: fmt.Sprintf("%.0f MiB", rss/(1<<20)), baseline: "-",
			ratio: fmt.Sprintf("%.1f KiB per object", rss/1024/objectsCached), target: "< 300 MiB", met: ptrBool(rss < 300<<20)},
		{measure: size + ": Go heap in use at steady state", value: fmt.Sprintf("%.0f MiB", heap/(1<<20)), baseline: "-",
			ratio: fmt.Sprintf("%.1f KiB per object", heap/1024/objectsCached), target: "flat per object"},
		{measure: size + ": API writes while idle " + idle.String(), value: fmt.Sprintf("%.0f", idleWrites), baseline: "-", ratio: "-",
			target: "0", met: ptrBool(idleWrites == 0)},
		{measure: size + ": manager CPU while idle", value: fmt.Sprintf("%.2f%% of a core", 100*idleCPU/idle.Seconds()), baseline: "-", ratio: "-",
			target: "near zero"},
		{measure: size + ": unblock latency p99, all cached (20 deletes)", value: fmt.Sprintf("%d ms", p99.Milliseconds()), baseline: "-", ratio: "-",
			target: "< 1000 ms", met: ptrBool(p99 < time.Second)},
		{measure: fmt.Sprintf("%s: delete a namespace with %d servers, %d consumers", size, bigServers, bigServers*10),
			value: nsDelete.Round(time.Millisecond).String(), baseline: "-",
			ratio: fmt.Sprintf("%.1f ms per MCPTool", float64(nsDelete.Milliseconds())/float64(bigServers*toolsPer)), target: "flat per object"},
	}
}

// allWrites is every write request the API server has answered, whoever sent it, but the Lease
// renewals of the control plane itself (the API server renews its identity Lease every 10 s).
func (e *env) allWrites(b *testing.B) float64 {
	data, err := e.rest.Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("cannot read the API server's metrics: %v", err)
	}
	total := 0.0
	for _, verb := range writeVerbs {
		total += sumSamples(data, "apiserver_request_total", []string{`verb="` + verb + `"`}) -
			sumSamples(data, "apiserver_request_total", []string{`verb="` + verb + `"`, `resource="leases"`})
	}
	return total
}

// waitAllReady waits until servers MCPServers are Ready and tools MCPTools are Ready, listing in
// pages every few seconds.
func (e *env) waitAllReady(b *testing.B, servers, tools int, timeout time.Duration) {
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		readyServers := 0
		list := &mcpv1alpha1.MCPServerList{}
		if err := e.c.List(ctx, list); err != nil {
			b.Fatal(err)
		}
		for _, s := range list.Items {
			if meta.IsStatusConditionTrue(s.Status.Conditions, mcpv1alpha1.ConditionReady) {
				readyServers++
			}
		}
		readyTools := 0
		if readyServers >= servers {
			cont := ""
			for {
				page := &mcpv1alpha1.MCPToolList{}
				if err := e.c.List(ctx, page, client.Limit(2000), client.Continue(cont)); err != nil {
					b.Fatal(err)
				}
				for _, t := range page.Items {
					if meta.IsStatusConditionTrue(t.Status.Conditions, mcpv1alpha1.ConditionReady) {
						readyTools++
					}
				}
				if cont = page.Continue; cont == "" {
					break
				}
			}
			if readyTools >= tools {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s: %d of %d MCPServers and %d of %d MCPTools Ready", timeout, readyServers, servers, readyTools, tools)
		}
		time.Sleep(3 * time.Second)
	}
}
