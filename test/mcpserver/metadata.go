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
	"context"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// implementation is what the server reports about itself (serverInfo): in the initialize result,
// or, for 2026-07-28, in the _meta of server/discover and of every result.
func implementation(cfg Config, name, version string) *sdk.Implementation {
	return &sdk.Implementation{
		Name: name, Version: version, Title: cfg.Title, Description: cfg.Description,
		WebsiteURL: cfg.WebsiteURL, Icons: cfg.Icons,
	}
}

// serverOptions are the SDK server's options for cfg: page size, protocol versions, instructions,
// capabilities and the ttlMs of cacheable results.
func serverOptions(cfg Config) *sdk.ServerOptions {
	opts := &sdk.ServerOptions{
		PageSize: cfg.PageSize, SupportedProtocolVersions: supportedVersions(cfg),
		Instructions: cfg.Instructions, Capabilities: cfg.Capabilities,
	}
	if ttl := cfg.TTLMs; ttl > 0 {
		opts.SetCacheable = func(_ context.Context, _ sdk.Request, c *sdk.Cacheable) { c.TTLMs = ttl }
	}
	return opts
}
