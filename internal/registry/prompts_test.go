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

package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
)

func TestValidatePromptsSpec(t *testing.T) {
	tests := []struct {
		name    string
		spec    *mcpv1alpha1.PromptsSpec
		wantErr string
	}{
		{name: "absent", spec: nil},
		{name: "valid patterns", spec: &mcpv1alpha1.PromptsSpec{Include: []string{"a*", "b?", "[cd]*"}, Exclude: []string{"x"}}},
		{name: "bad include", spec: &mcpv1alpha1.PromptsSpec{Include: []string{"[a-"}},
			wantErr: `spec.prompts.include: "[a-" is not a valid glob pattern: syntax error in pattern`},
		{name: "bad exclude", spec: &mcpv1alpha1.PromptsSpec{Include: []string{"ok_*"}, Exclude: []string{"\\"}},
			wantErr: `spec.prompts.exclude: "\\" is not a valid glob pattern: syntax error in pattern`},
		{name: "both bad: include is named, always", spec: &mcpv1alpha1.PromptsSpec{Include: []string{"["}, Exclude: []string{"]["}},
			wantErr: `spec.prompts.include: "[" is not a valid glob pattern: syntax error in pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePromptsSpec(tt.spec)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("ValidatePromptsSpec = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestPromptSelected(t *testing.T) {
	tests := []struct {
		name   string
		spec   *mcpv1alpha1.PromptsSpec
		prompt string
		want   bool
	}{
		{"no spec", nil, "anything", true},
		{"no filters", &mcpv1alpha1.PromptsSpec{}, "anything", true},
		{"include matches", &mcpv1alpha1.PromptsSpec{Include: []string{"review-*"}}, "review-code", true},
		{"include misses", &mcpv1alpha1.PromptsSpec{Include: []string{"review-*"}}, "summarize", false},
		{"exclude wins over include", &mcpv1alpha1.PromptsSpec{Include: []string{"*"}, Exclude: []string{"*-internal"}}, "ops-internal", false},
		{"exclude only", &mcpv1alpha1.PromptsSpec{Exclude: []string{"debug*"}}, "summarize", true},
		{"? matches one character", &mcpv1alpha1.PromptsSpec{Include: []string{"p?"}}, "p12", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PromptSelected(tt.spec, tt.prompt); got != tt.want {
				t.Errorf("PromptSelected(%q) = %v, want %v", tt.prompt, got, tt.want)
			}
		})
	}
}

func TestDesiredPrompts(t *testing.T) {
	offered := []mcp.Prompt{
		{Name: "summarize", Title: "Summarize", Description: "Sum it up.", Arguments: []string{"text"}},
		{Name: "debug-dump", Description: "Internal."},
		{Name: "review", Title: "Review", Description: "Review code.", Arguments: []string{"language", "style"}},
		{Name: "translate", Arguments: []string{"to"}},
	}
	long := strings.Repeat("ü", 600) // 1200 bytes

	tests := []struct {
		name      string
		spec      *mcpv1alpha1.PromptsSpec
		offered   []mcp.Prompt
		want      []mcpv1alpha1.Prompt
		wantCount int
		wantNotes []string
	}{
		{name: "nothing offered", spec: &mcpv1alpha1.PromptsSpec{Include: []string{"*"}}, want: nil},
		{
			name:    "no spec: every prompt, sorted, enabled",
			offered: offered,
			want: []mcpv1alpha1.Prompt{
				{Name: "debug-dump", Description: "Internal.", Enabled: true},
				{Name: "review", Title: "Review", Description: "Review code.", Enabled: true, Arguments: []string{"language", "style"}},
				{Name: "summarize", Title: "Summarize", Description: "Sum it up.", Enabled: true, Arguments: []string{"text"}},
				{Name: "translate", Enabled: true, Arguments: []string{"to"}},
			},
			wantCount: 4,
		},
		{
			name: "filters and overrides; a disabled prompt stays listed; overrides with no effect are noted",
			spec: &mcpv1alpha1.PromptsSpec{
				Exclude: []string{"debug-*"},
				Overrides: []mcpv1alpha1.PromptOverride{
					{Name: "review", Alias: ptr.To("code_review"), Description: ptr.To("Review a change.")},
					{Name: "translate", Enabled: ptr.To(false)},
					{Name: "summarize", Enabled: ptr.To(true)},
					{Name: "debug-dump", Alias: ptr.To("dump")},
					{Name: "gone", Enabled: ptr.To(false)},
				},
			},
			offered: offered,
			want: []mcpv1alpha1.Prompt{
				{Name: "review", Title: "Review", Description: "Review a change.", Alias: "code_review", Enabled: true, Arguments: []string{"language", "style"}},
				{Name: "summarize", Title: "Summarize", Description: "Sum it up.", Enabled: true, Arguments: []string{"text"}},
				{Name: "translate", Enabled: false, Arguments: []string{"to"}},
			},
			wantCount: 3,
			wantNotes: []string{
				`override for prompt "debug-dump" has no effect: the server does not offer it, or spec.prompts filters it out`,
				`override for prompt "gone" has no effect: the server does not offer it, or spec.prompts filters it out`,
			},
		},
		{
			name:      "include selects",
			spec:      &mcpv1alpha1.PromptsSpec{Include: []string{"s*", "t*"}},
			offered:   offered,
			want:      []mcpv1alpha1.Prompt{{Name: "summarize", Title: "Summarize", Description: "Sum it up.", Enabled: true, Arguments: []string{"text"}}, {Name: "translate", Enabled: true, Arguments: []string{"to"}}},
			wantCount: 2,
		},
		{
			name:      "an override's description is cut to the status bound on a rune boundary",
			spec:      &mcpv1alpha1.PromptsSpec{Overrides: []mcpv1alpha1.PromptOverride{{Name: "p", Description: ptr.To(long)}}},
			offered:   []mcp.Prompt{{Name: "p", Description: "short"}},
			want:      []mcpv1alpha1.Prompt{{Name: "p", Description: strings.Repeat("ü", 510) + "...", Enabled: true}},
			wantCount: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, count, notes := DesiredPrompts(tt.spec, tt.offered)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("prompts (-want +got):\n%s", diff)
			}
			if count != tt.wantCount {
				t.Errorf("count = %d, want %d", count, tt.wantCount)
			}
			if diff := cmp.Diff(tt.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredPromptsBoundsTheList(t *testing.T) {
	var offered []mcp.Prompt
	for i := 299; i >= 0; i-- { // offered out of order
		offered = append(offered, mcp.Prompt{Name: fmt.Sprintf("p-%03d", i)})
	}
	got, count, notes := DesiredPrompts(&mcpv1alpha1.PromptsSpec{Exclude: []string{"p-00[0-9]"}}, offered)
	if count != 290 || len(got) != MaxStatusPrompts || got[0].Name != "p-010" || got[MaxStatusPrompts-1].Name != "p-265" {
		t.Fatalf("count %d, %d prompts from %s to %s; want 290, %d from p-010 to p-265", count, len(got), got[0].Name, got[len(got)-1].Name, MaxStatusPrompts)
	}
	if diff := cmp.Diff([]string{"status.prompts lists the first 256 of 290 prompts"}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// The status is recomputed on every sync: equal inputs must give equal output, and the output must
// not share argument slices with the discovery kept for the next pass.
func TestDesiredPromptsIsDeterministicAndCopies(t *testing.T) {
	offered := []mcp.Prompt{{Name: "b", Arguments: []string{"x"}}, {Name: "a"}}
	first, _, _ := DesiredPrompts(nil, offered)
	second, _, _ := DesiredPrompts(nil, offered)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Fatalf("two passes differ:\n%s", diff)
	}
	first[1].Arguments[0] = "changed"
	if offered[0].Arguments[0] != "x" {
		t.Fatal("status.prompts shares its arguments with the discovery")
	}
}
