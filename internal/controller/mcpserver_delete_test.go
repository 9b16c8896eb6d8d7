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
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

func deleteServer(namespace, name string) {
	Expect(k8sClient.Delete(ctx, &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}})).To(Succeed())
}

func expectServerGone(namespace, name string, within time.Duration) {
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &mcpv1alpha1.MCPServer{}))
	}).WithTimeout(within).Should(BeTrue(), "MCPServer %s/%s still exists", namespace, name)
}

// expectBlocked asserts the server is Terminating with DeletionBlocked naming the consumer, and
// keeps all its tools.
func expectBlocked(namespace, name, consumer string, tools int) {
	Eventually(func(g Gomega) {
		server := getServer(g, namespace, name)
		g.Expect(server.DeletionTimestamp).NotTo(BeNil())
		blocked := condition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
		g.Expect(blocked).NotTo(BeNil())
		g.Expect(blocked.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(blocked.Reason).To(Equal(mcpv1alpha1.ReasonToolsInUse))
		g.Expect(blocked.Message).To(ContainSubstring("Deployment " + namespace + "/" + consumer))
		g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	}).Should(Succeed())
	Consistently(func(g Gomega) int { return len(toolsOf(g, namespace, name)) }, time.Second).Should(Equal(tools))
	for _, t := range toolsOf(Default, namespace, name) {
		Expect(t.DeletionTimestamp).To(BeNil(), "nothing is removed while blocked")
	}
}

var _ = Describe("Deleting an MCPServer in use", func() {
	var (
		namespace string
		upstream  *mcpserver.Server
	)

	BeforeEach(func() {
		namespace = newNamespace()
		upstream = startMCP(mcpserver.Config{Tools: mcpserver.SampleTools()})
	})

	It("blocks while a tool is referenced, and completes within a second of the annotation going", func() {
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
		agent := newConsumer(namespace, "triage-agent", "github:create_issue")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).Should(Equal(int32(1)))

		deletions := metricValue(Default, "mcp_registry_server_deletion_duration_seconds")
		Expect(metricValue(Default, "mcp_registry_sync_duration_seconds")).To(BeNumerically(">", 0))
		Expect(metricValue(Default, "mcp_registry_tools")).To(BeNumerically(">=", 5))
		Expect(metricValue(Default, "mcp_registry_consumers")).To(BeNumerically(">=", 1))

		deleteServer(namespace, "github")
		expectBlocked(namespace, "github", "triage-agent", 5)
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "DeletionBlocked") }).
			Should(ConsistOf(ContainSubstring("Deletion waits for 1 consumer: Deployment " + namespace + "/triage-agent")))
		Expect(metricValue(Default, "mcp_registry_servers_deletion_blocked")).To(BeNumerically(">=", 1))

		setToolsAnnotation(agent, "slack")
		expectServerGone(namespace, "github", 3*time.Second)
		Eventually(func(g Gomega) float64 { return metricValue(g, "mcp_registry_server_deletion_duration_seconds") }).
			Should(BeNumerically(">", deletions))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "DeletionUnblocked") }).Should(HaveLen(1))
		Eventually(func(g Gomega) []mcpv1alpha1.MCPTool { return toolsOf(g, namespace, "github") }).Should(BeEmpty())
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "Deleted") }).Should(HaveLen(1))
	})

	It("never waits on a reference to a tool the server does not have", func() {
		// The reproduction: ten tools, a consumer of one of them blocks the delete; re-annotated to
		// a tool the server lacks, it gets a Warning and the delete completes at once.
		names := make([]mcpserver.Tool, 10)
		for i := range names {
			names[i] = mcpserver.Tool{Name: fmt.Sprintf("tool_%04d", i)}
		}
		ten := startMCP(mcpserver.Config{Tools: names})
		createServer(namespace, "r", ten.URL(), nil)
		expectReady(namespace, "r")
		agent := newConsumer(namespace, "agent", "r:tool_0003")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "r"); return c }).Should(Equal(int32(1)))

		// Before any delete: naming a missing tool takes the server out of use, naming an existing
		// one puts it back.
		setToolsAnnotation(agent, "r:tool_0014")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "r"); return c }).Should(Equal(int32(0)))
		setToolsAnnotation(agent, "r:tool_0003")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "r"); return c }).Should(Equal(int32(1)))

		deleteServer(namespace, "r")
		expectBlocked(namespace, "r", "agent", 10)

		setToolsAnnotation(agent, "r:tool_0014")
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "agent", "InvalidToolReference") }).
			Should(ContainElement(ContainSubstring(`MCPServer ` + namespace + `/r has no tool "tool_0014"`)))
		expectServerGone(namespace, "r", 3*time.Second)
		Eventually(func(g Gomega) []mcpv1alpha1.MCPTool { return toolsOf(g, namespace, "r") }).Should(BeEmpty())
	})

	It("counts a reference to a tool while it is Terminating, and lets go once it is gone", func() {
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
		// A foreign finalizer keeps create_issue Terminating after its own protection lets go.
		const hold = "test.toolregistry.io/hold"
		tool := &mcpv1alpha1.MCPTool{}
		key := client.ObjectKey{Namespace: namespace, Name: naming.ToolObjectName("github", "create_issue")}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, tool)).To(Succeed())
			tool.Finalizers = append(tool.Finalizers, hold)
			g.Expect(k8sClient.Update(ctx, tool)).To(Succeed())
		}).Should(Succeed())

		deleteServer(namespace, "github")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, tool)).To(Succeed())
			g.Expect(tool.DeletionTimestamp).NotTo(BeNil())
			g.Expect(tool.Finalizers).To(ConsistOf(hold))
		}).Should(Succeed())

		// The cascade has begun; a consumer now names the Terminating tool: the server waits on it.
		agent := newConsumer(namespace, "late-agent", "github:create_issue")
		expectBlockedBy := func(g Gomega) {
			server := getServer(g, namespace, "github")
			blocked := condition(server.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
			g.Expect(blocked).NotTo(BeNil())
			g.Expect(blocked.Message).To(ContainSubstring("Deployment " + namespace + "/late-agent"))
		}
		Eventually(expectBlockedBy).Should(Succeed())

		// The tool goes (here by hand, as when its protection let go a moment before the reference
		// arrived: the race a soak found). The reference now names nothing the server has, and the
		// delete completes although the consumer still carries it.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, tool)).To(Succeed())
			tool.Finalizers = nil
			g.Expect(k8sClient.Update(ctx, tool)).To(Succeed())
		}).Should(Succeed())
		expectServerGone(namespace, "github", 3*time.Second)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(agent), &appsv1.Deployment{})).To(Succeed())
	})

	It("unblocks when the consumer is deleted, and ignores other tenants' references", func() {
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
		other := newNamespace()
		newConsumer(other, "tenant-b", namespace+"/github")
		newConsumer(namespace, "agent", "github")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).Should(Equal(int32(1)))

		deleteServer(namespace, "github")
		expectBlocked(namespace, "github", "agent", 5)
		Expect(k8sClient.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "agent"}})).To(Succeed())
		expectServerGone(namespace, "github", 3*time.Second)
	})

	It("force-deletes a blocked server and warns every consumer it breaks", func() {
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
		newConsumer(namespace, "agent", "github:search_issues")
		Eventually(func(g Gomega) int32 { _, _, c := serverUsage(g, namespace, "github"); return c }).Should(Equal(int32(1)))
		deleteServer(namespace, "github")
		expectBlocked(namespace, "github", "agent", 5)

		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "github")
			server.Annotations = map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"}
			g.Expect(k8sClient.Update(ctx, server)).To(Succeed())
		}).Should(Succeed())
		expectServerGone(namespace, "github", 5*time.Second)
		Eventually(func(g Gomega) []mcpv1alpha1.MCPTool { return toolsOf(g, namespace, "github") }).Should(BeEmpty())
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "ForceDeleted") }).
			Should(ConsistOf(ContainSubstring("while in use by 1 consumer: Deployment " + namespace + "/agent")))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "agent", "MCPServerForceDeleted") }).Should(HaveLen(1))
	})

	It("holds an MCPTool deleted directly while it is used, then lets the server re-create it", func() {
		createServer(namespace, "github", upstream.URL(), nil)
		expectReady(namespace, "github")
		agent := newConsumer(namespace, "agent", "github:create_issue")
		toolKey := client.ObjectKey{Namespace: namespace, Name: naming.ToolObjectName("github", "create_issue")}
		Eventually(func(g Gomega) int32 { _, _, c := toolUsage(g, namespace, "github", "create_issue"); return c }).Should(Equal(int32(1)))
		original := &mcpv1alpha1.MCPTool{}
		Expect(k8sClient.Get(ctx, toolKey, original)).To(Succeed())

		Expect(k8sClient.Delete(ctx, original)).To(Succeed())
		Eventually(func(g Gomega) {
			tool := &mcpv1alpha1.MCPTool{}
			g.Expect(k8sClient.Get(ctx, toolKey, tool)).To(Succeed())
			g.Expect(tool.DeletionTimestamp).NotTo(BeNil())
			blocked := condition(tool.Status.Conditions, mcpv1alpha1.ConditionDeletionBlocked)
			g.Expect(blocked).NotTo(BeNil())
			g.Expect(blocked.Message).To(Equal("Used by 1 consumer: Deployment " + namespace + "/agent"))
		}).Should(Succeed())

		setToolsAnnotation(agent, "")
		Eventually(func(g Gomega) {
			tool := &mcpv1alpha1.MCPTool{}
			g.Expect(k8sClient.Get(ctx, toolKey, tool)).To(Succeed())
			g.Expect(tool.UID).NotTo(Equal(original.UID), "the server re-creates a tool it still offers")
			g.Expect(tool.DeletionTimestamp).To(BeNil())
		}).Should(Succeed())
	})

	It("deletes servers whose endpoint is dead or whose Secret is missing", func() {
		createServer(namespace, "dead", "http://127.0.0.1:1/mcp", nil)
		createServer(namespace, "secretless", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer, Bearer: &mcpv1alpha1.BearerAuth{
				SecretRef: mcpv1alpha1.SecretKeyReference{Name: "missing", Key: "token"}}}
		})
		Eventually(func(g Gomega) {
			g.Expect(getServer(g, namespace, "dead").Finalizers).To(ContainElement(mcpv1alpha1.ServerFinalizer))
			g.Expect(getServer(g, namespace, "secretless").Finalizers).To(ContainElement(mcpv1alpha1.ServerFinalizer))
		}).Should(Succeed())
		deleteServer(namespace, "dead")
		deleteServer(namespace, "secretless")
		expectServerGone(namespace, "dead", 5*time.Second)
		expectServerGone(namespace, "secretless", 5*time.Second)
	})
})

var _ = Describe("Owned Secrets and orphaning", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	ownedSecret := func(server *mcpv1alpha1.MCPServer, name string) *corev1.Secret {
		s := getServer(Default, server.Namespace, server.Name)
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: server.Namespace, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: mcpv1alpha1.GroupVersion.String(), Kind: "MCPServer", Name: s.Name, UID: s.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}}},
			StringData: map[string]string{"client_secret": "issued-by-the-server"},
		}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		return secret
	}

	It("deletes the Secrets the server owns, and never the bearer Secret the user owns", func() {
		upstream := startMCP(mcpserver.Config{Token: "t0ken", Tools: mcpserver.GeneratedTools(2)})
		user := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bearer", Namespace: namespace}, StringData: map[string]string{"token": "t0ken"}}
		Expect(k8sClient.Create(ctx, user)).To(Succeed())
		server := createServer(namespace, "private", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer, Bearer: &mcpv1alpha1.BearerAuth{
				SecretRef: mcpv1alpha1.SecretKeyReference{Name: "bearer", Key: "token"}}}
		})
		expectReady(namespace, "private")
		owned := ownedSecret(server, "private-oauth-client")

		deleteServer(namespace, "private")
		expectServerGone(namespace, "private", 5*time.Second)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(owned), &corev1.Secret{}))
		}).Should(BeTrue(), "the owned Secret is deleted")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(user), user)).To(Succeed(), "the user's Secret survives")
	})

	It("releases tools and owned Secrets with --cascade=orphan (the orphan finalizer)", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(3)})
		server := createServer(namespace, "kept", upstream.URL(), nil)
		expectReady(namespace, "kept")
		owned := ownedSecret(server, "kept-credentials")

		// What `kubectl delete --cascade=orphan` sends. envtest runs no garbage collector, so the
		// object stays with the "orphan" finalizer the collector would remove: assert what the
		// operator does, not what the collector does.
		Expect(k8sClient.Delete(ctx, getServer(Default, namespace, "kept"),
			client.PropagationPolicy(metav1.DeletePropagationOrphan))).To(Succeed())
		Eventually(func(g Gomega) {
			s := getServer(g, namespace, "kept")
			g.Expect(s.Finalizers).NotTo(ContainElement(mcpv1alpha1.ServerFinalizer))
			g.Expect(s.Finalizers).To(ContainElement(metav1.FinalizerOrphanDependents))
		}).Should(Succeed())
		tools := toolsOf(Default, namespace, "kept")
		Expect(tools).To(HaveLen(3))
		for _, t := range tools {
			Expect(t.OwnerReferences).To(BeEmpty())
			Expect(t.DeletionTimestamp).To(BeNil())
		}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(owned), owned)).To(Succeed())
		Expect(owned.OwnerReferences).To(BeEmpty())
	})
})
