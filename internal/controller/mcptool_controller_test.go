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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

func TestServerChangeAffectsTools(t *testing.T) {
	base := func() *mcpv1alpha1.MCPServer {
		s := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "s", Generation: 1}}
		setCondition(s, mcpv1alpha1.ConditionReady, metav1.ConditionTrue, mcpv1alpha1.ReasonSucceeded, "Synced 3 tools")
		return s
	}
	now := metav1.Now()
	tests := []struct {
		name   string
		change func(*mcpv1alpha1.MCPServer)
		want   bool
	}{
		{"nothing", func(*mcpv1alpha1.MCPServer) {}, false},
		{"consumer count", func(s *mcpv1alpha1.MCPServer) { s.Status.ConsumerCount = 4 }, false},
		{"sync times", func(s *mcpv1alpha1.MCPServer) { s.Status.LastSyncTime = &now }, false},
		{"description", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "x"; s.Generation = 2 }, false},
		{"InUse condition", func(s *mcpv1alpha1.MCPServer) {
			setCondition(s, mcpv1alpha1.ConditionInUse, metav1.ConditionTrue, mcpv1alpha1.ReasonConsumersFound, "Used by 1 consumer")
		}, false},
		{"deletion", func(s *mcpv1alpha1.MCPServer) { s.DeletionTimestamp = &now }, true},
		{"suspend", func(s *mcpv1alpha1.MCPServer) { s.Spec.Suspend = ptr.To(true) }, true},
		{"consumer policy", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Consumers = &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesAll}
		}, true},
		{"force annotation", func(s *mcpv1alpha1.MCPServer) {
			s.Annotations = map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"}
		}, true},
		{"Ready status", func(s *mcpv1alpha1.MCPServer) {
			setCondition(s, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonSyncFailed, "Sync failed")
		}, true},
		{"Ready message", func(s *mcpv1alpha1.MCPServer) {
			setCondition(s, mcpv1alpha1.ConditionReady, metav1.ConditionTrue, mcpv1alpha1.ReasonSucceeded, "Synced 4 tools")
		}, true},
		{"DeletionBlocked", func(s *mcpv1alpha1.MCPServer) {
			setCondition(s, mcpv1alpha1.ConditionDeletionBlocked, metav1.ConditionTrue, mcpv1alpha1.ReasonToolsInUse, "waits")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, updated := base(), base()
			tt.change(updated)
			if got := serverChangeAffectsTools(old, updated); got != tt.want {
				t.Errorf("serverChangeAffectsTools = %v, want %v", got, tt.want)
			}
		})
	}
}
