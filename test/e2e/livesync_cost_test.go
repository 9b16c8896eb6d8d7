//go:build e2e

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

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

// idleSample is what the manager process costs at one steady state.
type idleSample struct {
	rssBytes, heapBytes, goroutines float64
	// cpu is the manager's CPU time over the idle window, as a fraction of one core.
	cpu float64
	// requests are those the upstream server received during the window; writes the MCPServers
	// and MCPTools whose resourceVersion moved.
	requests int64
	writes   int
}

// BenchmarkIdleLiveStreams measures what idle live streams cost the manager as its own process
// (bin/manager as the e2e suite runs it, on the local control plane): N MCPServers (IDLE_STREAMS,
// default 1,000; one tool each) on one in-process stateful test server (a session per stream),
// first all with liveSync: false, then all live; at each steady state, after a settle, it samples
// the manager's RSS (/proc), Go heap in use and goroutines (its metrics), and over an idle window
// (IDLE_WINDOW, default 60s) its CPU, the upstream requests and the API writes. Reports the
// difference per stream. Run with
//
//	make test-e2e E2E_FLAGS="-run None -bench BenchmarkIdleLiveStreams -benchtime=1x"
func BenchmarkIdleLiveStreams(b *testing.B) {
	n := envInt(b, "IDLE_STREAMS", 1000)
	window, err := time.ParseDuration(envOr("IDLE_WINDOW", "60s"))
	if err != nil {
		b.Fatalf("IDLE_WINDOW: %v", err)
	}
	upstream, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Name: "idle", Stateful: true, Tools: mcpserver.GeneratedTools(1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = upstream.Close() })
	u := newUser(b, "e2e-idle-streams")
	u.run("create", "serviceaccount", "idle-scraper")
	u.run("create", "clusterrolebinding", "e2e-idle-scraper", "--clusterrole=mcp-registry-operator-metrics-reader",
		"--serviceaccount="+u.ns+":idle-scraper")
	b.Cleanup(func() {
		_, _ = runKubectl("", "delete", "clusterrolebinding", "e2e-idle-scraper", "--ignore-not-found")
	})

	servers := func(live bool) string {
		var m strings.Builder
		for i := range n {
			fmt.Fprintf(&m, "---\n%s", serverManifest(fmt.Sprintf("idle-%04d", i), upstream.URL(), "StreamableHTTP",
				"syncInterval: 1h", fmt.Sprintf("liveSync: %t", live)))
		}
		return m.String()
	}
	// Bulk kubectl calls go around u's logging: their output is thousands of lines.
	kubectl := func(stdin string, args ...string) string {
		b.Helper()
		out, err := runKubectl(stdin, append([]string{"-n", u.ns}, args...)...)
		if err != nil {
			b.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, tail(out, 20))
		}
		return out
	}
	token := strings.TrimSpace(kubectl("", "create", "token", "idle-scraper", "--duration=1h")) // not logged
	waitAll := func(what string, want string) {
		b.Helper()
		start := time.Now()
		u.eventually(10*time.Minute, what, func() string {
			out := kubectl("", "get", "mcpservers", "-o", `jsonpath={range .items[*]}{.status.toolCount}/{.status.liveSync}{"\n"}{end}`)
			if got := strings.Count(out, "1/"+want+"\n"); got != n {
				return fmt.Sprintf("%d of %d", got, n)
			}
			return ""
		})
		b.Logf("%s in %s", what, time.Since(start).Round(time.Second))
	}
	versions := func() map[string]string {
		out := kubectl("", "get", "mcpservers,mcptools", "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
		rv := map[string]string{}
		for _, line := range strings.Fields(out) {
			k, v, _ := strings.Cut(line, "=")
			rv[k] = v
		}
		return rv
	}
	sample := func() idleSample {
		b.Helper()
		time.Sleep(15 * time.Second) // settle: the last syncs' follow-up passes, GC
		pid := suite.manager.Pid()
		before, requests, rv := cpuSeconds(b, pid), upstream.Requests(), versions()
		start := time.Now()
		time.Sleep(window)
		s := idleSample{cpu: (cpuSeconds(b, pid) - before) / time.Since(start).Seconds(), requests: upstream.Requests() - requests}
		for k, v := range versions() {
			if rv[k] != v {
				s.writes++
			}
		}
		s.rssBytes = rss(b, pid)
		code, body, err := scrapeMetrics(token)
		if err != nil || code != 200 {
			b.Fatalf("metrics: %d %v", code, err)
		}
		m := parseMetrics(body)
		if len(m["go_memstats_heap_inuse_bytes"]) == 0 || len(m["go_goroutines"]) == 0 {
			b.Fatal("the manager's metrics have no go_memstats_heap_inuse_bytes or go_goroutines")
		}
		s.heapBytes, s.goroutines = m.sum("go_memstats_heap_inuse_bytes", nil), m.sum("go_goroutines", nil)
		return s
	}

	for range b.N {
		kubectl(servers(false), "apply", "-f", "-")
		waitAll(fmt.Sprintf("%d servers synced, polling", n), "Disabled")
		polling := sample()
		kubectl(servers(true), "apply", "-f", "-")
		waitAll(fmt.Sprintf("%d servers Connected", n), "Connected")
		if got := upstream.Sessions(); got < n {
			b.Errorf("the upstream server holds %d sessions, want at least %d (one per stream)", got, n)
		}
		live := sample()
		per := func(a, b float64) float64 { return (b - a) / float64(n) }
		b.Logf("manager with %d servers polling: RSS %.0f MiB, heap %.0f MiB, %.0f goroutines, CPU %.2f%% of a core, %d upstream requests and %d API writes in %s",
			n, polling.rssBytes/(1<<20), polling.heapBytes/(1<<20), polling.goroutines, polling.cpu*100, polling.requests, polling.writes, window)
		b.Logf("the same %d servers live: RSS %.0f MiB, heap %.0f MiB, %.0f goroutines, CPU %.2f%% of a core, %d upstream requests and %d API writes in %s",
			n, live.rssBytes/(1<<20), live.heapBytes/(1<<20), live.goroutines, live.cpu*100, live.requests, live.writes, window)
		b.ReportMetric(per(polling.rssBytes, live.rssBytes)/1024, "rss-KiB/stream")
		b.ReportMetric(per(polling.heapBytes, live.heapBytes)/1024, "heap-KiB/stream")
		b.ReportMetric(per(polling.goroutines, live.goroutines), "goroutines/stream")
		b.ReportMetric(live.cpu*100, "idle-cpu-%")
		b.ReportMetric(float64(live.requests), "idle-requests")
		b.ReportMetric(float64(live.writes), "idle-writes")
		kubectl("", "delete", "mcpservers", "--all", "--wait=true", "--timeout=10m")
	}
}

// rss is the resident set size of process pid, in bytes.
func rss(b *testing.B, pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatalf("no VmRSS for %d", pid)
	return 0
}

// cpuSeconds is the user and system CPU time process pid has used, in seconds (/proc/pid/stat
// counts clock ticks, 100 per second on Linux).
func cpuSeconds(b *testing.B, pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields[0] is the state (field 3): utime is field 14, stime 15
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("cannot read %s", stat)
	}
	return (utime + stime) / 100
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(b *testing.B, name string, def int) int {
	v, err := strconv.Atoi(envOr(name, strconv.Itoa(def)))
	if err != nil || v < 1 {
		b.Fatalf("%s must be a positive number", name)
	}
	return v
}
