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

package consumers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

func TestCountingNamespace(t *testing.T) {
	cases := []struct {
		name   string
		policy *mcpv1alpha1.ConsumerPolicy
		want   string
	}{
		{name: "no policy: the default Same", want: "tools"},
		{name: "empty namespaces: the default Same", policy: &mcpv1alpha1.ConsumerPolicy{}, want: "tools"},
		{name: "Same", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesSame}, want: "tools"},
		{name: "All", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesAll}, want: ""},
		{name: "Selector", policy: &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesSelector,
			NamespaceSelector: &metav1.LabelSelector{}}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "github"},
				Spec: mcpv1alpha1.MCPServerSpec{Consumers: tc.policy}}
			if got := CountingNamespace(server); got != tc.want {
				t.Errorf("CountingNamespace = %q, want %q", got, tc.want)
			}
		})
	}
}
