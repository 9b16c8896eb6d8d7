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
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// The flapping endpoint's timings: up flapHalf, down flapHalf, for flapFor.
var (
	flapFor  = flag.Duration("flap.duration", time.Minute, "how long TestFlappingEndpoint flaps the MCP endpoint")
	flapHalf = flag.Duration("flap.half-period", 2*time.Second, "how long the flapping MCP endpoint stays up, and then down")
)

// flapTools is the size of the flapping server: every tool written per Ready change shows.
const flapTools = 50

// flapSyncInterval is the flapping server's syncInterval, the shortest the API allows: as many
// syncs as possible meet the endpoint up or down. A failed sync is retried after 5 s, doubling.
const flapSyncInterval = 10 * time.Second

// 17. The MCP endpoint flaps (up 2 s, down 2 s) for a minute behind a TCP proxy that refuses
// connections and cuts open ones while down. Tools are never deleted or recreated because the
// server was briefly unreachable; a sync that met the endpoint down says so in the server's
// status (Ready False, SyncFailed, lastSyncError) with every MCPTool kept; and the writes are
// bounded: MCPTools are written only when their server's Ready condition changed (tool Ready
// follows server Ready), and the server at most twice per flap period.
func TestFlappingEndpoint(t *testing.T) {
	u := newUser(t, "e2e-flap")
	proxy := startFlappingProxy(t, strings.TrimSuffix(strings.TrimPrefix(startDrillServer(t, flapTools), "http://"), "/mcp"))
	u.apply(serverManifest("flappy", "http://"+proxy.addr+"/mcp", "StreamableHTTP",
		"syncInterval: "+flapSyncInterval.String(), "timeout: 2s"))
	u.run("wait", fmt.Sprintf("--for=jsonpath={.status.toolCount}=%d", flapTools), "--timeout=90s", "mcpserver/flappy")
	u.waitReady(30*time.Second, "mcpserver/flappy")
	tools := u.names("mcptools")
	readyAtStart := u.jsonpath("mcpserver/flappy", `{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}`)

	writes := countWrites(t, u.ns)
	before := scrapeAPIServer(t)
	start := time.Now()
	proxy.flap(*flapFor, *flapHalf)
	flapped := time.Since(start)
	after := scrapeAPIServer(t)
	writes.stop()

	toolWrites := map[watch.EventType]int{}
	for _, typ := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		toolWrites[typ] = writes.count(t, "mcptools", typ)
	}
	serverWrites := writes.count(t, "mcpservers", watch.Modified)
	// How often the server's Ready condition changed (status, reason or message): each change is
	// one status write per MCPTool, since a tool's Ready carries its server's.
	readyChanges, flips, failures, lastError := 0, 0, 0, ""
	prev, prevStatus := readyAtStart, strings.SplitN(readyAtStart, "|", 2)[0]
	var sequence []string
	for _, obj := range writes.objects("mcpservers") {
		s, r, m := readyOf(obj)
		if cur := s + "|" + r + "|" + m; cur != prev {
			readyChanges++
			prev = cur
			sequence = append(sequence, s+"/"+r)
		}
		if s != prevStatus {
			flips++
			prevStatus = s
		}
		if r == "SyncFailed" {
			failures++
			lastError, _, _ = unstructured.NestedString(obj.Object, "status", "lastSyncError")
		}
	}
	t.Logf("DRILL flapping endpoint: %s flapping (up %s, down %s; %d connections cut); syncInterval %s",
		flapped.Round(time.Millisecond), *flapHalf, *flapHalf, proxy.cuts(), flapSyncInterval)
	t.Logf("DRILL flapping endpoint: MCPServer written %d times (Ready changed %d times, its status flipped %d times: %s; %d writes showing SyncFailed; last error %q); MCPTools: %d created, %d modified, %d deleted (%d tools)",
		serverWrites, readyChanges, flips, strings.Join(sequence, " → "), failures, lastError,
		toolWrites[watch.Added], toolWrites[watch.Modified], toolWrites[watch.Deleted], flapTools)
	for _, res := range []struct{ resource, sub string }{{"mcpservers", "status"}, {"mcpservers", ""}, {"mcptools", "status"}, {"mcptools", ""}} {
		b, a := before.writes(res.resource, res.sub), after.writes(res.resource, res.sub)
		var parts []string
		for _, verb := range []string{"CREATE", "UPDATE", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"} {
			if d := a[verb] - b[verb]; d != 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f", verb, d))
			}
		}
		t.Logf("DRILL flapping endpoint: kube-apiserver write requests on %s%s, all namespaces: %s", res.resource, map[string]string{"status": "/status"}[res.sub], strings.Join(parts, ", "))
	}

	// Tools are never deleted or recreated for a server briefly unreachable.
	if toolWrites[watch.Added] != 0 || toolWrites[watch.Deleted] != 0 {
		t.Fatalf("MCPTools were created (%d) or deleted (%d) while the endpoint flapped", toolWrites[watch.Added], toolWrites[watch.Deleted])
	}
	if got := u.names("mcptools"); strings.Join(got, ",") != strings.Join(tools, ",") {
		t.Fatalf("the MCPTools changed while the endpoint flapped: %v, were %v", got, tools)
	}
	// A tool's status changes only when its server's Ready does (its Ready says why its server is
	// not), each change at most once per tool; a controller re-writing tools on every sync or
	// every reconnect writes them flapTools times per sync instead.
	if limit := readyChanges * flapTools; toolWrites[watch.Modified] > limit {
		t.Fatalf("MCPTools written %d times while their server's Ready changed %d times: more than one write per tool per change (%d)",
			toolWrites[watch.Modified], readyChanges, limit)
	}
	// The server's status is written once per sync (lastSyncTime moves on every attempt, by
	// design) and when its notification stream connects or drops. Syncs are at least 5 s apart
	// (the retry backoff starts at 5 s, syncInterval is 10 s) and streams reconnect with a backoff
	// from 1 s: at most twice per 4 s flap period, with two to spare. A write per connection
	// attempt or per stream retry exceeds it; a write per sync does not, and is not churn.
	periods := int(flapped / (2 * *flapHalf))
	if limit := 2*periods + 2; serverWrites > limit {
		t.Fatalf("the MCPServer was written %d times in %d flap periods: more than twice per period (%d)", serverWrites, periods, limit)
	}

	// Status says so: with the endpoint down for good, the next sync fails and says why, and
	// every MCPTool stays.
	proxy.setUp(false)
	u.run("wait", `--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SyncFailed`, "--timeout=60s", "mcpserver/flappy")
	if msg := u.jsonpath("mcpserver/flappy", "{.status.lastSyncError}"); msg == "" {
		t.Fatal("a failed sync left status.lastSyncError empty")
	} else {
		t.Logf("DRILL flapping endpoint: endpoint down: Ready=False SyncFailed, lastSyncError %q, toolCount %s", msg, u.jsonpath("mcpserver/flappy", "{.status.toolCount}"))
	}
	if got := u.names("mcptools"); len(got) != flapTools {
		t.Fatalf("%d MCPTools left after a failed sync, want %d", len(got), flapTools)
	}
	proxy.setUp(true)
	u.waitReady(60*time.Second, "mcpserver/flappy")
	if msg := u.jsonpath("mcpserver/flappy", "{.status.lastSyncError}"); msg != "" {
		t.Fatalf("lastSyncError %q stays after a successful sync", msg)
	}
}

// flappingProxy forwards TCP connections on a loopback port to a backend while up; while down,
// it does not listen (connections are refused) and the connections it was forwarding are cut.
type flappingProxy struct {
	addr, backend string
	mu            sync.Mutex
	ln            net.Listener
	conns         map[net.Conn]net.Conn // client → backend
	cut           int
}

func startFlappingProxy(t *testing.T, backend string) *flappingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flappingProxy{addr: ln.Addr().String(), backend: backend, ln: ln, conns: map[net.Conn]net.Conn{}}
	go p.serve(ln)
	t.Cleanup(func() { p.setUp(false) })
	return p
}

// setUp starts or stops listening; stopping cuts every forwarded connection.
func (p *flappingProxy) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !up {
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		for c, b := range p.conns {
			_, _ = c.Close(), b.Close()
			delete(p.conns, c)
			p.cut++
		}
		return
	}
	if p.ln != nil {
		return
	}
	for range 50 { // the port was just released: rebinding it may take a moment
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.ln = ln
			go p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	panic("cannot listen on " + p.addr + " again")
}

// cuts is how many forwarded connections going down cut.
func (p *flappingProxy) cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *flappingProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.forward(ln, c)
	}
}

// forward pipes c to a new connection to the backend until either side ends or the proxy goes
// down (ln closed).
func (p *flappingProxy) forward(ln net.Listener, c net.Conn) {
	b, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln != ln { // went down meanwhile
		p.mu.Unlock()
		_, _ = c.Close(), b.Close()
		return
	}
	p.conns[c] = b
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_, _ = c.Close(), b.Close()
}

// flap alternates down and up every half for d (starting down), and leaves the endpoint up.
func (p *flappingProxy) flap(d, half time.Duration) {
	end := time.Now().Add(d)
	up := true
	for time.Now().Before(end) {
		up = !up
		p.setUp(up)
		time.Sleep(min(half, time.Until(end)))
	}
	p.setUp(true)
}
