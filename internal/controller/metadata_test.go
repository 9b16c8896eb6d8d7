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

package controller

import (
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

var _ = Describe("MCPServer metadata", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	DescribeTable("shows what the server says about itself, and its tools' icons and _meta, at every protocol version",
		func(version string) {
			upstream := startMCP(mcpserver.Config{
				Name: "meta", Version: "2.1.0", ProtocolVersion: version, TTLMs: 600_000,
				Title: "Meta\x1b[2J server", Description: "All about\nit.", WebsiteURL: "https://meta.example.com/docs",
				Icons: []sdk.Icon{
					{Source: "https://meta.example.com/icon.png", MIMEType: "image/png", Sizes: []string{"48x48", "any"}},
					{Source: "javascript:alert(1)"},
				},
				Instructions: "Search first.\nThen act.",
				Capabilities: &sdk.ServerCapabilities{Extensions: map[string]any{"io.modelcontextprotocol/ui": map[string]any{}}},
				Tools: []mcpserver.Tool{
					{Name: "echo", Icons: []sdk.Icon{{Source: "data:image/svg+xml;base64,PHN2Zy8+", Theme: sdk.IconThemeLight}},
						Meta: map[string]any{"ui/resourceUri": "ui://echo/app.html", "com.example/limits": map[string]any{"perMinute": 60}}},
					{Name: "plain"},
				},
			})
			url, transport := upstream.URL(), mcpv1alpha1.TransportStreamableHTTP
			if mcpserver.SSEOnly(version) {
				url, transport = upstream.SSEURL(), mcpv1alpha1.TransportSSE
			}
			createServer(namespace, "meta", url, func(spec *mcpv1alpha1.MCPServerSpec) {
				spec.Transport = transport
				spec.LiveSync = ptr.To(false)
			})

			server := expectReady(namespace, "meta")
			Expect(server.Status.ServerInfo).To(Equal(&mcpv1alpha1.ServerInfo{
				Name: "meta", Version: "2.1.0", ProtocolVersion: version,
				Title: "Meta server", Description: "All about it.", WebsiteURL: "https://meta.example.com/docs",
				Icons:        []mcpv1alpha1.Icon{{Src: "https://meta.example.com/icon.png", MIMEType: "image/png", Sizes: []string{"48x48", "any"}}},
				Instructions: "Search first.\nThen act.",
				Capabilities: &mcpv1alpha1.ServerCapabilities{
					Tools:      &mcpv1alpha1.FeatureCapability{ListChanged: true},
					Extensions: []string{"io.modelcontextprotocol/ui"},
				},
			}))
			Expect(server.Status.TTLMs).To(Equal(int64(600_000)))

			var tools []mcpv1alpha1.MCPTool
			Eventually(func(g Gomega) {
				tools = toolsOf(g, namespace, "meta")
				g.Expect(toolNamesOf(tools)).To(Equal([]string{"echo", "plain"}))
			}).Should(Succeed())
			Expect(tools[0].Spec.Icons).To(Equal([]mcpv1alpha1.Icon{{Src: "data:image/svg+xml;base64,PHN2Zy8+", Theme: "light"}}))
			Expect(string(tools[0].Spec.Meta.Raw)).To(Equal(`{"com.example/limits":{"perMinute":60},"ui/resourceUri":"ui://echo/app.html"}`))
			Expect(tools[1].Spec.Icons).To(BeNil())
			Expect(tools[1].Spec.Meta).To(BeNil())
			Expect(tools[0].Spec.Digest).NotTo(Equal(tools[1].Spec.Digest))
		},
		Entry("2024-11-05 (SSE)", mcpserver.Protocol20241105),
		Entry("2025-03-26", mcpserver.Protocol20250326),
		Entry("2025-06-18", mcpserver.Protocol20250618),
		Entry("2025-11-25 (serverInfo from initialize)", mcpserver.Protocol20251125),
		Entry("2026-07-28 (serverInfo from _meta)", mcpserver.Protocol20260728),
	)

	It("syncs again after a ttlMs shorter than syncInterval, never sooner than 10s", func() {
		// ttlMs 1s, syncInterval 1h: the next sync comes at the 10s floor, not after 1s, not after 1h.
		upstream := startMCP(mcpserver.Config{ProtocolVersion: mcpserver.Protocol20260728, TTLMs: 1000, Tools: mcpserver.GeneratedTools(1)})
		createServer(namespace, "ttl", upstream.URL(), func(spec *mcpv1alpha1.MCPServerSpec) {
			spec.SyncInterval = &metav1.Duration{Duration: time.Hour}
			spec.LiveSync = ptr.To(false)
		})
		server := expectReady(namespace, "ttl")
		synced := time.Now() // the first sync ended before now
		Expect(server.Status.TTLMs).To(Equal(int64(1000)))
		requests := upstream.Requests()

		Consistently(upstream.Requests, 8*time.Second, 200*time.Millisecond).Should(Equal(requests),
			"the server was contacted again before the 10s floor")
		Eventually(upstream.Requests, 10*time.Second, 100*time.Millisecond).Should(BeNumerically(">", requests),
			"the server was not contacted again after its ttlMs (floored at 10s)")
		Expect(time.Since(synced)).To(BeNumerically("<", 13*time.Second))
	})
})
