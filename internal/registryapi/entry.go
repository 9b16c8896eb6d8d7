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

package registryapi

import (
	"net/url"
	"sort"
	"strings"
	"time"

	apiv0 "github.com/modelcontextprotocol/registry/pkg/api/v0"
	"github.com/modelcontextprotocol/registry/pkg/model"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// Bounds of the official server.json (pkg/api/v0.ServerJSON) and of the official _meta.
const (
	maxDescription   = 100
	maxVersion       = 255
	maxStatusMessage = 500
)

// FallbackVersion is an entry's version while its server has not reported one
// (status.serverInfo.version is empty: never synced, or the server sends none).
const FallbackVersion = "0.0.0"

// Response is one entry, as the API serves it: the official ServerResponse with our own _meta key
// beside the official one.
type Response struct {
	Server apiv0.ServerJSON `json:"server"`
	Meta   ResponseMeta     `json:"_meta"`
}

// ResponseMeta is the official response _meta and ours, under mcpv1alpha1.RegistryMetaKey.
type ResponseMeta struct {
	apiv0.ResponseMeta
	Registry *ObjectMeta `json:"io.toolregistry.mcp/registry,omitempty"`
}

// ListResponse is the official ServerList of our entries.
type ListResponse struct {
	Servers  []Response     `json:"servers"`
	Metadata apiv0.Metadata `json:"metadata"`
}

// ObjectMeta is our _meta of an entry: the MCPServer it comes from and its published tools.
type ObjectMeta struct {
	// Namespace and Name of the MCPServer.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Tools are the server's tools an agent may use, sorted by name: enabled, Ready and, where the
	// server pins tools, pinned and unchanged.
	Tools []Tool `json:"tools"`
}

// Tool is one published tool: its MCPTool's spec, without the schemas.
type Tool struct {
	Name        string                       `json:"name"`
	Alias       string                       `json:"alias,omitempty"`
	Title       string                       `json:"title,omitempty"`
	Description string                       `json:"description,omitempty"`
	Annotations *mcpv1alpha1.ToolAnnotations `json:"annotations,omitempty"`
	Digest      string                       `json:"digest,omitempty"`
}

// Published reports whether the server opted in to the registry.
func Published(server *mcpv1alpha1.MCPServer) bool {
	return server.Spec.Registry != nil && ptr.Deref(server.Spec.Registry.Publish, false)
}

// Name is the server's name on the registry: spec.registry.name, else
// <prefix>.<namespace>/<name>. A Kubernetes namespace is a DNS label and an MCPServer name at
// most 63 characters of a DNS subdomain, so the default matches the official pattern whenever
// the prefix does (the manager checks --registry-name-prefix) and fits in 200 characters.
func Name(prefix string, server *mcpv1alpha1.MCPServer) string {
	if server.Spec.Registry != nil && server.Spec.Registry.Name != "" {
		return server.Spec.Registry.Name
	}
	return prefix + "." + server.Namespace + "/" + server.Name
}

// Version is the entry's version: the one the server reported, else FallbackVersion.
func Version(server *mcpv1alpha1.MCPServer) string {
	if server.Status.ServerInfo != nil {
		if v := strings.TrimSpace(text.Sanitize(server.Status.ServerInfo.Version)); v != "" {
			return text.Truncate(v, maxVersion)
		}
	}
	return FallbackVersion
}

// NewResponse builds the entry of a published server from the server and its MCPTools (those
// labelled with its name, in its namespace; others are ignored).
func NewResponse(name string, server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) Response {
	reg := server.Spec.Registry
	if reg == nil {
		reg = &mcpv1alpha1.RegistrySpec{}
	}
	status, statusMessage, statusChangedAt := lifecycle(server)
	published := publishedTools(server, tools)
	updated := updatedAt(server, tools)
	if statusChangedAt.After(updated) {
		updated = statusChangedAt
	}
	return Response{
		Server: apiv0.ServerJSON{
			Schema:      model.CurrentSchemaURL,
			Name:        name,
			Description: description(server),
			Title:       reg.Title,
			Version:     Version(server),
			WebsiteURL:  reg.WebsiteURL,
			Icons:       icons(reg.Icons),
			Remotes:     []model.Transport{remote(server, reg.Headers)},
		},
		Meta: ResponseMeta{
			ResponseMeta: apiv0.ResponseMeta{Official: &apiv0.RegistryExtensions{
				Status:          status,
				StatusMessage:   statusMessage,
				StatusChangedAt: statusChangedAt,
				PublishedAt:     server.CreationTimestamp.UTC(),
				UpdatedAt:       updated,
				// The registry keeps one version per server: the current one.
				IsLatest: true,
			}},
			Registry: &ObjectMeta{Namespace: server.Namespace, Name: server.Name, Tools: published},
		},
	}
}

// description is spec.description on one line, cut to the official 100 characters (UTF-8-safely,
// "..." marking the cut), or, when empty, one naming the object.
func description(server *mcpv1alpha1.MCPServer) string {
	d := strings.TrimSpace(text.Sanitize(server.Spec.Description))
	if d == "" {
		d = "MCP server " + server.Namespace + "/" + server.Name
	}
	return text.Ellipsize(d, maxDescription)
}

// lifecycle is the entry's official status: deprecated, with the reason, while the server is
// Terminating or suspended; else active. statusChangedAt is the deletionTimestamp while
// Terminating, else when the Ready condition last changed (suspending and resuming change it),
// else the creation time.
func lifecycle(server *mcpv1alpha1.MCPServer) (model.Status, *string, time.Time) {
	ready := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady)
	changed := server.CreationTimestamp.Time
	if ready != nil && ready.LastTransitionTime.After(changed) {
		changed = ready.LastTransitionTime.Time
	}
	switch {
	case server.DeletionTimestamp != nil:
		msg := "The MCPServer is being deleted."
		if blocked := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked); blocked != nil &&
			blocked.Status == metav1.ConditionTrue {
			msg += " " + blocked.Message
		}
		return model.StatusDeprecated, ptr.To(text.ForMessage(msg, maxStatusMessage)), server.DeletionTimestamp.UTC()
	case ptr.Deref(server.Spec.Suspend, false):
		return model.StatusDeprecated, ptr.To("The MCPServer is suspended: the server is not synced and its tools are unavailable."), changed.UTC()
	}
	return model.StatusActive, nil, changed.UTC()
}

// remote is the server's endpoint: spec.url without user information (never published) and the
// transport, with the headers a client must send, declared without values.
func remote(server *mcpv1alpha1.MCPServer, headers []mcpv1alpha1.RegistryHeader) model.Transport {
	t := model.Transport{Type: model.TransportTypeStreamableHTTP, URL: server.Spec.URL}
	if server.Spec.Transport == mcpv1alpha1.TransportSSE {
		t.Type = model.TransportTypeSSE
	}
	if u, err := url.Parse(server.Spec.URL); err == nil && u.User != nil {
		u.User = nil
		t.URL = u.String()
	}
	for _, h := range headers {
		in := model.KeyValueInput{Name: h.Name}
		in.Description, in.IsRequired, in.IsSecret = h.Description, h.IsRequired, h.IsSecret
		t.Headers = append(t.Headers, in)
	}
	return t
}

func icons(in []mcpv1alpha1.RegistryIcon) []model.Icon {
	var out []model.Icon
	for _, i := range in {
		icon := model.Icon{Src: i.Src, Sizes: i.Sizes}
		if i.MIMEType != "" {
			icon.MimeType = ptr.To(string(i.MIMEType))
		}
		if i.Theme != "" {
			icon.Theme = ptr.To(string(i.Theme))
		}
		out = append(out, icon)
	}
	return out
}

// publishedTools are the server's tools an agent may use, sorted by name.
func publishedTools(server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) []Tool {
	out := []Tool{}
	for _, t := range tools {
		if !toolPublished(server, t) {
			continue
		}
		out = append(out, Tool{
			Name:        t.Spec.ToolName,
			Alias:       t.Spec.Alias,
			Title:       t.Spec.Title,
			Description: t.Spec.Description,
			Annotations: t.Spec.Annotations,
			Digest:      t.Spec.Digest,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// toolPublished reports whether a tool is advertised: it belongs to the server (controller
// reference), is selected by spec.tools, is enabled, not being deleted, Ready at its current
// generation, and, when pinned (or the server requires pins), holds exactly the pinned definition
// and the server still reports it.
func toolPublished(server *mcpv1alpha1.MCPServer, t *mcpv1alpha1.MCPTool) bool {
	if t.DeletionTimestamp != nil || !registry.OwnedBy(t, server) || !ptr.Deref(t.Spec.Enabled, true) ||
		!registry.Selected(server.Spec.Tools, t.Spec.ToolName) {
		return false
	}
	ready := meta.FindStatusCondition(t.Status.Conditions, mcpv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != t.Generation {
		return false
	}
	pin := registry.Pin(server, t.Spec.ToolName)
	if pin == "" {
		return server.Spec.Tools == nil || server.Spec.Tools.Pinning != mcpv1alpha1.PinningRequired
	}
	return t.Spec.Digest == pin && (t.Spec.DiscoveredDigest == "" || t.Spec.DiscoveredDigest == pin) &&
		(t.Status.Digest == "" || t.Status.Digest == pin)
}

// updatedAt is when the entry last changed, as far as the objects tell: the latest of the server's
// creation, its last spec or metadata write (managedFields outside the status subresource) and
// condition transitions, and the same for each of its tools. Status writes are left out: the
// operator writes lastSyncTime at every sync, which changes nothing a client sees.
func updatedAt(server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) time.Time {
	latest := objectTime(&server.ObjectMeta, server.Status.Conditions)
	for _, t := range tools {
		if registry.OwnedBy(t, server) {
			if tt := objectTime(&t.ObjectMeta, t.Status.Conditions); tt.After(latest) {
				latest = tt
			}
		}
	}
	return latest.UTC()
}

func objectTime(m *metav1.ObjectMeta, conditions []metav1.Condition) time.Time {
	latest := m.CreationTimestamp.Time
	for _, f := range m.ManagedFields {
		if f.Subresource == "" && f.Time != nil && f.Time.After(latest) {
			latest = f.Time.Time
		}
	}
	for _, c := range conditions {
		if c.LastTransitionTime.After(latest) {
			latest = c.LastTransitionTime.Time
		}
	}
	if m.DeletionTimestamp != nil && m.DeletionTimestamp.After(latest) {
		latest = m.DeletionTimestamp.Time
	}
	return latest
}
