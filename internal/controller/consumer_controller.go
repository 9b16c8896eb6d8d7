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
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
)

// ConsumerReconciler checks the mcp.toolregistry.io/tools annotation of one consumer kind and puts
// a Warning Event on the consumer for each reference that is malformed, names an unknown server or
// tool, or does not count because the server's spec.consumers does not allow the consumer's
// namespace. It never writes to consumers. It warns once per annotation value (remembered in
// memory, so again after a restart).
type ConsumerReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Kind     schema.GroupVersionKind
	// Gate makes passes wait while the API server is unreachable (nil: no gate).
	Gate *apigate.Gate
	// Fence, when set, stops passes once the manager running them has stopped.
	Fence *Fence

	mu     sync.Mutex
	warned map[types.NamespacedName]string
}

// Reconcile checks one consumer's references.
func (r *ConsumerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := consumerObject(r.Kind)
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	value, ok := obj.Annotations[mcpv1alpha1.ToolsAnnotation]
	if !ok || !obj.DeletionTimestamp.IsZero() || !r.firstTime(req.NamespacedName, string(obj.UID)+"/"+value) {
		return ctrl.Result{}, nil
	}

	refs, errs := consumers.ParseAnnotation(value)
	problems := make([]string, 0, len(errs))
	for _, err := range errs {
		problems = append(problems, "malformed reference "+err.Error())
	}
	for _, ref := range refs {
		problem, err := r.check(ctx, obj, ref)
		if err != nil {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, err
		}
		if problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, "InvalidToolReference", "Validate",
			"%s: %s", mcpv1alpha1.ToolsAnnotation, joinBounded(problems, "; "))
	}
	return ctrl.Result{}, nil
}

// check returns what is wrong with one reference (quoted as written), or "".
func (r *ConsumerReconciler) check(ctx context.Context, obj *metav1.PartialObjectMetadata, written consumers.Reference) (string, error) {
	ref := written.In(obj.Namespace)
	quoted := fmt.Sprintf("%q", written.String())
	server := &mcpv1alpha1.MCPServer{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Server}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("%s: MCPServer %s/%s does not exist", quoted, ref.Namespace, ref.Server), nil
		}
		return "", fmt.Errorf("cannot get MCPServer %q: %w", ref.Server, err)
	}
	allowed, err := consumerIndex{reader: r.Client}.allows(ctx, server, obj.Namespace, map[string]bool{})
	if err != nil {
		return "", err
	}
	if !allowed {
		return fmt.Sprintf("%s: MCPServer %s/%s does not count consumers from namespace %s (spec.consumers), so this reference does not protect it",
			quoted, ref.Namespace, ref.Server, obj.Namespace), nil
	}
	if ref.Tool == "" || server.Status.ObservedGeneration < 0 {
		return "", nil // whole-server references are always valid; tools are unknown before the first sync
	}
	tool := &mcpv1alpha1.MCPTool{}
	err = r.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: naming.ToolObjectName(ref.Server, ref.Tool)}, tool)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("%s: MCPServer %s/%s has no tool %q (tools are named by their MCP name, never by alias)",
			quoted, ref.Namespace, ref.Server, ref.Tool), nil
	}
	return "", client.IgnoreNotFound(err)
}

// firstTime reports whether this consumer's annotation value (with its UID) is new.
func (r *ConsumerReconciler) firstTime(key types.NamespacedName, value string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned == nil {
		r.warned = map[types.NamespacedName]string{}
	}
	if r.warned[key] == value {
		return false
	}
	r.warned[key] = value
	return true
}

func (r *ConsumerReconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.warned, key)
}

// SetupWithManager watches the kind metadata-only, reacting to creation, annotation changes and
// deletion (which forgets the consumer).
func (r *ConsumerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	name := "consumer-" + strings.ToLower(r.Kind.Kind)
	if r.Kind.Group != "" {
		name += "-" + strings.ReplaceAll(r.Kind.Group, ".", "-")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(consumerObject(r.Kind), builder.OnlyMetadata, builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		Named(name).
		WithOptions(controllerOptions(1)).
		Complete(gated(r.Gate, r.Fence, r))
}
