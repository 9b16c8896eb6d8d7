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

package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// hostileServer is a Streamable HTTP endpoint that answers initialize properly and then answers
// one method (tools/list, or initialize itself) with whatever bytes it is given: a stand-in for a
// broken or hostile MCP server.
type hostileServer struct {
	srv *httptest.Server
}

func startHostile(t testing.TB, method, contentType string, answer func(id json.RawMessage) []byte) *hostileServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "no stream", http.StatusMethodNotAllowed)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(body, &msg)
		switch {
		case msg.Method == method:
			w.Header().Set("Content-Type", contentType)
			_, _ = w.Write(answer(msg.ID))
		case msg.Method == "initialize":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"hostile","version":"1"}}}`, msg.ID)
		case len(msg.ID) == 0:
			w.WriteHeader(http.StatusAccepted) // a notification
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no"}}`, msg.ID)
		}
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return &hostileServer{srv: srv}
}

// discoverHostile runs a discovery with small limits and checks what any discovery must hold,
// whatever the server sent: it ends within its timeout (with slack), and a failure's message is
// one bounded line of valid UTF-8.
func discoverHostile(t testing.TB, s *hostileServer, timeout time.Duration) (*Result, error) {
	t.Helper()
	c := &Client{Egress: utils.LoopbackEgress(), Limits: Limits{MaxTools: 50, MaxResponseBytes: 64 << 10}}
	start := time.Now()
	res, err := c.Discover(context.Background(), Endpoint{URL: s.srv.URL + "/mcp", Timeout: timeout})
	if took := time.Since(start); took > 3*timeout {
		t.Fatalf("the discovery took %s, over three times its %s timeout", took, timeout)
	}
	if err != nil {
		msg := err.Error()
		if !utf8.ValidString(msg) {
			t.Fatalf("the error is not valid UTF-8: %q", msg)
		}
		if len(msg) > 64<<10 {
			t.Fatalf("the error is %d bytes long", len(msg))
		}
		return nil, err
	}
	if len(res.Tools) > 50 {
		t.Fatalf("%d tools accepted, over the limit of 50", len(res.Tools))
	}
	return res, nil
}

func TestDiscoverAgainstHostileAnswers(t *testing.T) {
	huge := func(id json.RawMessage) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%s,"result":{"tools":[`, id)
		for i := 0; i < 5000; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"tool_%d","inputSchema":{"type":"object"},"description":%q}`, i, strings.Repeat("x", 100))
		}
		b.WriteString(`]}}`)
		return b.Bytes()
	}
	for _, tc := range []struct {
		name        string
		method      string
		contentType string
		answer      func(id json.RawMessage) []byte
		wantErr     string
	}{
		{"random bytes", "tools/list", "application/json", func(json.RawMessage) []byte { return []byte("\x00\xff\xfe garbage \x1b[31m") }, "tools/list"},
		{"wrong JSON-RPC id", "tools/list", "application/json", func(json.RawMessage) []byte {
			return []byte(`{"jsonrpc":"2.0","id":987654,"result":{"tools":[]}}`)
		}, "tools/list"},
		{"truncated SSE stream", "tools/list", "text/event-stream", func(id json.RawMessage) []byte {
			return []byte(fmt.Sprintf("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":[{\"name\":\"a\"", id))
		}, "tools/list"},
		{"a page larger than the response limit", "tools/list", "application/json", huge, "exceeds"},
		{"an initialize answer that is not JSON", "initialize", "application/json", func(json.RawMessage) []byte { return []byte("<html>hello</html>") }, "initialize"},
		{"an initialize answer for another id", "initialize", "application/json", func(json.RawMessage) []byte {
			return []byte(`{"jsonrpc":"2.0","id":"other","result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"x","version":"1"}}}`)
		}, "initialize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startHostile(t, tc.method, tc.contentType, tc.answer)
			_, err := discoverHostile(t, s, 2*time.Second)
			if err == nil {
				t.Fatal("the discovery succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

// FuzzToolsListAnswer answers tools/list with arbitrary bytes: no panic, bounded time, a clean
// error or a bounded result.
func FuzzToolsListAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"}}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}],"nextCursor":"c"}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"\u001b[2J"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":null}}`,
		`[[[[[[[[[[[[`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := startHostile(t, "tools/list", "application/json", func(id json.RawMessage) []byte {
			// The fuzzer's "id":1 becomes the request's id, so that valid answers get through.
			return bytes.ReplaceAll(data, []byte(`"id":1`), append([]byte(`"id":`), id...))
		})
		// A short timeout: an answer the client cannot use (another id, a cut stream) makes it
		// wait for the timeout, so this is what bounds the fuzzer's executions per second.
		_, _ = discoverHostile(t, s, 250*time.Millisecond)
	})
}
