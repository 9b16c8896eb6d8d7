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
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// IndexField is the cache index of consumers by what they reference.
const IndexField = "metadata.annotations." + mcpv1alpha1.ToolsAnnotation

// ServerKey is the index key of every consumer that mentions the server in any form: the
// candidates for its usage, which UsesServer then decides exactly.
func ServerKey(namespace, server string) string {
	return "server:" + namespace + "/" + server
}

// ToolKey is the index key of every consumer referencing one tool by name.
func ToolKey(namespace, server, tool string) string {
	return "tool:" + namespace + "/" + server + ":" + tool
}

// AllToolsKey is the index key of every consumer referencing the whole server (bare, or `:*`),
// which uses every one of its tools.
func AllToolsKey(namespace, server string) string {
	return "tool:" + namespace + "/" + server + ":*"
}

// CountingKey is the index key of every consumer with at least one counting reference: the
// consumers gauge reads their number from the index instead of parsing every cached object.
const CountingKey = "counting"

// IndexKeys are the index values of a consumer. A consumer that is being deleted has none: it no
// longer counts, which breaks cycles the way PVC protection ignores terminating pods. Malformed
// references have none either; they are reported as Warning Events elsewhere.
func IndexKeys(obj client.Object) []string {
	refs := countingReferences(obj)
	if len(refs) == 0 {
		return nil
	}
	keys := make([]string, 0, 2*len(refs)+1)
	keys = append(keys, CountingKey)
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, ref := range refs {
		add(ServerKey(ref.Namespace, ref.Server))
		if ref.Tool == "" {
			add(AllToolsKey(ref.Namespace, ref.Server))
		} else {
			add(ToolKey(ref.Namespace, ref.Server, ref.Tool))
		}
	}
	return keys
}

// UsesServer reports whether obj's references use the MCPServer namespace/server: a bare or `:*`
// reference, or one naming a tool for which hasTool is true (the server's MCPTools, Terminating ones
// included, since they are still protected). A reference to a tool the server does not have uses
// nothing: it must never hold the server's deletion. A consumer being deleted uses nothing.
func UsesServer(obj client.Object, namespace, server string, hasTool func(tool string) bool) bool {
	for _, ref := range countingReferences(obj) {
		if ref.Namespace != namespace || ref.Server != server {
			continue
		}
		if ref.Tool == "" || hasTool(ref.Tool) {
			return true
		}
	}
	return false
}

// countingReferences are the references of a consumer that count: none while it is being
// deleted.
func countingReferences(obj client.Object) []Reference {
	if obj.GetDeletionTimestamp() != nil {
		return nil
	}
	return References(obj)
}

// References returns the consumer's references resolved against its namespace, for mapping a
// consumer change to the servers and tools it affects. It ignores the deletion state: a consumer
// that starts terminating must re-queue what it referenced.
func References(obj client.Object) []Reference {
	value, ok := obj.GetAnnotations()[mcpv1alpha1.ToolsAnnotation]
	if !ok {
		return nil
	}
	refs, _ := ParseAnnotation(value)
	for i := range refs {
		refs[i] = refs[i].In(obj.GetNamespace())
	}
	return refs
}

// CountingNamespace is the only namespace whose consumers can count for server, or "" when its
// policy (All, Selector) lets other namespaces count too: what a live read of consumers lists.
func CountingNamespace(server *mcpv1alpha1.MCPServer) string {
	if p := server.Spec.Consumers; p == nil || p.Namespaces == "" || p.Namespaces == mcpv1alpha1.ConsumerNamespacesSame {
		return server.Namespace
	}
	return ""
}
