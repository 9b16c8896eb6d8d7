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

package mcp

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// Bounds of what a server says about itself and of tool icons and _meta: those of the API types
// (ServerInfo, Icon, MCPToolSpec).
const (
	// MaxServerDescriptionBytes bounds serverInfo.description ("..." marks a cut).
	MaxServerDescriptionBytes = 1024
	// MaxInstructionsBytes bounds serverInfo.instructions ("..." marks a cut).
	MaxInstructionsBytes = 4096
	// MaxURLBytes bounds a websiteUrl and an https icon URL; a longer one is dropped, not cut.
	MaxURLBytes = 2048
	// MaxIconDataURLBytes bounds a data: icon URL; a longer one is dropped.
	MaxIconDataURLBytes = 8192
	// MaxIcons is the most icons kept per server or tool.
	MaxIcons = 8
	// MaxIconSizes is the most sizes kept per icon.
	MaxIconSizes = 8
	// MaxExtensions is the most extension names kept in serverInfo.capabilities.
	MaxExtensions = 32
	// MaxExtensionNameBytes bounds an extension name; a longer one is dropped.
	MaxExtensionNameBytes = 256
	// MaxMetaBytes bounds a tool's _meta (encoded); a larger one is omitted.
	MaxMetaBytes = 16 << 10
)

var (
	// mimeType is type/subtype (RFC 6838 restricted names), no parameters.
	mimeType = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$`)
	// iconSize is WIDTHxHEIGHT or any.
	iconSize = regexp.MustCompile(`^(any|[1-9][0-9]{0,4}x[1-9][0-9]{0,4})$`)
)

// serverInfo is what the server says about itself. impl is the initialize result's serverInfo
// or, for 2026-07-28, that of server/discover's _meta (the SDK reads it there); fallback is the
// serverInfo of the first tools/list result's _meta, used when impl is nil (a 2026-07-28 server
// that identifies itself only in results).
func serverInfo(init *sdk.InitializeResult, fallback *sdk.Implementation) (mcpv1alpha1.ServerInfo, []string) {
	var info mcpv1alpha1.ServerInfo
	if init == nil {
		return info, nil
	}
	info.ProtocolVersion = text.Truncate(text.Sanitize(init.ProtocolVersion), 64)
	info.Instructions = text.Ellipsize(text.SanitizeLines(init.Instructions), MaxInstructionsBytes)
	var notes []string
	caps, capNotes := capabilities(init.Capabilities)
	info.Capabilities = caps
	notes = append(notes, capNotes...)
	impl := init.ServerInfo
	if impl == nil {
		impl = fallback
	}
	if impl == nil {
		return info, notes
	}
	info.Name = text.Truncate(text.Sanitize(impl.Name), maxInfoBytes)
	info.Version = text.Truncate(text.Sanitize(impl.Version), maxInfoBytes)
	info.Title = text.Truncate(text.Sanitize(impl.Title), maxTitleBytes)
	info.Description = text.ForMessage(impl.Description, MaxServerDescriptionBytes)
	if impl.WebsiteURL != "" {
		if u, ok := webURL(impl.WebsiteURL, "http", "https"); ok {
			info.WebsiteURL = u
		} else {
			notes = append(notes, "serverInfo.websiteUrl dropped: not an http or https URL of at most 2048 bytes without credentials")
		}
	}
	icons, dropped := convertIcons(impl.Icons)
	info.Icons = icons
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("serverInfo: %d of %d icons dropped (at most %d are kept, each an https URL or a data:image/ URL)",
			dropped, len(impl.Icons), MaxIcons))
	}
	return info, notes
}

// metaServerInfo decodes the serverInfo a 2026-07-28 result carries in its _meta, or nil.
func metaServerInfo(meta sdk.Meta) *sdk.Implementation {
	v, ok := meta[sdk.MetaKeyServerInfo]
	if !ok {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var impl sdk.Implementation
	if json.Unmarshal(raw, &impl) != nil {
		return nil
	}
	return &impl
}

// capabilities keeps which of tools, prompts and resources the server declared, their
// listChanged, and the names of its extensions (valid ones, sorted, at most MaxExtensions).
func capabilities(c *sdk.ServerCapabilities) (*mcpv1alpha1.ServerCapabilities, []string) {
	if c == nil {
		return nil, nil
	}
	out := &mcpv1alpha1.ServerCapabilities{}
	if c.Tools != nil {
		out.Tools = &mcpv1alpha1.FeatureCapability{ListChanged: c.Tools.ListChanged}
	}
	if c.Prompts != nil {
		out.Prompts = &mcpv1alpha1.FeatureCapability{ListChanged: c.Prompts.ListChanged}
	}
	if c.Resources != nil {
		out.Resources = &mcpv1alpha1.FeatureCapability{ListChanged: c.Resources.ListChanged}
	}
	var names []string
	invalid := 0
	for name := range c.Extensions {
		if len(name) == 0 || len(name) > MaxExtensionNameBytes || !printableASCII(name) {
			invalid++
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var notes []string
	if invalid > 0 {
		notes = append(notes, fmt.Sprintf("serverInfo.capabilities: %d extension names dropped: not 1 to %d printable ASCII characters",
			invalid, MaxExtensionNameBytes))
	}
	if len(names) > MaxExtensions {
		notes = append(notes, fmt.Sprintf("serverInfo.capabilities: %d extensions, only the first %d by name kept", len(names), MaxExtensions))
		names = names[:MaxExtensions]
	}
	out.Extensions = names
	return out, notes
}

// convertIcons keeps the first MaxIcons valid icons (see iconSource), and returns how many of
// the others were dropped.
func convertIcons(in []sdk.Icon) (out []mcpv1alpha1.Icon, dropped int) {
	for _, ic := range in {
		src, ok := iconSource(ic.Source)
		if !ok || len(out) == MaxIcons {
			dropped++
			continue
		}
		icon := mcpv1alpha1.Icon{Src: src}
		if mimeType.MatchString(ic.MIMEType) {
			icon.MIMEType = ic.MIMEType
		}
		for _, size := range ic.Sizes {
			if len(icon.Sizes) < MaxIconSizes && iconSize.MatchString(size) {
				icon.Sizes = append(icon.Sizes, size)
			}
		}
		if ic.Theme == sdk.IconThemeLight || ic.Theme == sdk.IconThemeDark {
			icon.Theme = string(ic.Theme)
		}
		out = append(out, icon)
	}
	return out, dropped
}

// iconSource is the icon URL to keep: an https URL (a host, no credentials, at most MaxURLBytes)
// or a data:image/ URL (at most MaxIconDataURLBytes), printable ASCII without spaces; false for
// anything else (http, javascript:, file:, a data: URL of another type, ...). A client showing the
// icon then never fetches it in clear text nor from a scheme it does not expect.
func iconSource(src string) (string, bool) {
	const data = "data:image/"
	if len(src) >= len(data) && strings.EqualFold(src[:len(data)], data) {
		if len(src) > MaxIconDataURLBytes || len(src) == len(data) || !printableASCII(src) {
			return "", false
		}
		return data + src[len(data):], true
	}
	return webURL(src, "https")
}

// webURL is raw normalized when it is an absolute URL of one of the schemes, with a host and no
// credentials, at most MaxURLBytes of printable ASCII without spaces.
func webURL(raw string, schemes ...string) (string, bool) {
	if len(raw) > MaxURLBytes || !printableASCII(raw) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			out := u.String()
			return out, len(out) <= MaxURLBytes
		}
	}
	return "", false
}

// printableASCII reports whether s is only the bytes 0x21 to 0x7e.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// boundMeta encodes a tool's _meta deterministically (keys sorted at every depth), or omits it with
// a note when it is larger than MaxMetaBytes. An empty _meta is no _meta.
func boundMeta(tool string, meta sdk.Meta) (json.RawMessage, string) {
	if len(meta) == 0 {
		return nil, ""
	}
	raw, err := json.Marshal(map[string]any(meta))
	if err != nil {
		return nil, fmt.Sprintf("tool %q: _meta omitted: %v", tool, err)
	}
	if len(raw) > MaxMetaBytes {
		return nil, fmt.Sprintf("tool %q: _meta omitted: %d bytes, over the %d-byte limit", tool, len(raw), MaxMetaBytes)
	}
	return raw, ""
}

// minTTL is the shorter of two ttlMs hints, a non-positive one being no hint.
func minTTL(cur int64, ttl int) int64 {
	if ttl <= 0 {
		return cur
	}
	if cur == 0 || int64(ttl) < cur {
		return int64(ttl)
	}
	return cur
}
