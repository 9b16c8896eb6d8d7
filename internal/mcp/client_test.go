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
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

func startServer(t *testing.T, cfg mcpserver.Config) *mcpserver.Server {
	t.Helper()
	s, err := mcpserver.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func toolNames(tools []Tool) []string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	return names
}

func TestDiscoverReadsEveryPageOverBothTransports(t *testing.T) {
	server := startServer(t, mcpserver.Config{
		Name: "paged", Version: "2.3.4",
		Tools: mcpserver.GeneratedTools(25), Prompts: 11, PageSize: 4,
	})
	want := toolNames(func() []Tool {
		var tools []Tool
		for _, tt := range mcpserver.GeneratedTools(25) {
			tools = append(tools, Tool{Name: tt.Name})
		}
		return tools
	}())

	for _, tc := range []struct {
		transport mcpv1alpha1.Transport
		url       string
	}{
		{mcpv1alpha1.TransportStreamableHTTP, server.URL()},
		{mcpv1alpha1.TransportSSE, server.SSEURL()},
	} {
		t.Run(string(tc.transport), func(t *testing.T) {
			c := &Client{Egress: utils.LoopbackEgress(), Version: "test"}
			res, err := c.Discover(context.Background(), Endpoint{URL: tc.url, Transport: tc.transport, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if diff := cmp.Diff(want, toolNames(res.Tools)); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			if res.PromptCount != 11 {
				t.Errorf("PromptCount = %d, want 11 (three pages of 4)", res.PromptCount)
			}
			var prompts []string
			for _, p := range res.Prompts {
				prompts = append(prompts, p.Name)
			}
			if diff := cmp.Diff(generatedPromptNames(11), prompts); diff != "" {
				t.Errorf("prompts (-want +got):\n%s", diff)
			}
			if res.ServerInfo.Name != "paged" || res.ServerInfo.Version != "2.3.4" || res.ServerInfo.ProtocolVersion == "" {
				t.Errorf("ServerInfo = %+v", res.ServerInfo)
			}
			var schema map[string]any
			if err := json.Unmarshal(res.Tools[0].InputSchema, &schema); err != nil || schema["type"] != "object" {
				t.Errorf("InputSchema = %s (%v)", res.Tools[0].InputSchema, err)
			}
			if len(res.Notes) != 0 {
				t.Errorf("Notes = %v, want none", res.Notes)
			}
		})
	}
}

func TestDiscoverFailures(t *testing.T) {
	tests := []struct {
		name         string
		cfg          mcpserver.Config
		endpoint     func(*mcpserver.Server) Endpoint
		client       Client
		wantErr      string
		unauthorized bool
		denied       bool
	}{
		{
			name:         "bearer token missing",
			cfg:          mcpserver.Config{Token: "s3cret", Tools: mcpserver.GeneratedTools(1)},
			endpoint:     func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 5 * time.Second} },
			wantErr:      "the server rejected the credentials (HTTP 401)",
			unauthorized: true,
		},
		{
			name: "bearer token wrong",
			cfg:  mcpserver.Config{Token: "s3cret", Tools: mcpserver.GeneratedTools(1)},
			endpoint: func(s *mcpserver.Server) Endpoint {
				return Endpoint{URL: s.URL(), BearerToken: "guess", Timeout: 5 * time.Second}
			},
			wantErr:      "the server rejected the credentials (HTTP 401)",
			unauthorized: true,
		},
		{
			name:     "server error",
			cfg:      mcpserver.Config{Failure: mcpserver.FailError, Tools: mcpserver.GeneratedTools(1)},
			endpoint: func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 5 * time.Second} },
			wantErr:  "cannot connect and initialize",
		},
		{
			name:     "malformed answers",
			cfg:      mcpserver.Config{Failure: mcpserver.FailMalformed, Tools: mcpserver.GeneratedTools(1)},
			endpoint: func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 5 * time.Second} },
			wantErr:  "cannot connect and initialize",
		},
		{
			name:     "slow server",
			cfg:      mcpserver.Config{Delay: 2 * time.Second, Tools: mcpserver.GeneratedTools(1)},
			endpoint: func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 300 * time.Millisecond} },
			wantErr:  "cannot connect and initialize within 300ms",
		},
		{
			name:     "too many tools",
			cfg:      mcpserver.Config{Tools: mcpserver.GeneratedTools(30), PageSize: 7},
			endpoint: func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 5 * time.Second} },
			client:   Client{Egress: utils.LoopbackEgress(), Limits: Limits{MaxTools: 20}},
			wantErr:  "the server offers more than 20 tools",
		},
		{
			name: "response too large",
			cfg: mcpserver.Config{Tools: []mcpserver.Tool{
				{Name: "huge", Description: strings.Repeat("x", 64<<10)},
			}},
			endpoint: func(s *mcpserver.Server) Endpoint { return Endpoint{URL: s.URL(), Timeout: 5 * time.Second} },
			client:   Client{Egress: utils.LoopbackEgress(), Limits: Limits{MaxResponseBytes: 16 << 10}},
			wantErr:  "tools/list (page 1)",
		},
		{
			name: "an address the endpoint policy denies: no connection",
			cfg:  mcpserver.Config{},
			endpoint: func(*mcpserver.Server) Endpoint {
				return Endpoint{URL: "http://127.0.0.2:1/mcp", Timeout: 2 * time.Second}
			},
			wantErr: "connection to 127.0.0.2 refused by the endpoint policy: 127.0.0.0/8 is in --endpoint-deny-cidrs",
			denied:  true,
		},
		{
			name: "an IPv4-mapped IPv6 spelling of a denied address",
			cfg:  mcpserver.Config{},
			endpoint: func(*mcpserver.Server) Endpoint {
				return Endpoint{URL: "http://[::ffff:169.254.169.254]/mcp", Timeout: 2 * time.Second}
			},
			wantErr: "connection to 169.254.169.254 refused by the endpoint policy: 169.254.0.0/16",
			denied:  true,
		},
		{
			name: "not an http URL",
			cfg:  mcpserver.Config{},
			endpoint: func(*mcpserver.Server) Endpoint {
				return Endpoint{URL: "file:///etc/passwd", Timeout: 2 * time.Second}
			},
			wantErr: `invalid endpoint URL "file:///etc/passwd"`,
		},
		{
			name: "nothing listening",
			cfg:  mcpserver.Config{},
			endpoint: func(*mcpserver.Server) Endpoint {
				return Endpoint{URL: "http://127.0.0.1:1/mcp", Timeout: 2 * time.Second}
			},
			wantErr: "connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := startServer(t, tt.cfg)
			if tt.client.Egress == nil {
				tt.client.Egress = utils.LoopbackEgress()
			}
			start := time.Now()
			_, err := tt.client.Discover(context.Background(), tt.endpoint(server))
			if err == nil {
				t.Fatal("Discover succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if got := errors.Is(err, egress.ErrDenied); got != tt.denied {
				t.Errorf("errors.Is(err, egress.ErrDenied) = %v, want %v (err: %v)", got, tt.denied, err)
			}
			if got := errors.Is(err, ErrUnauthorized); got != tt.unauthorized {
				t.Errorf("errors.Is(err, ErrUnauthorized) = %v, want %v (err: %v)", got, tt.unauthorized, err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "guess") {
				t.Errorf("error leaks a token: %v", err)
			}
			if elapsed := time.Since(start); elapsed > 15*time.Second {
				t.Errorf("Discover took %s: the timeout does not bound it", elapsed)
			}
		})
	}
}

func TestDiscoverSkipsInvalidToolsAndBoundsFields(t *testing.T) {
	server := startServer(t, mcpserver.Config{Tools: []mcpserver.Tool{
		{Name: "fine"},
		{Name: "has space"},
		{Name: "huge-description", Description: strings.Repeat("é", 5000)},
		{Name: "huge-schema", InputSchema: map[string]any{"type": "object", "description": strings.Repeat("s", 70<<10)}},
	}})
	res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: server.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if diff := cmp.Diff([]string{"fine", "huge-description", "huge-schema"}, toolNames(res.Tools)); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		`tool "has space" skipped: a tool name is 1 to 128 letters, digits, '_', '-' and '.'`,
		`tool "huge-description": description truncated from 10000 to 8192 bytes`,
		`tool "huge-schema": inputSchema omitted: 71714 bytes, over the 65536-byte limit`,
	}
	if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestConvertTool(t *testing.T) {
	limits := Limits{MaxDescriptionBytes: 10, MaxSchemaBytes: 40}
	tests := []struct {
		name      string
		tool      *sdk.Tool
		seen      []string
		want      Tool
		wantNotes []string
		wantOK    bool
	}{
		{
			name:   "valid tool with annotations",
			tool:   &sdk.Tool{Name: "get.item_v2-x", Title: "Get", InputSchema: map[string]any{"type": "object"}, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr.To(false)}},
			want:   Tool{Name: "get.item_v2-x", Title: "Get", InputSchema: json.RawMessage(`{"type":"object"}`), Annotations: &mcpv1alpha1.ToolAnnotations{ReadOnlyHint: ptr.To(true), IdempotentHint: ptr.To(false), OpenWorldHint: ptr.To(false)}},
			wantOK: true,
		},
		{
			name:   "title from annotations",
			tool:   &sdk.Tool{Name: "a", Annotations: &sdk.ToolAnnotations{Title: "From annotations"}},
			want:   Tool{Name: "a", Title: "From annotations", Annotations: &mcpv1alpha1.ToolAnnotations{ReadOnlyHint: ptr.To(false), IdempotentHint: ptr.To(false)}},
			wantOK: true,
		},
		{name: "empty name", tool: &sdk.Tool{Name: ""}, wantNotes: []string{`tool "" skipped: a tool name is 1 to 128 letters, digits, '_', '-' and '.'`}},
		{name: "colon in name", tool: &sdk.Tool{Name: "a:b"}, wantNotes: []string{`tool "a:b" skipped: a tool name is 1 to 128 letters, digits, '_', '-' and '.'`}},
		{name: "name too long", tool: &sdk.Tool{Name: strings.Repeat("n", 129)}, wantNotes: []string{fmt.Sprintf(`tool %q skipped: a tool name is 1 to 128 letters, digits, '_', '-' and '.'`, strings.Repeat("n", 64))}},
		{name: "duplicate", tool: &sdk.Tool{Name: "dup"}, seen: []string{"dup"}, wantNotes: []string{`tool "dup" skipped: listed more than once`}},
		{
			name:      "long description truncated on a rune boundary",
			tool:      &sdk.Tool{Name: "d", Description: "ééééééé"},
			want:      Tool{Name: "d", Description: "ééééé"},
			wantNotes: []string{`tool "d": description truncated from 14 to 10 bytes`},
			wantOK:    true,
		},
		{
			name:      "schema too large",
			tool:      &sdk.Tool{Name: "s", InputSchema: map[string]any{"type": "object", "description": strings.Repeat("x", 40)}},
			want:      Tool{Name: "s"},
			wantNotes: []string{`tool "s": inputSchema omitted: 74 bytes, over the 40-byte limit`},
			wantOK:    true,
		},
		{
			name: "icons and _meta",
			tool: &sdk.Tool{Name: "i", Icons: []sdk.Icon{{Source: "https://cdn.example.com/i.png", Sizes: []string{"16x16"}}, {Source: "http://cdn.example.com/i.png"}},
				Meta: sdk.Meta{"ui/resourceUri": "ui://i/app.html", "com.example/x": map[string]any{"n": 1}}},
			want: Tool{Name: "i", Icons: []mcpv1alpha1.Icon{{Src: "https://cdn.example.com/i.png", Sizes: []string{"16x16"}}},
				Meta: json.RawMessage(`{"com.example/x":{"n":1},"ui/resourceUri":"ui://i/app.html"}`)},
			wantNotes: []string{`tool "i": 1 of 2 icons dropped (at most 8 are kept, each an https URL or a data:image/ URL)`},
			wantOK:    true,
		},
		{
			name:      "_meta too large",
			tool:      &sdk.Tool{Name: "m", Meta: sdk.Meta{"x": strings.Repeat("x", MaxMetaBytes)}},
			want:      Tool{Name: "m"},
			wantNotes: []string{fmt.Sprintf(`tool "m": _meta omitted: %d bytes, over the %d-byte limit`, MaxMetaBytes+8, MaxMetaBytes)},
			wantOK:    true,
		},
		{
			name:      "schema that is not an object",
			tool:      &sdk.Tool{Name: "s", InputSchema: map[string]any{"type": "object"}, OutputSchema: []any{1, 2}},
			want:      Tool{Name: "s", InputSchema: json.RawMessage(`{"type":"object"}`)},
			wantNotes: []string{`tool "s": outputSchema omitted: not a JSON object`},
			wantOK:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, s := range tt.seen {
				seen[s] = true
			}
			got, notes, ok := convertTool(tt.tool, seen, limits)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tool (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverOverTLS(t *testing.T) {
	server := mcpserver.StartTLS(mcpserver.Config{Tools: mcpserver.GeneratedTools(2)})
	t.Cleanup(func() { _ = server.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(server.CACertPEM()) {
		t.Fatal("cannot parse the test server's certificate")
	}

	tests := []struct {
		name     string
		endpoint Endpoint
		wantErr  string
	}{
		{name: "trusted through the CA bundle", endpoint: Endpoint{RootCAs: pool}},
		{name: "verification skipped", endpoint: Endpoint{InsecureSkipVerify: true}},
		{name: "untrusted certificate", endpoint: Endpoint{}, wantErr: "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := tt.endpoint
			ep.URL, ep.Timeout = server.URL(), 5*time.Second
			res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), ep)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if len(res.Tools) != 2 {
				t.Errorf("tools = %v, want 2", toolNames(res.Tools))
			}
		})
	}
}

// What a server reports about itself reaches status and kubectl output: terminal escapes and
// control characters are removed.
func TestDiscoverSanitizesServerInfo(t *testing.T) {
	server := startServer(t, mcpserver.Config{
		Name: "evil\x1b]0;owned\x07 server\x1b[2J", Version: "1.0\n\u202eexe", Tools: []mcpserver.Tool{
			{Name: "t", Title: "title\x1b[31m red"},
		},
	})
	res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: server.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerInfo.Name != "evil server" || res.ServerInfo.Version != "1.0 exe" || res.Tools[0].Title != "title red" {
		t.Fatalf("server info %+v, tool title %q", res.ServerInfo, res.Tools[0].Title)
	}
}

func generatedPromptNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("prompt-%03d", i)
	}
	return names
}

// A server without the prompts capability is not asked for prompts, and that is no error.
func TestDiscoverWithoutPrompts(t *testing.T) {
	server := startServer(t, mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
	res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: server.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if res.PromptCount != 0 || res.Prompts != nil || len(res.Notes) != 0 {
		t.Fatalf("PromptCount %d, Prompts %v, Notes %v; want none", res.PromptCount, res.Prompts, res.Notes)
	}
}

func TestDiscoverPromptsOverPagesSkipsInvalidAndBoundsFields(t *testing.T) {
	args := make([]string, 20)
	for i := range args {
		args[i] = fmt.Sprintf("arg%02d", i)
	}
	server := startServer(t, mcpserver.Config{PageSize: 2, PromptList: []mcpserver.Prompt{
		{Name: "review", Title: "Review\x1b[31m code", Description: "Review the\ncode.", Arguments: []string{"language", "style"}},
		{Name: "has space"},
		{Name: "long", Description: strings.Repeat("é", 600)},
		{Name: "many-args", Arguments: args},
		{Name: "plain"},
	}})
	res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: server.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	want := []Prompt{
		{Name: "long", Description: strings.Repeat("é", 510) + "..."},
		{Name: "many-args", Arguments: args[:MaxPromptArguments]},
		{Name: "plain"},
		{Name: "review", Title: "Review code", Description: "Review the code.", Arguments: []string{"language", "style"}},
	}
	if diff := cmp.Diff(want, res.Prompts); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
	if res.PromptCount != 4 {
		t.Errorf("PromptCount = %d, want 4", res.PromptCount)
	}
	wantNotes := []string{
		`prompt "has space" skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'`,
		`prompt "many-args": 20 arguments, only the first 16 listed`,
	}
	if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// Past 1000 prompts, the rest are counted and not kept.
func TestDiscoverBoundsThePromptCount(t *testing.T) {
	server := startServer(t, mcpserver.Config{Prompts: maxPrompts + 5, PageSize: 400})
	res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: server.URL(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if res.PromptCount != maxPrompts+5 || len(res.Prompts) != maxPrompts {
		t.Fatalf("PromptCount %d, %d prompts; want %d and %d", res.PromptCount, len(res.Prompts), maxPrompts+5, maxPrompts)
	}
	if diff := cmp.Diff([]string{"the server offers 1005 prompts: only the first 1000 listed are read"}, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestConvertPrompt(t *testing.T) {
	tests := []struct {
		name      string
		prompt    *sdk.Prompt
		seen      []string
		want      Prompt
		wantNotes []string
		wantOK    bool
	}{
		{
			name: "valid prompt",
			prompt: &sdk.Prompt{Name: "summarize.v2_x-y", Title: "Summarize", Description: "Sum it up.",
				Arguments: []*sdk.PromptArgument{{Name: "text", Required: true}, nil, {Name: ""}, {Name: "style"}}},
			want:   Prompt{Name: "summarize.v2_x-y", Title: "Summarize", Description: "Sum it up.", Arguments: []string{"text", "style"}},
			wantOK: true,
		},
		{name: "empty name", prompt: &sdk.Prompt{Name: ""}, wantNotes: []string{`prompt "" skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'`}},
		{name: "escape in name", prompt: &sdk.Prompt{Name: "a\x1b[2Jb"}, wantNotes: []string{`prompt "ab" skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'`}},
		{name: "name too long", prompt: &sdk.Prompt{Name: strings.Repeat("n", 129)}, wantNotes: []string{fmt.Sprintf(`prompt %q skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'`, strings.Repeat("n", 64))}},
		{name: "duplicate", prompt: &sdk.Prompt{Name: "dup"}, seen: []string{"dup"}, wantNotes: []string{`prompt "dup" skipped: listed more than once`}},
		{
			name:   "title, description and argument names sanitized and cut on a rune boundary",
			prompt: &sdk.Prompt{Name: "p", Title: strings.Repeat("t", 300), Description: "\u202eevil\ttext", Arguments: []*sdk.PromptArgument{{Name: strings.Repeat("ü", 40)}}},
			want: Prompt{Name: "p", Title: strings.Repeat("t", 256), Description: "evil text",
				Arguments: []string{strings.Repeat("ü", 30) + "..."}},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, s := range tt.seen {
				seen[s] = true
			}
			got, notes, ok := convertPrompt(tt.prompt, seen)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("prompt (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}
