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

// Package registry computes what the cluster should hold for an MCPServer: the MCPTools its
// discovered tools become after spec.tools (include, exclude, overrides), and the smallest set of
// writes that gets the cluster there.
package registry

import (
	"fmt"
	"path"
	"slices"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
)

// ValidateToolsSpec checks what admission cannot: that every include and exclude pattern is a
// valid glob. The error names the pattern.
func ValidateToolsSpec(spec *mcpv1alpha1.ToolsSpec) error {
	if spec == nil {
		return nil
	}
	return validateGlobs("spec.tools", spec.Include, spec.Exclude)
}

// validateGlobs checks include, then exclude, and names the first invalid pattern.
func validateGlobs(field string, include, exclude []string) error {
	for _, list := range []struct {
		name     string
		patterns []string
	}{{"include", include}, {"exclude", exclude}} {
		for _, p := range list.patterns {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("%s.%s: %q is not a valid glob pattern: %w", field, list.name, p, err)
			}
		}
	}
	return nil
}

// Selected reports whether a tool passes spec.tools.include and spec.tools.exclude. Patterns must
// have passed ValidateToolsSpec.
func Selected(spec *mcpv1alpha1.ToolsSpec, tool string) bool {
	if spec == nil {
		return true
	}
	return selected(spec.Include, spec.Exclude, tool)
}

// selected reports whether name matches include (when set) and no exclude pattern.
func selected(include, exclude []string, name string) bool {
	if len(include) > 0 && !matchesAny(include, name) {
		return false
	}
	return !matchesAny(exclude, name)
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// DesiredTools returns the MCPTools the server should have, sorted by name, and notes for overrides
// naming tools the server does not offer (or that are filtered out).
func DesiredTools(server *mcpv1alpha1.MCPServer, discovered []mcp.Tool) ([]*mcpv1alpha1.MCPTool, []string) {
	var tools *mcpv1alpha1.ToolsSpec
	overrides := map[string]mcpv1alpha1.ToolOverride{}
	if server.Spec.Tools != nil {
		tools = server.Spec.Tools
		for _, o := range tools.Overrides {
			overrides[o.Name] = o
		}
	}

	var desired []*mcpv1alpha1.MCPTool
	used := map[string]bool{}
	for _, t := range discovered {
		if !Selected(tools, t.Name) {
			continue
		}
		obj := newTool(server, t)
		if o, ok := overrides[t.Name]; ok {
			used[t.Name] = true
			if o.Alias != nil {
				obj.Spec.Alias = *o.Alias
			}
			if o.Description != nil {
				obj.Spec.Description = *o.Description
			}
			if o.Enabled != nil {
				obj.Spec.Enabled = ptr.To(*o.Enabled)
			}
		}
		desired = append(desired, obj)
	}
	sort.Slice(desired, func(i, j int) bool { return desired[i].Name < desired[j].Name })

	var notes []string
	for name := range overrides {
		if !used[name] {
			notes = append(notes, fmt.Sprintf("override for tool %q has no effect: the server does not offer it, or spec.tools filters it out", name))
		}
	}
	sort.Strings(notes)
	return desired, notes
}

// newTool builds the MCPTool for one discovered tool, before overrides.
func newTool(server *mcpv1alpha1.MCPServer, t mcp.Tool) *mcpv1alpha1.MCPTool {
	obj := &mcpv1alpha1.MCPTool{
		ObjectMeta: metav1.ObjectMeta{
			Name:       naming.ToolObjectName(server.Name, t.Name),
			Namespace:  server.Namespace,
			Labels:     map[string]string{mcpv1alpha1.ServerLabel: server.Name},
			Finalizers: []string{mcpv1alpha1.ToolFinalizer},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         mcpv1alpha1.GroupVersion.String(),
				Kind:               "MCPServer",
				Name:               server.Name,
				UID:                server.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: mcpv1alpha1.MCPToolSpec{
			ServerRef:   mcpv1alpha1.ServerReference{Name: server.Name},
			ToolName:    t.Name,
			Title:       t.Title,
			Description: t.Description,
			Annotations: t.Annotations,
			Icons:       t.Icons,
			Enabled:     ptr.To(true),
		},
	}
	if len(t.Meta) > 0 {
		obj.Spec.Meta = &apiextensionsv1.JSON{Raw: t.Meta}
	}
	if len(t.InputSchema) > 0 {
		obj.Spec.InputSchema = &apiextensionsv1.JSON{Raw: t.InputSchema}
	}
	if len(t.OutputSchema) > 0 {
		obj.Spec.OutputSchema = &apiextensionsv1.JSON{Raw: t.OutputSchema}
	}
	// The MCP client only returns schemas that are JSON objects, so Digest does not fail on them.
	digest, _ := Digest(t)
	obj.Spec.Digest, obj.Spec.DiscoveredDigest = digest, digest
	return obj
}

// Pin is the digest the server's spec.tools.overrides pin the tool to, or "".
func Pin(server *mcpv1alpha1.MCPServer, tool string) string {
	return overrideFor(server, tool).Digest
}

// overrideFor is the server's override for the tool; the zero value when it has none.
func overrideFor(server *mcpv1alpha1.MCPServer, tool string) mcpv1alpha1.ToolOverride {
	if server.Spec.Tools != nil {
		for _, o := range server.Spec.Tools.Overrides {
			if o.Name == tool {
				return o
			}
		}
	}
	return mcpv1alpha1.ToolOverride{}
}

// keepApproved makes desired, a pinned tool whose discovered definition no longer matches its pin,
// keep the definition cur holds when that one is the approved one (its digest is the pin): the
// MCPTool then shows the last approved definition beside the new discovered digest. Overrides
// (alias, enabled, description) still apply.
func keepApproved(server *mcpv1alpha1.MCPServer, desired, cur *mcpv1alpha1.MCPTool) {
	override := overrideFor(server, desired.Spec.ToolName)
	pin := override.Digest
	if pin == "" || desired.Spec.DiscoveredDigest == pin || cur.Spec.Digest != pin {
		return
	}
	desired.Spec.Title = cur.Spec.Title
	desired.Spec.InputSchema = cur.Spec.InputSchema.DeepCopy()
	desired.Spec.OutputSchema = cur.Spec.OutputSchema.DeepCopy()
	desired.Spec.Annotations = cur.Spec.Annotations.DeepCopy()
	desired.Spec.Icons = nil
	for _, icon := range cur.Spec.Icons {
		desired.Spec.Icons = append(desired.Spec.Icons, *icon.DeepCopy())
	}
	desired.Spec.Meta = cur.Spec.Meta.DeepCopy()
	desired.Spec.Digest = cur.Spec.Digest
	if override.Description == nil {
		desired.Spec.Description = cur.Spec.Description
	}
}

// Plan is the set of writes that makes the cluster match the desired tools.
type Plan struct {
	// Create are desired tools that do not exist.
	Create []*mcpv1alpha1.MCPTool
	// Update are existing tools, already carrying the desired labels, owner, finalizer and spec.
	Update []*mcpv1alpha1.MCPTool
	// Prune are existing tools the server no longer offers (or that spec.tools now filters out).
	Prune []*mcpv1alpha1.MCPTool
	// Conflicts are desired tools whose name is taken by an object that is not this server's tool
	// of that name; they are left alone.
	Conflicts []string
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Update) == 0 && len(p.Prune) == 0
}

// PlanChanges compares the desired tools with the existing ones (the server's tools, as found by
// its label, plus any object holding a desired name). Tools that are being deleted are neither
// updated nor pruned again; a desired tool whose object is being deleted waits for it to go.
func PlanChanges(server *mcpv1alpha1.MCPServer, desired, existing []*mcpv1alpha1.MCPTool) Plan {
	byName := map[string]*mcpv1alpha1.MCPTool{}
	for _, e := range existing {
		byName[e.Name] = e
	}
	var plan Plan
	wanted := map[string]bool{}
	for _, d := range desired {
		wanted[d.Name] = true
		cur, ok := byName[d.Name]
		switch {
		case !ok:
			plan.Create = append(plan.Create, d)
		case cur.Spec.ServerRef.Name != server.Name || cur.Spec.ToolName != d.Spec.ToolName:
			plan.Conflicts = append(plan.Conflicts, d.Name)
		case cur.DeletionTimestamp != nil:
			// Re-created once the old object is gone.
		default:
			keepApproved(server, d, cur)
			if updated, changed := merge(cur, d); changed {
				plan.Update = append(plan.Update, updated)
			}
		}
	}
	for _, e := range existing {
		if wanted[e.Name] || e.DeletionTimestamp != nil || !OwnedBy(e, server) {
			continue
		}
		plan.Prune = append(plan.Prune, e)
	}
	return plan
}

// OwnedBy reports whether tool is controlled by this server (same UID).
func OwnedBy(tool *mcpv1alpha1.MCPTool, server *mcpv1alpha1.MCPServer) bool {
	ref := metav1.GetControllerOf(tool)
	return ref != nil && ref.UID == server.UID && ref.Kind == "MCPServer"
}

// merge returns a copy of cur with desired's spec, server label, controller reference and
// finalizer, and whether anything changed. Labels, annotations, owners and finalizers that others
// added are kept.
func merge(cur, desired *mcpv1alpha1.MCPTool) (*mcpv1alpha1.MCPTool, bool) {
	out := cur.DeepCopy()
	changed := false
	if !equality.Semantic.DeepEqual(out.Spec, desired.Spec) {
		out.Spec = desired.Spec
		changed = true
	}
	if out.Labels[mcpv1alpha1.ServerLabel] != desired.Labels[mcpv1alpha1.ServerLabel] {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[mcpv1alpha1.ServerLabel] = desired.Labels[mcpv1alpha1.ServerLabel]
		changed = true
	}
	want := desired.OwnerReferences[0]
	if ref := metav1.GetControllerOf(out); ref == nil || !equality.Semantic.DeepEqual(*ref, want) {
		refs := []metav1.OwnerReference{want}
		for _, r := range out.OwnerReferences {
			if r.UID != want.UID && (r.Controller == nil || !*r.Controller) {
				refs = append(refs, r)
			}
		}
		out.OwnerReferences = refs
		changed = true
	}
	if !slices.Contains(out.Finalizers, mcpv1alpha1.ToolFinalizer) {
		out.Finalizers = append(out.Finalizers, mcpv1alpha1.ToolFinalizer)
		changed = true
	}
	return out, changed
}
