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

// RegistryMetaKey is the key, in the _meta of every entry the manager serves on the MCP Registry
// API, of the object's namespace and name and of its published tools.
const RegistryMetaKey = "io.toolregistry.mcp/registry"

// IconMIMEType is one of the MIME types the MCP server.json schema allows for an icon.
// +kubebuilder:validation:Enum=image/png;image/jpeg;image/jpg;image/svg+xml;image/webp
type IconMIMEType string

// IconTheme says which background an icon is designed for.
// +kubebuilder:validation:Enum=light;dark
type IconTheme string

// RegistryIcon is an icon a client may show for the server (server.json icons[]).
type RegistryIcon struct {
	// src is the icon's https URL, at most 255 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''",message="src must be an absolute https:// URL"
	Src string `json:"src"`

	// mimeType overrides the MIME type the source reports: image/png, image/jpeg, image/jpg,
	// image/svg+xml or image/webp.
	// +optional
	MIMEType IconMIMEType `json:"mimeType,omitempty"`

	// sizes at which the icon can be used, each WxH (e.g. 48x48) or "any".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=16
	// +kubebuilder:validation:items:Pattern=`^(\d+x\d+|any)$`
	Sizes []string `json:"sizes,omitempty"`

	// theme is light (designed for a light background) or dark.
	// +optional
	Theme IconTheme `json:"theme,omitempty"`
}

// RegistryHeader declares an HTTP header a client must send to the server, such as Authorization.
// It never holds a value: the operator's own credentials (spec.auth) are never published.
type RegistryHeader struct {
	// name of the header, e.g. Authorization or X-API-Key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!#$%&\\'*+.^_`|~0-9A-Za-z-]+$')",message="name must be an HTTP header name: letters, digits and !#$%&'*+.^_`|~-"
	Name string `json:"name"`

	// description tells a person what to send, e.g. "Bearer token from https://example.com/tokens".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// isRequired says the client must send the header.
	// +optional
	IsRequired bool `json:"isRequired,omitempty"`

	// isSecret says the header's value is a secret (a token or key) that clients should store
	// securely.
	// +optional
	IsSecret bool `json:"isSecret,omitempty"`
}

// RegistrySpec publishes an MCPServer on the MCP Registry API the manager serves
// (--registry-bind-address). Every field maps to the MCP server.json of the entry.
type RegistrySpec struct {
	// publish, when true, lists the server on the MCP Registry API. Default false.
	// +optional
	// +kubebuilder:default=false
	Publish *bool `json:"publish,omitempty"`

	// name is the entry's server name in reverse-DNS form, one slash separating namespace and
	// name, e.g. com.example/github: 3 to 200 characters, [a-zA-Z0-9.-] before the slash,
	// [a-zA-Z0-9._-] after it (the official server.json pattern). Default:
	// <--registry-name-prefix>.<namespace>/<name> of this object. Names must be unique among
	// published servers: of two servers with one name, only the older is served.
	// +optional
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$')",message="name must be reverse-DNS with exactly one slash, e.g. com.example/github: letters, digits, '.' and '-' before the slash, and letters, digits, '.', '_' and '-' after it"
	Name string `json:"name,omitempty"`

	// title is a display name for the server, 1 to 100 characters.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Title string `json:"title,omitempty"`

	// websiteUrl is the server's homepage or documentation: an absolute http or https URL.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="websiteUrl must be an absolute http:// or https:// URL"
	WebsiteURL string `json:"websiteUrl,omitempty"`

	// icons a client may show for the server, at most 8.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Icons []RegistryIcon `json:"icons,omitempty"`

	// headers the client must send to the server (remotes[].headers), at most 16, names unique
	// regardless of case. Declarations only: a value is never published.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(h, self.filter(o, o.name.lowerAscii() == h.name.lowerAscii()).size() == 1)",message="header names must be unique, regardless of case"
	Headers []RegistryHeader `json:"headers,omitempty"`
}
