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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

func TestCountingNamespace(t *testing.T) {
	cases := []struct {
		name   string
		policy *mcpv1alpha1.ConsumerPolicy
		want   string
	}{
		{name: "no policy: the default Same", want: "tools"},
		{name: "empty namespaces: the default Same", policy: &mcpv1alpha1.ConsumerPolicy{}, want: "tools"},
		{name: "Same", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesSame}, want: "tools"},
		{name: "All", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesAll}, want: ""},
		{name: "Selector", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesSelector,
			NamespaceSelector: &metav1.LabelSelector{}}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "github"},
				Spec: mcpv1alpha1.MCPServerSpec{Consumers: tc.policy}}
			if got := CountingNamespace(server); got != tc.want {
				t.Errorf("CountingNamespace = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUsesServer checks every reference form against a server with tools, one without any (before
// its first sync, say), and one whose only tools are Terminating: the caller passes those in the
// tool set, since they are still protected.
func TestUsesServer(t *testing.T) {
	withTools := map[string]bool{"create_issue": true, "list_issues": true}
	terminatingOnly := map[string]bool{"create_issue": true}
	servers := []struct {
		name  string
		tools map[string]bool
	}{
		{name: "with tools", tools: withTools},
		{name: "without tools", tools: map[string]bool{}},
		{name: "with Terminating tools only", tools: terminatingOnly},
	}
	cases := []struct {
		name       string
		namespace  string // the consumer's
		annotation string
		deleting   bool
		// want per server, in the order of servers.
		want [3]bool
	}{
		{name: "bare", annotation: "github", want: [3]bool{true, true, true}},
		{name: "star", annotation: "github:*", want: [3]bool{true, true, true}},
		{name: "bare, namespaced", namespace: "agents", annotation: "tools/github", want: [3]bool{true, true, true}},
		{name: "star, namespaced", namespace: "agents", annotation: "tools/github:*", want: [3]bool{true, true, true}},
		{name: "a tool it has", annotation: "github:create_issue", want: [3]bool{true, false, true}},
		{name: "a tool it has, namespaced", namespace: "agents", annotation: "tools/github:create_issue", want: [3]bool{true, false, true}},
		{name: "a tool it lacks", annotation: "github:delete_repo", want: [3]bool{false, false, false}},
		{name: "a tool only the live server has", annotation: "github:list_issues", want: [3]bool{true, false, false}},
		{name: "a lacking and an existing tool", annotation: "github:delete_repo, github:create_issue", want: [3]bool{true, false, true}},
		{name: "a lacking tool and the whole server", annotation: "github:delete_repo,github", want: [3]bool{true, true, true}},
		{name: "an alias is not a tool name", annotation: "github:new_issue", want: [3]bool{false, false, false}},
		{name: "another server", annotation: "gitlab, gitlab:create_issue", want: [3]bool{false, false, false}},
		{name: "the same name in another namespace", annotation: "other/github", want: [3]bool{false, false, false}},
		{name: "bare, but from another namespace without a prefix", namespace: "agents", annotation: "github", want: [3]bool{false, false, false}},
		{name: "malformed entries are skipped, valid ones count", annotation: "github:bad tool,github:create_issue", want: [3]bool{true, false, true}},
		{name: "only malformed", annotation: "Github,github:,:x", want: [3]bool{false, false, false}},
		{name: "empty annotation", annotation: "", want: [3]bool{false, false, false}},
		{name: "a consumer being deleted", annotation: "github", deleting: true, want: [3]bool{false, false, false}},
	}
	for _, tc := range cases {
		for i, s := range servers {
			t.Run(tc.name+"/"+s.name, func(t *testing.T) {
				ns := tc.namespace
				if ns == "" {
					ns = "tools"
				}
				obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent",
					Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: tc.annotation}}}
				if tc.deleting {
					now := metav1.Now()
					obj.DeletionTimestamp = &now
				}
				got := UsesServer(obj, "tools", "github", func(tool string) bool { return s.tools[tool] })
				if got != tc.want[i] {
					t.Errorf("UsesServer(%q from %s) = %v, want %v", tc.annotation, ns, got, tc.want[i])
				}
			})
		}
	}
	t.Run("no annotation", func(t *testing.T) {
		obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "agent"}}
		if UsesServer(obj, "tools", "github", func(string) bool { return true }) {
			t.Error("an object without the annotation uses the server")
		}
	})
}
