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

package controller

import (
	"context"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// consumerIndex lists consumers through the cache index, for every watched kind.
type consumerIndex struct {
	reader client.Reader
	kinds  []schema.GroupVersionKind
}

// match decides, of the candidates an index key finds, which consumers count; nil keeps every one.
type match func(obj client.Object) bool

// find returns the consumers holding any of the index keys and kept by m, de-duplicated, in every
// namespace.
func (ci consumerIndex) find(ctx context.Context, m match, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	seen := map[mcpv1alpha1.ConsumerReference]bool{}
	var out []mcpv1alpha1.ConsumerReference
	for _, gvk := range ci.kinds {
		for _, key := range keys {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := ci.reader.List(ctx, list, client.MatchingFields{consumers.IndexField: key}); err != nil {
				return nil, fmt.Errorf("cannot list %s consumers: %w", gvk.Kind, err)
			}
			for i := range list.Items {
				if m != nil && !m(&list.Items[i]) {
					continue
				}
				ref := consumerRef(gvk, &list.Items[i])
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			}
		}
	}
	return out, nil
}

// findLive is find bypassing the cache: it lists the consumers in namespace ("" for every
// namespace) live and keeps those holding any of the keys and kept by m. It confirms "unused"
// before anything is destroyed.
func (ci consumerIndex) findLive(ctx context.Context, live client.Reader, namespace string, m match, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	var out []mcpv1alpha1.ConsumerReference
	for _, gvk := range ci.kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := live.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("cannot list %s consumers: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			itemKeys := consumers.IndexKeys(&list.Items[i])
			if !slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(itemKeys, k) }) {
				continue
			}
			if m == nil || m(&list.Items[i]) {
				out = append(out, consumerRef(gvk, &list.Items[i]))
			}
		}
	}
	return out, nil
}

func consumerRef(gvk schema.GroupVersionKind, obj *metav1.PartialObjectMetadata) mcpv1alpha1.ConsumerReference {
	return mcpv1alpha1.ConsumerReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: obj.Namespace, Name: obj.Name,
	}
}

// usage returns the counting consumers of server (or of one of its tools) holding any of the keys
// and kept by m: from the cache, or, when live is not nil, from a live read of the consumers in the
// namespaces that can count (only the server's own under the default Same policy).
func (ci consumerIndex) usage(ctx context.Context, server *mcpv1alpha1.MCPServer, live client.Reader, m match, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	var found []mcpv1alpha1.ConsumerReference
	var err error
	if live != nil {
		found, err = ci.findLive(ctx, live, consumers.CountingNamespace(server), m, keys...)
	} else {
		found, err = ci.find(ctx, m, keys...)
	}
	if err != nil {
		return nil, err
	}
	return ci.counting(ctx, server, found)
}

// serverUsage returns the counting consumers of the server itself: those referencing it bare or
// with `:*`, and those naming one of tools, its MCPTools (Terminating ones included: they are still
// protected). A reference to a tool the server does not have counts for nothing. One index lookup
// per kind finds every consumer mentioning the server; UsesServer decides which of them count.
func (ci consumerIndex) serverUsage(ctx context.Context, server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool, live client.Reader) ([]mcpv1alpha1.ConsumerReference, error) {
	has := ServerToolNames(server, tools)
	uses := func(obj client.Object) bool {
		return consumers.UsesServer(obj, server.Namespace, server.Name, func(tool string) bool { return has[tool] })
	}
	return ci.usage(ctx, server, live, uses, consumers.ServerKey(server.Namespace, server.Name))
}

// ServerToolNames is the set of MCP tool names (spec.toolName) of the MCPTools among tools that
// the server controls, Terminating ones included: the tools a reference can use, and so pin the
// server by.
func ServerToolNames(server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) map[string]bool {
	names := make(map[string]bool, len(tools))
	for _, t := range tools {
		if registry.OwnedBy(t, server) {
			names[t.Spec.ToolName] = true
		}
	}
	return names
}

// counting keeps the consumers whose namespace the server's spec.consumers allows. References from
// other namespaces never block a delete: a tenant must not pin another tenant's server.
func (ci consumerIndex) counting(ctx context.Context, server *mcpv1alpha1.MCPServer, found []mcpv1alpha1.ConsumerReference) ([]mcpv1alpha1.ConsumerReference, error) {
	var out []mcpv1alpha1.ConsumerReference
	selectorCache := map[string]bool{}
	for _, c := range found {
		ok, err := ci.allows(ctx, server, c.Namespace, selectorCache)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	sortConsumers(out)
	return out, nil
}

// allows reports whether consumers in namespace count for the server.
func (ci consumerIndex) allows(ctx context.Context, server *mcpv1alpha1.MCPServer, namespace string, cache map[string]bool) (bool, error) {
	if namespace == server.Namespace {
		return true, nil
	}
	policy := server.Spec.Consumers
	if policy == nil {
		return false, nil
	}
	switch policy.Namespaces {
	case mcpv1alpha1.ConsumerNamespacesAll:
		return true, nil
	case mcpv1alpha1.ConsumerNamespacesSelector:
		if allowed, ok := cache[namespace]; ok {
			return allowed, nil
		}
		selector, err := metav1.LabelSelectorAsSelector(policy.NamespaceSelector)
		if err != nil {
			return false, nil // admission validates the selector; an unusable one allows nothing extra
		}
		ns := &metav1.PartialObjectMetadata{}
		ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := ci.reader.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		allowed := selector.Matches(labels.Set(ns.Labels))
		cache[namespace] = allowed
		return allowed, nil
	default:
		return false, nil
	}
}

// sortConsumers orders consumers by namespace, name, kind and apiVersion.
func sortConsumers(refs []mcpv1alpha1.ConsumerReference) {
	sort.Slice(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.APIVersion < b.APIVersion
	})
}

// describeConsumers names consumers for a condition message: "Deployment agents/triage-agent, ...
// and 3 more".
func describeConsumers(refs []mcpv1alpha1.ConsumerReference) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Kind + " " + r.Namespace + "/" + r.Name
	}
	return joinBounded(names, ", ")
}

// setUsage records counting consumers on a server's or tool's status: consumerCount, the bounded
// sample and the InUse condition.
func setUsage(obj client.Object, refs []mcpv1alpha1.ConsumerReference) {
	sample := refs
	if len(sample) > mcpv1alpha1.MaxConsumerSample {
		sample = sample[:mcpv1alpha1.MaxConsumerSample]
	}
	sample = append([]mcpv1alpha1.ConsumerReference(nil), sample...)
	count := int32(len(refs))
	switch o := obj.(type) {
	case *mcpv1alpha1.MCPServer:
		o.Status.ConsumerCount, o.Status.Consumers = count, sample
	case *mcpv1alpha1.MCPTool:
		o.Status.ConsumerCount, o.Status.Consumers = count, sample
	}
	if len(refs) == 0 {
		setCondition(obj, mcpv1alpha1.ConditionInUse, metav1.ConditionFalse, mcpv1alpha1.ReasonNoConsumers, "No consumers")
		return
	}
	noun := "consumers"
	if len(refs) == 1 {
		noun = "consumer"
	}
	setCondition(obj, mcpv1alpha1.ConditionInUse, metav1.ConditionTrue, mcpv1alpha1.ReasonConsumersFound,
		fmt.Sprintf("Used by %d %s: %s", len(refs), noun, describeConsumers(refs)))
}

// CountingConsumers keeps, of the consumers found referencing a server or its tools, those whose
// namespace the server's spec.consumers policy lets count, sorted: the operator's own rule, for
// tools outside the manager (kubectl mcp impact). reader is read live for namespace labels.
func CountingConsumers(ctx context.Context, reader client.Reader, server *mcpv1alpha1.MCPServer, found []mcpv1alpha1.ConsumerReference) ([]mcpv1alpha1.ConsumerReference, error) {
	return consumerIndex{reader: reader}.counting(ctx, server, found)
}
