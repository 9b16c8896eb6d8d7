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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

func TestTrimForCache(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	entry := func(fields string) metav1.ManagedFieldsEntry {
		e := metav1.ManagedFieldsEntry{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Time: &at, FieldsType: "FieldsV1"}
		if fields != "" {
			e.FieldsV1 = &metav1.FieldsV1{Raw: []byte(fields)}
		}
		return e
	}
	tests := []struct {
		name string
		in   metav1.ObjectMeta
		want metav1.ObjectMeta
	}{
		{
			name: "field sets and the last-applied copy go; who wrote what when, and other annotations, stay",
			in: metav1.ObjectMeta{Name: "s", Annotations: map[string]string{lastAppliedAnnotation: `{"big":"copy"}`, "team": "a"},
				ManagedFields: []metav1.ManagedFieldsEntry{entry(`{"f:spec":{}}`)}},
			want: metav1.ObjectMeta{Name: "s", Annotations: map[string]string{"team": "a"},
				ManagedFields: []metav1.ManagedFieldsEntry{entry("")}},
		},
		{
			name: "an object with neither is unchanged",
			in:   metav1.ObjectMeta{Name: "s", Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: "github"}},
			want: metav1.ObjectMeta{Name: "s", Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: "github"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, obj := range []metav1.Object{&mcpv1alpha1.MCPServer{ObjectMeta: *tt.in.DeepCopy()}, &metav1.PartialObjectMetadata{ObjectMeta: *tt.in.DeepCopy()}} {
				out, err := TrimForCache(obj)
				if err != nil {
					t.Fatal(err)
				}
				got := out.(metav1.Object)
				if diff := cmp.Diff(tt.want.Annotations, got.GetAnnotations()); diff != "" {
					t.Errorf("%T annotations (-want +got):\n%s", obj, diff)
				}
				if diff := cmp.Diff(tt.want.ManagedFields, got.GetManagedFields()); diff != "" {
					t.Errorf("%T managedFields (-want +got):\n%s", obj, diff)
				}
			}
		})
	}
	t.Run("a tombstone is passed through", func(t *testing.T) {
		tomb := toolscache.DeletedFinalStateUnknown{Key: "ns/s"}
		if out, _ := TrimForCache(tomb); out != tomb {
			t.Errorf("got %v", out)
		}
	})
}
