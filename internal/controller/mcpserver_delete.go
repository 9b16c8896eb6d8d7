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
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

const (
	// deleteSafetyResync is the backstop while waiting for MCPTools to go: their deletion events
	// re-queue the server at once.
	deleteSafetyResync = time.Minute
	// blockedSafetyResync is the backstop while consumers block a delete: consumer changes re-queue
	// the server at once.
	blockedSafetyResync = 10 * time.Minute
	// collectionDeleteRepeat is how long after a collection delete of a server's MCPTools another
	// one is not issued, while the cache catches up with the first.
	collectionDeleteRepeat = 10 * time.Second
)

// reconcileDelete runs the mcp.toolregistry.io/cleanup finalizer. Every step is idempotent: a pass
// interrupted anywhere is completed by the next one.
//
//   - Orphan (spec.deletionPolicy, or the "orphan" finalizer `kubectl delete --cascade=orphan`
//     adds): drop this server's ownerReference from its MCPTools, then remove the finalizer.
//   - Delete: once nothing uses it (or forced), revoke its OAuth2 credentials, delete the
//     server's MCPTools, wait until they are gone (each MCPTool's own in-use-protection finalizer
//     may hold it), delete the Secrets it owns, then remove the finalizer.
func (r *MCPServerReconciler) reconcileDelete(ctx context.Context, server *mcpv1alpha1.MCPServer) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(server, mcpv1alpha1.ServerFinalizer) {
		return ctrl.Result{}, nil
	}
	tools, err := r.existingTools(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	owned := slices.DeleteFunc(tools, func(t *mcpv1alpha1.MCPTool) bool { return !registry.OwnedBy(t, server) })

	secrets, err := r.ownedSecrets(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}

	if orphaning(server) {
		return r.orphan(ctx, server, owned, secrets)
	}

	remaining := 0
	for _, t := range owned {
		if t.DeletionTimestamp.IsZero() {
			remaining++
		}
	}
	pendingSecrets := slices.ContainsFunc(secrets, func(s *metav1.PartialObjectMetadata) bool { return s.DeletionTimestamp.IsZero() })
	// This pass destroys something: it marks MCPTools, or (once they are gone) deletes Secrets.
	destroys := remaining > 0 || (len(owned) == 0 && pendingSecrets)

	before := server.DeepCopy()
	if forced(server) {
		if err := r.warnForced(ctx, before, server, owned); err != nil {
			return ctrl.Result{}, err
		}
	} else {
		// Decide "in use" on the cache; confirm "unused" with a live read only before a pass that
		// destroys something. While the marked MCPTools go, their own finalizers protect them.
		if err := r.updateUsage(ctx, server, owned); err != nil {
			return ctrl.Result{}, err
		}
		users, count := server.Status.Consumers, server.Status.ConsumerCount
		if count == 0 && destroys {
			live, err := r.consumerIndex().serverUsage(ctx, server, owned, r.APIReader)
			if err != nil {
				return ctrl.Result{}, err
			}
			users, count = live, int32(len(live))
		}
		if count > 0 {
			return r.block(ctx, before, server, count, users)
		}
	}
	r.unblock(ctx, server)

	// Credentials first (DESIGN section 7, step 4): tokens revoked, a dynamic client
	// de-registered, before anything is removed.
	if err := r.revokeCredentials(ctx, server, secrets); err != nil {
		return ctrl.Result{}, r.revocationFailed(ctx, before, server, err)
	}

	recheck := deleteSafetyResync
	if remaining > 0 {
		repeatIn, err := r.deleteTools(ctx, server, owned)
		if err != nil {
			return r.deleteFailed(ctx, before, server, err)
		}
		if repeatIn > 0 {
			// A collection delete went out moments ago; if some MCPTools are still unmarked
			// then (one that was cut short), look again when it may be repeated.
			recheck = repeatIn
		}
	}
	if len(owned) > 0 {
		setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting, waitingForTools(owned))
		if msg := readyMessage(server); msg != readyMessage(before) && strings.HasPrefix(msg, waitingForToolsInUse) {
			logf.FromContext(ctx).Info("Deletion waits for MCPTools in use", "mcptools", msg)
		}
		if err := r.patchStatus(ctx, before, server); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: recheck}, nil
	}

	if wasWaitingForTools(before) {
		logf.FromContext(ctx).Info("MCPTools deleted")
	}
	// The tools are gone: now the Secrets this server owns (never one it merely references).
	if len(secrets) > 0 {
		for _, secret := range secrets {
			if !secret.DeletionTimestamp.IsZero() {
				continue
			}
			uid := secret.UID
			if err := r.Delete(ctx, secret, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
				return r.deleteFailed(ctx, before, server, fmt.Errorf("cannot delete Secret %q: %w", secret.Name, err))
			}
			logf.FromContext(ctx).Info("Deleted Secret", "secret", klog.KObj(secret))
		}
		setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting,
			"Deleting: removing the Secrets the server owns")
		if err := r.patchStatus(ctx, before, server); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: deleteSafetyResync}, nil
	}
	if err := r.patchStatus(ctx, before, server); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.finishDeletion(ctx, server); err != nil {
		return ctrl.Result{}, err
	}
	r.syncs.forget(client.ObjectKeyFromObject(server))
	r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "Deleted", "Delete",
		"Deleted MCPServer %s: its MCPTools (%d at the last sync) and the Secrets it owned", server.Name, server.Status.ToolCount)
	return ctrl.Result{}, nil
}

// deleteFailed records on the server why a delete step failed (for example Forbidden, when the
// manager's role lacks a verb), so that it shows in its status and not only in the manager's log,
// and returns the error for a retry with backoff. Conflicts are transient and recorded nowhere.
func (r *MCPServerReconciler) deleteFailed(ctx context.Context, before, server *mcpv1alpha1.MCPServer, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{}, err
	}
	setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting, "Deleting, retrying: "+err.Error())
	return ctrl.Result{}, errors.Join(err, r.patchStatus(ctx, before, server))
}

// forced reports whether the force annotation is set.
func forced(obj client.Object) bool {
	return obj.GetAnnotations()[mcpv1alpha1.ForceDeleteAnnotation] == "true"
}

// block records that consumers hold the delete, emitting one Warning Event on the transition, and
// changes nothing else. Consumer changes re-queue the server through the watches; the resync is a
// backstop.
func (r *MCPServerReconciler) block(ctx context.Context, before, server *mcpv1alpha1.MCPServer, count int32, users []mcpv1alpha1.ConsumerReference) (ctrl.Result, error) {
	msg := fmt.Sprintf("Deletion waits for %d %s: %s", count, pluralConsumers(count), describeConsumers(users))
	if int(count) > len(users) {
		msg = fmt.Sprintf("Deletion waits for %d %s: %s and %d more", count, pluralConsumers(count), describeConsumers(users), int(count)-len(users))
	}
	wasBlocked := isTrue(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked))
	r.Metrics.SetBlocked(client.ObjectKeyFromObject(server).String(), true)
	setCondition(server, mcpv1alpha1.ConditionDeletionBlocked, metav1.ConditionTrue, mcpv1alpha1.ReasonToolsInUse, msg)
	setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonToolsInUse, msg)
	if err := r.patchStatus(ctx, before, server); err != nil {
		return ctrl.Result{}, err
	}
	if !wasBlocked {
		logf.FromContext(ctx).Info("Deletion blocked", "consumerCount", count, "consumers", describeConsumers(users))
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "DeletionBlocked", "Delete",
			"%s; remove their %s annotation, or set %s: \"true\" to delete anyway", msg, mcpv1alpha1.ToolsAnnotation, mcpv1alpha1.ForceDeleteAnnotation)
	}
	return ctrl.Result{RequeueAfter: blockedSafetyResync}, nil
}

// unblock clears DeletionBlocked, with a Normal Event when it was set.
func (r *MCPServerReconciler) unblock(ctx context.Context, server *mcpv1alpha1.MCPServer) {
	if isTrue(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)) {
		logf.FromContext(ctx).Info("Deletion unblocked: no consumer holds it any more")
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "DeletionUnblocked", "Delete", "No consumer holds the deletion any more")
	}
	meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
	r.Metrics.SetBlocked(client.ObjectKeyFromObject(server).String(), false)
}

// warnForced emits, once per consumer, a Warning Event on the server and on every consumer that the
// forced delete breaks. The status records the warning (Ready becomes Deleting) before the Events
// go out, so a pass that fails later, or whose status write fails, does not warn again; before is
// moved on to the status written.
func (r *MCPServerReconciler) warnForced(ctx context.Context, before, server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) error {
	if ready := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady); ready != nil && ready.Reason == mcpv1alpha1.ReasonDeleting {
		return nil // warned on the first forced pass
	}
	users, err := r.consumerIndex().serverUsage(ctx, server, tools, nil)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		return nil
	}
	msg := fmt.Sprintf("Deleting with %s while in use by %d %s: %s", mcpv1alpha1.ForceDeleteAnnotation, len(users), pluralConsumers(int32(len(users))), describeConsumers(users))
	meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
	setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting, msg)
	if err := r.patchStatus(ctx, before, server); err != nil {
		return err
	}
	server.DeepCopyInto(before)
	logf.FromContext(ctx).Info("Force-deleting an MCPServer in use", "annotation", mcpv1alpha1.ForceDeleteAnnotation,
		"consumerCount", len(users), "consumers", describeConsumers(users))
	r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "ForceDeleted", "Delete",
		"Deleted with %s while in use by %d %s: %s", mcpv1alpha1.ForceDeleteAnnotation, len(users), pluralConsumers(int32(len(users))), describeConsumers(users))
	for _, u := range users {
		consumer := &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: u.APIVersion, Kind: u.Kind},
			ObjectMeta: metav1.ObjectMeta{Namespace: u.Namespace, Name: u.Name},
		}
		r.Recorder.Eventf(consumer, server, corev1.EventTypeWarning, "MCPServerForceDeleted", "Delete",
			"MCPServer %s/%s, whose tools this object uses, was force-deleted", server.Namespace, server.Name)
	}
	return nil
}

// waitingForTools says that the delete waits for the MCPTools, naming those held by their own
// finalizer and who holds them. The message does not count down: a message that changed with every
// tool removed would cost a status write per tool.
func waitingForTools(tools []*mcpv1alpha1.MCPTool) string {
	var held []string
	for _, t := range tools {
		if c := meta.FindStatusCondition(t.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked); isTrue(c) {
			held = append(held, fmt.Sprintf("MCPTool %s (%s)", t.Name, c.Message))
		}
	}
	if len(held) > 0 {
		return waitingForToolsInUse + joinBounded(held, "; ")
	}
	return removingTools
}

// The Ready messages while the server's MCPTools go.
const (
	removingTools        = "Deleting: removing the server's MCPTools"
	waitingForToolsInUse = "Deleting: waiting for MCPTools in use: "
)

// wasWaitingForTools reports whether server's Ready said it waited for its MCPTools.
func wasWaitingForTools(server *mcpv1alpha1.MCPServer) bool {
	msg := readyMessage(server)
	return msg == removingTools || strings.HasPrefix(msg, waitingForToolsInUse)
}

func pluralConsumers(n int32) string {
	if n == 1 {
		return "consumer"
	}
	return "consumers"
}

// orphaning reports whether the server is deleted with deletionPolicy Orphan or --cascade=orphan.
func orphaning(server *mcpv1alpha1.MCPServer) bool {
	return server.Spec.DeletionPolicy == mcpv1alpha1.DeletionPolicyOrphan ||
		controllerutil.ContainsFinalizer(server, metav1.FinalizerOrphanDependents)
}

// orphan releases the server's MCPTools and owned Secrets (drops its ownerReference) and removes
// the finalizer.
func (r *MCPServerReconciler) orphan(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool, secrets []*metav1.PartialObjectMetadata) (ctrl.Result, error) {
	// The cache may not have seen a tool the previous pass created: once the server is gone, the
	// garbage collector would delete a tool still owned by it, which Orphan promises to keep. A
	// live read finds every tool that still names this server as its owner.
	owned, err := r.liveOwnedTools(ctx, server, owned)
	if err != nil {
		return ctrl.Result{}, err
	}
	objects := make([]client.Object, 0, len(owned)+len(secrets))
	for _, t := range owned {
		objects = append(objects, t)
	}
	for _, s := range secrets {
		objects = append(objects, s)
	}
	for _, obj := range objects {
		patch := lockedMergeFrom(obj.DeepCopyObject().(client.Object))
		obj.SetOwnerReferences(slices.DeleteFunc(obj.GetOwnerReferences(), func(ref metav1.OwnerReference) bool {
			return ref.UID == server.UID
		}))
		// A released credentials Secret is the user's now: nothing of the operator holds it.
		obj.SetFinalizers(slices.DeleteFunc(obj.GetFinalizers(), func(f string) bool { return f == mcpv1alpha1.CredentialsFinalizer }))
		if err := r.Patch(ctx, obj, patch); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("cannot release %s %q: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	if err := r.finishDeletion(ctx, server); err != nil {
		return ctrl.Result{}, err
	}
	r.syncs.forget(client.ObjectKeyFromObject(server))
	logf.FromContext(ctx).Info("Released MCPTools and Secrets: they are kept, without an owner", "mcptools", len(owned), "secrets", len(secrets))
	r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "Orphaned", "Delete",
		"Deleted MCPServer %s and kept its %d MCPTools and %d owned Secrets, now without an owner", server.Name, len(owned), len(secrets))
	return ctrl.Result{}, nil
}

// liveOwnedTools adds to owned, from a live read, the MCPTools the server still owns that the
// cache did not show.
func (r *MCPServerReconciler) liveOwnedTools(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool) ([]*mcpv1alpha1.MCPTool, error) {
	list := &mcpv1alpha1.MCPToolList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(server.Namespace), client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}); err != nil {
		return nil, fmt.Errorf("cannot list the MCPTools of MCPServer %q: %w", server.Name, err)
	}
	known := map[string]bool{}
	for _, t := range owned {
		known[t.Name] = true
	}
	for i := range list.Items {
		if t := &list.Items[i]; !known[t.Name] && registry.OwnedBy(t, server) {
			owned = append(owned, t)
		}
	}
	return owned, nil
}

// ownedSecrets lists, through the metadata cache's owner index, the Secrets this server controls.
func (r *MCPServerReconciler) ownedSecrets(ctx context.Context, server *mcpv1alpha1.MCPServer) ([]*metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := r.List(ctx, list, client.InNamespace(server.Namespace), client.MatchingFields{secretOwnerIndex: string(server.UID)}); err != nil {
		return nil, fmt.Errorf("cannot list the Secrets MCPServer %q owns: %w", server.Name, err)
	}
	owned := make([]*metav1.PartialObjectMetadata, len(list.Items))
	for i := range list.Items {
		owned[i] = &list.Items[i]
		owned[i].SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	}
	return owned, nil
}

// deleteTools deletes the server's MCPTools: with one collection call when every MCPTool carrying
// the server's label is owned by this server, else one UID-checked call per owned tool, so nothing
// the operator does not own is ever deleted. When a collection call went out moments ago, it is
// not repeated; repeatIn says when it may be.
func (r *MCPServerReconciler) deleteTools(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool) (repeatIn time.Duration, err error) {
	labelled := &mcpv1alpha1.MCPToolList{}
	selector := client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}
	if err := r.List(ctx, labelled, client.InNamespace(server.Namespace), selector); err != nil {
		return 0, fmt.Errorf("cannot list MCPTools of MCPServer %q: %w", server.Name, err)
	}
	allOwned := len(labelled.Items) > 0
	for i := range labelled.Items {
		if !registry.OwnedBy(&labelled.Items[i], server) {
			allOwned = false
			break
		}
	}
	if allOwned {
		if due, wait := r.syncs.collectionDeleteDue(server.UID, r.Clock.Now(), collectionDeleteRepeat); !due {
			return wait, nil // issued moments ago; the cache has not caught up yet
		}
		if err := r.DeleteAllOf(ctx, &mcpv1alpha1.MCPTool{}, client.InNamespace(server.Namespace), selector); err != nil {
			r.syncs.collectionDeleteFailed(server.UID)
			return 0, fmt.Errorf("cannot delete the MCPTools of MCPServer %q: %w", server.Name, err)
		}
		logf.FromContext(ctx).Info("Cascade started: deleting MCPTools", "count", len(labelled.Items))
		return collectionDeleteRepeat, nil
	}
	if !wasWaitingForTools(server) {
		logf.FromContext(ctx).Info("Cascade started: deleting MCPTools one by one (some labelled ones are not this server's)", "count", len(owned))
	}
	for _, tool := range owned {
		if !tool.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Delete(ctx, tool, client.Preconditions{UID: &tool.UID}); client.IgnoreNotFound(err) != nil {
			return 0, fmt.Errorf("cannot delete MCPTool %q: %w", tool.Name, err)
		}
	}
	return 0, nil
}

// finishDeletion removes the cleanup finalizer and records how long the deletion took.
func (r *MCPServerReconciler) finishDeletion(ctx context.Context, server *mcpv1alpha1.MCPServer) error {
	if err := removeFinalizer(ctx, r.Client, server, mcpv1alpha1.ServerFinalizer); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("cannot remove finalizer: %w", err)
	}
	outcome := metrics.OutcomeDeleted
	switch {
	case orphaning(server):
		outcome = metrics.OutcomeOrphaned
	case forced(server):
		outcome = metrics.OutcomeForced
	}
	r.Metrics.ObserveDeletion(outcome, server.DeletionTimestamp.Time, r.Clock.Now())
	logf.FromContext(ctx).Info("Removed finalizer", "finalizer", mcpv1alpha1.ServerFinalizer, "outcome", outcome,
		"sinceDeletion", r.Clock.Since(server.DeletionTimestamp.Time).Round(time.Millisecond).String())
	r.Metrics.SetBlocked(client.ObjectKeyFromObject(server).String(), false)
	return nil
}
