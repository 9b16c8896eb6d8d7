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

package v1alpha1_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

var _ = Describe("MCPServer spec.registry admission", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	It("accepts a full publication and defaults publish to false", func() {
		obj := objectFromYAML(namespace, serverYAML(`url: https://mcp.example.com/mcp
registry:
  name: com.example/github_tools-1.x
  title: GitHub
  websiteUrl: https://docs.example.com/github
  icons:
  - {src: "https://example.com/icon.svg", mimeType: image/svg+xml, sizes: [any], theme: dark}
  - {src: "https://example.com/icon.png", sizes: [48x48, 96x96]}
  headers:
  - {name: Authorization, description: "Bearer token from https://example.com/tokens", isRequired: true, isSecret: true}
  - {name: X-Tenant}`))
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		got := &mcpv1alpha1.MCPServer{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		Expect(got.Spec.Registry.Publish).NotTo(BeNil())
		Expect(*got.Spec.Registry.Publish).To(BeFalse())
		Expect(got.Spec.Registry.Headers).To(HaveLen(2))
	})

	It("never stores a header value", func() {
		obj := objectFromYAML(namespace, serverYAML("url: https://mcp.example.com/mcp\nregistry: {headers: [{name: Authorization, value: 'Bearer secret'}]}"))
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		headers, _, _ := unstructured.NestedSlice(got.Object, "spec", "registry", "headers")
		Expect(headers).To(Equal([]any{map[string]any{"name": "Authorization"}}))
	})

	DescribeTable("rejects what the official server.json schema rejects",
		func(registry, fragment string) {
			obj := objectFromYAML(namespace, serverYAML("url: https://mcp.example.com/mcp\nregistry: "+registry))
			err := k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "the API server accepted registry %s", registry)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(fragment))
		},
		Entry("name without a slash", "{name: com.example.github}", "name must be reverse-DNS with exactly one slash"),
		Entry("name with two slashes", "{name: com.example/git/hub}", "name must be reverse-DNS with exactly one slash"),
		Entry("name with a space", "{name: 'com.example/git hub'}", "name must be reverse-DNS with exactly one slash"),
		Entry("name with '_' before the slash", "{name: com_example/github}", "name must be reverse-DNS with exactly one slash"),
		Entry("name too short", "{name: a/}", "should be at least 3 chars long"),
		Entry("name over 200 characters", "{name: com.example/"+strings.Repeat("x", 189)+"}", "may not be more than 200"),
		Entry("empty title", "{title: ''}", "should be at least 1 chars long"),
		Entry("title over 100 characters", "{title: "+strings.Repeat("t", 101)+"}", "may not be more than 100"),
		Entry("websiteUrl that is not a URL", "{websiteUrl: 'docs page'}", "websiteUrl must be an absolute http:// or https:// URL"),
		Entry("icon over http", "{icons: [{src: 'http://example.com/i.png'}]}", "src must be an absolute https:// URL"),
		Entry("icon src over 255 characters", "{icons: [{src: 'https://example.com/"+strings.Repeat("i", 240)+"'}]}", "may not be more than 255"),
		Entry("icon with an unknown MIME type", "{icons: [{src: 'https://example.com/i.gif', mimeType: image/gif}]}", `Unsupported value: "image/gif"`),
		Entry("icon size not WxH", "{icons: [{src: 'https://example.com/i.png', sizes: [large]}]}", "should match"),
		Entry("icon with an unknown theme", "{icons: [{src: 'https://example.com/i.png', theme: blue}]}", `Unsupported value: "blue"`),
		Entry("header name with a colon", "{headers: [{name: 'Authorization:'}]}", "name must be an HTTP header name"),
		Entry("two headers differing only in case", "{headers: [{name: Authorization}, {name: authorization}]}",
			"header names must be unique, regardless of case"),
	)
})
