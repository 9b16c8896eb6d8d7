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

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// TestRemoveFinalizer checks the metadata-only release: only our finalizer goes, others stay, and
// a stale object fails with a conflict rather than overwriting a newer list.
func TestRemoveFinalizer(t *testing.T) {
	const ours = mcpv1alpha1.ToolFinalizer
	cases := []struct {
		name       string
		finalizers []string
		stale      bool
		want       []string
		conflict   bool
	}{
		{name: "only ours", finalizers: []string{ours}, want: nil},
		{name: "others kept in order", finalizers: []string{"a.example/x", ours, "b.example/y"}, want: []string{"a.example/x", "b.example/y"}},
		{name: "not ours: nothing written", finalizers: []string{"a.example/x"}, want: []string{"a.example/x"}},
		{name: "stale object: conflict, nothing lost", finalizers: []string{ours, "a.example/x"}, stale: true,
			want: []string{ours, "a.example/x", "late.example/z"}, conflict: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			_ = mcpv1alpha1.AddToScheme(scheme)
			stored := &mcpv1alpha1.MCPTool{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t", Finalizers: tc.finalizers}}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).Build()
			ctx := context.Background()
			tool := &mcpv1alpha1.MCPTool{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(stored), tool); err != nil {
				t.Fatal(err)
			}
			if tc.stale {
				// Another controller adds a finalizer after our read.
				newer := tool.DeepCopy()
				newer.Finalizers = append(newer.Finalizers, "late.example/z")
				if err := c.Update(ctx, newer); err != nil {
					t.Fatal(err)
				}
			}
			err := removeFinalizer(ctx, c, tool, ours)
			if tc.conflict != apierrors.IsConflict(err) || (!tc.conflict && err != nil) {
				t.Fatalf("err = %v, want conflict: %v", err, tc.conflict)
			}
			got := &mcpv1alpha1.MCPTool{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(stored), got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Finalizers); diff != "" {
				t.Errorf("stored finalizers (-want +got):\n%s", diff)
			}
			if !tc.conflict && got.ResourceVersion != tool.ResourceVersion {
				t.Errorf("object's resourceVersion %s not refreshed to %s", tool.ResourceVersion, got.ResourceVersion)
			}
		})
	}
}
