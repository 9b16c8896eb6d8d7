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

package consumers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAnnotation(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		want     []Reference
		wantErrs []string
	}{
		{name: "empty", value: ""},
		{name: "whole server", value: "github", want: []Reference{{Server: "github"}}},
		{name: "one tool", value: "github:create_issue", want: []Reference{{Server: "github", Tool: "create_issue"}}},
		{name: "star means every tool", value: "github:*", want: []Reference{{Server: "github"}}},
		{name: "other namespace", value: "tools/github:create_issue", want: []Reference{{Namespace: "tools", Server: "github", Tool: "create_issue"}}},
		{name: "other namespace, whole server", value: "tools/github", want: []Reference{{Namespace: "tools", Server: "github"}}},
		{
			name:  "several, spaced, duplicated, sorted, empty entries skipped",
			value: " slack , github:search_issues,,github:create_issue, github:create_issue ,",
			want: []Reference{
				{Server: "github", Tool: "create_issue"}, {Server: "github", Tool: "search_issues"}, {Server: "slack"},
			},
		},
		{name: "dotted names", value: "mcp.github:get.item-v2_x", want: []Reference{{Server: "mcp.github", Tool: "get.item-v2_x"}}},
		{
			name:     "malformed entries reported, valid ones kept",
			value:    "github:create_issue, Bad_Server, github:, github:has space, a/b/c, NS/github, :tool",
			want:     []Reference{{Server: "github", Tool: "create_issue"}},
			wantErrs: []string{`"Bad_Server": "Bad_Server" is not a valid MCPServer name`, `"github:": "" is not a valid tool name`, `"github:has space": "has space" is not a valid tool name`, `"a/b/c": "b/c" is not a valid MCPServer name`, `"NS/github": "NS" is not a valid namespace`, `":tool": "" is not a valid MCPServer name`},
		},
		{name: "server name over 63 characters", value: strings.Repeat("s", 64), wantErrs: []string{"is not a valid MCPServer name"}},
		{name: "tool name over 128 characters", value: "github:" + strings.Repeat("t", 129), wantErrs: []string{"is not a valid tool name"}},
		{name: "too many references", value: manyReferences(300), want: nil, wantErrs: []string{"more than 256 references: the rest, from entry 257, are ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ParseAnnotation(tt.value)
			if tt.name == "too many references" {
				if len(got) != maxReferences {
					t.Errorf("got %d references, want %d", len(got), maxReferences)
				}
			} else if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("references (-want +got):\n%s", diff)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("errors = %v, want %d", errs, len(tt.wantErrs))
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}

func TestReferenceIn(t *testing.T) {
	if got := (Reference{Server: "github"}).In("agents"); got != (Reference{Namespace: "agents", Server: "github"}) {
		t.Errorf("In = %+v", got)
	}
	if got := (Reference{Namespace: "tools", Server: "github"}).In("agents"); got.Namespace != "tools" {
		t.Errorf("In overrode an explicit namespace: %+v", got)
	}
}

// FuzzParseAnnotation: no input panics, and every accepted reference round-trips through String.
func FuzzParseAnnotation(f *testing.F) {
	for _, seed := range []string{"github", "github:create_issue", "tools/github:*", " a , b:c ,, d/e", "x:/", "/:", "a/b/c:d:e", "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		refs, _ := ParseAnnotation(value)
		for _, ref := range refs {
			again, errs := ParseAnnotation(ref.String())
			if len(errs) > 0 || len(again) != 1 || again[0] != ref {
				t.Fatalf("%+v renders as %q, which parses as %+v (errors %v)", ref, ref.String(), again, errs)
			}
		}
		// Rendering all accepted references and parsing them again gives the same set.
		var rendered []string
		for _, ref := range refs {
			rendered = append(rendered, ref.String())
		}
		again, errs := ParseAnnotation(strings.Join(rendered, ","))
		if len(errs) > 0 || !cmp.Equal(refs, again) {
			t.Fatalf("%q: %+v does not round-trip: %+v (errors %v)", value, refs, again, errs)
		}
	})
}

func manyReferences(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf("s%d", i)
	}
	return strings.Join(entries, ",")
}
