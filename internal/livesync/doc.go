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

// Package livesync keeps one notification stream open to each MCP server that advertises
// listChanged for tools or prompts, and tells the MCPServer controller "sync server X now" when
// the server says they changed: through a channel source that enqueues the server, and a change
// counter that makes its next pass contact the server. It does nothing else: the controller
// syncs, writes status and hands the manager the endpoint (with the credentials of the last
// successful sync).
//
// The stream is whatever the negotiated protocol version uses for server-to-client
// notifications: for Streamable HTTP up to 2025-11-25 a session with the standalone GET SSE
// stream, for the HTTP+SSE transport (2024-11-05) its SSE stream, for the stateless 2026-07-28
// a subscriptions/listen request whose response streams. Every connection goes through the
// operator's egress (endpoint policy, credentials only to the origin, per-host limits).
//
// Bounds: at most MaxStreams streams (0 turns live sync off); reconnects with jittered
// exponential backoff; notifications debounced (500 ms by default) and rate-limited (a burst of
// 10 syncs, then one per 30 s, said in status); every stream closes when its server is suspended,
// deleted or opts out, and all of them on shutdown and on leader loss (the Manager is a
// leader-election runnable of the controller-runtime manager).
package livesync
