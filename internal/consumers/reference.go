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
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// maxReferences bounds the references one annotation may hold; more are reported as an error.
const maxReferences = 256

// Reference is one entry of the mcp.toolregistry.io/tools annotation: `[<namespace>/]<server>[:<tool>]`.
type Reference struct {
	// Namespace of the MCPServer; empty means the consumer's own namespace.
	Namespace string
	// Server is the MCPServer's name.
	Server string
	// Tool is the MCP tool name (spec.toolName, never an alias); empty means every tool of the
	// server, and pins the server itself even while it has no tools.
	Tool string
}

// String renders the reference canonically; ParseAnnotation(r.String()) returns r.
func (r Reference) String() string {
	s := r.Server
	if r.Namespace != "" {
		s = r.Namespace + "/" + s
	}
	if r.Tool != "" {
		s += ":" + r.Tool
	}
	return s
}

// In returns the reference with its namespace resolved against the consumer's namespace.
func (r Reference) In(consumerNamespace string) Reference {
	if r.Namespace == "" {
		r.Namespace = consumerNamespace
	}
	return r
}

// ParseAnnotation parses the value of the mcp.toolregistry.io/tools annotation: comma-separated
// references, spaces around entries ignored, empty entries skipped. It returns every valid reference,
// de-duplicated and sorted, and one error per malformed entry, so one typo never hides the rest.
func ParseAnnotation(value string) ([]Reference, []error) {
	var refs []Reference
	var errs []error
	seen := map[Reference]bool{}
	entries := strings.Split(value, ",")
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if len(seen) == maxReferences {
			errs = append(errs, fmt.Errorf("more than %d references: the rest, from entry %d, are ignored", maxReferences, i+1))
			break
		}
		ref, err := parseReference(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs, errs
}

func parseReference(entry string) (Reference, error) {
	var ref Reference
	rest := entry
	if ns, after, found := strings.Cut(rest, "/"); found {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return Reference{}, fmt.Errorf("%q: %q is not a valid namespace", boundedForMessage(entry), boundedForMessage(ns))
		}
		ref.Namespace, rest = ns, after
	}
	server, tool, hasTool := strings.Cut(rest, ":")
	if msgs := validation.IsDNS1123Subdomain(server); len(msgs) > 0 || len(server) > 63 {
		return Reference{}, fmt.Errorf("%q: %q is not a valid MCPServer name", boundedForMessage(entry), boundedForMessage(server))
	}
	ref.Server = server
	if hasTool {
		switch {
		case tool == "*":
			// Every tool, the same as naming the server alone.
		case naming.ValidToolName(tool):
			ref.Tool = tool
		default:
			return Reference{}, fmt.Errorf("%q: %q is not a valid tool name (1 to 128 letters, digits, '_', '-' and '.', or * for every tool)",
				boundedForMessage(entry), boundedForMessage(tool))
		}
	}
	return ref, nil
}

// boundedForMessage keeps error messages short whatever the input.
func boundedForMessage(s string) string { return text.ForMessage(s, 80) }
