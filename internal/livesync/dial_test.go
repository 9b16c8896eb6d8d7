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

package livesync

import (
	"context"
	"errors"
	"testing"
	"time"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

func testEndpoint(s *mcpserver.Server, version string) mcp.Endpoint {
	ep := mcp.Endpoint{URL: s.URL(), Transport: mcpv1alpha1.TransportStreamableHTTP, Timeout: 5 * time.Second}
	if mcpserver.SSEOnly(version) {
		ep.URL, ep.Transport = s.SSEURL(), mcpv1alpha1.TransportSSE
	}
	return ep
}

// TestDialEveryVersion opens the stream each protocol version has (the standalone GET, the SSE
// stream, subscriptions/listen), sees a runtime tool change arrive as a notification, and sees
// the stream end when the server stops.
func TestDialEveryVersion(t *testing.T) {
	d := &dialer{egress: utils.LoopbackEgress(), version: "test", maxBytes: defaultMaxBytes}
	for _, version := range append([]string{""}, mcpserver.ProtocolVersions...) {
		name := version
		if name == "" {
			name = "negotiated"
		}
		t.Run(name, func(t *testing.T) {
			s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{
				Tools: mcpserver.GeneratedTools(2), ProtocolVersion: version, Stateful: true, Token: "secret",
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			ep := testEndpoint(s, version)

			bad := ep
			bad.BearerToken = "wrong"
			if _, err := d.dial(context.Background(), bad, func() {}); !errors.Is(err, ErrRefused) {
				t.Fatalf("dial with a wrong token = %v, want ErrRefused", err)
			}

			ep.BearerToken = "secret"
			notes := make(chan struct{}, 16)
			c, err := d.dial(context.Background(), ep, func() { notes <- struct{}{} })
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			s.Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(3) })
			select {
			case <-notes:
			case <-time.After(5 * time.Second):
				t.Fatal("no list_changed notification after a tool was added")
			}
			_ = s.Close()
			select {
			case <-c.Done():
				t.Logf("stream ended: %v", c.Err())
			case <-time.After(10 * time.Second):
				t.Fatal("the stream did not end when the server stopped")
			}
		})
	}
}

// A server that keeps no sessions (Streamable HTTP before 2026-07-28) answers the standalone GET
// with HTTP 405: it offers no stream, which is said, not retried.
func TestDialStatelessServer(t *testing.T) {
	d := &dialer{egress: utils.LoopbackEgress(), version: "test", maxBytes: defaultMaxBytes}
	s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1), ProtocolVersion: mcpserver.Protocol20251125})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	c, err := d.dial(context.Background(), testEndpoint(s, mcpserver.Protocol20251125), func() {})
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("dial = %v, want ErrUnsupported", err)
	}
	t.Log(err)
}
