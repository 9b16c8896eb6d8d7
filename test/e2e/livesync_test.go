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
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
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
// changed from outside (each session has its own), so TestLiveSyncTypeScriptSDK changes those of a
// server of our own on the same SDK.
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
	for _, name := range []string{"live", "everything-http", "everything-sse"} {
		u.eventually(30*time.Second, name+" is Connected", liveConnected(u, name))
	}

	seenWithin(t, u, liveBound, "a tool added upstream", func() { s.Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(3) }) },
		toolsAre(u, "live", "tool-000", "tool-001", "tool-002"))
	seenWithin(t, u, liveBound, "a tool removed upstream", func() { s.Update(func(c *mcpserver.Config) { c.Tools = c.Tools[1:] }) },
		toolsAre(u, "live", "tool-001", "tool-002"))
	seenWithin(t, u, liveBound, "a tool changed upstream", func() { s.Update(func(c *mcpserver.Config) { c.Tools[0].Description = "changed upstream" }) },
		descriptionIs(u, "live", "tool-001", "changed upstream"))

	// The server restarts mid-stream, with other tools: the stream reconnects (with backoff from
	// 1 s) and the reconnect syncs what changed meanwhile.
	addr := hostOf(t, s.URL())
	_ = s.Close()
	seenWithin(t, u, 30*time.Second, "server restart: reconnected and synced", func() {
		restarted, err := mcpserver.Start(addr, mcpserver.Config{Name: "live", Stateful: true, Tools: mcpserver.GeneratedTools(5)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = restarted.Close() })
		s = restarted
	}, toolsAre(u, "live", "tool-000", "tool-001", "tool-002", "tool-003", "tool-004"))
	u.eventually(10*time.Second, "live is Connected again", liveConnected(u, "live"))
	seenWithin(t, u, liveBound, "a tool added after the restart", func() { s.Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(6) }) },
		func() string { return contains(u.toolsOf("live"), "tool-005") })
}

// 14b. Live sync against a stateful server on the official TypeScript SDK
// (hack/server-everything/live-server.mjs: sessions, the SDK's standalone GET stream,
// notifications/tools/list_changed from the SDK's Server): Connected with its stream open; tools
// added, changed and removed at run time reach the MCPTools within liveBound (syncInterval 1h);
// the process killed mid-stream and started again on the same port with other tools is
// reconnected and synced, and its next change is seen live again.
func TestLiveSyncTypeScriptSDK(t *testing.T) {
	ts := startTSLiveServer(t, 0, 2)
	u := newUser(t, "e2e-livesync-ts")
	u.apply(serverManifest("ts-live", ts.url(), "StreamableHTTP", "syncInterval: 1h"))
	u.waitReady(60*time.Second, "mcpserver/ts-live")
	u.eventually(30*time.Second, "ts-live is Connected", liveConnected(u, "ts-live"))
	u.eventually(10*time.Second, "the standalone stream is open upstream", func() string {
		if st := ts.state(); st.Streams != 1 {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	if got := u.jsonpath("mcpserver/ts-live", "{.status.serverInfo.name} {.status.serverInfo.protocolVersion}"); got != "ts-live-server 2025-11-25" {
		t.Errorf("serverInfo = %q", got)
	}

	seenWithin(t, u, liveBound, "TypeScript SDK: a tool added upstream", func() { ts.setTools(t, generatedTools(3)) },
		toolsAre(u, "ts-live", "tool-000", "tool-001", "tool-002"))
	changed := generatedTools(3)
	changed[1].Description = "changed upstream"
	seenWithin(t, u, liveBound, "TypeScript SDK: a tool changed upstream", func() { ts.setTools(t, changed) },
		descriptionIs(u, "ts-live", "tool-001", "changed upstream"))
	seenWithin(t, u, liveBound, "TypeScript SDK: a tool removed upstream", func() { ts.setTools(t, changed[1:]) },
		toolsAre(u, "ts-live", "tool-001", "tool-002"))

	// Killed mid-stream (SIGKILL: no goodbye on the stream) and started again with other tools.
	if err := syscall.Kill(ts.proc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-ts.proc.Done()
	seenWithin(t, u, 30*time.Second, "TypeScript SDK: server restart, reconnected and synced", func() { ts = startTSLiveServer(t, ts.port, 4) },
		toolsAre(u, "ts-live", "tool-000", "tool-001", "tool-002", "tool-003"))
	u.eventually(10*time.Second, "ts-live is Connected again", liveConnected(u, "ts-live"))
	seenWithin(t, u, liveBound, "TypeScript SDK: a tool added after the restart", func() { ts.setTools(t, generatedTools(5)) },
		func() string { return contains(u.toolsOf("ts-live"), "tool-004") })
	u.run("delete", "mcpserver/ts-live", "--wait=true", "--timeout=60s")
	u.eventually(10*time.Second, "deleting closes the stream upstream", func() string {
		if st := ts.state(); st.Streams != 0 {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
}

// seenWithin does change and waits, at most bound, until check reports nothing ("" when the
// change is seen, else what is seen instead), and logs how long it took.
func seenWithin(t *testing.T, u *user, bound time.Duration, what string, change func(), check func() string) {
	t.Helper()
	start := time.Now()
	change()
	u.eventually(bound, what, check)
	t.Logf("%s: reflected in %s", what, time.Since(start).Round(time.Millisecond))
}

// liveConnected checks that a server's status.liveSync is Connected.
func liveConnected(u *user, name string) func() string {
	return func() string {
		if got := u.jsonpath("mcpserver/"+name, "{.status.liveSync} {.status.liveSyncMessage}"); got != "Connected" {
			return "status.liveSync: " + got
		}
		return ""
	}
}

// toolsAre checks that a server's MCPTools are exactly those of the tools named.
func toolsAre(u *user, server string, names ...string) func() string {
	return func() string {
		got := u.toolsOf(server)
		slices.Sort(got)
		if !slices.Equal(got, names) {
			return fmt.Sprint(got)
		}
		return ""
	}
}

// descriptionIs checks one MCPTool's description.
func descriptionIs(u *user, server, tool, want string) func() string {
	return func() string {
		got := u.jsonpath("mcptools", fmt.Sprintf(`{range .items[?(@.spec.toolName=="%s")]}{.spec.serverRef.name}={.spec.description}{end}`, tool))
		if got != server+"="+want {
			return got
		}
		return ""
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// tsTool is a tool of the TypeScript SDK live server.
type tsTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func generatedTools(n int) []tsTool {
	var out []tsTool
	for _, t := range mcpserver.GeneratedTools(n) {
		out = append(out, tsTool{Name: t.Name, Description: t.Description})
	}
	return out
}

// tsLiveServer is hack/server-everything/live-server.mjs, run with node.
type tsLiveServer struct {
	port int
	proc *localcluster.Process
}

// startTSLiveServer starts the TypeScript SDK live server on port (0: a free one) with tools
// generated tools, and stops it when the test ends.
func startTSLiveServer(t *testing.T, port, tools int) *tsLiveServer {
	t.Helper()
	if port == 0 {
		var err error
		if port, err = localcluster.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	p, err := localcluster.StartProcess(node, []string{filepath.Join(suite.root, "hack", "server-everything", "live-server.mjs")},
		[]string{fmt.Sprintf("PORT=%d", port), fmt.Sprintf("TOOLS=%d", tools)}, filepath.Join(suite.dir, "ts-live-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	s := &tsLiveServer{port: port, proc: p}
	if err := waitListening(s.addr(), 30*time.Second); err != nil {
		t.Fatalf("the TypeScript SDK live server: %v (log: %s)", err, filepath.Join(suite.dir, "ts-live-server.log"))
	}
	return s
}

func (s *tsLiveServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }
func (s *tsLiveServer) url() string  { return "http://" + s.addr() + "/mcp" }

// tsState is what /control/state answers.
type tsState struct {
	Sessions int      `json:"sessions"`
	Streams  int      `json:"streams"`
	Tools    []string `json:"tools"`
}

func (s *tsLiveServer) state() tsState {
	var st tsState
	resp, err := http.Get("http://" + s.addr() + "/control/state")
	if err != nil {
		return tsState{Sessions: -1, Streams: -1}
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return tsState{Sessions: -1, Streams: -1}
	}
	return st
}

// setTools replaces the server's tools; every session is notified.
func (s *tsLiveServer) setTools(t *testing.T, tools []tsTool) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"tools": tools})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+s.addr()+"/control/tools", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /control/tools: %s %s", resp.Status, answer)
	}
}
