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

package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests below speak raw JSON-RPC to the server, not through the SDK's client, so that what
// "speaks only version V" means is checked on the wire, whatever the SDK client negotiates.

func startVersion(t *testing.T, version string) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", Config{Name: "v", Version: "1", ProtocolVersion: version, Tools: GeneratedTools(3)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rpcAnswer is a JSON-RPC response, or the HTTP status and body when there is none.
type rpcAnswer struct {
	Status int
	Body   string
	Result map[string]any
	Error  *struct {
		Code int             `json:"code"`
		Data json.RawMessage `json:"data"`
	}
}

// postRPC POSTs one JSON-RPC call to the Streamable HTTP endpoint. header is the
// Mcp-Protocol-Version header ("" for none); with the stateless protocol's version it also sets
// Mcp-Method and puts the version, client info and capabilities in params._meta.
func postRPC(t *testing.T, url, header, method string, params map[string]any) rpcAnswer {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	if header >= Protocol20260728 {
		params["_meta"] = map[string]any{
			sdk.MetaKeyProtocolVersion:    header,
			sdk.MetaKeyClientInfo:         map[string]any{"name": "raw", "version": "1"},
			sdk.MetaKeyClientCapabilities: map[string]any{},
		}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if header != "" {
		req.Header.Set("Mcp-Protocol-Version", header)
	}
	if header >= Protocol20260728 {
		req.Header.Set("Mcp-Method", method)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	a := rpcAnswer{Status: resp.StatusCode, Body: strings.TrimSpace(string(raw))}
	_ = json.Unmarshal(raw, &a)
	return a
}

func initializeParams(version string) map[string]any {
	return map[string]any{"protocolVersion": version, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "raw", "version": "1"}}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestProtocolVersionsAreSupportedBySDK(t *testing.T) {
	for _, v := range ProtocolVersions {
		if !slices.Contains(sdk.SupportedProtocolVersions(), v) {
			t.Errorf("the MCP Go SDK does not support %s any more (it supports %v)", v, sdk.SupportedProtocolVersions())
		}
	}
}

// A server restricted to a version of the initialize handshake over Streamable HTTP answers every
// initialize with that version, whatever the client asks; refuses the stateless protocol with
// UnsupportedProtocolVersion naming only that version; refuses calls whose Mcp-Protocol-Version
// header is another version; and has no SSE endpoint.
func TestHandshakeVersionOnly(t *testing.T) {
	for _, v := range []string{Protocol20250326, Protocol20250618, Protocol20251125} {
		t.Run(v, func(t *testing.T) {
			s := startVersion(t, v)
			for _, asked := range ProtocolVersions {
				a := postRPC(t, s.URL(), "", "initialize", initializeParams(asked))
				if got := a.Result["protocolVersion"]; got != v {
					t.Errorf("initialize asking %s: protocolVersion %v, want %s (%d %s)", asked, got, v, a.Status, a.Body)
				}
			}

			a := postRPC(t, s.URL(), Protocol20260728, "server/discover", nil)
			if a.Error == nil || a.Error.Code != sdk.CodeUnsupportedProtocolVersion {
				t.Fatalf("server/discover at %s: %d %s, want error %d", Protocol20260728, a.Status, a.Body, sdk.CodeUnsupportedProtocolVersion)
			}
			var data sdk.UnsupportedProtocolVersionData
			if err := json.Unmarshal(a.Error.Data, &data); err != nil || !slices.Equal(data.Supported, []string{v}) {
				t.Errorf("server/discover refused with data %s, want supported [%s]", a.Error.Data, v)
			}

			if a := postRPC(t, s.URL(), v, "tools/list", nil); len(listed(a)) != 3 {
				t.Errorf("tools/list at %s: %d %s, want 3 tools", v, a.Status, a.Body)
			}
			for _, other := range []string{Protocol20241105, Protocol20250326, Protocol20250618, Protocol20251125} {
				if other == v {
					continue
				}
				if a := postRPC(t, s.URL(), other, "tools/list", nil); a.Status != http.StatusBadRequest {
					t.Errorf("tools/list with Mcp-Protocol-Version %s: %d %s, want 400", other, a.Status, a.Body)
				}
			}
			if code := get(t, s.SSEURL()); code != http.StatusNotFound {
				t.Errorf("GET /sse: %d, want 404: only %s over Streamable HTTP", code, v)
			}
		})
	}
}

// A server restricted to 2026-07-28 answers server/discover with only that version and its
// serverInfo in _meta, serves the lists in the stateless protocol, refuses every call of the
// handshake era (initialize is answered 2025-11-25, as the SDK does so that a client of the
// handshake disconnects, and any call at that version is HTTP 400), and has no SSE endpoint.
func TestStatelessVersionOnly(t *testing.T) {
	s := startVersion(t, Protocol20260728)
	a := postRPC(t, s.URL(), Protocol20260728, "server/discover", nil)
	if got := a.Result["supportedVersions"]; !cmp.Equal(got, []any{Protocol20260728}) {
		t.Errorf("server/discover: supportedVersions %v, want [%s] (%d %s)", got, Protocol20260728, a.Status, a.Body)
	}
	meta, _ := a.Result["_meta"].(map[string]any)
	if info, _ := meta[sdk.MetaKeyServerInfo].(map[string]any); info["name"] != "v" || info["version"] != "1" {
		t.Errorf("server/discover: _meta %v, want serverInfo {v 1}", meta)
	}
	if a := postRPC(t, s.URL(), Protocol20260728, "tools/list", nil); len(listed(a)) != 3 {
		t.Errorf("tools/list: %d %s, want 3 tools", a.Status, a.Body)
	}

	a = postRPC(t, s.URL(), "", "initialize", initializeParams(Protocol20251125))
	if got := a.Result["protocolVersion"]; got != Protocol20251125 {
		t.Errorf("initialize: protocolVersion %v, want %s, which the server then refuses (%d %s)", got, Protocol20251125, a.Status, a.Body)
	}
	for _, v := range []string{Protocol20250326, Protocol20250618, Protocol20251125} {
		if a := postRPC(t, s.URL(), v, "tools/list", nil); a.Status != http.StatusBadRequest {
			t.Errorf("tools/list with Mcp-Protocol-Version %s: %d %s, want 400", v, a.Status, a.Body)
		}
	}
	if code := get(t, s.SSEURL()); code != http.StatusNotFound {
		t.Errorf("GET /sse: %d, want 404: only Streamable HTTP in %s", code, Protocol20260728)
	}
}

// A server restricted to 2024-11-05 serves HTTP+SSE only, and answers an initialize asking for
// a later version with 2024-11-05.
func TestSSEVersionOnly(t *testing.T) {
	s := startVersion(t, Protocol20241105)
	if a := postRPC(t, s.URL(), "", "initialize", initializeParams(Protocol20241105)); a.Status != http.StatusNotFound {
		t.Errorf("POST /mcp: %d %s, want 404: no Streamable HTTP in %s", a.Status, a.Body, Protocol20241105)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SSEURL(), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	events := bufio.NewScanner(resp.Body)
	next := func() (event, data string) {
		t.Helper()
		for events.Scan() {
			line := events.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			case line == "" && event != "":
				return event, data
			}
		}
		t.Fatalf("SSE stream ended: %v", events.Err())
		return "", ""
	}
	event, endpoint := next()
	if event != "endpoint" {
		t.Fatalf("first SSE event %q %q, want endpoint", event, endpoint)
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, Protocol20251125)
	post, err := http.Post(strings.TrimSuffix(s.SSEURL(), "/sse")+endpoint, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = post.Body.Close()
	if post.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d", endpoint, post.StatusCode)
	}
	event, data := next()
	var msg struct {
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(data), &msg); event != "message" || err != nil || msg.Result.ProtocolVersion != Protocol20241105 {
		t.Errorf("initialize asking %s over SSE: event %q %s, want protocolVersion %s", Protocol20251125, event, data, Protocol20241105)
	}
}

// A version the SDK does not support is an HTTP 500 saying so, not a panic per request.
func TestUnknownProtocolVersion(t *testing.T) {
	s := startVersion(t, "2099-01-01")
	a := postRPC(t, s.URL(), "", "initialize", initializeParams(Protocol20251125))
	if a.Status != http.StatusInternalServerError || !strings.Contains(a.Body, `protocol version "2099-01-01" is not supported by the MCP Go SDK`) {
		t.Errorf("initialize: %d %s", a.Status, a.Body)
	}
}

// listed is the tools of a tools/list answer.
func listed(a rpcAnswer) []any {
	tools, _ := a.Result["tools"].([]any)
	return tools
}
