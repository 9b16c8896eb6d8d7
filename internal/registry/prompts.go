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
	"slices"
	"sort"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// MaxStatusPrompts is the most prompts an MCPServer's status.prompts lists.
const MaxStatusPrompts = 256

// ValidatePromptsSpec checks what admission cannot: that every include and exclude pattern is a
// valid glob. The error names the pattern.
func ValidatePromptsSpec(spec *mcpv1alpha1.PromptsSpec) error {
	if spec == nil {
		return nil
	}
	return validateGlobs("spec.prompts", spec.Include, spec.Exclude)
}

// PromptSelected reports whether a prompt passes spec.prompts.include and spec.prompts.exclude.
// Patterns must have passed ValidatePromptsSpec.
func PromptSelected(spec *mcpv1alpha1.PromptsSpec, prompt string) bool {
	if spec == nil {
		return true
	}
	return selected(spec.Include, spec.Exclude, prompt)
}

// DesiredPrompts returns what status.prompts should hold for the discovered prompts: those
// spec.prompts selects, its overrides applied, sorted by name and cut at MaxStatusPrompts (nil when
// there are none); how many were selected (status.promptCount); and notes, sorted, for overrides
// that have no effect and for a cut list. A prompt an override disables stays listed, enabled
// false. The result is a pure function of its inputs, so an unchanged server yields an equal
// status.
func DesiredPrompts(spec *mcpv1alpha1.PromptsSpec, discovered []mcp.Prompt) ([]mcpv1alpha1.Prompt, int, []string) {
	overrides := map[string]mcpv1alpha1.PromptOverride{}
	if spec != nil {
		for _, o := range spec.Overrides {
			overrides[o.Name] = o
		}
	}

	var prompts []mcpv1alpha1.Prompt
	used := map[string]bool{}
	for _, d := range discovered {
		if !PromptSelected(spec, d.Name) {
			continue
		}
		p := mcpv1alpha1.Prompt{
			Name:        d.Name,
			Title:       d.Title,
			Description: text.Ellipsize(d.Description, mcp.MaxPromptDescriptionBytes),
			Enabled:     true,
			Arguments:   slices.Clone(d.Arguments),
		}
		if o, ok := overrides[d.Name]; ok {
			used[d.Name] = true
			if o.Alias != nil {
				p.Alias = *o.Alias
			}
			if o.Description != nil {
				p.Description = text.Ellipsize(*o.Description, mcp.MaxPromptDescriptionBytes)
			}
			if o.Enabled != nil {
				p.Enabled = *o.Enabled
			}
		}
		prompts = append(prompts, p)
	}
	sort.Slice(prompts, func(i, j int) bool { return prompts[i].Name < prompts[j].Name })

	var notes []string
	for name := range overrides {
		if !used[name] {
			notes = append(notes, fmt.Sprintf("override for prompt %q has no effect: the server does not offer it, or spec.prompts filters it out", name))
		}
	}
	count := len(prompts)
	if count > MaxStatusPrompts {
		prompts = prompts[:MaxStatusPrompts]
		notes = append(notes, fmt.Sprintf("status.prompts lists the first %d of %d prompts", MaxStatusPrompts, count))
	}
	sort.Strings(notes)
	return prompts, count, notes
}
