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

package soak

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The names of the contract the observer checks, written out from DESIGN.md rather than imported
// from the operator: the observer shares no code with what it judges.
const (
	toolsAnnotation = "mcp.toolregistry.io/tools"
	forceAnnotation = "mcp.toolregistry.io/force-delete"
	serverLabel     = "mcp.toolregistry.io/server"
	orphanFinalizer = "orphan"
)

// reference is one entry of a consumer's tools annotation: `[<namespace>/]<server>[:<tool>]`.
type reference struct {
	namespace, server, tool string // tool "" means every tool (bare or `*`)
}

// references parses a consumer's annotation, resolving the namespace against the consumer's own;
// malformed entries are skipped (they count for nothing).
func references(consumer *unstructured.Unstructured) []reference {
	value, ok := consumer.GetAnnotations()[toolsAnnotation]
	if !ok {
		return nil
	}
	var out []reference
	for _, entry := range strings.Split(value, ",") {
		entry = strings.TrimSpace(entry)
		ref := reference{namespace: consumer.GetNamespace()}
		if ns, rest, found := strings.Cut(entry, "/"); found {
			ref.namespace, entry = ns, rest
		}
		var hasTool bool
		ref.server, ref.tool, hasTool = strings.Cut(entry, ":")
		if ref.tool == "*" {
			ref.tool = ""
		} else if hasTool && !validToolName(ref.tool) {
			continue
		}
		if ref.namespace == "" || ref.server == "" || strings.ContainsAny(ref.server, "/:") {
			continue
		}
		out = append(out, ref)
	}
	return out
}

// counting reports whether a consumer's references count for the server namespace/name: it is not
// being deleted, and its namespace is the server's or allowAll (spec.consumers.namespaces: All).
func counting(consumer *unstructured.Unstructured, namespace string, allowAll bool) bool {
	return consumer.GetDeletionTimestamp() == nil && (consumer.GetNamespace() == namespace || allowAll)
}

// usesTool reports whether the consumer uses tool of server namespace/name (by name or wholesale).
func usesTool(consumer *unstructured.Unstructured, namespace, server, tool string) bool {
	for _, r := range references(consumer) {
		if r.namespace == namespace && r.server == server && (r.tool == "" || r.tool == tool) {
			return true
		}
	}
	return false
}

// usesServer reports whether the consumer pins server namespace/name: a reference to the whole
// server, or to one of the tools it has (has). A reference to a tool it does not have pins nothing.
func usesServer(consumer *unstructured.Unstructured, namespace, server string, has map[string]bool) bool {
	for _, r := range references(consumer) {
		if r.namespace == namespace && r.server == server && (r.tool == "" || has[r.tool]) {
			return true
		}
	}
	return false
}

// validToolName: 1 to 128 letters, digits, '_', '-' and '.' (DESIGN: a malformed reference counts
// for nothing).
func validToolName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
