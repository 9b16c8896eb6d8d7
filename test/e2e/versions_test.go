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
	"strconv"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

// everythingProtocolVersion is what server-everything (pinned in hack/server-everything; its
// TypeScript SDK's newest version) negotiates with the operator over both its transports.
const everythingProtocolVersion = "2025-11-25"

// 13. Every protocol version syncs: the test MCP server restricted to each of 2024-11-05 (over
// SSE), 2025-03-26, 2025-06-18, 2025-11-25 and the stateless 2026-07-28 (over Streamable HTTP),
// and server-everything over both transports, are Ready with every tool (over several pages)
// and show the version in status.serverInfo.protocolVersion.
func TestProtocolVersions(t *testing.T) {
	const tools = 5
	type target struct{ name, url, transport, version, serverName string }
	var targets []target
	for _, v := range mcpserver.ProtocolVersions {
		s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{
			Name: "only-" + v, Version: "1.0.0", ProtocolVersion: v,
			Tools: mcpserver.GeneratedTools(tools), PageSize: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		tg := target{name: "only-" + v, url: s.URL(), transport: "StreamableHTTP", version: v, serverName: "only-" + v}
		if mcpserver.SSEOnly(v) {
			tg.url, tg.transport = s.SSEURL(), "SSE"
		}
		targets = append(targets, tg)
	}
	targets = append(targets,
		target{"everything-http", suite.everythingHTTP, "StreamableHTTP", everythingProtocolVersion, ""},
		target{"everything-sse", suite.everythingSSE, "SSE", everythingProtocolVersion, ""})

	u := newUser(t, "e2e-versions")
	var objects []string
	for _, tg := range targets {
		u.apply(serverManifest(tg.name, tg.url, tg.transport))
		objects = append(objects, "mcpserver/"+tg.name)
	}
	u.waitReady(60*time.Second, objects...)

	for _, tg := range targets {
		object := "mcpserver/" + tg.name
		if got := u.jsonpath(object, "{.status.serverInfo.protocolVersion}"); got != tg.version {
			t.Errorf("%s (%s): status.serverInfo.protocolVersion %q, want %q", tg.name, tg.transport, got, tg.version)
		}
		if tg.serverName == "" {
			if msg := contains(u.toolsOf(tg.name), everythingTools...); msg != "" {
				t.Errorf("%s: %s", tg.name, msg)
			}
			continue
		}
		if got := u.jsonpath(object, "{.status.serverInfo.name}"); got != tg.serverName {
			t.Errorf("%s: status.serverInfo.name %q, want %q", tg.name, got, tg.serverName)
		}
		if got := u.jsonpath(object, "{.status.toolCount}"); got != strconv.Itoa(tools) {
			t.Errorf("%s: status.toolCount %s, want %d (three pages)", tg.name, got, tools)
		}
		if got := u.toolsOf(tg.name); len(got) != tools {
			t.Errorf("%s: MCPTools %v, want %d", tg.name, got, tools)
		}
	}
}
