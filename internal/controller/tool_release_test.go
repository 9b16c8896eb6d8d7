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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// TestToolReleaseConfirmsLive: a tool whose server cascades keeps its protection finalizer for a
// consumer that named it after the server's own live check, while the cache has not seen that
// consumer yet (found by the soak, SOAK_SEED=42: tools released 100 to 350 ms after a consumer
// named them).
func TestToolReleaseConfirmsLive(t *testing.T) {
	const ns = "agents"
	now := metav1.Now()
	for _, tt := range []struct {
		name     string
		liveOnly []client.Object
		released bool
	}{
		{name: "a consumer only the live read sees keeps the tool", liveOnly: []client.Object{&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
			Name: "late", Namespace: ns, Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: "github:tool-00"}}}}},
		{name: "no consumer anywhere: released", released: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{
				Name: "github", Namespace: ns, UID: "server-uid",
				Finalizers: []string{mcpv1alpha1.ServerFinalizer}, DeletionTimestamp: &now,
			}, Spec: mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com"}}
			desired, _ := registry.DesiredTools(server, generatedMCPTools(1))
			tool := desired[0]
			tool.DeletionTimestamp = &now // the cascade deleted it
			if !cascading(server) {
				t.Fatal("the fixture's server must be cascading")
			}
			c, live := deleteFixture(t, []client.Object{server, tool}, tt.liveOnly, nil, nil)
			r := &MCPToolReconciler{Client: c, APIReader: live,
				ConsumerKinds: []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}}}
			if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tool)}); err != nil {
				t.Fatal(err)
			}
			got := &mcpv1alpha1.MCPTool{}
			err := c.Get(context.Background(), client.ObjectKeyFromObject(tool), got)
			released := err != nil || !controllerutil.ContainsFinalizer(got, mcpv1alpha1.ToolFinalizer)
			if released != tt.released {
				t.Fatalf("released = %v, want %v (%v)", released, tt.released, err)
			}
			if !tt.released && !isTrue(meta.FindStatusCondition(got.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)) {
				t.Errorf("DeletionBlocked not set: %+v", got.Status.Conditions)
			}
		})
	}
}
