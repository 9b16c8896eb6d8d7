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
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// wireCall is one JSON-RPC message a client sent: its method, the Mcp-Protocol-Version header
// and the protocol version in its _meta (the stateless protocol's, SEP-2575).
type wireCall struct {
	Method, Header, Meta string
}

// wireRecorder records the JSON-RPC messages POSTed to the handler it wraps.
type wireRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []wireCall
}

func (rec *wireRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			Method string `json:"method"`
			Params struct {
				Meta map[string]any `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) == nil && msg.Method != "" {
			meta, _ := msg.Params.Meta[sdk.MetaKeyProtocolVersion].(string)
			rec.mu.Lock()
			rec.calls = append(rec.calls, wireCall{Method: msg.Method, Header: r.Header.Get("Mcp-Protocol-Version"), Meta: meta})
			rec.mu.Unlock()
		}
	}
	rec.next.ServeHTTP(w, r)
}

func (rec *wireRecorder) methods() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var m []string
	for _, c := range rec.calls {
		m = append(m, c.Method)
	}
	return m
}

// TestDiscoverEveryProtocolVersion holds in place every protocol version the operator syncs
// against: against the test server restricted to one version (over that version's transport),
// discovery negotiates exactly that version, reports it as serverInfo.protocolVersion, and reads
// every page of tools and prompts. An SDK upgrade or a client change that drops a version fails
// here.
func TestDiscoverEveryProtocolVersion(t *testing.T) {
	tools := mcpserver.GeneratedTools(5)
	want := make([]string, len(tools))
	for i, tt := range tools {
		want[i] = tt.Name
	}
	// legacy is what a client of the initialize handshake sends: server/discover first (refused,
	// the server being of an older version), then the handshake, then the lists.
	legacy := []string{"server/discover", "initialize", "notifications/initialized", "tools/list", "tools/list", "tools/list", "prompts/list", "prompts/list"}
	tests := []struct {
		version   string
		transport mcpv1alpha1.Transport
		methods   []string
	}{
		{mcpserver.Protocol20241105, mcpv1alpha1.TransportSSE, legacy},
		{mcpserver.Protocol20250326, mcpv1alpha1.TransportStreamableHTTP, legacy},
		{mcpserver.Protocol20250618, mcpv1alpha1.TransportStreamableHTTP, legacy},
		{mcpserver.Protocol20251125, mcpv1alpha1.TransportStreamableHTTP, legacy},
		// Stateless: no handshake at all.
		{mcpserver.Protocol20260728, mcpv1alpha1.TransportStreamableHTTP,
			[]string{"server/discover", "tools/list", "tools/list", "tools/list", "prompts/list", "prompts/list"}},
	}
	var covered []string
	for _, tc := range tests {
		covered = append(covered, tc.version)
	}
	if diff := cmp.Diff(mcpserver.ProtocolVersions, covered); diff != "" {
		t.Fatalf("every version of mcpserver.ProtocolVersions has a case (-want +got):\n%s", diff)
	}

	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			if !slices.Contains(sdk.SupportedProtocolVersions(), tc.version) {
				t.Fatalf("the MCP Go SDK no longer supports protocol version %s (it supports %v): servers that speak only it cannot be synced",
					tc.version, sdk.SupportedProtocolVersions())
			}
			server := startServer(t, mcpserver.Config{
				Name: "only-" + tc.version, Version: "9.8.7", ProtocolVersion: tc.version,
				Tools: tools, Prompts: 3, PageSize: 2,
			})
			rec := &wireRecorder{next: server.Handler()}
			front := httptest.NewServer(rec)
			t.Cleanup(front.Close)
			path := "/mcp"
			if tc.transport == mcpv1alpha1.TransportSSE {
				path = "/sse"
			}

			c := &Client{Egress: utils.LoopbackEgress(), Version: "test"}
			res, err := c.Discover(context.Background(), Endpoint{URL: front.URL + path, Transport: tc.transport, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("Discover against a server that speaks only %s over %s: %v", tc.version, tc.transport, err)
			}
			wantInfo := mcpv1alpha1.ServerInfo{Name: "only-" + tc.version, Version: "9.8.7", ProtocolVersion: tc.version,
				Capabilities: &mcpv1alpha1.ServerCapabilities{
					Tools: &mcpv1alpha1.FeatureCapability{ListChanged: true}, Prompts: &mcpv1alpha1.FeatureCapability{ListChanged: true},
				}}
			if diff := cmp.Diff(wantInfo, res.ServerInfo); diff != "" {
				t.Errorf("ServerInfo (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, toolNames(res.Tools)); diff != "" {
				t.Errorf("tools over three pages (-want +got):\n%s", diff)
			}
			if res.PromptCount != 3 {
				t.Errorf("PromptCount = %d, want 3 (two pages)", res.PromptCount)
			}
			if len(res.Notes) != 0 {
				t.Errorf("Notes = %v, want none", res.Notes)
			}

			if diff := cmp.Diff(tc.methods, rec.methods()); diff != "" {
				t.Errorf("JSON-RPC messages sent (-want +got):\n%s", diff)
			}
			// After the first exchange, every call is at the negotiated version: in the header
			// over Streamable HTTP (the SDK sends none before it knows the version, and none over
			// SSE), and in _meta in the stateless protocol.
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, call := range rec.calls {
				if !strings.HasSuffix(call.Method, "/list") {
					continue
				}
				wantHeader, wantMeta := tc.version, ""
				if tc.transport == mcpv1alpha1.TransportSSE {
					wantHeader = ""
				}
				if tc.version == mcpserver.Protocol20260728 {
					wantMeta = tc.version
				}
				if call.Header != wantHeader || call.Meta != wantMeta {
					t.Errorf("%s: Mcp-Protocol-Version %q, _meta protocolVersion %q; want %q, %q",
						call.Method, call.Header, call.Meta, wantHeader, wantMeta)
				}
			}
		})
	}
}

// TestDiscoverServerMetadataEveryVersion: what a server says about itself (title, description,
// website, icons, instructions, capabilities), its tools' icons and _meta, and its lists' ttlMs
// are read, bounded and sanitized wherever the negotiated version puts them: the initialize
// result up to 2025-11-25, server/discover and each result's _meta in 2026-07-28.
func TestDiscoverServerMetadataEveryVersion(t *testing.T) {
	for _, version := range mcpserver.ProtocolVersions {
		t.Run(version, func(t *testing.T) {
			server := startServer(t, mcpserver.Config{
				Name: "meta", Version: "1.0.0", ProtocolVersion: version, PageSize: 1, TTLMs: 45000,
				Title: "Meta \x1b[31mserver", Description: "Everything\nabout it.", WebsiteURL: "https://meta.example.com/",
				Icons: []sdk.Icon{
					{Source: "https://meta.example.com/icon.png", MIMEType: "image/png", Sizes: []string{"48x48"}},
					{Source: "http://meta.example.com/icon.png"},
					{Source: "data:image/svg+xml;base64,PHN2Zy8+", Theme: sdk.IconThemeDark},
				},
				Instructions: "Call search first.\n\x1b]0;x\x07Then create.",
				Capabilities: &sdk.ServerCapabilities{
					Resources:  &sdk.ResourceCapabilities{ListChanged: true},
					Extensions: map[string]any{"io.modelcontextprotocol/ui": map[string]any{}},
				},
				Tools: []mcpserver.Tool{
					{Name: "a", Icons: []sdk.Icon{{Source: "https://meta.example.com/a.png"}}, Meta: map[string]any{"ui/resourceUri": "ui://a"}},
					{Name: "b"},
				},
				Prompts: 1,
			})
			transport, url := mcpv1alpha1.TransportStreamableHTTP, server.URL()
			if mcpserver.SSEOnly(version) {
				transport, url = mcpv1alpha1.TransportSSE, server.SSEURL()
			}
			res, err := (&Client{Egress: utils.LoopbackEgress()}).Discover(context.Background(), Endpoint{URL: url, Transport: transport, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			want := mcpv1alpha1.ServerInfo{
				Name: "meta", Version: "1.0.0", ProtocolVersion: version,
				Title: "Meta server", Description: "Everything about it.", WebsiteURL: "https://meta.example.com/",
				Icons: []mcpv1alpha1.Icon{
					{Src: "https://meta.example.com/icon.png", MIMEType: "image/png", Sizes: []string{"48x48"}},
					{Src: "data:image/svg+xml;base64,PHN2Zy8+", Theme: "dark"},
				},
				Instructions: "Call search first.\nThen create.",
				Capabilities: &mcpv1alpha1.ServerCapabilities{
					Tools: &mcpv1alpha1.FeatureCapability{ListChanged: true}, Prompts: &mcpv1alpha1.FeatureCapability{ListChanged: true},
					Resources: &mcpv1alpha1.FeatureCapability{ListChanged: true}, Extensions: []string{"io.modelcontextprotocol/ui"},
				},
			}
			if diff := cmp.Diff(want, res.ServerInfo); diff != "" {
				t.Errorf("ServerInfo (-want +got):\n%s", diff)
			}
			wantTools := []Tool{
				{Name: "a", InputSchema: json.RawMessage(`{"type":"object"}`), Icons: []mcpv1alpha1.Icon{{Src: "https://meta.example.com/a.png"}},
					Meta: json.RawMessage(`{"ui/resourceUri":"ui://a"}`)},
				{Name: "b", InputSchema: json.RawMessage(`{"type":"object"}`)},
			}
			if diff := cmp.Diff(wantTools, res.Tools); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"serverInfo: 1 of 3 icons dropped (at most 8 are kept, each an https URL or a data:image/ URL)"}, res.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			// 2026-07-28 defines ttlMs; the SDK's server sends it at every version, and a hint is
			// taken wherever it comes from.
			if res.TTLMs != 45000 {
				t.Errorf("TTLMs = %d, want 45000", res.TTLMs)
			}
		})
	}
}
