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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Transport is the MCP transport used to reach a server.
// +kubebuilder:validation:Enum=StreamableHTTP;SSE
type Transport string

const (
	// TransportStreamableHTTP is the Streamable HTTP transport (MCP 2025-03-26 and
	// later).
	TransportStreamableHTTP Transport = "StreamableHTTP"
	// TransportSSE is the older HTTP+SSE transport (MCP 2024-11-05).
	TransportSSE Transport = "SSE"
)

// AuthType selects how the operator authenticates to an MCP server.
// +kubebuilder:validation:Enum=None;Bearer;OAuth2
type AuthType string

const (
	// AuthNone sends no credentials.
	AuthNone AuthType = "None"
	// AuthBearer sends `Authorization: Bearer <token>`, the token read from a
	// Secret the user owns.
	AuthBearer AuthType = "Bearer"
	// AuthOAuth2 obtains OAuth 2.0 access tokens with the client credentials grant (the MCP
	// io.modelcontextprotocol/oauth-client-credentials extension) and sends them as bearer tokens.
	AuthOAuth2 AuthType = "OAuth2"
)

// TokenEndpointAuthMethod is how a client with a client secret authenticates to the token
// endpoint (RFC 6749 section 2.3.1).
// +kubebuilder:validation:Enum=client_secret_basic;client_secret_post
type TokenEndpointAuthMethod string

const (
	// ClientSecretBasic sends the client id and secret with HTTP Basic authentication.
	ClientSecretBasic TokenEndpointAuthMethod = "client_secret_basic"
	// ClientSecretPost sends them as client_id and client_secret form parameters.
	ClientSecretPost TokenEndpointAuthMethod = "client_secret_post"
)

// ClientRegistration selects how the operator gets an OAuth client it did not receive.
// +kubebuilder:validation:Enum=Dynamic
type ClientRegistration string

const (
	// RegistrationDynamic registers a client with the authorization server (RFC 7591), once for the
	// MCPServer's whole life, and de-registers it (RFC 7592) when the MCPServer is deleted.
	RegistrationDynamic ClientRegistration = "Dynamic"
)

// LiveSyncState says whether the operator learns of a server's changes from a notification
// stream (status.liveSync).
// +kubebuilder:validation:Enum=Connected;Polling;Disabled
type LiveSyncState string

const (
	// LiveSyncConnected: a notification stream to the server is open.
	LiveSyncConnected LiveSyncState = "Connected"
	// LiveSyncPolling: live sync is wanted but no stream is open (the server offers none, it
	// is reconnecting, or the manager's --max-live-streams is reached); changes are seen at
	// syncInterval.
	LiveSyncPolling LiveSyncState = "Polling"
	// LiveSyncDisabled: live sync is off (spec.liveSync false, suspended, or
	// --max-live-streams=0).
	LiveSyncDisabled LiveSyncState = "Disabled"
)

// DeletionPolicy says what deleting an MCPServer does to the objects it owns.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete cascades: the delete waits while any tool is in use,
	// then removes the server's MCPTools and the Secrets it owns.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan keeps MCPTools and owned Secrets, drops their
	// ownerReferences, and never blocks.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// ConsumerNamespaces selects which namespaces' consumers count for a server.
// +kubebuilder:validation:Enum=Same;All;Selector
type ConsumerNamespaces string

const (
	// ConsumerNamespacesSame counts consumers in the server's own namespace only.
	ConsumerNamespacesSame ConsumerNamespaces = "Same"
	// ConsumerNamespacesAll counts consumers in every namespace.
	ConsumerNamespacesAll ConsumerNamespaces = "All"
	// ConsumerNamespacesSelector counts consumers in the server's namespace and in
	// namespaces matching consumers.namespaceSelector.
	ConsumerNamespacesSelector ConsumerNamespaces = "Selector"
)

// SecretKeyReference names one key of a Secret in the MCPServer's namespace.
type SecretKeyReference struct {
	// name of the Secret, in the same namespace as the MCPServer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// key within the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="must be a valid Secret key: letters, digits, '-', '_' and '.'"
	Key string `json:"key"`
}

// BearerAuth configures bearer-token authentication.
type BearerAuth struct {
	// secretRef names the Secret key holding the token. The Secret belongs to you:
	// the operator only reads it and never deletes it, not even when the MCPServer
	// is deleted.
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`
}

// SecretReference names a Secret in the MCPServer's namespace whose keys are fixed by the field
// that references it.
type SecretReference struct {
	// name of the Secret, in the same namespace as the MCPServer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`
}

// OAuth2Auth configures OAuth 2.0 for the operator's own, browserless access to the MCP server:
// the client credentials grant of the MCP authorization specification's
// io.modelcontextprotocol/oauth-client-credentials extension. Exactly one client source is set:
// clientSecretRef, privateKeyRef or registration.
// +kubebuilder:validation:XValidation:rule="(has(self.clientSecretRef) ? 1 : 0) + (has(self.privateKeyRef) ? 1 : 0) + (has(self.registration) ? 1 : 0) == 1",message="set exactly one client source: clientSecretRef (a pre-registered client with a secret), privateKeyRef (a pre-registered client with a private key, private_key_jwt) or registration: Dynamic"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenEndpointAuthMethod) || has(self.clientSecretRef)",message="tokenEndpointAuthMethod applies only to clientSecretRef (privateKeyRef always uses private_key_jwt; a dynamic client uses what it registered)"
// +kubebuilder:validation:XValidation:rule="!has(self.initialAccessTokenRef) || has(self.registration)",message="initialAccessTokenRef applies only to registration: Dynamic"
type OAuth2Auth struct {
	// issuerURL names the authorization server. When absent it is discovered as the MCP
	// specification says: from the server's 401 (WWW-Authenticate resource_metadata, RFC 9728),
	// else from the protected resource metadata at the endpoint's well-known URLs. Must be https;
	// plain http is accepted only for a loopback host, for development, and only where the
	// manager's endpoint policy allows loopback.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHostname() != '' && (url(self).getScheme() == 'https' || (url(self).getScheme() == 'http' && (url(self).getHostname() == 'localhost' || url(self).getHostname().startsWith('127.') || url(self).getHostname() == '::1')))",message="issuerURL must be an absolute https:// URL (http:// only for a loopback host)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="issuerURL must not have a query or fragment (RFC 8414)"
	IssuerURL string `json:"issuerURL,omitempty"`

	// scopes requested with each token. When absent, the scope the server's 401 names is used,
	// else the scopes_supported of its protected resource metadata, else none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[!#-\\\\[\\\\]-~]+$')",message="a scope is printable ASCII without spaces, double quotes or backslashes (RFC 6749 section 3.3)"
	Scopes []string `json:"scopes,omitempty"`

	// resource is the RFC 8707 resource indicator sent with each token request: the audience of
	// the tokens. Default: the server's canonical URL (spec.url without fragment).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() != '' && !self.contains('#')",message="resource must be an absolute URI without a fragment (RFC 8707)"
	Resource string `json:"resource,omitempty"`

	// clientSecretRef names a Secret you own holding a pre-registered client: keys client_id and
	// client_secret. Sent as tokenEndpointAuthMethod says. The operator only reads it.
	// +optional
	ClientSecretRef *SecretReference `json:"clientSecretRef,omitempty"`

	// tokenEndpointAuthMethod is how clientSecretRef's client authenticates:
	// client_secret_basic (the default) or client_secret_post.
	// +optional
	TokenEndpointAuthMethod TokenEndpointAuthMethod `json:"tokenEndpointAuthMethod,omitempty"`

	// privateKeyRef names a Secret you own holding a pre-registered client that authenticates
	// with private_key_jwt (RFC 7523): keys client_id, private_key (PEM: an RSA key, signed RS256,
	// or a P-256 EC key, signed ES256) and, optionally, key_id (the JWS kid). The key is never
	// sent: each token request carries a signed assertion valid for one minute (the operator
	// keeps a copy in the credentials Secret the MCPServer owns, to revoke with). The extension
	// recommends this kind.
	// +optional
	PrivateKeyRef *SecretReference `json:"privateKeyRef,omitempty"`

	// registration: Dynamic registers a client with the authorization server (RFC 7591) once
	// for this MCPServer's whole life, keeps its credentials in a Secret the MCPServer owns (named
	// <server>-oauth2), and de-registers it (RFC 7592) on delete. Deprecated by the MCP
	// specification 2026-07-28 in favour of pre-registered clients, but what hosted registries
	// do.
	// +optional
	Registration ClientRegistration `json:"registration,omitempty"`

	// initialAccessTokenRef names a Secret key holding the initial access token some
	// authorization servers require for registration (RFC 7591 section 3).
	// +optional
	InitialAccessTokenRef *SecretKeyReference `json:"initialAccessTokenRef,omitempty"`
}

// MCPServerAuth configures how the operator authenticates to the MCP server.
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'Bearer' || has(self.bearer)",message="auth.bearer is required when auth.type is Bearer"
// +kubebuilder:validation:XValidation:rule="!has(self.bearer) || (has(self.type) && self.type == 'Bearer')",message="auth.bearer may only be set when auth.type is Bearer"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'OAuth2' || has(self.oauth2)",message="auth.oauth2 is required when auth.type is OAuth2"
// +kubebuilder:validation:XValidation:rule="!has(self.oauth2) || (has(self.type) && self.type == 'OAuth2')",message="auth.oauth2 may only be set when auth.type is OAuth2"
type MCPServerAuth struct {
	// type of authentication: None (the default), Bearer or OAuth2.
	// +optional
	// +kubebuilder:default=None
	Type AuthType `json:"type,omitempty"`

	// bearer configures bearer-token authentication; required when type is Bearer.
	// +optional
	Bearer *BearerAuth `json:"bearer,omitempty"`

	// oauth2 configures OAuth 2.0 client credentials; required when type is OAuth2.
	// +optional
	OAuth2 *OAuth2Auth `json:"oauth2,omitempty"`
}

// MCPServerTLS configures TLS for https endpoints.
// +kubebuilder:validation:XValidation:rule="!(has(self.caSecretRef) && has(self.insecureSkipVerify) && self.insecureSkipVerify)",message="set either tls.caSecretRef or tls.insecureSkipVerify, not both: a CA bundle is never consulted when verification is skipped"
type MCPServerTLS struct {
	// caSecretRef names a Secret key holding PEM-encoded CA certificates used,
	// instead of the system roots, to verify the server's certificate.
	// +optional
	CASecretRef *SecretKeyReference `json:"caSecretRef,omitempty"`

	// insecureSkipVerify disables verification of the server's certificate. Use it
	// only for testing.
	// +optional
	InsecureSkipVerify *bool `json:"insecureSkipVerify,omitempty"`
}

// ToolOverride changes how one discovered tool is published.
// +kubebuilder:validation:XValidation:rule="has(self.alias) || has(self.description) || has(self.enabled) || has(self.digest)",message="an override must set at least one of alias, description, enabled or digest"
type ToolOverride struct {
	// name is the tool's exact MCP name, as the server lists it (not an alias).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// alias is the name agents should use for the tool. It follows MCP's tool-name
	// rules: 1 to 128 letters, digits, '_', '-' and '.'.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_.-]+$')",message="alias may contain only letters, digits, '_', '-' and '.'"
	Alias *string `json:"alias,omitempty"`

	// description replaces the description the server reports.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Description *string `json:"description,omitempty"`

	// enabled, when false, publishes the tool as disabled (its MCPTool is kept,
	// Ready=False).
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// digest pins the tool's definition: "sha256:" and 64 lowercase hex digits, as
	// the MCPTool's status.digest shows it (`kubectl mcp pin` prints the overrides
	// to paste). While the server's definition has another digest, the tool is
	// Ready=False with reason DefinitionChanged, treated as disabled, and its
	// MCPTool keeps the definition last approved; updating the pin re-enables it.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	// +kubebuilder:validation:XValidation:rule="self.matches('^sha256:[a-f0-9]{64}$')",message="digest must be sha256: followed by 64 lowercase hex digits, as an MCPTool's status.digest shows it"
	Digest string `json:"digest,omitempty"`
}

// PinningPolicy says whether tools must be pinned to be available.
// +kubebuilder:validation:Enum=Optional;Required
type PinningPolicy string

const (
	// PinningOptional: a tool without a digest override is available as discovered.
	PinningOptional PinningPolicy = "Optional"
	// PinningRequired: a tool without a digest override is unavailable (reason
	// PinRequired) until pinned.
	PinningRequired PinningPolicy = "Required"
)

// ToolsSpec filters and adjusts the tools materialised as MCPTools.
type ToolsSpec struct {
	// include lists glob patterns (`*`, `?`, `[...]`, as in Go's path.Match) over
	// MCP tool names. When set, only tools matching at least one pattern are
	// materialised.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Include []string `json:"include,omitempty"`

	// exclude lists glob patterns over MCP tool names; a tool matching any of them
	// is not materialised, even when it matches include.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Exclude []string `json:"exclude,omitempty"`

	// overrides adjust individual tools, keyed by their MCP name.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(o, !has(o.alias) || self.filter(p, has(p.alias) && p.alias == o.alias).size() == 1)",message="each alias may be used by only one override"
	Overrides []ToolOverride `json:"overrides,omitempty"`

	// pinning is Optional (the default: a tool without a digest override is
	// available) or Required (a tool without one is unavailable, reason
	// PinRequired, until pinned).
	// +optional
	// +kubebuilder:default=Optional
	Pinning PinningPolicy `json:"pinning,omitempty"`
}

// PromptOverride changes how one discovered prompt is listed in status.prompts.
// +kubebuilder:validation:XValidation:rule="has(self.alias) || has(self.description) || has(self.enabled)",message="an override must set at least one of alias, description or enabled"
type PromptOverride struct {
	// name is the prompt's exact MCP name, as the server lists it (not an alias).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// alias is the name agents should use for the prompt: 1 to 128 letters, digits,
	// '_', '-' and '.'.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_.-]+$')",message="alias may contain only letters, digits, '_', '-' and '.'"
	Alias *string `json:"alias,omitempty"`

	// description replaces the description the server reports (status.prompts shows
	// at most its first 1024 bytes).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Description *string `json:"description,omitempty"`

	// enabled, when false, lists the prompt with enabled: false.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// PromptsSpec filters and adjusts the prompts reported in status.prompts.
type PromptsSpec struct {
	// include lists glob patterns (`*`, `?`, `[...]`, as in Go's path.Match) over
	// MCP prompt names. When set, only prompts matching at least one pattern are
	// reported.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Include []string `json:"include,omitempty"`

	// exclude lists glob patterns over MCP prompt names; a prompt matching any of
	// them is not reported, even when it matches include.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Exclude []string `json:"exclude,omitempty"`

	// overrides adjust individual prompts, keyed by their MCP name.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(o, !has(o.alias) || self.filter(p, has(p.alias) && p.alias == o.alias).size() == 1)",message="each alias may be used by only one override"
	Overrides []PromptOverride `json:"overrides,omitempty"`
}

// ConsumerPolicy says which namespaces' consumers count for this server.
// +kubebuilder:validation:XValidation:rule="!has(self.namespaceSelector) || (has(self.namespaces) && self.namespaces == 'Selector')",message="consumers.namespaceSelector may only be set when consumers.namespaces is Selector"
// +kubebuilder:validation:XValidation:rule="!has(self.namespaces) || self.namespaces != 'Selector' || has(self.namespaceSelector)",message="consumers.namespaceSelector is required when consumers.namespaces is Selector"
type ConsumerPolicy struct {
	// namespaces is Same (the default: only consumers in this server's namespace
	// count), All, or Selector (this namespace plus those matching
	// namespaceSelector). References from other namespaces never block deletion
	// and get a Warning Event on the consumer.
	// +optional
	// +kubebuilder:default=Same
	Namespaces ConsumerNamespaces `json:"namespaces,omitempty"`

	// namespaceSelector selects the namespaces whose consumers count; only with
	// namespaces: Selector.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// MCPServerSpec is the desired state of an MCPServer.
// +kubebuilder:validation:XValidation:rule="!has(self.auth) || !has(self.auth.type) || self.auth.type != 'OAuth2' || !isURL(self.url) || url(self.url).getScheme() == 'https' || url(self.url).getHostname() == 'localhost' || url(self.url).getHostname().startsWith('127.') || url(self.url).getHostname() == '::1'",message="auth.type OAuth2 needs an https url (http only for a loopback host): access tokens never travel in clear text"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || self.url.lowerAscii().startsWith('https://')",message="tls may only be set for https URLs"
// +kubebuilder:validation:XValidation:rule="!has(self.timeout) || !has(self.syncInterval) || !self.timeout.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') || !self.syncInterval.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self.timeout) <= duration(self.syncInterval)",message="timeout must not exceed syncInterval"
type MCPServerSpec struct {
	// url is the http or https URL of the MCP endpoint, e.g.
	// https://mcp.example.com/mcp.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="url must be an absolute http:// or https:// URL with a host"
	URL string `json:"url"`

	// transport is StreamableHTTP (the default) or SSE.
	// +optional
	// +kubebuilder:default=StreamableHTTP
	Transport Transport `json:"transport,omitempty"`

	// description is free text for people browsing the registry.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// auth configures how the operator authenticates to the server. Absent means
	// no authentication.
	// +optional
	Auth *MCPServerAuth `json:"auth,omitempty"`

	// tls configures certificate verification for https URLs.
	// +optional
	TLS *MCPServerTLS `json:"tls,omitempty"`

	// syncInterval is how often the server's tools are listed again, e.g. 5m (the
	// default). At least 10s and at most 24h. A change to the spec syncs at once.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$')",message="syncInterval must be a duration such as 30s, 5m or 1h"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))",message="syncInterval must be between 10s and 24h"
	SyncInterval *metav1.Duration `json:"syncInterval,omitempty"`

	// timeout bounds every call to the server (connect, initialize, each list
	// page), e.g. 30s (the default). At least 1s and at most 5m, and not longer
	// than syncInterval.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$')",message="timeout must be a duration such as 10s or 1m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('5m'))",message="timeout must be between 1s and 5m"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// suspend, when true, stops syncing: the server is not contacted and every
	// MCPTool is kept but marked unavailable. Suspend a server before deleting it
	// to see who notices.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// liveSync, true by default, keeps one notification stream open to a server
	// that advertises listChanged for tools or prompts, and syncs as soon as it
	// says they changed (debounced, rate-limited); polling at syncInterval stays
	// as the backstop. false: polling only. status.liveSync says which is in use.
	// +optional
	// +kubebuilder:default=true
	LiveSync *bool `json:"liveSync,omitempty"`

	// tools filters and adjusts the tools materialised as MCPTools.
	// +optional
	Tools *ToolsSpec `json:"tools,omitempty"`

	// prompts filters and adjusts the prompts reported in status.prompts.
	// +optional
	Prompts *PromptsSpec `json:"prompts,omitempty"`

	// registry publishes the server on the manager's MCP Registry API (off unless
	// registry.publish is true).
	// +optional
	Registry *RegistrySpec `json:"registry,omitempty"`

	// deletionPolicy is Delete (the default: wait while any tool is in use, then
	// remove the server's MCPTools and owned Secrets) or Orphan (keep them, drop
	// ownership, never block). `kubectl delete --cascade=orphan` behaves like
	// Orphan.
	// +optional
	// +kubebuilder:default=Delete
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// consumers says which namespaces' consumers count for this server (default:
	// its own namespace).
	// +optional
	Consumers *ConsumerPolicy `json:"consumers,omitempty"`
}

// ServerInfo is what the MCP server reported about itself: in the initialize
// result, or for protocol 2026-07-28 in the _meta of server/discover (or of a
// list result). Every string is sanitized and bounded.
type ServerInfo struct {
	// name the server reported.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name,omitempty"`

	// version the server reported.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version,omitempty"`

	// protocolVersion is the MCP protocol version negotiated with the server, e.g.
	// 2025-06-18.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ProtocolVersion string `json:"protocolVersion,omitempty"`

	// title is the server's display name, sanitized to one line.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`

	// description is the server's description (protocol 2025-11-25 and later),
	// sanitized to one line and cut to 1024 bytes ("..." marks a cut).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// websiteUrl is the server's website: an absolute http or https URL without
	// credentials, at most 2048 bytes; anything else the server sends is dropped.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	WebsiteURL string `json:"websiteUrl,omitempty"`

	// icons are the server's icons, in the server's order: at most 8, each an
	// https URL or a data:image/ URL (see Icon); others are dropped.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Icons []Icon `json:"icons,omitempty"`

	// instructions are the server's instructions for using it (a hint for a
	// model), terminal escapes and control characters other than newline and tab
	// removed, cut to 4096 bytes ("..." marks a cut).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Instructions string `json:"instructions,omitempty"`

	// capabilities are what the server declared it offers.
	// +optional
	Capabilities *ServerCapabilities `json:"capabilities,omitempty"`
}

// Icon is an icon a server declares for itself or for a tool. Only an https URL
// or a data: URL of an image is kept: a client showing the icon then never
// fetches it over plain http, nor from a scheme it does not expect.
// +kubebuilder:validation:XValidation:rule="self.src.startsWith('https://') ? size(self.src) <= 2048 : self.src.startsWith('data:image/')",message="src must be an https URL of at most 2048 bytes or a data:image/ URL"
type Icon struct {
	// src is the icon: an https URL (at most 2048 bytes, no credentials) or a
	// data:image/ URL (at most 8192 bytes).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Src string `json:"src"`

	// mimeType is the icon's media type as the server declares it, e.g.
	// image/png; dropped when it is not a valid type/subtype.
	// +optional
	// +kubebuilder:validation:MaxLength=127
	MIMEType string `json:"mimeType,omitempty"`

	// sizes are the sizes the icon is available in, each WIDTHxHEIGHT (e.g.
	// 48x48) or any: at most 8; others are dropped.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=32
	Sizes []string `json:"sizes,omitempty"`

	// theme is light (the icon is meant for a light background) or dark.
	// +optional
	// +kubebuilder:validation:Enum=light;dark
	Theme string `json:"theme,omitempty"`
}

// ServerCapabilities are the capabilities a server declared (at initialize, or
// in server/discover for protocol 2026-07-28).
type ServerCapabilities struct {
	// tools is present when the server offers tools.
	// +optional
	Tools *FeatureCapability `json:"tools,omitempty"`

	// prompts is present when the server offers prompts.
	// +optional
	Prompts *FeatureCapability `json:"prompts,omitempty"`

	// resources is present when the server offers resources.
	// +optional
	Resources *FeatureCapability `json:"resources,omitempty"`

	// extensions are the names of the extensions the server declared, sorted: at
	// most 32, each at most 256 bytes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=256
	Extensions []string `json:"extensions,omitempty"`
}

// FeatureCapability is one feature a server declared (tools, prompts, resources).
type FeatureCapability struct {
	// listChanged is true when the server says it notifies clients of changes to
	// this list.
	// +optional
	ListChanged bool `json:"listChanged,omitempty"`
}

// Prompt is one prompt the server offers, as spec.prompts adjusts it.
type Prompt struct {
	// name is the prompt's exact MCP name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// title is the prompt's display name, as the server reports it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`

	// description is the server's description, or the override's, cut to 1024
	// bytes ("..." marks a cut).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// alias is the override's alias, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Alias string `json:"alias,omitempty"`

	// enabled is false when an override disables the prompt.
	// +required
	Enabled bool `json:"enabled"`

	// arguments are the names of the prompt's arguments, in the server's order: at
	// most 16, each at most 64 bytes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	Arguments []string `json:"arguments,omitempty"`
}

// ConsumerReference identifies an object that references a server or tool.
type ConsumerReference struct {
	// apiVersion of the consumer, e.g. apps/v1.
	// +required
	// +kubebuilder:validation:MaxLength=317
	APIVersion string `json:"apiVersion"`

	// kind of the consumer, e.g. Deployment.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// namespace of the consumer.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// name of the consumer.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// MCPServerStatus is the observed state of an MCPServer.
type MCPServerStatus struct {
	// observedGeneration is the generation last reconciled successfully; -1 until
	// the first success.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration"`

	// conditions: Ready, Reconciling, Stalled, InUse and, while deleting,
	// DeletionBlocked.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// serverInfo is what the server reported about itself at the last successful
	// sync.
	// +optional
	ServerInfo *ServerInfo `json:"serverInfo,omitempty"`

	// ttlMs is the shortest positive ttlMs (protocol 2026-07-28: how long the
	// server says its list may be cached) of the tools/list and prompts/list
	// results of the last successful sync. When shorter than syncInterval, the
	// next sync is due after it instead, never sooner than 10s after the last. 0
	// (immediately stale, the SDK's default) and absent are no hint.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TTLMs int64 `json:"ttlMs,omitempty"`

	// toolCount is the number of MCPTools materialised for this server.
	// Defaulted, so the Tools column reads 0 rather than blank.
	// +kubebuilder:default=0
	// +optional
	ToolCount int32 `json:"toolCount,omitempty"`

	// promptCount is the number of prompts the server offered at the last
	// successful sync that spec.prompts selects (include and exclude applied; a
	// prompt disabled by an override counts). When it exceeds the length of
	// prompts, that list was cut at its bound.
	// +optional
	PromptCount int32 `json:"promptCount,omitempty"`

	// prompts are the prompts counted by promptCount, after spec.prompts, sorted by
	// name: at most 256 (promptCount has the total).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Prompts []Prompt `json:"prompts,omitempty"`

	// consumerCount is the number of counting consumers of this server or any of
	// its tools. Defaulted, so the Consumers column reads 0 rather than blank.
	// +kubebuilder:default=0
	// +optional
	ConsumerCount int32 `json:"consumerCount,omitempty"`

	// consumers is a sample of the counting consumers, sorted, at most 10;
	// consumerCount has the total.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Consumers []ConsumerReference `json:"consumers,omitempty"`

	// lastSyncTime is when the operator last tried to sync with the server.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// lastSuccessfulSyncTime is when a sync last succeeded.
	// +optional
	LastSuccessfulSyncTime *metav1.Time `json:"lastSuccessfulSyncTime,omitempty"`

	// lastSyncError is the error of the last failed sync, cleared by a successful
	// one. It never contains credentials.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LastSyncError string `json:"lastSyncError,omitempty"`

	// oauth2 is what the operator uses for OAuth 2.0 (auth.type OAuth2). Never a secret.
	// +optional
	OAuth2 *OAuth2Status `json:"oauth2,omitempty"`

	// liveSync is Connected (a notification stream is open: a change is synced
	// within about a second), Polling (no stream: changes are seen at
	// syncInterval; liveSyncMessage says why) or Disabled (spec.liveSync false,
	// suspended, or live sync off for the manager).
	// +optional
	LiveSync LiveSyncState `json:"liveSync,omitempty"`

	// liveSyncMessage says why the server is not Connected, or that a Connected
	// server is rate-limited. Single line.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LiveSyncMessage string `json:"liveSyncMessage,omitempty"`
}

// OAuth2Status is the OAuth 2.0 state a person needs; it never holds a secret.
type OAuth2Status struct {
	// issuer is the authorization server's issuer identifier, as its metadata states it.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Issuer string `json:"issuer,omitempty"`

	// clientID is the OAuth client the operator authenticates as.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ClientID string `json:"clientID,omitempty"`

	// tokenExpiresAt is when the access token in use expires (absent when the authorization
	// server did not say). It is renewed before then.
	// +optional
	TokenExpiresAt *metav1.Time `json:"tokenExpiresAt,omitempty"`
}

// MCPServer is a remote Model Context Protocol server. The operator lists its
// tools and keeps one MCPTool per tool; deleting it waits while any tool is
// used by a workload, then cascades.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="MCPServer names are at most 63 characters: the name is the value of the mcp.toolregistry.io/server label on the server's MCPTools"
// +kubebuilder:resource:path=mcpservers,singular=mcpserver,shortName=mcps,categories=mcp,scope=Namespaced
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Tools",type=integer,JSONPath=`.status.toolCount`
// +kubebuilder:printcolumn:name="Consumers",type=integer,JSONPath=`.status.consumerCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MCPServer struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MCPServer.
	// +required
	Spec MCPServerSpec `json:"spec"`

	// status is the observed state of the MCPServer.
	// +optional
	// +kubebuilder:default={}
	Status MCPServerStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MCPServerList contains a list of MCPServer.
type MCPServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPServer `json:"items"`
}
