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

// Command mcp-test-server runs the repository's test MCP server (test/mcpserver) on loopback, for
// the README walkthrough: `make run` starts it so that config/samples works as is.
//
//	mcp-test-server --addr 127.0.0.1:8090 --token local-dev-token
//
// With --introspection-url it is an OAuth 2.0 protected resource instead: it checks every bearer
// token by RFC 7662 introspection and serves RFC 9728 protected resource metadata, e.g.
//
//	mcp-test-server --introspection-url http://127.0.0.1:8080/realms/mcp/protocol/openid-connect/token/introspect \
//	  --introspection-client-id mcp-test-server --introspection-client-secret s3cret \
//	  --authorization-server http://127.0.0.1:8080/realms/mcp --required-scope mcp:tools
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "loopback address to listen on")
	token := flag.String("token", "", "bearer token clients must present; empty: no authentication")
	tools := flag.String("tools", "sample", `"sample" for the GitHub-like tools config/samples expects, or a number of generated tools`)
	pageSize := flag.Int("page-size", 2, "items per tools/list and prompts/list page (small, to exercise pagination)")
	prompts := flag.Int("prompts", 2, "number of prompts offered")
	failure := flag.String("fail", "", `misbehave: "error" (HTTP 500) or "malformed" (garbage answers)`)
	delay := flag.Duration("delay", 0, "delay added before every answer")
	introspectionURL := flag.String("introspection-url", "", "RFC 7662 introspection endpoint; set: OAuth mode (--token must be empty)")
	clientID := flag.String("introspection-client-id", "", "client ID for introspection (client_secret_basic)")
	clientSecret := flag.String("introspection-client-secret", "", "client secret for introspection")
	var authServers listFlag
	flag.Var(&authServers, "authorization-server", "issuer URL listed in the protected resource metadata (repeatable or comma-separated)")
	requiredScope := flag.String("required-scope", "", "scope a token must carry; otherwise HTTP 403 insufficient_scope")
	metadataInHeader := flag.Bool("metadata-in-header", true, "name the metadata URL in the 401 WWW-Authenticate header (resource_metadata)")
	metadataPath := flag.String("metadata-path", mcpserver.MetadataAtPath, `where the protected resource metadata is served: "path" (/.well-known/oauth-protected-resource/mcp and .../sse), "root" or "both"`)
	flag.Parse()

	cfg := mcpserver.Config{
		Name: "mcp-test-server", Version: "1.0.0",
		Token: *token, PageSize: *pageSize, Prompts: *prompts,
		Failure: mcpserver.Failure(*failure), Delay: *delay,
	}
	switch cfg.Failure {
	case mcpserver.FailNone, mcpserver.FailError, mcpserver.FailMalformed:
	default:
		fmt.Fprintf(os.Stderr, "mcp-test-server: --fail %q: want error or malformed\n", *failure)
		os.Exit(2)
	}
	if *introspectionURL != "" {
		if *token != "" {
			fmt.Fprintln(os.Stderr, "mcp-test-server: --token and --introspection-url exclude each other")
			os.Exit(2)
		}
		switch *metadataPath {
		case mcpserver.MetadataAtPath, mcpserver.MetadataAtRoot, mcpserver.MetadataAtBoth:
		default:
			fmt.Fprintf(os.Stderr, "mcp-test-server: --metadata-path %q: want path, root or both\n", *metadataPath)
			os.Exit(2)
		}
		cfg.OAuth = &mcpserver.OAuth{
			IntrospectionURL: *introspectionURL, ClientID: *clientID, ClientSecret: *clientSecret,
			AuthorizationServers: authServers, RequiredScope: *requiredScope,
			MetadataInHeader: *metadataInHeader, MetadataPath: *metadataPath,
		}
	}
	if *tools == "sample" {
		cfg.Tools = mcpserver.SampleTools()
	} else if n, err := strconv.Atoi(*tools); err == nil && n >= 0 && n <= 100000 {
		cfg.Tools = mcpserver.GeneratedTools(n)
	} else {
		fmt.Fprintf(os.Stderr, "mcp-test-server: --tools %q: want sample or a number from 0 to 100000\n", *tools)
		os.Exit(2)
	}

	server, err := mcpserver.Start(*addr, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcp-test-server: %v\n", err)
		os.Exit(1)
	}
	auth := "none"
	if *token != "" {
		auth = "bearer token required"
	}
	if o := cfg.OAuth; o != nil {
		auth = fmt.Sprintf("OAuth (introspection at %s; authorization servers %v; required scope %q; metadata at %q, in header: %t)",
			o.IntrospectionURL, o.AuthorizationServers, o.RequiredScope, o.MetadataPath, o.MetadataInHeader)
	}
	fmt.Printf("MCP test server: %d tools; Streamable HTTP on %s, SSE on %s; authentication: %s\n",
		len(cfg.Tools), server.URL(), server.SSEURL(), auth)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	start := time.Now()
	_ = server.Close()
	fmt.Printf("MCP test server stopped in %s\n", time.Since(start).Round(time.Millisecond))
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}
