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

// Package naming derives MCPTool object names from a server name and an MCP tool name.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// toolNamePattern is MCP's tool-name rule: 1 to 128 letters, digits, '_', '-' and '.'. It also keeps
// every tool referable from the mcp.toolregistry.io/tools annotation, whose syntax uses ':', ',' and
// '/'.
var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ValidToolName reports whether name follows MCP's tool-name rule.
func ValidToolName(name string) bool { return toolNamePattern.MatchString(name) }

const (
	// maxNameLength is the limit of a DNS-1123 subdomain, which object names must be.
	maxNameLength = 253
	// hashLength hex characters (40 bits) of SHA-256 over the exact server and tool names.
	hashLength = 10
)

// ToolObjectName returns the MCPTool name for tool on server: `<server>-<readable tool>-<hash>`.
//
// It is a valid DNS-1123 subdomain for any valid server name, whatever characters the tool name
// holds; stable (a pure function of its inputs); and collision-free in practice: the hash covers
// the exact server and tool names, so `create_issue` and `create-issue`, or server `a-b` with tool
// `c` and server `a` with tool `b-c`, get different names. The readable part is for people only.
func ToolObjectName(server, tool string) string {
	sum := sha256.Sum256([]byte(server + "\x00" + tool))
	hash := hex.EncodeToString(sum[:])[:hashLength]

	readable := sanitize(tool)
	room := maxNameLength - len(server) - 2 - hashLength // two '-' separators
	if room <= 0 {
		return trimToSubdomain(server[:maxNameLength-1-hashLength]) + "-" + hash
	}
	if len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-")
	}
	if readable == "" {
		return server + "-" + hash
	}
	return server + "-" + readable + "-" + hash
}

// sanitize lowercases s and replaces every run of characters other than [a-z0-9] with one '-',
// trimming '-' at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// trimToSubdomain drops trailing characters that may not end a subdomain.
func trimToSubdomain(s string) string {
	return strings.TrimRight(s, "-.")
}
