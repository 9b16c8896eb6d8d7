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

// Package consumers holds the consumer contract: which kinds of objects may reference MCP tools
// (the --consumer-resources flag) and, through the mcp.toolregistry.io/tools annotation, which
// servers and tools they reference.
package consumers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultResources are the workload kinds watched when --consumer-resources is not given.
const DefaultResources = "deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch"

// versionPattern matches a Kubernetes API version such as v1 or v2beta1.
var versionPattern = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]+)?$`)

// maxResources bounds the flag: every entry is a metadata-only watch.
const maxResources = 32

// ParseResources parses a comma-separated list of resources written as kubectl writes them:
// `<plural>.<group>` (deployments.apps), or `<plural>` for the core group (configmaps). Entries are
// trimmed; empty entries, duplicates and malformed names are errors naming the entry.
func ParseResources(value string) ([]schema.GroupResource, error) {
	if strings.TrimSpace(value) == "" {
		return nil, errors.New("no resources given: list at least one, e.g. " + DefaultResources)
	}
	var out []schema.GroupResource
	seen := map[schema.GroupResource]bool{}
	for i, entry := range strings.Split(value, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty", i+1)
		}
		resource, group, _ := strings.Cut(entry, ".")
		if msgs := validation.IsDNS1035Label(resource); len(msgs) > 0 {
			return nil, fmt.Errorf("%q: resource %q is not a lowercase plural resource name such as deployments", entry, resource)
		}
		if version, rest, found := strings.Cut(group, "."); found && versionPattern.MatchString(version) {
			return nil, fmt.Errorf("%q: leave out the version %q and write %s.%s", entry, version, resource, rest)
		}
		if group != "" {
			if msgs := validation.IsDNS1123Subdomain(group); len(msgs) > 0 {
				return nil, fmt.Errorf("%q: group %q is not a valid API group such as apps: %s", entry, group, strings.Join(msgs, "; "))
			}
		}
		gr := schema.GroupResource{Group: group, Resource: resource}
		if seen[gr] {
			return nil, fmt.Errorf("%q is listed twice", entry)
		}
		seen[gr] = true
		out = append(out, gr)
	}
	if len(out) > maxResources {
		return nil, fmt.Errorf("%d resources listed: at most %d may be watched", len(out), maxResources)
	}
	return out, nil
}

// ResolveKinds maps each resource to the kind and preferred version the API server serves, so
// watches can be set up. A resource the server does not serve is an error naming it.
func ResolveKinds(mapper meta.RESTMapper, resources []schema.GroupResource) ([]schema.GroupVersionKind, error) {
	kinds := make([]schema.GroupVersionKind, 0, len(resources))
	for _, gr := range resources {
		gvk, err := mapper.KindFor(gr.WithVersion(""))
		if err != nil {
			return nil, fmt.Errorf("resource %q is not served by the API server: %w", gr.String(), err)
		}
		kinds = append(kinds, gvk)
	}
	return kinds, nil
}
