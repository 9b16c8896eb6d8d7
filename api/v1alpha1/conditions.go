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

// Well-known names. They are public interface: tools, GitOps repositories and admission policies
// depend on them, so they never change within an API version.
const (
	// ServerFinalizer is set on every MCPServer. It runs the delete lifecycle: block while any of
	// the server's tools is in use, then revoke credentials and cascade to MCPTools and owned Secrets.
	ServerFinalizer = "mcp.toolregistry.io/cleanup"

	// ToolFinalizer is set on every MCPTool. It holds a tool that is deleted while consumers still
	// reference it, whether the tool itself or its server is being deleted.
	ToolFinalizer = "mcp.toolregistry.io/in-use-protection"

	// ServerLabel is set on every MCPTool; its value is the name of the MCPServer the tool belongs to.
	ServerLabel = "mcp.toolregistry.io/server"

	// ToolsAnnotation declares, on a consumer (any object of a watched kind), which MCP servers and
	// tools it uses: a comma-separated list of references `[<namespace>/]<server>[:<tool>]`.
	ToolsAnnotation = "mcp.toolregistry.io/tools"

	// CredentialsFinalizer is set on the credentials Secret the operator owns for an OAuth2
	// MCPServer (<server>-oauth2): it holds the Secret, whoever deletes it (a foreground delete's
	// garbage collector, a namespace delete), until the tokens it records are revoked.
	CredentialsFinalizer = "mcp.toolregistry.io/revoke-credentials"

	// RevocationPendingAnnotation, on the credentials Secret the operator owns for an OAuth2
	// MCPServer, says without secrets what a delete would revoke (read by `kubectl mcp impact`).
	RevocationPendingAnnotation = "mcp.toolregistry.io/revocation-pending"

	// ForceDeleteAnnotation, set to "true" on an MCPServer or MCPTool, skips the in-use check when it
	// is deleted. The operator emits a Warning Event naming every consumer it breaks.
	ForceDeleteAnnotation = "mcp.toolregistry.io/force-delete"
)

// MaxConsumerSample bounds status.consumers on both kinds: the sample lists the first consumers in
// sorted order, and status.consumerCount carries the total.
const MaxConsumerSample = 10

// Condition types. Ready is always present; Reconciling and Stalled follow kstatus' abnormal-true
// convention and are removed when False.
const (
	// ConditionReady on an MCPServer is True when the last sync at the current generation succeeded;
	// on an MCPTool, when its server is Ready and the tool is enabled.
	ConditionReady = "Ready"

	// ConditionReconciling is True while the operator is working towards the current generation.
	ConditionReconciling = "Reconciling"

	// ConditionStalled is True when the operator cannot make progress without a change from a person,
	// for example when a referenced Secret is missing.
	ConditionStalled = "Stalled"

	// ConditionInUse is True while counting consumers reference the object; its message names them.
	// It shows the impact of a delete before anyone deletes.
	ConditionInUse = "InUse"

	// ConditionDeletionBlocked is present only while the object is being deleted. It is True, with
	// reason ReasonToolsInUse, while consumers hold the delete, and names them.
	ConditionDeletionBlocked = "DeletionBlocked"
)

// Condition reasons. Each is a CamelCase constant that tools may match on.
const (
	// ReasonSucceeded: the last sync at the current generation succeeded.
	ReasonSucceeded = "Succeeded"

	// ReasonProgressing: a sync for the current generation has not finished yet.
	ReasonProgressing = "Progressing"

	// ReasonSyncFailed: the MCP server could not be reached or answered with an error; the operator
	// retries with backoff and keeps every MCPTool as it was.
	ReasonSyncFailed = "SyncFailed"

	// ReasonSecretNotFound: a Secret named in spec.auth or spec.tls does not exist, or lacks the key.
	// The server is Stalled until the Secret appears.
	ReasonSecretNotFound = "SecretNotFound"

	// ReasonAuthenticationFailed: the MCP server rejected the configured credentials, or (OAuth2)
	// the authorization server refused the client or its token request, or the server answered
	// 403 insufficient_scope.
	ReasonAuthenticationFailed = "AuthenticationFailed"

	// ReasonDiscoveryFailed: (OAuth2) the authorization server could not be found: no
	// resource_metadata challenge and no protected resource metadata, metadata that does not
	// match, or a metadata URL the endpoint policy refuses.
	ReasonDiscoveryFailed = "DiscoveryFailed"

	// ReasonRegistrationFailed: (OAuth2, registration: Dynamic) the authorization server refused
	// to register a client, or offers no registration endpoint.
	ReasonRegistrationFailed = "RegistrationFailed"

	// ReasonEndpointNotAllowed: the endpoint (or an address its name resolves to) is in the
	// manager's --endpoint-deny-cidrs and not in --endpoint-allow-cidrs. No connection was made.
	// The server is Stalled until the URL or the manager's endpoint policy changes.
	ReasonEndpointNotAllowed = "EndpointNotAllowed"

	// ReasonDefinitionChanged: the tool is pinned (spec.tools.overrides[].digest on its
	// MCPServer) and the server's definition now has another digest. The tool is treated as
	// disabled and its MCPTool keeps the definition last approved, until the pin is updated.
	ReasonDefinitionChanged = "DefinitionChanged"

	// ReasonPinRequired: the MCPServer's spec.tools.pinning is Required and the tool has no digest
	// pin. It is unavailable until pinned.
	ReasonPinRequired = "PinRequired"

	// ReasonInvalidSpec: the spec passed admission but cannot be acted upon (for example a tool
	// pattern that is not a valid glob). The server is Stalled until the spec changes.
	ReasonInvalidSpec = "InvalidSpec"

	// ReasonServerSuspended: spec.suspend is true. The server is not contacted and its tools are
	// kept but marked unavailable.
	ReasonServerSuspended = "ServerSuspended"

	// ReasonServerNotReady: an MCPTool's server is not Ready.
	ReasonServerNotReady = "ServerNotReady"

	// ReasonServerNotFound: an MCPTool's server does not exist (for example after an orphaning delete).
	ReasonServerNotFound = "ServerNotFound"

	// ReasonToolDisabled: the tool was disabled by an override in its server's spec.tools.overrides.
	ReasonToolDisabled = "ToolDisabled"

	// ReasonConsumersFound: consumers reference the object (InUse=True).
	ReasonConsumersFound = "ConsumersFound"

	// ReasonNoConsumers: no consumer references the object (InUse=False).
	ReasonNoConsumers = "NoConsumers"

	// ReasonDeleting: the object is being deleted and cleanup is in progress.
	ReasonDeleting = "Deleting"

	// ReasonToolsInUse: the delete is blocked because consumers still reference the server or its
	// tools (DeletionBlocked=True).
	ReasonToolsInUse = "ToolsInUse"
)
