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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
)

// DigestPrefix starts every tool digest.
const DigestPrefix = "sha256:"

// Digest is the tool's definition digest: "sha256:" and the hex SHA-256 of a canonical JSON of the
// definition as discovered (before any override): name, title, description, input and output
// schema, annotations, icons and _meta. Canonical: object keys sorted at every depth, no
// insignificant white space, numbers as the server wrote them, no HTML escaping, absent and empty
// fields alike omitted. So the digest changes exactly when what a model reads about the tool, or
// what a client shows or acts on (its icons, its _meta: UI resources, vendor hints), changes, and
// never with the order of keys or the server's formatting.
//
// icons and _meta joined the definition after digests were first published. Being omitted when
// absent or empty, they leave the digest of every tool without them as it was: existing pins stay
// valid. A tool that has them gets a new digest once (a pinned one reads DefinitionChanged until
// re-pinned), as it does whenever its definition changes.
func Digest(t mcp.Tool) (string, error) {
	def := map[string]any{"name": t.Name}
	if t.Title != "" {
		def["title"] = t.Title
	}
	if t.Description != "" {
		def["description"] = t.Description
	}
	icons, err := iconsJSON(t.Icons)
	if err != nil {
		return "", fmt.Errorf("tool %q: cannot encode its icons: %w", t.Name, err)
	}
	for field, raw := range map[string]json.RawMessage{
		"inputSchema": t.InputSchema, "outputSchema": t.OutputSchema, "icons": icons, "_meta": t.Meta,
	} {
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("tool %q: %s is not JSON: %w", t.Name, field, err)
		}
		if m, ok := v.(map[string]any); ok && len(m) == 0 && field == "_meta" {
			continue // an empty _meta is no _meta
		}
		def[field] = v
	}
	if a := annotationsOf(t.Annotations); len(a) > 0 {
		def["annotations"] = a
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(def); err != nil { // maps are encoded with sorted keys
		return "", fmt.Errorf("tool %q: cannot encode its definition: %w", t.Name, err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return DigestPrefix + hex.EncodeToString(sum[:]), nil
}

// iconsJSON encodes icons for the digest; nil when there are none.
func iconsJSON(icons []mcpv1alpha1.Icon) (json.RawMessage, error) {
	if len(icons) == 0 {
		return nil, nil
	}
	return json.Marshal(icons)
}

// annotationsOf lists the hints that are set.
func annotationsOf(a *mcpv1alpha1.ToolAnnotations) map[string]bool {
	out := map[string]bool{}
	if a == nil {
		return out
	}
	for name, v := range map[string]*bool{
		"readOnlyHint": a.ReadOnlyHint, "destructiveHint": a.DestructiveHint,
		"idempotentHint": a.IdempotentHint, "openWorldHint": a.OpenWorldHint,
	} {
		if v != nil {
			out[name] = *v
		}
	}
	return out
}
