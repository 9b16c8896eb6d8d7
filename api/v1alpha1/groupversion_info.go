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

// Package v1alpha1 contains the mcp.toolregistry.io/v1alpha1 API: MCPServer, a remote Model Context
// Protocol endpoint the operator keeps in sync, and MCPTool, one tool discovered on it.
// +kubebuilder:object:generate=true
// +groupName=mcp.toolregistry.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "mcp.toolregistry.io", Version: "v1alpha1"}

	// SchemeBuilder adds this group-version's types to a scheme. It depends on apimachinery
	// only, so the API package stays cheap to import (controller-runtime's scheme.Builder is
	// deprecated for that reason).
	SchemeBuilder = runtime.NewSchemeBuilder(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, &MCPServer{}, &MCPServerList{}, &MCPTool{}, &MCPToolList{})
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
