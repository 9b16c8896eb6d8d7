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

package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServerReference names an MCPServer in the same namespace.
type ServerReference struct {
	// name of the MCPServer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ToolAnnotations are the behaviour hints the MCP server declares for a tool.
// They are hints from the server, not guarantees.
type ToolAnnotations struct {
	// readOnlyHint: the tool does not modify its environment.
	// +optional
	ReadOnlyHint *bool `json:"readOnlyHint,omitempty"`

	// destructiveHint: the tool may perform destructive updates (meaningful when
	// not read-only).
	// +optional
	DestructiveHint *bool `json:"destructiveHint,omitempty"`

	// idempotentHint: calling the tool again with the same arguments has no
	// additional effect.
	// +optional
	IdempotentHint *bool `json:"idempotentHint,omitempty"`

	// openWorldHint: the tool interacts with an open world of external entities.
	// +optional
	OpenWorldHint *bool `json:"openWorldHint,omitempty"`
}

// MCPToolSpec is one tool as discovered on its server, after the server's
// overrides. It is written by the operator only: edits are reverted at the
// server's next sync.
type MCPToolSpec struct {
	// serverRef names the MCPServer this tool was discovered on. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="serverRef is immutable"
	ServerRef ServerReference `json:"serverRef"`

	// toolName is the tool's exact MCP name. Consumers reference tools by this
	// name. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="toolName is immutable"
	ToolName string `json:"toolName"`

	// title is the human-readable title the server reports, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`

	// description is the tool's description, after overrides.
	// +optional
	// +kubebuilder:validation:MaxLength=16384
	Description string `json:"description,omitempty"`

	// inputSchema is the JSON Schema of the tool's arguments, as the server
	// reports it.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	InputSchema *apiextensionsv1.JSON `json:"inputSchema,omitempty"`

	// outputSchema is the JSON Schema of the tool's structured result, if the
	// server reports one.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	OutputSchema *apiextensionsv1.JSON `json:"outputSchema,omitempty"`

	// annotations are the behaviour hints the server declares for the tool.
	// +optional
	Annotations *ToolAnnotations `json:"annotations,omitempty"`

	// icons are the tool's icons, in the server's order: at most 8, each an https
	// URL or a data:image/ URL (see Icon); others are dropped.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Icons []Icon `json:"icons,omitempty"`

	// _meta is the tool's _meta object as the server reports it (arbitrary JSON,
	// keys sorted), omitted when over 16 KiB. Part of the digest.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Meta *apiextensionsv1.JSON `json:"_meta,omitempty"`

	// alias is the effective name agents should use, from the server's overrides;
	// empty means toolName.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Alias string `json:"alias,omitempty"`

	// enabled is false when the server's overrides disable the tool.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// digest is the digest of the definition this spec holds (title, description
	// as the server reported it, schemas, annotations, icons, _meta), as it was
	// discovered.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`

	// discoveredDigest is the digest of the server's definition at its last sync.
	// It differs from digest only while a pinned tool's definition has changed on
	// the server: this spec then keeps the definition last approved.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	DiscoveredDigest string `json:"discoveredDigest,omitempty"`
}

// MCPToolStatus is the observed state of an MCPTool.
type MCPToolStatus struct {
	// observedGeneration is the generation last reconciled; -1 until the first
	// reconcile.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration"`

	// conditions: Ready, InUse and, while deleting, DeletionBlocked.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// consumerCount is the number of counting consumers of this tool.
	// Defaulted, so the Consumers column reads 0 rather than blank.
	// +kubebuilder:default=0
	// +optional
	ConsumerCount int32 `json:"consumerCount,omitempty"`

	// consumers is a sample of the counting consumers, sorted, at most 10;
	// consumerCount has the total.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Consumers []ConsumerReference `json:"consumers,omitempty"`

	// digest is "sha256:" and the hex SHA-256 of a canonical JSON of the tool's
	// definition as the server last reported it (name, title, description, input
	// and output schema, annotations, and icons and _meta when present: a tool
	// without them has the digest it had before they were covered). Pin it with
	// spec.tools.overrides[].digest on the MCPServer.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`
}

// MCPTool is one tool offered by an MCPServer. The operator creates, updates
// and deletes MCPTools; deleting one waits while workloads reference it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=mcptools,singular=mcptool,shortName=mcpt,categories=mcp,scope=Namespaced
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.serverRef.name`
// +kubebuilder:printcolumn:name="Tool",type=string,JSONPath=`.spec.toolName`
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="Consumers",type=integer,JSONPath=`.status.consumerCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.digest`,priority=1
type MCPTool struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the tool as discovered on its server.
	// +required
	Spec MCPToolSpec `json:"spec"`

	// status is the observed state of the MCPTool.
	// +optional
	// +kubebuilder:default={}
	Status MCPToolStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MCPToolList contains a list of MCPTool.
type MCPToolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPTool `json:"items"`
}
