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
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// newNamespace creates a namespace of its own for one test and returns its name.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "api-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// objectFromYAML builds an unstructured object, so tests can send what a typed client cannot
// (unknown enum values, malformed durations, wrong types).
func objectFromYAML(namespace, manifest string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(manifest), &obj.Object)).To(Succeed())
	obj.SetNamespace(namespace)
	return obj
}

// serverYAML is an MCPServer named "s" with the given spec, indented as YAML under `spec:`.
func serverYAML(spec string) string {
	return "apiVersion: mcp.toolregistry.io/v1alpha1\nkind: MCPServer\nmetadata:\n  name: s\nspec:\n" +
		indent(strings.TrimSpace(spec), "  ")
}

// toolYAML is an MCPTool named "t" with the given spec.
func toolYAML(spec string) string {
	return "apiVersion: mcp.toolregistry.io/v1alpha1\nkind: MCPTool\nmetadata:\n  name: t\nspec:\n" +
		indent(strings.TrimSpace(spec), "  ")
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// loadManifests reads every YAML document in a file.
func loadManifests(path string) []*unstructured.Unstructured {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			Expect(err).NotTo(HaveOccurred())
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

var _ = Describe("MCPServer and MCPTool admission", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	It("accepts every sample in config/samples", func() {
		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		kinds := map[string]bool{}
		for _, file := range files {
			for _, obj := range loadManifests(file) {
				obj.SetNamespace(namespace)
				Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "sample %s (%s %s)", file, obj.GetKind(), obj.GetName())
				kinds[obj.GetKind()] = true
			}
		}
		Expect(kinds).To(HaveKey("MCPServer"))
		Expect(kinds).To(HaveKey("Secret"))
		Expect(kinds).To(HaveKey("Deployment"))

		By("the consumer sample references the server sample")
		deployment := &unstructured.Unstructured{}
		deployment.SetAPIVersion("apps/v1")
		deployment.SetKind("Deployment")
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "triage-agent"}, deployment)).To(Succeed())
		Expect(deployment.GetAnnotations()).To(HaveKeyWithValue(mcpv1alpha1.ToolsAnnotation, ContainSubstring("github:")))
	})

	It("serves the names, category, columns and status subresource kubectl users rely on", func() {
		type want struct {
			shortName string
			columns   []string
		}
		for crdName, w := range map[string]want{
			"mcpservers.mcp.toolregistry.io": {"mcps", []string{"URL", "Tools", "Consumers", "Ready", "Status", "Age"}},
			"mcptools.mcp.toolregistry.io":   {"mcpt", []string{"Server", "Tool", "Enabled", "Consumers", "Ready", "Age", "Digest"}},
		} {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: crdName}, crd)).To(Succeed())
			Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped), crdName)
			Expect(crd.Spec.Names.ShortNames).To(Equal([]string{w.shortName}), crdName)
			Expect(crd.Spec.Names.Categories).To(Equal([]string{"mcp"}), crdName)
			Expect(crd.Spec.Versions).To(HaveLen(1), crdName)
			version := crd.Spec.Versions[0]
			Expect(version.Name).To(Equal("v1alpha1"))
			Expect(version.Subresources).NotTo(BeNil(), crdName)
			Expect(version.Subresources.Status).NotTo(BeNil(), crdName)
			var columns []string
			for _, c := range version.AdditionalPrinterColumns {
				columns = append(columns, c.Name)
			}
			Expect(columns).To(Equal(w.columns), crdName)
		}
	})

	It("accepts each OAuth2 client kind", func() {
		for i, oauth2 := range []string{
			"{clientSecretRef: {name: client}, tokenEndpointAuthMethod: client_secret_post, scopes: [mcp:tools, \"read:issues\"], resource: \"https://mcp.example.com/mcp\"}",
			"{privateKeyRef: {name: key}, issuerURL: \"https://auth.example.com/tenants/a\"}",
			"{registration: Dynamic, initialAccessTokenRef: {name: iat, key: token}, issuerURL: \"http://127.0.0.1:9000\"}",
			"{registration: Dynamic, issuerURL: \"http://localhost:9000/\"}",
		} {
			obj := objectFromYAML(namespace, serverYAML("url: https://mcp.example.com/mcp\nauth: {type: OAuth2, oauth2: "+oauth2+"}"))
			obj.SetName(fmt.Sprintf("oauth2-%d", i))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), oauth2)
		}
	})

	It("applies the documented defaults, and a new object never reads as reconciled", func() {
		server := &mcpv1alpha1.MCPServer{
			ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: namespace},
			Spec: mcpv1alpha1.MCPServerSpec{
				URL:       "https://mcp.example.com/mcp",
				Auth:      &mcpv1alpha1.MCPServerAuth{},
				Consumers: &mcpv1alpha1.ConsumerPolicy{},
			},
		}
		Expect(k8sClient.Create(ctx, server)).To(Succeed())

		got := &mcpv1alpha1.MCPServer{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(server), got)).To(Succeed())
		Expect(got.Spec.Transport).To(Equal(mcpv1alpha1.TransportStreamableHTTP))
		Expect(got.Spec.SyncInterval.Duration).To(Equal(5 * time.Minute))
		Expect(got.Spec.Timeout.Duration).To(Equal(30 * time.Second))
		Expect(got.Spec.DeletionPolicy).To(Equal(mcpv1alpha1.DeletionPolicyDelete))
		Expect(got.Spec.Auth.Type).To(Equal(mcpv1alpha1.AuthNone))
		Expect(got.Spec.Consumers.Namespaces).To(Equal(mcpv1alpha1.ConsumerNamespacesSame))
		Expect(got.Status.ObservedGeneration).To(Equal(int64(-1)))

		tool := &mcpv1alpha1.MCPTool{
			ObjectMeta: metav1.ObjectMeta{Name: "defaults-echo", Namespace: namespace},
			Spec: mcpv1alpha1.MCPToolSpec{
				ServerRef: mcpv1alpha1.ServerReference{Name: "defaults"},
				ToolName:  "echo",
			},
		}
		Expect(k8sClient.Create(ctx, tool)).To(Succeed())
		gotTool := &mcpv1alpha1.MCPTool{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tool), gotTool)).To(Succeed())
		Expect(gotTool.Spec.Enabled).To(Equal(ptr.To(true)))
		Expect(gotTool.Status.ObservedGeneration).To(Equal(int64(-1)))
	})

	It("keeps arbitrary JSON schemas on MCPTools intact", func() {
		tool := objectFromYAML(namespace, toolYAML(`
serverRef: {name: s}
toolName: "search.issues/v2"
inputSchema:
  type: object
  properties:
    query: {type: string, minLength: 1}
    labels: {type: array, items: {type: string}}
  required: [query]
  additionalProperties: false
outputSchema:
  type: object
  properties: {total: {type: integer}}
annotations: {readOnlyHint: true, openWorldHint: false}
`))
		Expect(k8sClient.Create(ctx, tool)).To(Succeed())
		got := &mcpv1alpha1.MCPTool{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "t"}, got)).To(Succeed())
		Expect(string(got.Spec.InputSchema.Raw)).To(And(
			ContainSubstring(`"additionalProperties":false`),
			ContainSubstring(`"minLength":1`),
			ContainSubstring(`"required":["query"]`)))
		Expect(string(got.Spec.OutputSchema.Raw)).To(ContainSubstring(`"total":{"type":"integer"}`))
		Expect(got.Spec.Annotations.ReadOnlyHint).To(Equal(ptr.To(true)))
	})

	DescribeTable("rejects bad input with a message a person understands",
		func(manifest func() string, fragment string) {
			obj := objectFromYAML(namespace, manifest())
			err := k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "the API server accepted %s", manifest())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(fragment))
		},
		Entry("url missing", spec(`transport: SSE`),
			"spec.url: Required value"),
		Entry("url with a scheme other than http(s)", spec(`url: ftp://mcp.example.com/mcp`),
			"url must be an absolute http:// or https:// URL with a host"),
		Entry("url that is not a URL", spec(`url: mcp server on port 80`),
			"url must be an absolute http:// or https:// URL with a host"),
		Entry("url without a host", spec(`url: "https:///mcp"`),
			"url must be an absolute http:// or https:// URL with a host"),
		Entry("unknown transport", spec("url: https://mcp.example.com\ntransport: WebSocket"),
			`spec.transport: Unsupported value: "WebSocket": supported values: "StreamableHTTP", "SSE"`),
		Entry("unknown auth type", spec("url: https://mcp.example.com\nauth: {type: Basic}"),
			`spec.auth.type: Unsupported value: "Basic": supported values: "None", "Bearer", "OAuth2"`),
		Entry("OAuth2 without oauth2", spec("url: https://mcp.example.com\nauth: {type: OAuth2}"),
			"auth.oauth2 is required when auth.type is OAuth2"),
		Entry("oauth2 without type OAuth2",
			spec("url: https://mcp.example.com\nauth: {oauth2: {registration: Dynamic}}"),
			"auth.oauth2 may only be set when auth.type is OAuth2"),
		Entry("OAuth2 without a client source", spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {scopes: [mcp]}}"),
			"set exactly one client source"),
		Entry("OAuth2 with two client sources",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, clientSecretRef: {name: c}}}"),
			"set exactly one client source"),
		Entry("tokenEndpointAuthMethod without clientSecretRef",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {privateKeyRef: {name: k}, tokenEndpointAuthMethod: client_secret_post}}"),
			"tokenEndpointAuthMethod applies only to clientSecretRef"),
		Entry("unknown tokenEndpointAuthMethod",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {clientSecretRef: {name: c}, tokenEndpointAuthMethod: private_key_jwt}}"),
			`Unsupported value: "private_key_jwt"`),
		Entry("initialAccessTokenRef without dynamic registration",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {clientSecretRef: {name: c}, initialAccessTokenRef: {name: iat, key: token}}}"),
			"initialAccessTokenRef applies only to registration: Dynamic"),
		Entry("unknown registration", spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Static}}"),
			`Unsupported value: "Static": supported values: "Dynamic"`),
		Entry("plain http issuer on another host",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, issuerURL: http://auth.example.com}}"),
			"issuerURL must be an absolute https:// URL (http:// only for a loopback host)"),
		Entry("issuer that is not a URL",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, issuerURL: auth server}}"),
			"issuerURL must be an absolute https:// URL"),
		Entry("issuer with a query",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, issuerURL: \"https://auth.example.com/?tenant=a\"}}"),
			"issuerURL must not have a query or fragment"),
		Entry("scope with a space",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, scopes: [\"read write\"]}}"),
			"a scope is printable ASCII without spaces"),
		Entry("too many scopes",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, scopes: [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s20, s21, s22, s23, s24, s25, s26, s27, s28, s29, s30, s31, s32]}}"),
			"must have at most 32 items"),
		Entry("resource with a fragment",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {registration: Dynamic, resource: \"https://mcp.example.com/mcp#x\"}}"),
			"resource must be an absolute URI without a fragment"),
		Entry("client Secret name that is not a valid name",
			spec("url: https://mcp.example.com\nauth: {type: OAuth2, oauth2: {clientSecretRef: {name: My_Client}}}"),
			"must be a valid Secret name"),
		Entry("Bearer without bearer", spec("url: https://mcp.example.com\nauth: {type: Bearer}"),
			"auth.bearer is required when auth.type is Bearer"),
		Entry("bearer without type Bearer",
			spec("url: https://mcp.example.com\nauth: {bearer: {secretRef: {name: tok, key: token}}}"),
			"auth.bearer may only be set when auth.type is Bearer"),
		Entry("Secret name that is not a valid name",
			spec("url: https://mcp.example.com\nauth: {type: Bearer, bearer: {secretRef: {name: My_Token, key: token}}}"),
			"must be a valid Secret name"),
		Entry("Secret key missing",
			spec("url: https://mcp.example.com\nauth: {type: Bearer, bearer: {secretRef: {name: tok}}}"),
			"spec.auth.bearer.secretRef.key: Required value"),
		Entry("syncInterval under 10s", spec("url: https://mcp.example.com\nsyncInterval: 5s"),
			"syncInterval must be between 10s and 24h"),
		Entry("syncInterval over 24h", spec("url: https://mcp.example.com\nsyncInterval: 48h"),
			"syncInterval must be between 10s and 24h"),
		Entry("syncInterval that is not a duration", spec("url: https://mcp.example.com\nsyncInterval: hourly"),
			"syncInterval must be a duration such as 30s, 5m or 1h"),
		Entry("timeout over 5m", spec("url: https://mcp.example.com\ntimeout: 10m\nsyncInterval: 1h"),
			"timeout must be between 1s and 5m"),
		Entry("timeout longer than syncInterval", spec("url: https://mcp.example.com\ntimeout: 1m\nsyncInterval: 30s"),
			"timeout must not exceed syncInterval"),
		Entry("tls on an http URL", spec("url: http://mcp.example.com\ntls: {insecureSkipVerify: true}"),
			"tls may only be set for https URLs"),
		Entry("CA bundle and skipped verification together",
			spec("url: https://mcp.example.com\ntls: {insecureSkipVerify: true, caSecretRef: {name: ca, key: ca.crt}}"),
			"set either tls.caSecretRef or tls.insecureSkipVerify, not both"),
		Entry("unknown deletionPolicy", spec("url: https://mcp.example.com\ndeletionPolicy: Retain"),
			`spec.deletionPolicy: Unsupported value: "Retain": supported values: "Delete", "Orphan"`),
		Entry("Selector without namespaceSelector", spec("url: https://mcp.example.com\nconsumers: {namespaces: Selector}"),
			"consumers.namespaceSelector is required when consumers.namespaces is Selector"),
		Entry("namespaceSelector without Selector",
			spec("url: https://mcp.example.com\nconsumers: {namespaceSelector: {matchLabels: {team: a}}}"),
			"consumers.namespaceSelector may only be set when consumers.namespaces is Selector"),
		Entry("unknown consumer namespace mode", spec("url: https://mcp.example.com\nconsumers: {namespaces: Cluster}"),
			`spec.consumers.namespaces: Unsupported value: "Cluster"`),
		Entry("override that changes nothing", spec("url: https://mcp.example.com\ntools: {overrides: [{name: echo}]}"),
			"an override must set at least one of alias, description, enabled or digest"),
		Entry("digest not in the sha256 form", spec("url: https://mcp.example.com\ntools: {overrides: [{name: echo, digest: 'md5:abc'}]}"),
			"digest must be sha256: followed by 64 lowercase hex digits"),
		Entry("digest in upper case", spec("url: https://mcp.example.com\ntools: {overrides: [{name: echo, digest: 'sha256:"+strings.Repeat("AB", 32)+"'}]}"),
			"digest must be sha256: followed by 64 lowercase hex digits"),
		Entry("unknown pinning policy", spec("url: https://mcp.example.com\ntools: {pinning: Always}"),
			`spec.tools.pinning: Unsupported value: "Always": supported values: "Optional", "Required"`),
		Entry("two overrides for one tool",
			spec("url: https://mcp.example.com\ntools: {overrides: [{name: echo, enabled: false}, {name: echo, alias: e}]}"),
			"Duplicate value"),
		Entry("two overrides with one alias",
			spec("url: https://mcp.example.com\ntools: {overrides: [{name: a, alias: x}, {name: b, alias: x}]}"),
			"each alias may be used by only one override"),
		Entry("alias with characters MCP tool names cannot have",
			spec("url: https://mcp.example.com\ntools: {overrides: [{name: echo, alias: 'say hello'}]}"),
			"alias may contain only letters, digits, '_', '-' and '.'"),
		Entry("description over 1024 characters",
			func() string {
				return serverYAML("url: https://mcp.example.com\ndescription: " + strings.Repeat("x", 1025))
			},
			"spec.description: Too long: may not be more than 1024"),
		Entry("more than 64 include patterns",
			func() string {
				return serverYAML("url: https://mcp.example.com\ntools: {include: [" + patterns(65) + "]}")
			},
			"spec.tools.include: Too many: 65: must have at most 64 items"),
		Entry("empty include pattern", spec("url: https://mcp.example.com\ntools: {include: ['']}"),
			"spec.tools.include[0]: Invalid value: \"\": spec.tools.include[0] in body should be at least 1 chars long"),
		Entry("suspend that is not a boolean", spec("url: https://mcp.example.com\nsuspend: \"yes\""),
			`spec.suspend: Invalid value: "string": spec.suspend in body must be of type boolean`),
		Entry("server name too long for the server label",
			func() string {
				return strings.Replace(serverYAML("url: https://mcp.example.com"), "name: s", "name: "+strings.Repeat("s", 64), 1)
			},
			"MCPServer names are at most 63 characters"),
		Entry("MCPTool without serverRef", func() string { return toolYAML("toolName: echo") },
			"spec.serverRef: Required value"),
		Entry("MCPTool with an empty toolName", func() string { return toolYAML("serverRef: {name: s}\ntoolName: ''") },
			"spec.toolName: Invalid value: \"\": spec.toolName in body should be at least 1 chars long"),
		Entry("MCPTool icon over plain http", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [{src: 'http://example.com/i.png'}]")
		}, "src must be an https URL of at most 2048 bytes or a data:image/ URL"),
		Entry("MCPTool icon as a data: URL of another type", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [{src: 'data:text/html,<script>'}]")
		}, "src must be an https URL of at most 2048 bytes or a data:image/ URL"),
		Entry("MCPTool icon https URL over 2048 bytes", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [{src: 'https://example.com/" + strings.Repeat("a", 2048) + "'}]")
		}, "src must be an https URL of at most 2048 bytes or a data:image/ URL"),
		Entry("MCPTool icon data: URL over 8192 bytes", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [{src: 'data:image/png;base64," + strings.Repeat("A", 8192) + "'}]")
		}, "spec.icons[0].src: Too long: may not be more than 8192 bytes"),
		Entry("MCPTool with 9 icons", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [" + strings.Repeat("{src: 'https://example.com/i.png'}, ", 8) + "{src: 'https://example.com/i.png'}]")
		}, "spec.icons: Too many: 9: must have at most 8 items"),
		Entry("MCPTool icon theme", func() string {
			return toolYAML("serverRef: {name: s}\ntoolName: echo\nicons: [{src: 'https://example.com/i.png', theme: blue}]")
		}, `spec.icons[0].theme: Unsupported value: "blue": supported values: "light", "dark"`),
	)

	It("keeps an MCPTool's icons and arbitrary _meta intact", func() {
		tool := objectFromYAML(namespace, toolYAML(`
serverRef: {name: s}
toolName: echo
icons:
- {src: 'https://example.com/echo.png', mimeType: image/png, sizes: [48x48, any], theme: dark}
- {src: 'data:image/svg+xml;base64,PHN2Zy8+'}
_meta:
  ui/resourceUri: ui://echo/app.html
  com.example/limits: {perMinute: 60, tags: [a, b]}
`))
		Expect(k8sClient.Create(ctx, tool)).To(Succeed())
		got := &mcpv1alpha1.MCPTool{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "t"}, got)).To(Succeed())
		Expect(got.Spec.Icons).To(Equal([]mcpv1alpha1.Icon{
			{Src: "https://example.com/echo.png", MIMEType: "image/png", Sizes: []string{"48x48", "any"}, Theme: "dark"},
			{Src: "data:image/svg+xml;base64,PHN2Zy8+"},
		}))
		Expect(string(got.Spec.Meta.Raw)).To(Equal(`{"com.example/limits":{"perMinute":60,"tags":["a","b"]},"ui/resourceUri":"ui://echo/app.html"}`))
	})

	It("rejects changing an MCPTool's identity", func() {
		tool := objectFromYAML(namespace, toolYAML("serverRef: {name: s}\ntoolName: echo"))
		Expect(k8sClient.Create(ctx, tool)).To(Succeed())

		Expect(unstructured.SetNestedField(tool.Object, "echo2", "spec", "toolName")).To(Succeed())
		Expect(unstructured.SetNestedField(tool.Object, "other", "spec", "serverRef", "name")).To(Succeed())
		err := k8sClient.Update(ctx, tool)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(And(ContainSubstring("toolName is immutable"), ContainSubstring("serverRef is immutable")))
	})
})

// spec returns a manifest builder for an MCPServer with the given spec.
func spec(s string) func() string {
	return func() string { return serverYAML(s) }
}

// patterns returns n distinct, quoted glob patterns separated by commas.
func patterns(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("'tool_%d_*'", i)
	}
	return strings.Join(items, ", ")
}
