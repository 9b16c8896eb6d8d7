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
	"maps"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
)

// Cache field indexes: reverse lookups never list everything and filter.
const (
	// toolServerIndex indexes MCPTools by spec.serverRef.name.
	toolServerIndex = "spec.serverRef.name"
	// serverSecretIndex indexes MCPServers by the names of the Secrets their spec references.
	serverSecretIndex = "spec.secretRefs"
	// secretOwnerIndex indexes Secrets (metadata only) by the UID of the MCPServer controlling them.
	secretOwnerIndex = "metadata.ownerReferences.mcpServerUID"
	// serverPolicyIndex indexes MCPServers by spec.consumers.namespaces, to find the servers a
	// namespace's labels matter to (Selector).
	serverPolicyIndex = "spec.consumers.namespaces"
)

// SetupIndexes registers the field indexes the controllers use, including one per consumer kind
// (watched metadata-only) by the servers and tools its annotation references.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager, consumerKinds []schema.GroupVersionKind) error {
	indexer := mgr.GetFieldIndexer()
	for _, gvk := range consumerKinds {
		if err := indexer.IndexField(ctx, consumerObject(gvk), consumers.IndexField, consumers.IndexKeys); err != nil {
			return fmt.Errorf("cannot index %s consumers: %w", gvk.Kind, err)
		}
	}
	if err := indexer.IndexField(ctx, &mcpv1alpha1.MCPTool{}, toolServerIndex, func(o client.Object) []string {
		return []string{o.(*mcpv1alpha1.MCPTool).Spec.ServerRef.Name}
	}); err != nil {
		return fmt.Errorf("cannot index MCPTools by server: %w", err)
	}
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := indexer.IndexField(ctx, secret, secretOwnerIndex, controllingServerUID); err != nil {
		return fmt.Errorf("cannot index Secrets by owner: %w", err)
	}
	if err := indexer.IndexField(ctx, &mcpv1alpha1.MCPServer{}, serverSecretIndex, func(o client.Object) []string {
		return secretNames(o.(*mcpv1alpha1.MCPServer))
	}); err != nil {
		return fmt.Errorf("cannot index MCPServers by Secret: %w", err)
	}
	if err := indexer.IndexField(ctx, &mcpv1alpha1.MCPServer{}, serverPolicyIndex, func(o client.Object) []string {
		if p := o.(*mcpv1alpha1.MCPServer).Spec.Consumers; p != nil && p.Namespaces != "" {
			return []string{string(p.Namespaces)}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cannot index MCPServers by consumer policy: %w", err)
	}
	return nil
}

// selectorServers lists the MCPServers, in every namespace, whose consumer policy selects
// namespaces by label: the ones a namespace's label change can change the usage of.
func selectorServers(ctx context.Context, c client.Reader) []mcpv1alpha1.MCPServer {
	list := &mcpv1alpha1.MCPServerList{}
	if err := c.List(ctx, list, client.MatchingFields{serverPolicyIndex: string(mcpv1alpha1.ConsumerNamespacesSelector)}); err != nil {
		logf.FromContext(ctx).Error(err, "Cannot list MCPServers by consumer policy")
		return nil
	}
	return list.Items
}

// namespaceLabelsChanged lets through namespace updates that change labels: what a Selector
// consumer policy reads. Creations and deletions of namespaces change nothing a consumer event
// does not already bring.
var namespaceLabelsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
}

// namespaceObject is an empty metadata-only Namespace, for watches.
func namespaceObject() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// controllingServerUID is the UID of the MCPServer controlling obj, if any.
func controllingServerUID(obj client.Object) []string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != "MCPServer" || ref.APIVersion != mcpv1alpha1.GroupVersion.String() {
		return nil
	}
	return []string{string(ref.UID)}
}

// consumerObject is an empty metadata-only object of a consumer kind, for watches and indexes.
func consumerObject(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	return obj
}

// secretNames lists the Secrets a server's spec references.
func secretNames(server *mcpv1alpha1.MCPServer) []string {
	var names []string
	if a := server.Spec.Auth; a != nil && a.Bearer != nil {
		names = append(names, a.Bearer.SecretRef.Name)
	}
	if a := server.Spec.Auth; a != nil && a.OAuth2 != nil {
		o := a.OAuth2
		if o.ClientSecretRef != nil {
			names = append(names, o.ClientSecretRef.Name)
		}
		if o.PrivateKeyRef != nil {
			names = append(names, o.PrivateKeyRef.Name)
		}
		if o.InitialAccessTokenRef != nil {
			names = append(names, o.InitialAccessTokenRef.Name)
		}
	}
	if t := server.Spec.TLS; t != nil && t.CASecretRef != nil {
		names = append(names, t.CASecretRef.Name)
	}
	return names
}

// requestsFromIndex lists, from the cache, the objects in obj's namespace whose index field holds
// obj's name, and returns a reconcile request for each: how a watched object re-queues the objects
// that refer to it.
func requestsFromIndex(ctx context.Context, c client.Reader, list client.ObjectList, index string, obj client.Object) []reconcile.Request {
	if err := c.List(ctx, list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{index: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Cannot list objects by index", "index", index, "object", klog.KObj(obj))
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Cannot read list", "index", index)
		return nil
	}
	requests := make([]reconcile.Request, 0, len(items))
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return requests
}

// RegistryGauges are gauges computed from the cache at scrape time: the MCPTools known, and the
// consumers (of the watched kinds, not being deleted) that reference any server or tool.
func RegistryGauges(c client.Reader, consumerKinds []schema.GroupVersionKind) []prometheus.Collector {
	return []prometheus.Collector{
		metrics.GaugeFunc("mcp_registry_tools", "MCPTools known to the operator.", func() float64 {
			// The controllers' own informer (a metadata-only List would start a second one, a second
			// copy of every MCPTool), counted without copying the cached objects.
			list := &mcpv1alpha1.MCPToolList{}
			if err := c.List(context.Background(), list, client.UnsafeDisableDeepCopy); err != nil {
				return 0
			}
			return float64(len(list.Items))
		}),
		metrics.GaugeFunc("mcp_registry_consumers", "Objects of the watched kinds whose annotation references MCP servers or tools.", func() float64 {
			total := 0
			for _, gvk := range consumerKinds {
				list := &metav1.PartialObjectMetadataList{}
				list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
				// An index lookup, not a walk that parses every cached object's annotation.
				if err := c.List(context.Background(), list, client.MatchingFields{consumers.IndexField: consumers.CountingKey},
					client.UnsafeDisableDeepCopy); err != nil {
					continue
				}
				total += len(list.Items)
			}
			return float64(total)
		}),
	}
}
