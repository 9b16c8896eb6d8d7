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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// newConsumer creates a Deployment carrying the tools annotation (no pods run in envtest).
func newConsumer(namespace, name, tools string, finalizers ...string) *appsv1.Deployment {
	d := utils.ConsumerDeployment(namespace, name, tools)
	d.Finalizers = finalizers
	Expect(k8sClient.Create(ctx, d)).To(Succeed())
	return d
}

func setToolsAnnotation(d *appsv1.Deployment, value string) {
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		if value == "" {
			delete(d.Annotations, mcpv1alpha1.ToolsAnnotation)
		} else {
			d.Annotations[mcpv1alpha1.ToolsAnnotation] = value
		}
		g.Expect(k8sClient.Update(ctx, d)).To(Succeed())
	}).Should(Succeed())
}

// serverUsage returns the InUse condition's status and message and the consumer count of a server.
func serverUsage(g Gomega, namespace, name string) (metav1.ConditionStatus, string, int32) {
	server := getServer(g, namespace, name)
	c := condition(server.Status.Conditions, mcpv1alpha1.ConditionInUse)
	g.Expect(c).NotTo(BeNil())
	return c.Status, c.Message, server.Status.ConsumerCount
}

func toolUsage(g Gomega, namespace, server, tool string) (metav1.ConditionStatus, string, int32) {
	t := &mcpv1alpha1.MCPTool{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: naming.ToolObjectName(server, tool)}, t)).To(Succeed())
	c := condition(t.Status.Conditions, mcpv1alpha1.ConditionInUse)
	g.Expect(c).NotTo(BeNil())
	return c.Status, c.Message, t.Status.ConsumerCount
}

var _ = Describe("Consumers", func() {
	var (
		namespace string
		upstream  *mcpserver.Server
	)

	BeforeEach(func() {
		namespace = newNamespace()
		upstream = startMCP(mcpserver.Config{Tools: mcpserver.SampleTools()})
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
	})

	It("shows who uses a server and each tool, updated by watches, without contacting the MCP server", func() {
		Eventually(func(g Gomega) metav1.ConditionStatus { s, _, _ := serverUsage(g, namespace, "github"); return s }).
			Should(Equal(metav1.ConditionFalse))
		requests := upstream.Requests()

		agent := newConsumer(namespace, "triage-agent", "github:create_issue, github:search_issues")
		Eventually(func(g Gomega) {
			status, message, count := serverUsage(g, namespace, "github")
			g.Expect(status).To(Equal(metav1.ConditionTrue))
			g.Expect(message).To(Equal("Used by 1 consumer: Deployment " + namespace + "/triage-agent"))
			g.Expect(count).To(Equal(int32(1)))
			g.Expect(getServer(g, namespace, "github").Status.Consumers).To(Equal([]mcpv1alpha1.ConsumerReference{
				{APIVersion: "apps/v1", Kind: "Deployment", Namespace: namespace, Name: "triage-agent"}}))
			toolStatus, _, toolCount := toolUsage(g, namespace, "github", "create_issue")
			g.Expect(toolStatus).To(Equal(metav1.ConditionTrue))
			g.Expect(toolCount).To(Equal(int32(1)))
			otherStatus, _, _ := toolUsage(g, namespace, "github", "get_pull_request")
			g.Expect(otherStatus).To(Equal(metav1.ConditionFalse))
		}).WithTimeout(5 * time.Second).Should(Succeed())

		By("a whole-server reference uses every tool")
		newConsumer(namespace, "auditor", "github")
		Eventually(func(g Gomega) {
			status, message, count := toolUsage(g, namespace, "github", "get_pull_request")
			g.Expect(status).To(Equal(metav1.ConditionTrue))
			g.Expect(message).To(Equal("Used by 1 consumer: Deployment " + namespace + "/auditor"))
			g.Expect(count).To(Equal(int32(1)))
			_, serverMessage, serverCount := serverUsage(g, namespace, "github")
			g.Expect(serverCount).To(Equal(int32(2)))
			g.Expect(serverMessage).To(Equal("Used by 2 consumers: Deployment " + namespace + "/auditor, Deployment " + namespace + "/triage-agent"))
		}).WithTimeout(5 * time.Second).Should(Succeed())

		By("removing the annotation releases the tools at once")
		setToolsAnnotation(agent, "")
		Eventually(func(g Gomega) {
			status, _, _ := toolUsage(g, namespace, "github", "create_issue")
			g.Expect(status).To(Equal(metav1.ConditionTrue), "still used through auditor's whole-server reference")
			_, _, count := serverUsage(g, namespace, "github")
			g.Expect(count).To(Equal(int32(1)))
		}).WithTimeout(5 * time.Second).Should(Succeed())

		Expect(upstream.Requests()).To(Equal(requests), "consumer changes never contact the MCP server")
	})

	It("counts only namespaces the server allows, and ignores terminating consumers", func() {
		other := newNamespace()
		newConsumer(other, "tenant-b", namespace+"/github")
		newConsumer(namespace, "leaving", "github", "example.com/hold")

		Eventually(func(g Gomega) {
			_, message, count := serverUsage(g, namespace, "github")
			g.Expect(count).To(Equal(int32(1)), "only the same-namespace consumer counts by default")
			g.Expect(message).To(ContainSubstring("/leaving"))
		}).WithTimeout(5 * time.Second).Should(Succeed())

		By("a consumer being deleted no longer counts")
		leaving := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "leaving"}}
		Expect(k8sClient.Delete(ctx, leaving)).To(Succeed())
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).
			WithTimeout(5 * time.Second).Should(Equal(int32(0)))

		By("consumers.namespaces: All counts the other tenant")
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Consumers = &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesAll}
		})
		Eventually(func(g Gomega) string { _, m, _ := serverUsage(g, namespace, "github"); return m }).
			Should(Equal("Used by 1 consumer: Deployment " + other + "/tenant-b"))

		By("consumers.namespaces: Selector counts matching namespaces only")
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Consumers = &mcpv1alpha1.ConsumerPolicy{
				Namespaces:        mcpv1alpha1.ConsumerNamespacesSelector,
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": other}},
			}
		})
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).Should(Equal(int32(1)))
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Consumers.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "agents"}}
		})
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).Should(Equal(int32(0)))

		By("a namespace label change alone re-counts, on the server and on its tools")
		labelNamespace := func(value string) {
			Eventually(func(g Gomega) {
				ns := &corev1.Namespace{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: other}, ns)).To(Succeed())
				if value == "" {
					delete(ns.Labels, "team")
				} else {
					ns.Labels["team"] = value
				}
				g.Expect(k8sClient.Update(ctx, ns)).To(Succeed())
			}).Should(Succeed())
		}
		labelNamespace("agents")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).WithTimeout(5 * time.Second).Should(Equal(int32(1)))
		Eventually(func(g Gomega) int32 {
			var total int32
			for _, t := range toolsOf(g, namespace, "github") {
				total += t.Status.ConsumerCount
			}
			return total
		}).WithTimeout(5 * time.Second).Should(BeNumerically(">", 0))
		labelNamespace("")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).WithTimeout(5 * time.Second).Should(Equal(int32(0)))

		// Release the finalizer this test added, so the namespace can go.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(leaving), leaving)).To(Succeed())
			leaving.Finalizers = nil
			g.Expect(k8sClient.Update(ctx, leaving)).To(Succeed())
		}).Should(Succeed())
	})

	It("warns on the consumer about malformed, unknown and uncounted references, once per annotation value", func() {
		other := newNamespace()
		newConsumer(other, "confused", "Bad_Name, github:open_issue, nosuch, "+namespace+"/github, github:create_issue")
		Eventually(func(g Gomega) []string { return eventsFor(g, other, "confused", "InvalidToolReference") }).
			WithTimeout(5 * time.Second).Should(ConsistOf(And(
			ContainSubstring(`malformed reference "Bad_Name": "Bad_Name" is not a valid MCPServer name`),
			ContainSubstring(`"github:create_issue": MCPServer `+other+`/github does not exist`),
			ContainSubstring(`"nosuch": MCPServer `+other+`/nosuch does not exist`),
			ContainSubstring(`"`+namespace+`/github": MCPServer `+namespace+`/github does not count consumers from namespace `+other),
		)))

		valid := newConsumer(namespace, "correct", "github:create_issue")
		setToolsAnnotation(valid, "github:open_issue")
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "correct", "InvalidToolReference") }).
			WithTimeout(5 * time.Second).Should(ConsistOf(
			ContainSubstring(`"github:open_issue": MCPServer ` + namespace + `/github has no tool "open_issue" (tools are named by their MCP name, never by alias)`)))
		Consistently(func(g Gomega) []string { return eventsFor(g, namespace, "correct", "InvalidToolReference") }, 2*time.Second).
			Should(HaveLen(1), "a valid reference gets no warning, and an invalid one is warned about once")
	})
})
