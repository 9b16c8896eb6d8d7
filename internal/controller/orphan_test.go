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
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// TestOrphanReleasesToolsTheCacheMissed: an Orphan server deleted right after a sync created a
// tool the cache has not seen yet still releases that tool before its finalizer goes; otherwise
// the garbage collector deletes the tool once the server is gone, which Orphan promises to keep
// (found by the soak: an Orphan server's tools left with its ownerReference, then gone).
func TestOrphanReleasesToolsTheCacheMissed(t *testing.T) {
	const ns = "agents"
	now := metav1.Now()
	server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{
		Name: "github", Namespace: ns, UID: "server-uid",
		Finalizers: []string{mcpv1alpha1.ServerFinalizer}, DeletionTimestamp: &now,
	}, Spec: mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com", DeletionPolicy: mcpv1alpha1.DeletionPolicyOrphan}}
	tools, _ := registry.DesiredTools(server, generatedMCPTools(3))
	objects := []client.Object{server}
	for _, tool := range tools {
		objects = append(objects, tool)
	}
	store, _ := deleteFixture(t, objects, nil, nil, nil)
	lagging := tools[2].Name // created by the last sync; the cache has not seen it
	cache := interceptor.NewClient(store.(client.WithWatch), interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := c.List(ctx, list, opts...); err != nil {
				return err
			}
			if l, ok := list.(*mcpv1alpha1.MCPToolList); ok {
				l.Items = slices.DeleteFunc(l.Items, func(t mcpv1alpha1.MCPTool) bool { return t.Name == lagging })
			}
			return nil
		},
	})
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := &MCPServerReconciler{
		Client: cache, APIReader: store, Recorder: events.NewFakeRecorder(100), Clock: clock.RealClock{},
		ConsumerKinds: []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}},
		Metrics:       m, syncs: newSyncTracker(),
	}
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(server)}); err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools {
		got := &mcpv1alpha1.MCPTool{}
		if err := store.Get(context.Background(), client.ObjectKeyFromObject(tool), got); err != nil {
			t.Fatalf("%s: %v", tool.Name, err)
		}
		if registry.OwnedBy(got, server) {
			t.Errorf("%s still owned by the deleted Orphan server (the garbage collector would delete it)", tool.Name)
		}
	}
	if err := store.Get(context.Background(), client.ObjectKeyFromObject(server), &mcpv1alpha1.MCPServer{}); err == nil {
		t.Error("the server is still there: its finalizer was not removed")
	}
}
