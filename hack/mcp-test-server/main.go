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
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
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
	fmt.Printf("MCP test server: %d tools; Streamable HTTP on %s, SSE on %s; authentication: %s\n",
		len(cfg.Tools), server.URL(), server.SSEURL(), auth)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	start := time.Now()
	_ = server.Close()
	fmt.Printf("MCP test server stopped in %s\n", time.Since(start).Round(time.Millisecond))
}
