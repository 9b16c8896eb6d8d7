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
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
)

func server(tools *mcpv1alpha1.ToolsSpec) *mcpv1alpha1.MCPServer {
	return &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: "agents", UID: "uid-1"},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com", Tools: tools},
	}
}

func discovered(names ...string) []mcp.Tool {
	tools := make([]mcp.Tool, len(names))
	for i, n := range names {
		tools[i] = mcp.Tool{Name: n, Description: "does " + n, InputSchema: json.RawMessage(`{"type":"object"}`)}
	}
	return tools
}

func toolNames(tools []*mcpv1alpha1.MCPTool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Spec.ToolName)
	}
	return names
}

func TestSelected(t *testing.T) {
	tests := []struct {
		name  string
		tools *mcpv1alpha1.ToolsSpec
		tool  string
		want  bool
	}{
		{"no filters", nil, "anything", true},
		{"include matches", &mcpv1alpha1.ToolsSpec{Include: []string{"get_*", "search_*"}}, "search_issues", true},
		{"include misses", &mcpv1alpha1.ToolsSpec{Include: []string{"get_*"}}, "create_issue", false},
		{"exclude wins over include", &mcpv1alpha1.ToolsSpec{Include: []string{"*"}, Exclude: []string{"delete_*"}}, "delete_repo", false},
		{"exclude only", &mcpv1alpha1.ToolsSpec{Exclude: []string{"delete_*"}}, "create_issue", true},
		{"character class", &mcpv1alpha1.ToolsSpec{Include: []string{"tool-00[0-4]"}}, "tool-003", true},
		{"character class misses", &mcpv1alpha1.ToolsSpec{Include: []string{"tool-00[0-4]"}}, "tool-007", false},
		{"? matches one character", &mcpv1alpha1.ToolsSpec{Include: []string{"get_?"}}, "get_ab", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Selected(tt.tools, tt.tool); got != tt.want {
				t.Errorf("Selected(%q) = %v, want %v", tt.tool, got, tt.want)
			}
		})
	}
}

func TestValidateToolsSpec(t *testing.T) {
	if err := ValidateToolsSpec(&mcpv1alpha1.ToolsSpec{Include: []string{"ok_*"}, Exclude: []string{"[a-"}}); err == nil ||
		!strings.Contains(err.Error(), `spec.tools.exclude: "[a-" is not a valid glob pattern`) {
		t.Errorf("ValidateToolsSpec = %v, want it to name the bad exclude pattern", err)
	}
	if err := ValidateToolsSpec(&mcpv1alpha1.ToolsSpec{Include: []string{"a*", "b?", "[cd]*"}}); err != nil {
		t.Errorf("ValidateToolsSpec of valid patterns: %v", err)
	}
}

func TestDesiredTools(t *testing.T) {
	srv := server(&mcpv1alpha1.ToolsSpec{
		Exclude: []string{"delete_*"},
		Overrides: []mcpv1alpha1.ToolOverride{
			{Name: "create_issue", Alias: ptr.To("open_issue"), Description: ptr.To("Open an issue.")},
			{Name: "merge_pull_request", Enabled: ptr.To(false)},
			{Name: "delete_repository", Enabled: ptr.To(true)},
			{Name: "gone", Alias: ptr.To("x")},
		},
	})
	desired, notes := DesiredTools(srv, discovered("search_issues", "create_issue", "merge_pull_request", "delete_repository"))

	if diff := cmp.Diff([]string{"create_issue", "merge_pull_request", "search_issues"}, toolNames(desired)); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		`override for tool "delete_repository" has no effect: the server does not offer it, or spec.tools filters it out`,
		`override for tool "gone" has no effect: the server does not offer it, or spec.tools filters it out`,
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	create := desired[0]
	if create.Name != naming.ToolObjectName("github", "create_issue") || create.Namespace != "agents" {
		t.Errorf("name = %s/%s", create.Namespace, create.Name)
	}
	if create.Spec.Alias != "open_issue" || create.Spec.Description != "Open an issue." || !*create.Spec.Enabled {
		t.Errorf("create_issue override not applied: %+v", create.Spec)
	}
	if *desired[1].Spec.Enabled {
		t.Errorf("merge_pull_request should be disabled")
	}
	if desired[2].Spec.Description != "does search_issues" || string(desired[2].Spec.InputSchema.Raw) != `{"type":"object"}` {
		t.Errorf("search_issues spec = %+v", desired[2].Spec)
	}
	if diff := cmp.Diff(map[string]string{mcpv1alpha1.ServerLabel: "github"}, create.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{mcpv1alpha1.ToolFinalizer}, create.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	ref := metav1.GetControllerOf(create)
	if ref == nil || ref.UID != "uid-1" || ref.Kind != "MCPServer" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("controller reference = %+v", ref)
	}
}

func TestPlanChanges(t *testing.T) {
	srv := server(nil)
	desired, _ := DesiredTools(srv, discovered("a", "b", "c"))

	t.Run("nothing exists: create everything", func(t *testing.T) {
		plan := PlanChanges(srv, desired, nil)
		if diff := cmp.Diff([]string{"a", "b", "c"}, toolNames(plan.Create)); diff != "" {
			t.Errorf("create (-want +got):\n%s", diff)
		}
	})

	t.Run("everything current: no writes", func(t *testing.T) {
		existing, _ := DesiredTools(srv, discovered("a", "b", "c"))
		if plan := PlanChanges(srv, desired, existing); !plan.Empty() {
			t.Errorf("plan = %+v, want empty", plan)
		}
	})

	t.Run("hand edit reverted, labels and finalizers of others kept", func(t *testing.T) {
		existing, _ := DesiredTools(srv, discovered("a", "b", "c"))
		existing[1].Spec.Description = "edited by hand"
		existing[1].Labels["team"] = "x"
		existing[1].Finalizers = append(existing[1].Finalizers, "example.com/other")
		plan := PlanChanges(srv, desired, existing)
		if len(plan.Update) != 1 || plan.Update[0].Spec.Description != "does b" {
			t.Fatalf("update = %+v", plan.Update)
		}
		if plan.Update[0].Labels["team"] != "x" || len(plan.Update[0].Finalizers) != 2 {
			t.Errorf("update dropped what others added: %+v", plan.Update[0].ObjectMeta)
		}
		if existing[1].Spec.Description != "edited by hand" {
			t.Errorf("PlanChanges modified its input")
		}
	})

	t.Run("removed tool pruned, foreign and terminating tools left alone", func(t *testing.T) {
		existing, _ := DesiredTools(srv, discovered("a", "b", "c", "old", "terminating"))
		foreign, _ := DesiredTools(server(nil), discovered("orphaned"))
		foreign[0].OwnerReferences = nil
		existing[4].DeletionTimestamp = &metav1.Time{}
		plan := PlanChanges(srv, desired, append(existing, foreign[0]))
		if diff := cmp.Diff([]string{"old"}, toolNames(plan.Prune)); diff != "" {
			t.Errorf("prune (-want +got):\n%s", diff)
		}
	})

	t.Run("orphaned tool of the same name adopted", func(t *testing.T) {
		existing, _ := DesiredTools(srv, discovered("a", "b", "c"))
		existing[0].OwnerReferences = nil
		plan := PlanChanges(srv, desired, existing)
		if len(plan.Update) != 1 || metav1.GetControllerOf(plan.Update[0]).UID != "uid-1" {
			t.Errorf("update = %+v, want the orphan adopted", plan.Update)
		}
	})

	t.Run("name taken by another object: conflict, left alone", func(t *testing.T) {
		existing, _ := DesiredTools(srv, discovered("a", "b", "c"))
		existing[2].Spec.ToolName = "something-else"
		plan := PlanChanges(srv, desired, existing)
		if len(plan.Conflicts) != 1 || len(plan.Update) != 0 || len(plan.Prune) != 0 {
			t.Errorf("plan = %+v, want one conflict and nothing else", plan)
		}
	})
}
