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
)

// consumerIndex lists consumers through the cache index, for every watched kind.
type consumerIndex struct {
	reader client.Reader
	kinds  []schema.GroupVersionKind
}

// find returns the consumers holding any of the index keys, de-duplicated, in every namespace.
func (ci consumerIndex) find(ctx context.Context, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	seen := map[mcpv1alpha1.ConsumerReference]bool{}
	var out []mcpv1alpha1.ConsumerReference
	for _, gvk := range ci.kinds {
		for _, key := range keys {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := ci.reader.List(ctx, list, client.MatchingFields{consumers.IndexField: key}); err != nil {
				return nil, fmt.Errorf("cannot list %s consumers: %w", gvk.Kind, err)
			}
			for _, item := range list.Items {
				ref := mcpv1alpha1.ConsumerReference{
					APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
					Namespace: item.Namespace, Name: item.Name,
				}
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
// namespace) live and keeps those holding any of the keys. It confirms "unused" before anything
// is destroyed.
func (ci consumerIndex) findLive(ctx context.Context, live client.Reader, namespace string, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	var out []mcpv1alpha1.ConsumerReference
	for _, gvk := range ci.kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := live.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("cannot list %s consumers: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			itemKeys := consumers.IndexKeys(&list.Items[i])
			if slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(itemKeys, k) }) {
				out = append(out, mcpv1alpha1.ConsumerReference{
					APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
					Namespace: list.Items[i].Namespace, Name: list.Items[i].Name,
				})
			}
		}
	}
	return out, nil
}

// usage returns the counting consumers of server (or of one of its tools) holding any of the keys:
// from the cache, or, when live is not nil, from a live read of the consumers in the namespaces
// that can count (only the server's own under the default Same policy).
func (ci consumerIndex) usage(ctx context.Context, server *mcpv1alpha1.MCPServer, live client.Reader, keys ...string) ([]mcpv1alpha1.ConsumerReference, error) {
	var found []mcpv1alpha1.ConsumerReference
	var err error
	if live != nil {
		found, err = ci.findLive(ctx, live, consumers.CountingNamespace(server), keys...)
	} else {
		found, err = ci.find(ctx, keys...)
	}
	if err != nil {
		return nil, err
	}
	return ci.counting(ctx, server, found)
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
