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
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

func TestIconSource(t *testing.T) {
	longHTTPS := "https://cdn.example.com/" + strings.Repeat("a", MaxURLBytes-len("https://cdn.example.com/"))
	longData := "data:image/png;base64," + strings.Repeat("A", MaxIconDataURLBytes-len("data:image/png;base64,"))
	tests := []struct {
		name, src, want string
		ok              bool
	}{
		{"https", "https://cdn.example.com/icon.png", "https://cdn.example.com/icon.png", true},
		{"https with a query and fragment", "https://cdn.example.com/i?s=48#x", "https://cdn.example.com/i?s=48#x", true},
		{"upper-case scheme normalized", "HTTPS://cdn.example.com/i.png", "https://cdn.example.com/i.png", true},
		{"https at the bound", longHTTPS, longHTTPS, true},
		{"https over the bound", longHTTPS + "a", "", false},
		{"data:image", "data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,iVBORw0KGgo=", true},
		{"data:image in upper case", "DATA:IMAGE/svg+xml;base64,PHN2Zy8+", "data:image/svg+xml;base64,PHN2Zy8+", true},
		{"data: at the bound", longData, longData, true},
		{"data: over the bound", longData + "A", "", false},
		{"data: of another type", "data:text/html;base64,PHNjcmlwdD4=", "", false},
		{"data: with nothing after the type", "data:image/", "", false},
		{"data: with a space", "data:image/svg+xml,<svg onload=x >", "", false},
		{"plain http", "http://cdn.example.com/icon.png", "", false},
		{"javascript", "javascript:alert(1)", "", false},
		{"file", "file:///etc/passwd", "", false},
		{"relative", "/icon.png", "", false},
		{"no host", "https:///icon.png", "", false},
		{"opaque", "https:icon.png", "", false},
		{"credentials", "https://user:pw@cdn.example.com/i.png", "", false},
		{"control character", "https://cdn.example.com/i\x1b[2J.png", "", false},
		{"non-ASCII", "https://cdn.example.com/ïcon.png", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := iconSource(tt.src)
			if got != tt.want || ok != tt.ok {
				t.Errorf("iconSource(%.80q) = %.80q, %v; want %.80q, %v", tt.src, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestConvertIcons(t *testing.T) {
	in := []sdk.Icon{
		{Source: "https://cdn.example.com/a.png", MIMEType: "image/png", Sizes: []string{"48x48", "any", "big", "0x1", "48x48 96x96"}, Theme: sdk.IconThemeDark},
		{Source: "http://cdn.example.com/b.png", MIMEType: "image/png"},
		{Source: "data:image/svg+xml;base64,PHN2Zy8+", MIMEType: "image/png; charset=\x1b[31m", Theme: "blue"},
	}
	for i := range 9 {
		in = append(in, sdk.Icon{Source: fmt.Sprintf("https://cdn.example.com/%d.png", i)})
	}
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = fmt.Sprintf("%dx%d", i+1, i+1)
	}
	in[3].Sizes = nine
	got, dropped := convertIcons(in)
	want := []mcpv1alpha1.Icon{
		{Src: "https://cdn.example.com/a.png", MIMEType: "image/png", Sizes: []string{"48x48", "any"}, Theme: "dark"},
		{Src: "data:image/svg+xml;base64,PHN2Zy8+"},
		{Src: "https://cdn.example.com/0.png", Sizes: nine[:MaxIconSizes]},
	}
	for i := 1; i < 6; i++ {
		want = append(want, mcpv1alpha1.Icon{Src: fmt.Sprintf("https://cdn.example.com/%d.png", i)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("icons (-want +got):\n%s", diff)
	}
	if dropped != 4 { // the http one, and three past MaxIcons
		t.Errorf("dropped = %d, want 4", dropped)
	}
	if got, dropped := convertIcons(nil); got != nil || dropped != 0 {
		t.Errorf("no icons: %v, %d", got, dropped)
	}
}

func TestServerInfo(t *testing.T) {
	init := &sdk.InitializeResult{
		ProtocolVersion: "2025-11-25",
		Instructions:    "Search first.\r\n\tThen \x1b[31mcreate\x1b[0m.\n" + strings.Repeat("é", MaxInstructionsBytes),
		ServerInfo: &sdk.Implementation{
			Name: "github\x1b]0;x\x07", Version: "1.2.3", Title: "GitHub\nserver", Description: "Issues & PRs.\u202e " + strings.Repeat("d", MaxServerDescriptionBytes),
			WebsiteURL: "https://github.example.com/docs",
			Icons:      []sdk.Icon{{Source: "https://github.example.com/i.png"}, {Source: "ftp://github.example.com/i.png"}},
		},
		Capabilities: &sdk.ServerCapabilities{
			Tools: &sdk.ToolCapabilities{ListChanged: true}, Resources: &sdk.ResourceCapabilities{},
			Extensions: map[string]any{"io.modelcontextprotocol/ui": map[string]any{}, "com.example/x": nil},
		},
	}
	got, notes := serverInfo(init, &sdk.Implementation{Name: "not used: the handshake said who it is"})
	if !strings.HasPrefix(got.Instructions, "Search first.\n\tThen create.\néé") || !strings.HasSuffix(got.Instructions, "é...") || len(got.Instructions) > MaxInstructionsBytes {
		t.Errorf("instructions %.60q... (%d bytes): want newlines kept, escapes gone, cut to %d", got.Instructions, len(got.Instructions), MaxInstructionsBytes)
	}
	if !strings.HasPrefix(got.Description, "Issues & PRs. ddd") || !strings.HasSuffix(got.Description, "d...") || len(got.Description) != MaxServerDescriptionBytes {
		t.Errorf("description %.40q (%d bytes)", got.Description, len(got.Description))
	}
	got.Instructions, got.Description = "", ""
	want := mcpv1alpha1.ServerInfo{
		Name: "github", Version: "1.2.3", ProtocolVersion: "2025-11-25", Title: "GitHub server",
		WebsiteURL: "https://github.example.com/docs", Icons: []mcpv1alpha1.Icon{{Src: "https://github.example.com/i.png"}},
		Capabilities: &mcpv1alpha1.ServerCapabilities{
			Tools: &mcpv1alpha1.FeatureCapability{ListChanged: true}, Resources: &mcpv1alpha1.FeatureCapability{},
			Extensions: []string{"com.example/x", "io.modelcontextprotocol/ui"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("serverInfo (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"serverInfo: 1 of 2 icons dropped (at most 8 are kept, each an https URL or a data:image/ URL)"}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	t.Run("websiteUrl that is not http(s) is dropped", func(t *testing.T) {
		for _, u := range []string{"javascript:alert(1)", "//example.com", "https://u:p@example.com", "https://example.com/" + strings.Repeat("a", MaxURLBytes)} {
			got, notes := serverInfo(&sdk.InitializeResult{ServerInfo: &sdk.Implementation{Name: "s", WebsiteURL: u}}, nil)
			if got.WebsiteURL != "" || len(notes) != 1 {
				t.Errorf("websiteUrl %.40q: kept %q, notes %v", u, got.WebsiteURL, notes)
			}
		}
		if got, _ := serverInfo(&sdk.InitializeResult{ServerInfo: &sdk.Implementation{WebsiteURL: "http://example.com"}}, nil); got.WebsiteURL != "http://example.com" {
			t.Errorf("an http websiteUrl is kept: got %q", got.WebsiteURL)
		}
	})
	t.Run("2026-07-28: serverInfo from a result's _meta when server/discover has none", func(t *testing.T) {
		meta := sdk.Meta{sdk.MetaKeyServerInfo: map[string]any{"name": "stateless", "version": "2.0", "title": "Stateless\x1b[1m"}}
		got, _ := serverInfo(&sdk.InitializeResult{ProtocolVersion: "2026-07-28"}, metaServerInfo(meta))
		if diff := cmp.Diff(mcpv1alpha1.ServerInfo{Name: "stateless", Version: "2.0", Title: "Stateless", ProtocolVersion: "2026-07-28"}, got); diff != "" {
			t.Errorf("serverInfo (-want +got):\n%s", diff)
		}
		for _, m := range []sdk.Meta{nil, {}, {sdk.MetaKeyServerInfo: "not an object"}, {sdk.MetaKeyServerInfo: []any{1}}} {
			if impl := metaServerInfo(m); impl != nil {
				t.Errorf("metaServerInfo(%v) = %+v, want nil", m, impl)
			}
		}
	})
	if got, notes := serverInfo(nil, nil); !cmp.Equal(got, mcpv1alpha1.ServerInfo{}) || notes != nil {
		t.Errorf("no initialize result: %+v, %v", got, notes)
	}
}

func TestCapabilities(t *testing.T) {
	if got, notes := capabilities(nil); got != nil || notes != nil {
		t.Errorf("nil capabilities: %+v, %v", got, notes)
	}
	ext := map[string]any{"": nil, "bad name": nil, strings.Repeat("x", MaxExtensionNameBytes+1): nil, "ctl\x1b": nil}
	for i := range MaxExtensions + 2 {
		ext[fmt.Sprintf("com.example/ext-%02d", i)] = map[string]any{}
	}
	got, notes := capabilities(&sdk.ServerCapabilities{Prompts: &sdk.PromptCapabilities{ListChanged: true}, Extensions: ext, Logging: &sdk.LoggingCapabilities{}})
	if got.Tools != nil || got.Resources != nil || got.Prompts == nil || !got.Prompts.ListChanged {
		t.Errorf("features: %+v", got)
	}
	if len(got.Extensions) != MaxExtensions || got.Extensions[0] != "com.example/ext-00" || got.Extensions[MaxExtensions-1] != "com.example/ext-31" {
		t.Errorf("extensions: %v", got.Extensions)
	}
	want := []string{
		"serverInfo.capabilities: 4 extension names dropped: not 1 to 256 printable ASCII characters",
		"serverInfo.capabilities: 34 extensions, only the first 32 by name kept",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestBoundMeta(t *testing.T) {
	if raw, note := boundMeta("t", nil); raw != nil || note != "" {
		t.Errorf("no _meta: %s, %q", raw, note)
	}
	if raw, note := boundMeta("t", sdk.Meta{}); raw != nil || note != "" {
		t.Errorf("empty _meta: %s, %q", raw, note)
	}
	raw, note := boundMeta("t", sdk.Meta{"z": 1, "a": map[string]any{"y": "<b>", "b": []any{true}}})
	if string(raw) != `{"a":{"b":[true],"y":"\u003cb\u003e"},"z":1}` || note != "" {
		t.Errorf("_meta %s, note %q: want keys sorted at every depth", raw, note)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	raw, note = boundMeta("t", sdk.Meta{"big": strings.Repeat("x", MaxMetaBytes)})
	if raw != nil || note != fmt.Sprintf(`tool "t": _meta omitted: %d bytes, over the %d-byte limit`, MaxMetaBytes+10, MaxMetaBytes) {
		t.Errorf("over the bound: %d bytes kept, note %q", len(raw), note)
	}
}

func TestMinTTL(t *testing.T) {
	tests := []struct {
		cur  int64
		ttl  int
		want int64
	}{
		{0, 0, 0},         // no hint
		{0, -5, 0},        // nonsense is no hint
		{0, 30000, 30000}, // the first hint
		{30000, 0, 30000}, // a page without one keeps it
		{30000, 20000, 20000},
		{20000, 30000, 20000},
	}
	for _, tt := range tests {
		if got := minTTL(tt.cur, tt.ttl); got != tt.want {
			t.Errorf("minTTL(%d, %d) = %d, want %d", tt.cur, tt.ttl, got, tt.want)
		}
	}
}
