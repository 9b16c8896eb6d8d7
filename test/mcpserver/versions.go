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

package mcpserver

import (
	"fmt"
	"net/http"
	"slices"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The MCP protocol versions the operator syncs against, oldest first. Config.ProtocolVersion
// restricts the server to one of them.
const (
	// Protocol20241105 is spoken over HTTP+SSE only (/sse): Streamable HTTP came with 2025-03-26.
	Protocol20241105 = "2024-11-05"
	Protocol20250326 = "2025-03-26"
	Protocol20250618 = "2025-06-18"
	Protocol20251125 = "2025-11-25"
	// Protocol20260728 is stateless (SEP-2575): no initialize handshake, server/discover, the
	// version and serverInfo in every request's and result's _meta; Streamable HTTP only (/mcp).
	Protocol20260728 = "2026-07-28"
)

// ProtocolVersions are the versions Config.ProtocolVersion takes, oldest first.
var ProtocolVersions = []string{Protocol20241105, Protocol20250326, Protocol20250618, Protocol20251125, Protocol20260728}

// SSEOnly reports whether a server restricted to version serves HTTP+SSE (/sse) and not
// Streamable HTTP (/mcp); every later version is the other way round.
func SSEOnly(version string) bool { return version == Protocol20241105 }

// supportedVersions is what the SDK server is told to negotiate (ServerOptions.
// SupportedProtocolVersions): nil, every version the SDK supports, unless cfg.ProtocolVersion
// restricts it to one. The SDK then answers an initialize asking for another version with that
// one (the lifecycle spec: the server answers a version it supports, the client disconnects if
// it does not support it), or with 2025-11-25 when restricted to 2026-07-28 (so that a client
// of the handshake disconnects), refuses a request of the stateless protocol at another version
// with UnsupportedProtocolVersion (-32022) listing the one it supports, and refuses a
// Mcp-Protocol-Version header naming another handshake-era version with HTTP 400.
func supportedVersions(cfg Config) []string {
	if cfg.ProtocolVersion == "" {
		return nil
	}
	return []string{cfg.ProtocolVersion}
}

// refuseVersionTransport answers, and returns true, a request the server restricted to
// cfg.ProtocolVersion must not serve: the transport that version does not have (HTTP 404), or
// any request when the SDK does not support the version (HTTP 500 saying so, rather than a
// panic in sdk.NewServer).
func refuseVersionTransport(w http.ResponseWriter, r *http.Request, cfg Config) bool {
	v := cfg.ProtocolVersion
	if v == "" || !isEndpoint(r.URL.Path) {
		return false
	}
	if !slices.Contains(sdk.SupportedProtocolVersions(), v) {
		http.Error(w, fmt.Sprintf("protocol version %q is not supported by the MCP Go SDK, which supports %v",
			v, sdk.SupportedProtocolVersions()), http.StatusInternalServerError)
		return true
	}
	if (r.URL.Path == "/sse") != SSEOnly(v) {
		http.Error(w, fmt.Sprintf("this server speaks only MCP %s, not over this transport", v), http.StatusNotFound)
		return true
	}
	return false
}
