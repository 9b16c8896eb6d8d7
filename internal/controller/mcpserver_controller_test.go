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
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

var _ = Describe("MCPServer sync", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	It("materialises every tool over several pages, with owner, label, finalizer and spec, and counts prompts", func() {
		upstream := startMCP(mcpserver.Config{
			Name: "paged", Version: "1.2.3", Tools: mcpserver.GeneratedTools(25), Prompts: 6, PageSize: 4,
		})
		created := createServer(namespace, "paged", upstream.URL(), nil)

		server := expectReady(namespace, "paged")
		Expect(server.Status.ToolCount).To(Equal(int32(25)))
		Expect(server.Status.PromptCount).To(Equal(int32(6)))
		Expect(server.Status.ServerInfo).NotTo(BeNil())
		Expect(server.Status.ServerInfo.Name).To(Equal("paged"))
		Expect(server.Status.ServerInfo.Version).To(Equal("1.2.3"))
		Expect(server.Status.ServerInfo.ProtocolVersion).NotTo(BeEmpty())
		Expect(server.Status.LastSyncTime).NotTo(BeNil())
		Expect(server.Status.LastSuccessfulSyncTime).NotTo(BeNil())
		Expect(server.Status.LastSyncError).To(BeEmpty())
		Expect(server.Finalizers).To(ContainElement(mcpv1alpha1.ServerFinalizer))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Message).To(Equal("Synced 25 tools"))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReconciling)).To(BeNil())
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionStalled)).To(BeNil())
		Expect(kstatusOf(server)).To(Equal(status.CurrentStatus))

		tools := toolsOf(Default, namespace, "paged")
		Expect(tools).To(HaveLen(25))
		for _, tool := range tools {
			Expect(tool.Name).To(Equal(naming.ToolObjectName("paged", tool.Spec.ToolName)))
			Expect(tool.Spec.ServerRef.Name).To(Equal("paged"))
			Expect(tool.Finalizers).To(ContainElement(mcpv1alpha1.ToolFinalizer))
			owner := metav1.GetControllerOf(&tool)
			Expect(owner).NotTo(BeNil())
			Expect(owner.UID).To(Equal(created.UID))
			Expect(owner.BlockOwnerDeletion).To(Equal(ptr.To(true)))
			Expect(tool.Spec.Enabled).To(Equal(ptr.To(true)))
			Expect(string(tool.Spec.InputSchema.Raw)).To(ContainSubstring(`"type":"object"`))
		}
		Expect(tools[7].Spec.ToolName).To(Equal("tool-007"))
		Expect(tools[7].Spec.Description).To(Equal("Generated tool number 7."))

		By("every tool reports Ready")
		Eventually(func(g Gomega) {
			for _, tool := range toolsOf(g, namespace, "paged") {
				ready := condition(tool.Status.Conditions, mcpv1alpha1.ConditionReady)
				g.Expect(ready).NotTo(BeNil())
				g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "%s: %s", tool.Name, ready.Message)
			}
		}).Should(Succeed())

		By("one ToolsAdded event says what was added")
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "paged", "ToolsAdded") }).
			Should(ConsistOf(HavePrefix("Added 25 tools: tool-000, tool-001")))
	})

	It("follows the upstream as tools are added, removed and renamed", func() {
		upstream := startMCP(mcpserver.Config{Tools: []mcpserver.Tool{{Name: "a"}, {Name: "b"}, {Name: "c"}}})
		createServer(namespace, "follow", upstream.URL(), nil)
		expectReady(namespace, "follow")
		kept := toolsOf(Default, namespace, "follow")[0]

		upstream.Update(func(c *mcpserver.Config) {
			c.Tools = []mcpserver.Tool{{Name: "a"}, {Name: "c-renamed"}, {Name: "d"}}
		})
		// A spec change syncs at once; the resync would also get there within syncInterval.
		updateServer(namespace, "follow", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "poke" })

		Eventually(func(g Gomega) []string { return toolNamesOf(toolsOf(g, namespace, "follow")) }).
			Should(Equal([]string{"a", "c-renamed", "d"}))
		Expect(toolsOf(Default, namespace, "follow")[0].UID).To(Equal(kept.UID), "an unchanged tool is never recreated")
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "follow", "ToolsRemoved") }).
			Should(ContainElement("Removed 2 tools no longer offered or selected: b, c"))
	})

	It("applies include, exclude and overrides, and reverts hand edits", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.SampleTools()})
		createServer(namespace, "github", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Tools = &mcpv1alpha1.ToolsSpec{
				Exclude: []string{"delete_*"},
				Overrides: []mcpv1alpha1.ToolOverride{
					{Name: "create_issue", Alias: ptr.To("open_issue"), Description: ptr.To("Open an issue.")},
					{Name: "merge_pull_request", Enabled: ptr.To(false)},
				},
			}
		})
		expectReady(namespace, "github")
		Expect(toolNamesOf(toolsOf(Default, namespace, "github"))).To(Equal(
			[]string{"create_issue", "get_pull_request", "merge_pull_request", "search_issues"}))

		tools := toolsOf(Default, namespace, "github")
		Expect(tools[0].Spec.Alias).To(Equal("open_issue"))
		Expect(tools[0].Spec.Description).To(Equal("Open an issue."))
		Expect(tools[3].Spec.Annotations.ReadOnlyHint).To(Equal(ptr.To(true)))
		Eventually(func(g Gomega) {
			merge := &mcpv1alpha1.MCPTool{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: naming.ToolObjectName("github", "merge_pull_request")}, merge)).To(Succeed())
			g.Expect(merge.Spec.Enabled).To(Equal(ptr.To(false)))
			ready := condition(merge.Status.Conditions, mcpv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(mcpv1alpha1.ReasonToolDisabled))
		}).Should(Succeed())

		By("an edit made by hand is reverted")
		Eventually(func(g Gomega) {
			edited := &mcpv1alpha1.MCPTool{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&tools[2]), edited)).To(Succeed())
			edited.Spec.Description = "edited by hand"
			g.Expect(k8sClient.Update(ctx, edited)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) string {
			return toolsOf(g, namespace, "github")[2].Spec.Description
		}).Should(Equal("Merge a pull request."))

		By("narrowing include prunes what no longer matches")
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) { s.Spec.Tools.Include = []string{"*_issue*"} })
		Eventually(func(g Gomega) []string { return toolNamesOf(toolsOf(g, namespace, "github")) }).
			Should(Equal([]string{"create_issue", "search_issues"}))
		Eventually(func(g Gomega) string {
			return condition(getServer(g, namespace, "github").Status.Conditions, mcpv1alpha1.ConditionReady).Message
		}).Should(Equal("Synced 2 tools; 1 notes (see Events)"))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "ToolsAdjusted") }).
			Should(ContainElement(ContainSubstring(`override for tool "merge_pull_request" has no effect`)))
	})

	It("suspends without contacting the server or deleting tools, and resumes", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(3)})
		createServer(namespace, "pausable", upstream.URL(), nil)
		expectReady(namespace, "pausable")
		uids := map[types.UID]bool{}
		for _, t := range toolsOf(Default, namespace, "pausable") {
			uids[t.UID] = true
		}

		updateServer(namespace, "pausable", func(s *mcpv1alpha1.MCPServer) { s.Spec.Suspend = ptr.To(true) })
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "pausable")
			g.Expect(server.Status.ObservedGeneration).To(Equal(server.Generation))
			g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Reason).To(Equal(mcpv1alpha1.ReasonServerSuspended))
			for _, t := range toolsOf(g, namespace, "pausable") {
				ready := condition(t.Status.Conditions, mcpv1alpha1.ConditionReady)
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(mcpv1alpha1.ReasonServerSuspended))
			}
		}).Should(Succeed())

		requests := upstream.Requests()
		updateServer(namespace, "pausable", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "still suspended" })
		Consistently(upstream.Requests, 2*time.Second).Should(Equal(requests), "a suspended server is not contacted")
		tools := toolsOf(Default, namespace, "pausable")
		Expect(tools).To(HaveLen(3))
		for _, t := range tools {
			Expect(uids).To(HaveKey(t.UID))
		}

		updateServer(namespace, "pausable", func(s *mcpv1alpha1.MCPServer) { s.Spec.Suspend = nil })
		expectReady(namespace, "pausable")
		Eventually(func(g Gomega) {
			for _, t := range toolsOf(g, namespace, "pausable") {
				g.Expect(condition(t.Status.Conditions, mcpv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			}
		}).Should(Succeed())
	})

	It("authenticates with a bearer token: Stalled while the Secret is missing or the token is wrong, recovers by itself", func() {
		upstream := startMCP(mcpserver.Config{Token: "right-token", Tools: mcpserver.GeneratedTools(2)})
		createServer(namespace, "private", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer, Bearer: &mcpv1alpha1.BearerAuth{
				SecretRef: mcpv1alpha1.SecretKeyReference{Name: "token", Key: "token"}}}
		})

		expectStalled := func(reason, message string) {
			Eventually(func(g Gomega) {
				server := getServer(g, namespace, "private")
				stalled := condition(server.Status.Conditions, mcpv1alpha1.ConditionStalled)
				g.Expect(stalled).NotTo(BeNil())
				g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(stalled.Reason).To(Equal(reason))
				g.Expect(stalled.Message).To(ContainSubstring(message))
				g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
				g.Expect(kstatusOf(server)).To(Equal(status.FailedStatus))
			}).Should(Succeed())
		}
		expectStalled(mcpv1alpha1.ReasonSecretNotFound, `auth.bearer.secretRef: Secret "token" not found`)

		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: namespace},
			StringData: map[string]string{"token": "wrong-token"},
		}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		expectStalled(mcpv1alpha1.ReasonAuthenticationFailed, "the server rejected the credentials (HTTP 401)")
		Expect(getServer(Default, namespace, "private").Status.LastSyncError).NotTo(ContainSubstring("wrong-token"))

		secret.StringData = map[string]string{"token": "right-token"}
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		server := expectReady(namespace, "private")
		Expect(server.Status.ToolCount).To(Equal(int32(2)))

		By("the user's Secret is only read, never owned")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
		Expect(secret.OwnerReferences).To(BeEmpty())
	})

	It("refuses an endpoint the policy denies: Stalled, EndpointNotAllowed, and no connection at all", func() {
		// 127.0.0.2 stands for a host the policy denies (the suite allows only 127.0.0.1).
		denied, err := mcpserver.Start("127.0.0.2:0", mcpserver.Config{Token: "t", Tools: mcpserver.GeneratedTools(2)})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(denied.Close)
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: namespace}, StringData: map[string]string{"token": "t"},
		})).To(Succeed())
		createServer(namespace, "internal", denied.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer, Bearer: &mcpv1alpha1.BearerAuth{
				SecretRef: mcpv1alpha1.SecretKeyReference{Name: "token", Key: "token"}}}
		})
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "internal")
			stalled := condition(server.Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(mcpv1alpha1.ReasonEndpointNotAllowed))
			g.Expect(stalled.Message).To(ContainSubstring("connection to 127.0.0.2 refused by the endpoint policy: 127.0.0.0/8 is in --endpoint-deny-cidrs"))
			g.Expect(stalled.Message).To(ContainSubstring("--endpoint-allow-cidrs"))
			g.Expect(kstatusOf(server)).To(Equal(status.FailedStatus))
		}).Should(Succeed())
		Expect(denied.Requests()).To(BeZero(), "the denied host was contacted")
	})

	It("honours Retry-After: a throttled host gets nothing more until it has passed, whatever the backoff", func() {
		upstream := startMCP(mcpserver.Config{Failure: mcpserver.FailThrottled, Tools: mcpserver.GeneratedTools(1)})
		createServer(namespace, "busy", upstream.URL(), nil)
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "busy")
			g.Expect(server.Status.LastSyncError).To(ContainSubstring("asked to wait (HTTP 429, Retry-After)"))
		}).Should(Succeed())
		sent := upstream.Requests()
		// The first retry after a failed sync would come 5 s later; Retry-After says 60.
		Consistently(upstream.Requests, 8*time.Second, 500*time.Millisecond).Should(Equal(sent))
	})

	It("verifies https servers against the CA bundle in tls.caSecretRef", func() {
		upstream := mcpserver.StartTLS(mcpserver.Config{Tools: mcpserver.GeneratedTools(2)})
		DeferCleanup(upstream.Close)
		ca := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "ca", Namespace: namespace},
			Data:       map[string][]byte{"ca.crt": []byte("not a certificate")},
		}
		Expect(k8sClient.Create(ctx, ca)).To(Succeed())
		createServer(namespace, "tls", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.TLS = &mcpv1alpha1.MCPServerTLS{CASecretRef: &mcpv1alpha1.SecretKeyReference{Name: "ca", Key: "ca.crt"}}
		})
		Eventually(func(g Gomega) {
			stalled := condition(getServer(g, namespace, "tls").Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Message).To(Equal(`tls.caSecretRef: key "ca.crt" of Secret "ca" holds no PEM certificate`))
		}).Should(Succeed())

		ca.Data["ca.crt"] = upstream.CACertPEM()
		Expect(k8sClient.Update(ctx, ca)).To(Succeed())
		Expect(expectReady(namespace, "tls").Status.ToolCount).To(Equal(int32(2)))
	})

	It("keeps every tool while the server is down, and recovers", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(4)})
		createServer(namespace, "flaky", upstream.URL(), nil)
		expectReady(namespace, "flaky")
		before := toolsOf(Default, namespace, "flaky")

		upstream.Update(func(c *mcpserver.Config) { c.Failure = mcpserver.FailError })
		updateServer(namespace, "flaky", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "sync now" })
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "flaky")
			ready := condition(server.Status.Conditions, mcpv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(mcpv1alpha1.ReasonSyncFailed))
			g.Expect(server.Status.LastSyncError).To(ContainSubstring("cannot connect and initialize"))
			g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(kstatusOf(server)).To(Equal(status.InProgressStatus))
		}).Should(Succeed())
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "flaky", mcpv1alpha1.ReasonSyncFailed) }).
			Should(HaveLen(1))

		after := toolsOf(Default, namespace, "flaky")
		Expect(after).To(HaveLen(4))
		for i := range after {
			Expect(after[i].UID).To(Equal(before[i].UID), "a failed sync never deletes or recreates tools")
		}

		upstream.Update(func(c *mcpserver.Config) { c.Failure = mcpserver.FailNone })
		server := expectReady(namespace, "flaky")
		Expect(server.Status.LastSyncError).To(BeEmpty())
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "flaky", "SyncRecovered") }).Should(HaveLen(1))
	})

	It("bounds huge and malformed answers", func() {
		upstream := startMCP(mcpserver.Config{Tools: []mcpserver.Tool{
			{Name: "ok"},
			{Name: "bad name with spaces"},
			{Name: "verbose", Description: strings.Repeat("word ", 100000)},
		}})
		createServer(namespace, "hostile", upstream.URL(), nil)
		server := expectReady(namespace, "hostile")
		Expect(server.Status.ToolCount).To(Equal(int32(2)))
		tools := toolsOf(Default, namespace, "hostile")
		Expect(toolNamesOf(tools)).To(Equal([]string{"ok", "verbose"}))
		Expect(len(tools[1].Spec.Description)).To(Equal(8 << 10))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "hostile", "ToolsAdjusted") }).
			Should(ConsistOf(And(ContainSubstring(`tool "bad name with spaces" skipped`), ContainSubstring(`tool "verbose": description truncated`))))

		By("a server answering garbage fails the sync without touching the tools")
		upstream.Update(func(c *mcpserver.Config) { c.Failure = mcpserver.FailMalformed })
		updateServer(namespace, "hostile", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "sync now" })
		Eventually(func(g Gomega) string {
			return condition(getServer(g, namespace, "hostile").Status.Conditions, mcpv1alpha1.ConditionReady).Reason
		}).Should(Equal(mcpv1alpha1.ReasonSyncFailed))
		Expect(toolsOf(Default, namespace, "hostile")).To(HaveLen(2))
	})

	It("makes no writes while idle, over several resync periods", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(5)})
		createServer(namespace, "idle", upstream.URL(), nil) // syncInterval: 10s, the minimum
		expectReady(namespace, "idle")
		Eventually(func(g Gomega) {
			for _, t := range toolsOf(g, namespace, "idle") {
				g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
			}
		}).Should(Succeed())
		// Let the first pass's follow-up reconciles settle.
		time.Sleep(2 * time.Second)

		versions := func() map[string]string {
			v := map[string]string{"server": getServer(Default, namespace, "idle").ResourceVersion}
			for _, t := range toolsOf(Default, namespace, "idle") {
				v[t.Name] = t.ResourceVersion
			}
			return v
		}
		start := versions()
		requests := upstream.Requests()

		time.Sleep(25 * time.Second) // two resyncs of 10s (+ up to 10% jitter)

		syncs := upstream.Requests() - requests
		Expect(syncs).To(BeNumerically(">=", 2), "the server was synced during the idle period")
		writes := 0
		end := versions()
		for name, rv := range start {
			if end[name] != rv {
				writes++
			}
		}
		Expect(writes).To(Equal(0), "objects written while idle: %v -> %v", start, end)
	})

	It("passes kstatus through create, spec change, failure and deletion", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
		server := createServer(namespace, "kstatus", upstream.URL(), nil)
		Expect(kstatusOf(server)).To(Equal(status.InProgressStatus), "a new object never reads as Current")
		Eventually(func(g Gomega) status.Status { return kstatusOf(getServer(g, namespace, "kstatus")) }).
			Should(Equal(status.CurrentStatus))

		// A spec change reads InProgress until the operator has synced the new generation; with a
		// slow upstream, the operator says so with Reconciling=True at that generation meanwhile.
		slow := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(1), Delay: 2 * time.Second})
		updated := updateServer(namespace, "kstatus", func(s *mcpv1alpha1.MCPServer) { s.Spec.URL = slow.URL() })
		Expect(kstatusOf(updated)).To(Equal(status.InProgressStatus))
		Eventually(func(g Gomega) {
			s := getServer(g, namespace, "kstatus")
			c := condition(s.Status.Conditions, mcpv1alpha1.ConditionReconciling)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(kstatusOf(s)).To(Equal(status.InProgressStatus))
		}).Should(Succeed())
		Eventually(func(g Gomega) status.Status { return kstatusOf(getServer(g, namespace, "kstatus")) }, 10*time.Second).
			Should(Equal(status.CurrentStatus))
		server = getServer(Default, namespace, "kstatus")
		Expect(server.Status.ObservedGeneration).To(Equal(server.Generation))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReconciling)).To(BeNil())

		// Failure: a Secret that does not exist stalls the server.
		updateServer(namespace, "kstatus", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer,
				Bearer: &mcpv1alpha1.BearerAuth{SecretRef: mcpv1alpha1.SecretKeyReference{Name: "absent", Key: "token"}}}
		})
		Eventually(func(g Gomega) status.Status { return kstatusOf(getServer(g, namespace, "kstatus")) }).
			Should(Equal(status.FailedStatus))

		// Deletion: Terminating while a consumer holds it.
		consumer := newConsumer(namespace, "kstatus-agent", "kstatus")
		Eventually(func(g Gomega) int32 { return getServer(g, namespace, "kstatus").Status.ConsumerCount }).Should(Equal(int32(1)))
		Expect(k8sClient.Delete(ctx, getServer(Default, namespace, "kstatus"))).To(Succeed())
		Eventually(func(g Gomega) status.Status { return kstatusOf(getServer(g, namespace, "kstatus")) }).
			Should(Equal(status.TerminatingStatus))
		Expect(k8sClient.Delete(ctx, consumer)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "kstatus"}, &mcpv1alpha1.MCPServer{}))
		}).Should(BeTrue())
	})

	It("never writes an MCPServer's spec: its managed fields show status and finalizers only", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(2)})
		createServer(namespace, "gitops", upstream.URL(), nil)
		Eventually(func(g Gomega) status.Status { return kstatusOf(getServer(g, namespace, "gitops")) }).
			Should(Equal(status.CurrentStatus))
		server := getServer(Default, namespace, "gitops")
		var ours []string
		for _, entry := range server.ManagedFields {
			if entry.Manager != FieldOwner {
				continue
			}
			ours = append(ours, entry.Subresource+":"+entry.FieldsV1.GetRawString())
			Expect(entry.FieldsV1.GetRawString()).NotTo(ContainSubstring(`"f:spec"`), "the operator owns spec fields: %s", entry.FieldsV1.GetRawString())
		}
		Expect(ours).To(ContainElement(HavePrefix("status:")), "no status entry of %s: %v", FieldOwner, ours)
		Expect(ours).To(ContainElement(ContainSubstring(`"f:finalizers"`)), "no finalizers entry of %s: %v", FieldOwner, ours)
	})

	It("deletes a server with its tools, and orphans them on request", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(3)})
		createServer(namespace, "cascade", upstream.URL(), nil)
		createServer(namespace, "keep", upstream.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.DeletionPolicy = mcpv1alpha1.DeletionPolicyOrphan
		})
		expectReady(namespace, "cascade")
		expectReady(namespace, "keep")

		Expect(k8sClient.Delete(ctx, &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "cascade", Namespace: namespace}})).To(Succeed())
		Eventually(func(g Gomega) bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "cascade"}, &mcpv1alpha1.MCPServer{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
		Eventually(func(g Gomega) []mcpv1alpha1.MCPTool { return toolsOf(g, namespace, "cascade") }).Should(BeEmpty())

		Expect(k8sClient.Delete(ctx, &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "keep", Namespace: namespace}})).To(Succeed())
		Eventually(func(g Gomega) bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "keep"}, &mcpv1alpha1.MCPServer{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
		kept := toolsOf(Default, namespace, "keep")
		Expect(kept).To(HaveLen(3))
		for _, t := range kept {
			Expect(t.OwnerReferences).To(BeEmpty())
		}
		Eventually(func(g Gomega) string {
			t := toolsOf(g, namespace, "keep")[0]
			return condition(t.Status.Conditions, mcpv1alpha1.ConditionReady).Reason
		}).Should(Equal(mcpv1alpha1.ReasonServerNotFound))
	})

	It("never lets a status computed from a stale object undo a newer one", func() {
		// Regression: a pass reading a stale cached server re-applied first-visit conditions over
		// the previous pass's Ready=True, because a merge patch replaces the whole conditions list.
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
		createServer(namespace, "stale", upstream.URL(), nil)
		stale := expectReady(namespace, "stale")

		fresh := stale.DeepCopy()
		fresh.Status.PromptCount = 7
		Expect(k8sClient.Status().Update(ctx, fresh)).To(Succeed())

		r := &MCPServerReconciler{Client: k8sClient}
		after := stale.DeepCopy()
		setCondition(after, mcpv1alpha1.ConditionReady, metav1.ConditionUnknown, mcpv1alpha1.ReasonProgressing, "stale")
		err := r.patchStatus(ctx, stale, after)
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "want a conflict, got %v", err)
		Expect(condition(getServer(Default, namespace, "stale").Status.Conditions, mcpv1alpha1.ConditionReady).Status).
			To(Equal(metav1.ConditionTrue))
	})
})
