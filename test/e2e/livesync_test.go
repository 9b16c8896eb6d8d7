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
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

// liveBound is how soon a live change must reach the MCPTools (syncInterval is 1h): the
// benchmark measures about 0.5 s; the bound leaves room for a busy machine and kubectl's polling.
const liveBound = 5 * time.Second

// 14. Live sync: a server keeping sessions (the in-repo Go server, started in-process) is
// Connected; a tool added, changed and removed upstream reaches the MCPTools within liveBound
// although syncInterval is 1h; the server restarted mid-stream (with other tools) is reconnected
// and synced. server-everything (the official TypeScript SDK, stateful, standalone notification
// stream) advertises tools.listChanged and is Connected over both transports; its tools cannot be
// changed from outside (each session has its own), so no change is made there.
func TestLiveSync(t *testing.T) {
	s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Name: "live", Stateful: true, Tools: mcpserver.GeneratedTools(2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	u := newUser(t, "e2e-livesync")
	u.apply(serverManifest("live", s.URL(), "StreamableHTTP", "syncInterval: 1h"))
	u.apply(serverManifest("everything-http", suite.everythingHTTP, "StreamableHTTP", "syncInterval: 1h"))
	u.apply(serverManifest("everything-sse", suite.everythingSSE, "SSE", "syncInterval: 1h"))
	u.waitReady(60*time.Second, "mcpserver/live", "mcpserver/everything-http", "mcpserver/everything-sse")
	connected := func(name string) func() string {
		return func() string {
			if got := u.jsonpath("mcpserver/"+name, "{.status.liveSync} {.status.liveSyncMessage}"); got != "Connected" {
				return "status.liveSync: " + got
			}
			return ""
		}
	}
	for _, name := range []string{"live", "everything-http", "everything-sse"} {
		u.eventually(30*time.Second, name+" is Connected", connected(name))
	}

	seenWithin := func(what string, change func(*mcpserver.Config), want func([]string) bool) {
		t.Helper()
		start := time.Now()
		s.Update(change)
		u.eventually(liveBound, what, func() string {
			if got := u.toolsOf("live"); !want(got) {
				return fmt.Sprint(got)
			}
			return ""
		})
		t.Logf("%s: reflected in %s", what, time.Since(start).Round(time.Millisecond))
	}
	seenWithin("a tool added upstream", func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(3) },
		func(tools []string) bool { return slices.Contains(tools, "tool-002") })
	seenWithin("a tool removed upstream", func(c *mcpserver.Config) { c.Tools = c.Tools[1:] },
		func(tools []string) bool { return !slices.Contains(tools, "tool-000") && len(tools) == 2 })
	start := time.Now()
	s.Update(func(c *mcpserver.Config) { c.Tools[0].Description = "changed upstream" })
	u.eventually(liveBound, "a tool changed upstream", func() string {
		if got := u.jsonpath("mcptools", `{range .items[?(@.spec.toolName=="tool-001")]}{.spec.description}{end}`); got != "changed upstream" {
			return got
		}
		return ""
	})
	t.Logf("a tool changed upstream: reflected in %s", time.Since(start).Round(time.Millisecond))

	// The server restarts mid-stream, with other tools: the stream reconnects (with backoff from
	// 1 s) and the reconnect syncs what changed meanwhile.
	addr := hostOf(t, s.URL())
	_ = s.Close()
	restarted, err := mcpserver.Start(addr, mcpserver.Config{Name: "live", Stateful: true, Tools: mcpserver.GeneratedTools(5)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Close() })
	start = time.Now()
	u.eventually(30*time.Second, "the restarted server's tools", func() string {
		if got := u.toolsOf("live"); len(got) != 5 {
			return fmt.Sprint(got)
		}
		return ""
	})
	u.eventually(10*time.Second, "live is Connected again", connected("live"))
	t.Logf("server restart: reconnected and synced in %s", time.Since(start).Round(time.Millisecond))
	s = restarted
	seenWithin("a tool added after the restart", func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(6) },
		func(tools []string) bool { return slices.Contains(tools, "tool-005") })
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
