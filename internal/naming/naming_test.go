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

package naming

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestToolObjectName(t *testing.T) {
	tests := []struct {
		server, tool string
		want         string
	}{
		{"github", "create_issue", "github-create-issue-"},
		{"github", "create-issue", "github-create-issue-"},
		{"github", "Search.Issues/v2", "github-search-issues-v2-"},
		{"github", "___", "github-"},
		{"github", "日本語ツール", "github-"},
		{"my.server", "echo", "my.server-echo-"},
		{"a-b", "c", "a-b-c-"},
		{"a", "b-c", "a-b-c-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := ToolObjectName(tt.server, tt.tool)
		if !strings.HasPrefix(got, tt.want) || len(got) != len(tt.want)+hashLength {
			t.Errorf("ToolObjectName(%q, %q) = %q, want %q followed by a %d-character hash", tt.server, tt.tool, got, tt.want, hashLength)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("ToolObjectName(%q, %q) = %q is not a valid object name: %v", tt.server, tt.tool, got, errs)
		}
		if again := ToolObjectName(tt.server, tt.tool); again != got {
			t.Errorf("ToolObjectName(%q, %q) is not stable: %q then %q", tt.server, tt.tool, got, again)
		}
		input := tt.server + "/" + tt.tool
		if other, ok := seen[got]; ok {
			t.Errorf("ToolObjectName collides: %s and %s both give %q", other, input, got)
		}
		seen[got] = input
	}
}

func TestToolObjectNameLength(t *testing.T) {
	server := strings.Repeat("s", 63)
	for _, tool := range []string{strings.Repeat("t", 128), strings.Repeat("ab_", 200), strings.Repeat("x", 300)} {
		got := ToolObjectName(server, tool)
		if len(got) > maxNameLength {
			t.Errorf("ToolObjectName for a %d-character tool is %d characters, over %d", len(tool), len(got), maxNameLength)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("ToolObjectName(%q, %q) = %q: %v", server, tool, got, errs)
		}
	}
	// A server name at the subdomain limit still yields a valid name (the API caps it at 63).
	long := strings.Repeat("a", 250) + ".b"
	if errs := validation.IsDNS1123Subdomain(ToolObjectName(long, "t")); len(errs) > 0 {
		t.Errorf("ToolObjectName with a 252-character server: %v", errs)
	}
}

// FuzzToolObjectName checks, for any valid server name and any tool name, that the result is a
// valid object name, stable, and carries the hash of exactly this server and tool.
func FuzzToolObjectName(f *testing.F) {
	for _, seed := range [][2]string{{"github", "create_issue"}, {"a", "b-c"}, {"a-b", "c"}, {"x", ""}, {"srv", "\x00\xff"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, server, tool string) {
		if len(server) > 63 || len(validation.IsDNS1123Subdomain(server)) > 0 {
			t.Skip()
		}
		got := ToolObjectName(server, tool)
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Fatalf("ToolObjectName(%q, %q) = %q: %v", server, tool, got, errs)
		}
		if got != ToolObjectName(server, tool) {
			t.Fatalf("ToolObjectName(%q, %q) is not stable", server, tool)
		}
		if !strings.HasPrefix(got, server+"-") {
			t.Fatalf("ToolObjectName(%q, %q) = %q does not start with the server name", server, tool, got)
		}
		if other := ToolObjectName(server, tool+"x"); other == got {
			t.Fatalf("tools %q and %q of server %q share the name %q", tool, tool+"x", server, got)
		}
	})
}
