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
	"maps"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// TestReconcileDeleteDecisions runs one pass of the server's delete path against a fake client for
// each situation, and checks what it decided: block, cascade, wait, orphan or finish.
func TestReconcileDeleteDecisions(t *testing.T) {
	const ns = "agents"
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	now := metav1.Now()

	newServer := func(mutate func(*mcpv1alpha1.MCPServer)) *mcpv1alpha1.MCPServer {
		s := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{
			Name: "github", Namespace: ns, UID: "server-uid",
			Finalizers: []string{mcpv1alpha1.ServerFinalizer}, DeletionTimestamp: &now,
		}, Spec: mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com"}}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	toolsOf := func(server *mcpv1alpha1.MCPServer) []client.Object {
		desired, _ := registry.DesiredTools(server, generatedMCPTools(2))
		objs := make([]client.Object, len(desired))
		for i, d := range desired {
			objs[i] = d
		}
		return objs
	}
	ownedSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owned", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
		APIVersion: mcpv1alpha1.GroupVersion.String(), Kind: "MCPServer", Name: "github", UID: "server-uid", Controller: ptr.To(true),
	}}}}
	userSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: ns}}
	consumer := func(namespace, tools string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
			Name: "agent", Namespace: namespace, Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: tools}}}
	}

	type want struct {
		blocked        bool
		serverGone     bool
		toolsDeleting  bool // every tool marked for deletion (they keep their protection finalizer)
		toolsReleased  bool // tools kept, without the server's ownerReference
		ownedSecretGon bool
		// readyMessage, when set, is what Ready must say; the pass then fails with an error.
		readyMessage string
		// liveReads is how many live consumer Lists the pass makes (-1: not checked); all of
		// them in the server's namespace under the default Same policy.
		liveReads int
	}
	tests := []struct {
		name    string
		server  *mcpv1alpha1.MCPServer
		objects func(*mcpv1alpha1.MCPServer) []client.Object
		// secretDeleteErr is what deleting a Secret answers (e.g. the role lacks the verb).
		secretDeleteErr error
		// liveOnly are objects a live read sees but the cache has not caught up with yet.
		liveOnly []client.Object
		want     want
	}{
		{
			name:   "a tool in use blocks, and nothing is removed",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), ownedSecret.DeepCopy(), userSecret.DeepCopy(), consumer(ns, "github:tool-00"))
			},
			want: want{blocked: true},
		},
		{
			name:   "a whole-server reference blocks even with no tools",
			server: newServer(nil),
			objects: func(*mcpv1alpha1.MCPServer) []client.Object {
				return []client.Object{consumer(ns, "github")}
			},
			want: want{blocked: true},
		},
		{
			name:   "a reference from a namespace the server does not allow does not block",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), consumer("tenant-b", ns+"/github"))
			},
			want: want{toolsDeleting: true},
		},
		{
			name: "force cascades although in use",
			server: newServer(func(s *mcpv1alpha1.MCPServer) {
				s.Annotations = map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"}
			}),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), consumer(ns, "github:tool-00"))
			},
			want: want{toolsDeleting: true},
		},
		{
			name:   "unused: the tools are deleted first, the owned Secret waits",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), ownedSecret.DeepCopy(), userSecret.DeepCopy())
			},
			want: want{toolsDeleting: true, liveReads: 1},
		},
		{
			name:   "a consumer the cache has not seen yet blocks: the live read confirms before destroying",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), ownedSecret.DeepCopy())
			},
			liveOnly: []client.Object{consumer(ns, "github:tool-00")},
			want:     want{blocked: true, liveReads: 1},
		},
		{
			name:   "a reference to a tool the server does not have never blocks: the cascade runs",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), consumer(ns, "github:tool-14"))
			},
			want: want{toolsDeleting: true, liveReads: 1},
		},
		{
			name:   "the live read applies the same rule: a missing tool's reference does not block",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return toolsOf(s)
			},
			liveOnly: []client.Object{consumer(ns, "github:tool-14")},
			want:     want{toolsDeleting: true, liveReads: 1},
		},
		{
			name:   "a tool reference pins nothing on a server without tools: the finalizer goes",
			server: newServer(nil),
			objects: func(*mcpv1alpha1.MCPServer) []client.Object {
				return []client.Object{consumer(ns, "github:tool-00")}
			},
			want: want{serverGone: true},
		},
		{
			name:   "a reference to a Terminating tool blocks: it is still protected",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				tools := toolsOf(s)
				for _, t := range tools {
					t.SetDeletionTimestamp(&now)
				}
				return append(tools, consumer(ns, "github:tool-01"))
			},
			want: want{blocked: true, toolsDeleting: true},
		},
		{
			name:   "a reference to a tool another server owns under this name does not block",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				tools := toolsOf(s)
				for _, t := range tools {
					t.SetOwnerReferences(nil) // left behind by an orphaning delete of an earlier server
				}
				return append(tools, consumer(ns, "github:tool-00"))
			},
			want: want{serverGone: true, toolsReleased: true},
		},
		{
			name:   "waiting for marked tools makes no live read: their own finalizers protect them",
			server: newServer(nil),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				tools := toolsOf(s)
				for _, t := range tools {
					t.SetDeletionTimestamp(&now)
				}
				return tools
			},
			liveOnly: []client.Object{consumer(ns, "github:tool-00")},
			want:     want{toolsDeleting: true, liveReads: 0},
		},
		{
			name:   "tools gone: the owned Secret is deleted, the user's kept",
			server: newServer(nil),
			objects: func(*mcpv1alpha1.MCPServer) []client.Object {
				return []client.Object{ownedSecret.DeepCopy(), userSecret.DeepCopy()}
			},
			want: want{ownedSecretGon: true},
		},
		{
			name:   "a refused Secret delete shows in Ready, not only in the log, and keeps the finalizer",
			server: newServer(nil),
			objects: func(*mcpv1alpha1.MCPServer) []client.Object {
				return []client.Object{ownedSecret.DeepCopy(), userSecret.DeepCopy()}
			},
			secretDeleteErr: apierrors.NewForbidden(corev1.Resource("secrets"), "owned", errors.New("no delete verb")),
			want:            want{readyMessage: `Deleting, retrying: cannot delete Secret "owned": secrets "owned" is forbidden: no delete verb`},
		},
		{
			name:    "nothing left: the finalizer goes",
			server:  newServer(nil),
			objects: func(*mcpv1alpha1.MCPServer) []client.Object { return []client.Object{userSecret.DeepCopy()} },
			want:    want{serverGone: true},
		},
		{
			name:   "orphan policy releases tools and owned Secrets, in use or not",
			server: newServer(func(s *mcpv1alpha1.MCPServer) { s.Spec.DeletionPolicy = mcpv1alpha1.DeletionPolicyOrphan }),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), ownedSecret.DeepCopy(), consumer(ns, "github"))
			},
			want: want{serverGone: true, toolsReleased: true},
		},
		{
			name:   "the orphan finalizer of --cascade=orphan does the same",
			server: newServer(func(s *mcpv1alpha1.MCPServer) { s.Finalizers = append(s.Finalizers, metav1.FinalizerOrphanDependents) }),
			objects: func(s *mcpv1alpha1.MCPServer) []client.Object {
				return append(toolsOf(s), ownedSecret.DeepCopy())
			},
			want: want{toolsReleased: true},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var liveReads int
			c, live := deleteFixture(t, append(tt.objects(tt.server), tt.server), tt.liveOnly, func(l client.ListOption) {
				liveReads++
				if o := (&client.ListOptions{}).ApplyOptions([]client.ListOption{l}); o.Namespace != ns && tt.server.Spec.Consumers == nil {
					t.Errorf("live consumer List in namespace %q, want only %q", o.Namespace, ns)
				}
			}, tt.secretDeleteErr)
			m, err := metrics.New(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			r := &MCPServerReconciler{
				Client: c, APIReader: live, Recorder: events.NewFakeRecorder(100), Clock: clock.RealClock{},
				ConsumerKinds: []schema.GroupVersionKind{deployment}, Metrics: m, syncs: newSyncTracker(),
			}
			ctx := context.Background()
			if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tt.server)}); (err != nil) != (tt.want.readyMessage != "") {
				t.Fatalf("Reconcile: %v", err)
			}

			if (tt.liveOnly != nil || tt.want.liveReads > 0) && liveReads != tt.want.liveReads {
				t.Errorf("live consumer reads = %d, want %d", liveReads, tt.want.liveReads)
			}

			server := &mcpv1alpha1.MCPServer{}
			err = c.Get(ctx, client.ObjectKeyFromObject(tt.server), server)
			if gone := apierrors.IsNotFound(err); gone != tt.want.serverGone {
				t.Errorf("server gone = %v, want %v (%v)", gone, tt.want.serverGone, err)
			}
			if !tt.want.serverGone {
				blocked := isTrue(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked))
				if blocked != tt.want.blocked {
					t.Errorf("DeletionBlocked = %v, want %v", blocked, tt.want.blocked)
				}
				if tt.want.readyMessage != "" {
					if ready := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady); ready == nil || ready.Message != tt.want.readyMessage {
						t.Errorf("Ready = %+v, want message %q", ready, tt.want.readyMessage)
					}
				}
				stillHasFinalizer := len(server.Finalizers) > 0 && server.Finalizers[0] == mcpv1alpha1.ServerFinalizer
				if tt.want.toolsReleased == stillHasFinalizer {
					t.Errorf("server finalizers = %v", server.Finalizers)
				}
			}

			tools := &mcpv1alpha1.MCPToolList{}
			if err := c.List(ctx, tools, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			for _, tool := range tools.Items {
				deleting := tool.DeletionTimestamp != nil
				if deleting != tt.want.toolsDeleting {
					t.Errorf("tool %s deleting = %v, want %v", tool.Name, deleting, tt.want.toolsDeleting)
				}
				if released := metav1.GetControllerOf(&tool) == nil; released != tt.want.toolsReleased {
					t.Errorf("tool %s released = %v, want %v", tool.Name, released, tt.want.toolsReleased)
				}
			}

			owned := &corev1.Secret{}
			err = c.Get(ctx, client.ObjectKeyFromObject(ownedSecret), owned)
			present := err == nil
			if tt.want.ownedSecretGon && present {
				t.Errorf("the owned Secret was not deleted")
			}
			if present && tt.want.toolsReleased && metav1.GetControllerOf(owned) != nil {
				t.Errorf("the owned Secret was not released")
			}
			for _, obj := range tt.objects(tt.server) {
				if obj.GetName() == userSecret.Name {
					if err := c.Get(ctx, client.ObjectKeyFromObject(userSecret), &corev1.Secret{}); err != nil {
						t.Errorf("the user's Secret is gone: %v", err)
					}
				}
			}
		})
	}
}

// deleteFixture builds the cache (a fake client with the controller's indexes) and the live
// reader (the same objects, plus liveOnly) a delete pass reads. onLiveList is told of every live
// consumer List (its options folded into one); secretDeleteErr, when set, is what deleting a
// Secret answers.
func deleteFixture(t *testing.T, objects, liveOnly []client.Object, onLiveList func(client.ListOption), secretDeleteErr error) (client.Client, client.Reader) {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = mcpv1alpha1.AddToScheme(scheme)
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithInterceptorFuncs(interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if _, isSecret := obj.(*corev1.Secret); isSecret && secretDeleteErr != nil {
				return secretDeleteErr
			}
			if meta, isMeta := obj.(*metav1.PartialObjectMetadata); isMeta && meta.Kind == "Secret" && secretDeleteErr != nil {
				return secretDeleteErr
			}
			return c.Delete(ctx, obj, opts...)
		}}).
		WithObjects(objects...).
		WithStatusSubresource(&mcpv1alpha1.MCPServer{}, &mcpv1alpha1.MCPTool{}).
		WithIndex(&mcpv1alpha1.MCPTool{}, toolServerIndex, func(o client.Object) []string {
			return []string{o.(*mcpv1alpha1.MCPTool).Spec.ServerRef.Name}
		}).
		WithIndex(&appsv1.Deployment{}, consumers.IndexField, consumers.IndexKeys).
		WithIndex(&corev1.Secret{}, secretOwnerIndex, controllingServerUID).
		Build()
	var liveObjects []client.Object
	for _, o := range append(objects, liveOnly...) {
		liveObjects = append(liveObjects, o.DeepCopyObject().(client.Object))
	}
	live := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(liveObjects...).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if l, ok := list.(*metav1.PartialObjectMetadataList); ok && l.Kind == "DeploymentList" && onLiveList != nil {
				o := &client.ListOptions{}
				o.ApplyOptions(opts)
				onLiveList(o)
			}
			return c.List(ctx, list, opts...)
		}}).
		Build()
	return c, live
}

// TestForceDeleteWarnsOnce runs a forced delete of a server in use whose first pass fails after
// the warning (its status write is refused, as by a conflict or an API server going away), then
// a second pass: the Warning Events go out once, on the server and on the consumer.
func TestForceDeleteWarnsOnce(t *testing.T) {
	const ns = "agents"
	now := metav1.Now()
	server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{
		Name: "github", Namespace: ns, UID: "server-uid", DeletionTimestamp: &now,
		Finalizers:  []string{mcpv1alpha1.ServerFinalizer},
		Annotations: map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"},
	}, Spec: mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com"}}
	desired, _ := registry.DesiredTools(server, generatedMCPTools(2))
	objects := []client.Object{server, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Name: "agent", Namespace: ns, Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: "github:tool-00"}}}}
	for _, d := range desired {
		objects = append(objects, d)
	}
	c, live := deleteFixture(t, objects, nil, nil, nil)
	refused := 0
	c = interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if _, isServer := obj.(*mcpv1alpha1.MCPServer); isServer && refused == 0 {
				refused++
				return apierrors.NewServiceUnavailable("the API server is going away")
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	recorder := events.NewFakeRecorder(100)
	r := &MCPServerReconciler{
		Client: c, APIReader: live, Recorder: recorder, Clock: clock.RealClock{},
		ConsumerKinds: []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}},
		Metrics:       m, syncs: newSyncTracker(),
	}
	ctx := context.Background()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(server)}
	if _, err := r.Reconcile(ctx, req); err == nil {
		t.Fatal("first pass: want the refused status write's error")
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatalf("second pass: %v", err)
	}
	close(recorder.Events)
	warnings := map[string]int{}
	for e := range recorder.Events {
		for _, reason := range []string{"ForceDeleted", "MCPServerForceDeleted"} {
			if strings.HasPrefix(e, corev1.EventTypeWarning+" "+reason+" ") {
				warnings[reason]++
			}
		}
	}
	if want := map[string]int{"ForceDeleted": 1, "MCPServerForceDeleted": 1}; !maps.Equal(warnings, want) {
		t.Errorf("Warning Events = %v, want %v", warnings, want)
	}
	tools := &mcpv1alpha1.MCPToolList{}
	if err := c.List(ctx, tools, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Items {
		if tool.DeletionTimestamp == nil {
			t.Errorf("tool %s not marked for deletion", tool.Name)
		}
	}
}
