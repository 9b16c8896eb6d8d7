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
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// conflictRequeueDelay is how soon a pass that lost an optimistic-concurrency race runs again.
const conflictRequeueDelay = 100 * time.Millisecond

// setCondition sets a condition stamped with the object's generation. The transition time only
// changes when the status does, so repeating a pass writes nothing new.
func setCondition(obj client.Object, condType string, status metav1.ConditionStatus, reason, message string) {
	var conds *[]metav1.Condition
	switch o := obj.(type) {
	case *mcpv1alpha1.MCPServer:
		conds = &o.Status.Conditions
	case *mcpv1alpha1.MCPTool:
		conds = &o.Status.Conditions
	default:
		panic(fmt.Sprintf("setCondition: unsupported type %T", obj))
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            text.Ellipsize(oneLine(text.Sanitize(message)), 32768),
		ObservedGeneration: obj.GetGeneration(),
	})
}

func isTrue(c *metav1.Condition) bool { return c != nil && c.Status == metav1.ConditionTrue }

// isFailure reports whether a Ready condition records a failed sync.
func isFailure(c *metav1.Condition) bool {
	return c != nil && c.Status == metav1.ConditionFalse &&
		(c.Reason == mcpv1alpha1.ReasonSyncFailed || c.Reason == mcpv1alpha1.ReasonAuthenticationFailed)
}

func readyMessage(server *mcpv1alpha1.MCPServer) string {
	if c := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// lockedMergeFrom is a merge patch that carries the resourceVersion of before. A merge patch
// replaces whole lists such as status.conditions, so a patch computed from a stale cached object
// could undo a newer write; with the lock it fails with a conflict instead, and the pass is retried
// on a fresh read (requeueOnConflict).
func lockedMergeFrom(before client.Object) client.Patch {
	return client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
}

// requeueOnConflict turns a lost optimistic-concurrency race into a quick, silent retry: conflicts
// are normal and never surface in conditions or logs.
func requeueOnConflict(result ctrl.Result, err error) (ctrl.Result, error) {
	if err != nil && apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: conflictRequeueDelay}, nil
	}
	return result, err
}

// joinBounded joins at most maxNamesInMessage items, then says how many more there are.
func joinBounded(items []string, sep string) string {
	if len(items) <= maxNamesInMessage {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:maxNamesInMessage], sep) + fmt.Sprintf("%s... and %d more", sep, len(items)-maxNamesInMessage)
}

// oneLine folds line breaks, so condition messages stay single-line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// removeFinalizer removes finalizer from obj with a metadata-only merge patch that names the
// finalizers that remain and carries obj's resourceVersion: a concurrent change to the list (a
// finalizer another controller added) fails with a conflict instead of being overwritten. The
// answer is read as metadata only, which on a cascade of a thousand MCPTools spares the API
// server and the manager a full object per release. obj's finalizers are updated in place.
func removeFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if !controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	remaining := slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), func(f string) bool { return f == finalizer })
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers":      append([]string{}, remaining...),
		"resourceVersion": obj.GetResourceVersion(),
	}})
	if err != nil {
		return err
	}
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	target := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	target.SetGroupVersionKind(gvk)
	if err := c.Patch(ctx, target, client.RawPatch(types.MergePatchType, data)); err != nil {
		return err
	}
	obj.SetFinalizers(remaining)
	obj.SetResourceVersion(target.ResourceVersion)
	return nil
}

// FieldOwner is the field manager of every write the operator makes: managedFields then show
// which fields it owns (status, finalizers, and all of an MCPTool), and that it never writes an
// MCPServer's spec, which GitOps tools own.
const FieldOwner = "mcp-registry-operator"

// OperatorClient is the manager's client writing as FieldOwner.
func OperatorClient(mgr ctrl.Manager) client.Client {
	return client.WithFieldOwner(mgr.GetClient(), FieldOwner)
}
