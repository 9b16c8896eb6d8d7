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
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// deleteSafetyResync is the backstop while waiting for MCPTools to go: their deletion events
// re-queue the server at once.
const deleteSafetyResync = time.Minute

// reconcileDelete runs the mcp.toolregistry.io/cleanup finalizer. Every step is idempotent: a pass
// interrupted anywhere is completed by the next one.
//
//   - Orphan (spec.deletionPolicy, or the "orphan" finalizer `kubectl delete --cascade=orphan`
//     adds): drop this server's ownerReference from its MCPTools, then remove the finalizer.
//   - Delete: delete the server's MCPTools, wait until they are gone (each MCPTool's own
//     in-use-protection finalizer may hold it), then remove the finalizer.
func (r *MCPServerReconciler) reconcileDelete(ctx context.Context, server *mcpv1alpha1.MCPServer) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(server, mcpv1alpha1.ServerFinalizer) {
		return ctrl.Result{}, nil
	}
	tools, err := r.existingTools(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	owned := slices.DeleteFunc(tools, func(t *mcpv1alpha1.MCPTool) bool { return !registry.OwnedBy(t, server) })

	if orphaning(server) {
		return r.orphan(ctx, server, owned)
	}

	remaining := 0
	for _, t := range owned {
		if t.DeletionTimestamp.IsZero() {
			remaining++
		}
	}
	if remaining > 0 {
		if err := r.deleteTools(ctx, server, owned); err != nil {
			return ctrl.Result{}, err
		}
	}
	if len(owned) > 0 {
		before := server.DeepCopy()
		setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting,
			fmt.Sprintf("Deleting: waiting for %d MCPTools to be removed", len(owned)))
		if err := r.patchStatus(ctx, before, server); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: deleteSafetyResync}, nil
	}

	if err := r.removeFinalizer(ctx, server); err != nil {
		return ctrl.Result{}, err
	}
	r.syncs.forget(client.ObjectKeyFromObject(server))
	r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "Deleted", "Delete",
		"Deleted MCPServer %s and its %d MCPTools", server.Name, server.Status.ToolCount)
	return ctrl.Result{}, nil
}

// orphaning reports whether the server is deleted with deletionPolicy Orphan or --cascade=orphan.
func orphaning(server *mcpv1alpha1.MCPServer) bool {
	return server.Spec.DeletionPolicy == mcpv1alpha1.DeletionPolicyOrphan ||
		controllerutil.ContainsFinalizer(server, metav1.FinalizerOrphanDependents)
}

// orphan releases the server's MCPTools (drops its ownerReference) and removes the finalizer.
func (r *MCPServerReconciler) orphan(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool) (ctrl.Result, error) {
	for _, tool := range owned {
		patch := client.MergeFromWithOptions(tool.DeepCopy(), client.MergeFromWithOptimisticLock{})
		tool.OwnerReferences = slices.DeleteFunc(tool.OwnerReferences, func(ref metav1.OwnerReference) bool {
			return ref.UID == server.UID
		})
		if err := r.Patch(ctx, tool, patch); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("cannot release MCPTool %q: %w", tool.Name, err)
		}
		logf.FromContext(ctx).V(1).Info("Released MCPTool", "mcptool", klog.KObj(tool))
	}
	if err := r.removeFinalizer(ctx, server); err != nil {
		return ctrl.Result{}, err
	}
	r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "Orphaned", "Delete",
		"Deleted MCPServer %s and kept its %d MCPTools, now without an owner", server.Name, len(owned))
	return ctrl.Result{}, nil
}

// deleteTools deletes the server's MCPTools: with one collection call when every MCPTool carrying
// the server's label is owned by this server, else one UID-checked call per owned tool, so nothing
// the operator does not own is ever deleted.
func (r *MCPServerReconciler) deleteTools(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool) error {
	labelled := &mcpv1alpha1.MCPToolList{}
	selector := client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}
	if err := r.List(ctx, labelled, client.InNamespace(server.Namespace), selector); err != nil {
		return fmt.Errorf("cannot list MCPTools of MCPServer %q: %w", server.Name, err)
	}
	allOwned := len(labelled.Items) > 0
	for i := range labelled.Items {
		if !registry.OwnedBy(&labelled.Items[i], server) {
			allOwned = false
			break
		}
	}
	if allOwned {
		if err := r.DeleteAllOf(ctx, &mcpv1alpha1.MCPTool{}, client.InNamespace(server.Namespace), selector); err != nil {
			return fmt.Errorf("cannot delete the MCPTools of MCPServer %q: %w", server.Name, err)
		}
		return nil
	}
	for _, tool := range owned {
		if !tool.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Delete(ctx, tool, client.Preconditions{UID: &tool.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("cannot delete MCPTool %q: %w", tool.Name, err)
		}
	}
	return nil
}

func (r *MCPServerReconciler) removeFinalizer(ctx context.Context, server *mcpv1alpha1.MCPServer) error {
	patch := client.MergeFromWithOptions(server.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(server, mcpv1alpha1.ServerFinalizer)
	if err := r.Patch(ctx, server, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("cannot remove finalizer: %w", err)
	}
	return nil
}
