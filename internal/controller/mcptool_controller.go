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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// MCPToolReconciler keeps each MCPTool's status: Ready when its server is Ready and the tool is
// enabled. It also runs the tool's mcp.toolregistry.io/in-use-protection finalizer.
type MCPToolReconciler struct {
	client.Client
	// APIReader confirms, bypassing the cache, that a tool is unused before releasing it.
	APIReader client.Reader
	// ConsumerKinds are the kinds whose mcp.toolregistry.io/tools annotation is read.
	ConsumerKinds []schema.GroupVersionKind
	// MaxConcurrentReconciles bounds parallel tool reconciles; a cascade releases every tool's
	// finalizer, so parallelism sets how fast a large server goes.
	MaxConcurrentReconciles int
	// Gate makes passes wait while the API server is unreachable (nil: no gate).
	Gate *apigate.Gate
	// Fence, when set, stops passes once the manager running them has stopped.
	Fence *Fence
	// Recorder emits the Warning Events of a tool whose pinned definition changed.
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcptools,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcptools/status,verbs=patch
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcpservers,verbs=get;list;watch

// Reconcile computes one MCPTool's conditions.
func (r *MCPToolReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return requeueOnConflict(r.reconcile(ctx, req))
}

func (r *MCPToolReconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tool := &mcpv1alpha1.MCPTool{}
	if err := r.Get(ctx, req.NamespacedName, tool); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if !tool.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, tool)
	}

	server := &mcpv1alpha1.MCPServer{}
	err := r.Get(ctx, types.NamespacedName{Namespace: tool.Namespace, Name: tool.Spec.ServerRef.Name}, server)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("cannot get MCPServer %q: %w", tool.Spec.ServerRef.Name, err)
	}
	if apierrors.IsNotFound(err) {
		server = nil
	}

	if server != nil && cascading(server) {
		// The server is deleting its tools right now: a status write per tool would only slow the
		// cascade down. While a delete is blocked, tools do show that their server is going.
		return ctrl.Result{}, nil
	}

	if server != nil && firstSyncInFlight(server) {
		// The server is creating its tools in its first sync: once it is done its Ready condition
		// changes, which re-queues every tool. A status write per tool now would be written again
		// moments later.
		return ctrl.Result{}, nil
	}

	before := tool.DeepCopy()
	status, reason, message := toolReadiness(tool, server)
	setCondition(tool, mcpv1alpha1.ConditionReady, status, reason, message)
	tool.Status.Digest = tool.Spec.DiscoveredDigest
	users, err := r.updateUsage(ctx, tool, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	tool.Status.ObservedGeneration = tool.Generation
	if reason == mcpv1alpha1.ReasonDefinitionChanged {
		if was := meta.FindStatusCondition(before.Status.Conditions, mcpv1alpha1.ConditionReady); was == nil || was.Reason != reason {
			r.warnDefinitionChanged(ctx, tool, server, users)
		}
	}
	if equality.Semantic.DeepEqual(before.Status, tool.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Patch(ctx, tool, lockedMergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("cannot patch status: %w", err)
	}
	return ctrl.Result{}, nil
}

// toolReadiness is the Ready condition of a tool whose server is server (nil when it does not exist).
func toolReadiness(tool *mcpv1alpha1.MCPTool, server *mcpv1alpha1.MCPServer) (metav1.ConditionStatus, string, string) {
	switch {
	case server == nil:
		return metav1.ConditionFalse, mcpv1alpha1.ReasonServerNotFound,
			fmt.Sprintf("MCPServer %q does not exist", tool.Spec.ServerRef.Name)
	case ptr.Deref(server.Spec.Suspend, false):
		return metav1.ConditionFalse, mcpv1alpha1.ReasonServerSuspended,
			fmt.Sprintf("MCPServer %q is suspended", server.Name)
	case !server.DeletionTimestamp.IsZero():
		return metav1.ConditionFalse, mcpv1alpha1.ReasonServerNotReady,
			fmt.Sprintf("MCPServer %q is being deleted", server.Name)
	}
	pin := registry.Pin(server, tool.Spec.ToolName)
	if pin != "" && tool.Spec.DiscoveredDigest != "" && tool.Spec.DiscoveredDigest != pin {
		return metav1.ConditionFalse, mcpv1alpha1.ReasonDefinitionChanged, fmt.Sprintf(
			"The definition changed on the server: its digest is %s, the pin in MCPServer %q is %s. The tool is unavailable "+
				"and this MCPTool keeps the definition last approved; review the new one, then update the pin (kubectl mcp pin %s %s)",
			tool.Spec.DiscoveredDigest, server.Name, pin, server.Name, tool.Spec.ToolName)
	}
	if t := server.Spec.Tools; t != nil && t.Pinning == mcpv1alpha1.PinningRequired && pin == "" {
		return metav1.ConditionFalse, mcpv1alpha1.ReasonPinRequired, fmt.Sprintf(
			"MCPServer %q requires every tool to be pinned (spec.tools.pinning: Required) and this one is not: kubectl mcp pin %s %s",
			server.Name, server.Name, tool.Spec.ToolName)
	}
	ready := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady)
	if !isTrue(ready) {
		msg := fmt.Sprintf("MCPServer %q is not ready", server.Name)
		if ready != nil && ready.Message != "" {
			msg += ": " + ready.Message
		}
		return metav1.ConditionFalse, mcpv1alpha1.ReasonServerNotReady, msg
	}
	if !ptr.Deref(tool.Spec.Enabled, true) {
		return metav1.ConditionFalse, mcpv1alpha1.ReasonToolDisabled,
			fmt.Sprintf("Disabled by an override in MCPServer %q", server.Name)
	}
	return metav1.ConditionTrue, mcpv1alpha1.ReasonSucceeded, "Available"
}

// reconcileDelete runs the tool's in-use-protection finalizer: the tool stays, with
// DeletionBlocked naming its consumers, while counting consumers reference it, unless the tool or
// its server (being deleted) carries the force annotation. "Unused" is confirmed with a live read.
func (r *MCPToolReconciler) reconcileDelete(ctx context.Context, tool *mcpv1alpha1.MCPTool) error {
	if !controllerutil.ContainsFinalizer(tool, mcpv1alpha1.ToolFinalizer) {
		return nil
	}
	server := &mcpv1alpha1.MCPServer{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: tool.Namespace, Name: tool.Spec.ServerRef.Name}, server); err != nil {
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("cannot get MCPServer %q: %w", tool.Spec.ServerRef.Name, err)
		}
		server = nil
	}
	force := forced(tool) || (server != nil && !server.DeletionTimestamp.IsZero() && forced(server))
	if !force {
		before := tool.DeepCopy()
		if _, err := r.updateUsage(ctx, tool, server); err != nil {
			return err
		}
		users, count := tool.Status.Consumers, tool.Status.ConsumerCount
		// "Unused" is always confirmed live, also while the server cascades: its own live read
		// came before it deleted the tools, and a reference added since may not be in the cache
		// yet (the soak saw tools released 100 to 350 ms after a consumer named them).
		if count == 0 {
			live, err := r.usage(ctx, tool, server, r.APIReader)
			if err != nil {
				return err
			}
			users, count = live, int32(len(live))
		}
		if count > 0 {
			msg := fmt.Sprintf("Used by %d %s: %s", count, pluralConsumers(count), describeConsumers(users))
			setCondition(tool, mcpv1alpha1.ConditionDeletionBlocked, metav1.ConditionTrue, mcpv1alpha1.ReasonToolsInUse, msg)
			if equality.Semantic.DeepEqual(before.Status, tool.Status) {
				return nil
			}
			if !isTrue(meta.FindStatusCondition(before.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)) {
				logf.FromContext(ctx).Info("MCPTool deletion blocked", "consumerCount", count, "consumers", describeConsumers(users))
			}
			if err := r.Status().Patch(ctx, tool, lockedMergeFrom(before)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("cannot patch status: %w", err)
			}
			return nil
		}
	}
	if err := removeFinalizer(ctx, r.Client, tool, mcpv1alpha1.ToolFinalizer); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("cannot remove finalizer: %w", err)
	}
	logf.FromContext(ctx).V(1).Info("Released MCPTool", "mcptool", klog.KObj(tool))
	return nil
}

// serverChangeAffectsTools reports whether a server update changes anything its tools' status or
// finalizer depends on: deletion, suspension, the consumer policy, the force annotation, or the
// Ready and DeletionBlocked conditions. Other updates (consumer counts, sync times) re-queue no tool,
// which matters for a server with a thousand of them.
func serverChangeAffectsTools(old, updated *mcpv1alpha1.MCPServer) bool {
	sameCondition := func(t string) bool {
		a := meta.FindStatusCondition(old.Status.Conditions, t)
		b := meta.FindStatusCondition(updated.Status.Conditions, t)
		if a == nil || b == nil {
			return a == b
		}
		return a.Status == b.Status && a.Message == b.Message
	}
	return !old.DeletionTimestamp.Equal(updated.DeletionTimestamp) ||
		ptr.Deref(old.Spec.Suspend, false) != ptr.Deref(updated.Spec.Suspend, false) ||
		!equality.Semantic.DeepEqual(old.Spec.Consumers, updated.Spec.Consumers) ||
		forced(old) != forced(updated) ||
		!equality.Semantic.DeepEqual(old.Spec.Tools, updated.Spec.Tools) ||
		!sameCondition(mcpv1alpha1.ConditionReady) ||
		!sameCondition(mcpv1alpha1.ConditionDeletionBlocked)
}

// warnDefinitionChanged emits one Warning Event on the server and one on each consumer of a tool
// whose pinned definition changed.
func (r *MCPToolReconciler) warnDefinitionChanged(ctx context.Context, tool *mcpv1alpha1.MCPTool, server *mcpv1alpha1.MCPServer, users []mcpv1alpha1.ConsumerReference) {
	if r.Recorder == nil {
		return
	}
	pin := registry.Pin(server, tool.Spec.ToolName)
	logf.FromContext(ctx).Info("Pinned tool definition changed", "tool", tool.Spec.ToolName, "digest", tool.Spec.DiscoveredDigest,
		"pin", pin, "consumerCount", len(users))
	r.Recorder.Eventf(server, tool, corev1.EventTypeWarning, mcpv1alpha1.ReasonDefinitionChanged, "Sync",
		"Tool %q changed its definition (digest %s, pinned %s): unavailable until the pin is updated; %d %s affected",
		tool.Spec.ToolName, tool.Spec.DiscoveredDigest, pin, len(users), pluralConsumers(int32(len(users))))
	for _, u := range users {
		consumer := &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: u.APIVersion, Kind: u.Kind},
			ObjectMeta: metav1.ObjectMeta{Namespace: u.Namespace, Name: u.Name},
		}
		r.Recorder.Eventf(consumer, tool, corev1.EventTypeWarning, "ToolDefinitionChanged", "Sync",
			"Tool %q of MCPServer %s/%s, which this object uses, changed its definition on the server and is unavailable until its pin is reviewed and updated",
			tool.Spec.ToolName, server.Namespace, server.Name)
	}
}

// firstSyncInFlight reports whether the server's first sync is under way: Ready is still the
// Unknown the server controller sets on its first visit.
func firstSyncInFlight(server *mcpv1alpha1.MCPServer) bool {
	ready := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionUnknown && ready.Reason == mcpv1alpha1.ReasonProgressing
}

// cascading reports whether the server is being deleted and no consumer blocks it: it is deleting
// its tools.
func cascading(server *mcpv1alpha1.MCPServer) bool {
	return !server.DeletionTimestamp.IsZero() &&
		!isTrue(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked))
}

// updateUsage records who uses the tool: consumers naming it, and consumers naming its whole
// server, counted under the server's namespace policy (the default when the server is gone). It
// returns all of them (status keeps a sample).
func (r *MCPToolReconciler) updateUsage(ctx context.Context, tool *mcpv1alpha1.MCPTool, server *mcpv1alpha1.MCPServer) ([]mcpv1alpha1.ConsumerReference, error) {
	users, err := r.usage(ctx, tool, server, nil)
	if err != nil {
		return nil, err
	}
	setUsage(tool, users)
	return users, nil
}

// usage returns the tool's counting consumers, from the cache or, with live, bypassing it.
func (r *MCPToolReconciler) usage(ctx context.Context, tool *mcpv1alpha1.MCPTool, server *mcpv1alpha1.MCPServer, live client.Reader) ([]mcpv1alpha1.ConsumerReference, error) {
	if server == nil {
		server = &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: tool.Namespace, Name: tool.Spec.ServerRef.Name}}
	}
	index := consumerIndex{reader: r.Client, kinds: r.ConsumerKinds}
	return index.usage(ctx, server, live, nil,
		consumers.ToolKey(tool.Namespace, tool.Spec.ServerRef.Name, tool.Spec.ToolName),
		consumers.AllToolsKey(tool.Namespace, tool.Spec.ServerRef.Name))
}

// SetupWithManager watches MCPTools, re-queues a server's tools whenever the server changes, and
// re-queues the tools a consumer references (before and after a change).
func (r *MCPToolReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&mcpv1alpha1.MCPTool{}).
		Watches(&mcpv1alpha1.MCPServer{}, handler.EnqueueRequestsFromMapFunc(r.toolsForServer),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
				return serverChangeAffectsTools(e.ObjectOld.(*mcpv1alpha1.MCPServer), e.ObjectNew.(*mcpv1alpha1.MCPServer))
			}})).
		Watches(namespaceObject(), handler.EnqueueRequestsFromMapFunc(r.toolsForNamespace),
			builder.OnlyMetadata, builder.WithPredicates(namespaceLabelsChanged)).
		WithOptions(controllerOptions(r.MaxConcurrentReconciles)).
		Named("mcptool")
	for _, gvk := range r.ConsumerKinds {
		b = b.Watches(consumerObject(gvk), handler.EnqueueRequestsFromMapFunc(r.toolsForConsumer), builder.OnlyMetadata)
	}
	return b.Complete(gated(r.Gate, r.Fence, r))
}

// toolsForConsumer maps a consumer to the tools it references: one tool by its derived name, or
// every tool of a server referenced whole.
func (r *MCPToolReconciler) toolsForConsumer(ctx context.Context, obj client.Object) []reconcile.Request {
	var requests []reconcile.Request
	for _, ref := range consumers.References(obj) {
		if ref.Tool != "" {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{
				Namespace: ref.Namespace, Name: naming.ToolObjectName(ref.Server, ref.Tool)}})
			continue
		}
		server := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Server}}
		requests = append(requests, r.toolsForServer(ctx, server)...)
	}
	return requests
}

// toolsForNamespace maps a namespace whose labels changed to the tools of the servers with a
// Selector policy.
func (r *MCPToolReconciler) toolsForNamespace(ctx context.Context, _ client.Object) []reconcile.Request {
	var requests []reconcile.Request
	for _, s := range selectorServers(ctx, r.Client) {
		requests = append(requests, r.toolsForServer(ctx, &s)...)
	}
	return requests
}

// toolsForServer maps a server to its tools through the cache index.
func (r *MCPToolReconciler) toolsForServer(ctx context.Context, server client.Object) []reconcile.Request {
	return requestsFromIndex(ctx, r.Client, &mcpv1alpha1.MCPToolList{}, toolServerIndex, server)
}
