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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

// An OAuth2 MCPServer against a fake authorization server and the test MCP server validating
// tokens by introspection: discovery, the token's life, and revocation on delete.
var _ = Describe("OAuth2", func() {
	var (
		namespace string
		as        *fakeAS
		mcp       *mcpserver.Server
	)

	BeforeEach(func() {
		namespace = newNamespace()
		as = startFakeAS()
		mcp = startMCP(mcpserver.Config{Name: "protected", Version: "1", Tools: mcpserver.GeneratedTools(3)})
		mcp.Update(func(c *mcpserver.Config) {
			c.OAuth = &mcpserver.OAuth{
				IntrospectionURL: as.issuer() + "/introspect", ClientID: introspectorID, ClientSecret: introspectorSecret,
				AuthorizationServers: []string{as.issuer()}, MetadataInHeader: true, CheckAudience: true,
			}
		})
	})

	userSecret := func(name string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, StringData: data}
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
		return s
	}
	credentialsSecret := func(g Gomega, server string) *corev1.Secret {
		s := &corev1.Secret{}
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: server + "-oauth2"}, s)).To(Succeed())
		return s
	}
	expectGone := func(obj client.Object) {
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj))
		}).Should(BeTrue())
	}
	withSecretClient := func(secret string) func(*mcpv1alpha1.MCPServerSpec) {
		return func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthOAuth2, OAuth2: &mcpv1alpha1.OAuth2Auth{
				ClientSecretRef: &mcpv1alpha1.SecretReference{Name: secret}}}
		}
	}

	It("discovers the authorization server from the 401, syncs, and revokes every token on delete", func() {
		as.addClient("registry", "s3cret")
		user := userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		created := createServer(namespace, "github", mcp.URL(), withSecretClient("client"))

		server := expectReady(namespace, "github")
		Expect(server.Status.ToolCount).To(Equal(int32(3)))
		Expect(server.Status.OAuth2).NotTo(BeNil())
		Expect(server.Status.OAuth2.Issuer).To(Equal(as.issuer()))
		Expect(server.Status.OAuth2.ClientID).To(Equal("registry"))
		Expect(server.Status.OAuth2.TokenExpiresAt).NotTo(BeNil())
		Expect(as.count("/.well-known/oauth-authorization-server")).To(BeNumerically(">=", 1))

		// The token is recorded in the Secret the server owns, for revocation; nothing of it in status.
		Eventually(func(g Gomega) {
			owned := credentialsSecret(g, "github")
			g.Expect(metav1.IsControlledBy(owned, server)).To(BeTrue())
			g.Expect(owned.Type).To(Equal(corev1.SecretType("mcp.toolregistry.io/oauth2-credentials")))
			g.Expect(owned.Annotations[mcpv1alpha1.RevocationPendingAnnotation]).To(And(
				HavePrefix("revoke 1 token (valid until "), ContainSubstring(`issued to client "registry" by `+as.issuer()+" at "+as.issuer()+"/revoke")))
		}).Should(Succeed())
		issued := as.issuedTo("registry")
		Expect(issued).To(HaveLen(1))
		Expect(as.active(issued[0])).To(BeTrue())
		Expect(mcp.TokensSeen()).To(ContainElement(issued[0]))

		// A resync reuses the token: a spec change makes a sync due at once.
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "resync" })
		expectReady(namespace, "github")
		Expect(as.issuedTo("registry")).To(HaveLen(1))

		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		expectGone(created)
		Expect(as.active(issued[0])).To(BeFalse(), "the token introspects inactive after the delete")
		Expect(eventsFor(Default, namespace, "github", "CredentialsRevoked")).To(ConsistOf(ContainSubstring("Revoked 1 OAuth token")))
		expectGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "github-oauth2"}})
		kept := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(user), kept)).To(Succeed())
		Expect(kept.ResourceVersion).To(Equal(user.ResourceVersion), "the user's Secret is never modified")
	})

	It("renews a token the MCP server refuses, once, and never writes a token into status or events", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		createServer(namespace, "github", mcp.URL(), withSecretClient("client"))
		expectReady(namespace, "github")
		first := as.issuedTo("registry")
		Expect(first).To(HaveLen(1))

		as.revoke(first[0]) // behind the operator's back: the MCP server now answers 401
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "after revocation" })
		Eventually(func(g Gomega) {
			g.Expect(as.issuedTo("registry")).To(HaveLen(2))
			server := getServer(g, namespace, "github")
			g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(server.Status.ObservedGeneration).To(Equal(server.Generation))
		}).Should(Succeed())

		// With a client the authorization server refuses, the 401 is not looped on.
		as.mu.Lock()
		as.clients["registry"] = "rotated"
		as.mu.Unlock()
		as.revoke(as.issuedTo("registry")[1])
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "refused" })
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "github")
			stalled := condition(server.Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(mcpv1alpha1.ReasonAuthenticationFailed))
			g.Expect(stalled.Message).To(ContainSubstring("invalid_client"))
		}).Should(Succeed())
		tokenRequests := as.count("/token")
		Consistently(func() int { return as.count("/token") }, 2*time.Second).Should(BeNumerically("<=", tokenRequests+1))

		server := getServer(Default, namespace, "github")
		list := &eventsv1.EventList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(namespace))).To(Succeed())
		Expect(list.Items).NotTo(BeEmpty())
		for _, secret := range append(as.issuedTo("registry"), "s3cret", "rotated") {
			Expect(server.Status.LastSyncError).NotTo(ContainSubstring(secret))
			for _, c := range server.Status.Conditions {
				Expect(c.Message).NotTo(ContainSubstring(secret))
			}
			for _, e := range list.Items {
				Expect(e.Note).NotTo(ContainSubstring(secret))
			}
		}
	})

	It("registers one client for the server's whole life and de-registers it after revoking its tokens", func() {
		created := createServer(namespace, "dynamic", mcp.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			s.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthOAuth2, OAuth2: &mcpv1alpha1.OAuth2Auth{
				IssuerURL: as.issuer(), Registration: mcpv1alpha1.RegistrationDynamic}}
		})
		server := expectReady(namespace, "dynamic")
		Expect(as.dynamicClients()).To(HaveLen(1))
		clientID := as.dynamicClients()[0]
		Expect(server.Status.OAuth2.ClientID).To(Equal(clientID))
		Eventually(func(g Gomega) {
			owned := credentialsSecret(g, "dynamic")
			g.Expect(string(owned.Data[oauth.KeyClientID])).To(Equal(clientID))
			g.Expect(owned.Data).To(HaveKey(oauth.KeyRegistrationAccessToken))
			g.Expect(owned.Data).To(HaveKey(oauth.KeyRegistrationClientURI))
		}).Should(Succeed())
		Expect(eventsFor(Default, namespace, "dynamic", "ClientRegistered")).To(HaveLen(1))

		updateServer(namespace, "dynamic", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "resync" })
		expectReady(namespace, "dynamic")
		Expect(as.count("/register")).To(Equal(1), "resyncs reuse the registration")

		issued := as.issuedTo(clientID)
		Expect(issued).NotTo(BeEmpty())
		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		expectGone(created)
		for _, tok := range issued {
			Expect(as.active(tok)).To(BeFalse())
		}
		Expect(as.dynamicClients()).To(BeEmpty())
		Expect(eventsFor(Default, namespace, "dynamic", "ClientDeregistered")).To(HaveLen(1))
	})

	It("waits for an authorization server that cannot revoke, says so, and completes when it returns", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		created := createServer(namespace, "github", mcp.URL(), withSecretClient("client"))
		expectReady(namespace, "github")
		tools := toolsOf(Default, namespace, "github")
		Expect(tools).To(HaveLen(3))

		as.setDown(true)
		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(getServer(g, namespace, "github").Status.Conditions, mcpv1alpha1.ConditionReady)
			g.Expect(ready.Reason).To(Equal(mcpv1alpha1.ReasonDeleting))
			g.Expect(ready.Message).To(HavePrefix("Deleting, retrying: revoking credentials at " + as.issuer() + "/revoke"))
			g.Expect(ready.Message).To(ContainSubstring("temporarily_unavailable"))
		}).Should(Succeed())
		Expect(toolsOf(Default, namespace, "github")).To(HaveLen(3), "nothing is removed before the credentials are revoked")
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "github", "RevocationFailed") }).Should(HaveLen(1))

		as.setDown(false)
		expectGone(created)
		for _, tok := range as.issuedTo("registry") {
			Expect(as.active(tok)).To(BeFalse())
		}
		Expect(eventsFor(Default, namespace, "github", "RevocationFailed")).To(HaveLen(1), "one Warning, not one per retry")
	})

	It("completes a forced delete without the authorization server and says what was not revoked", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		created := createServer(namespace, "github", mcp.URL(), withSecretClient("client"))
		expectReady(namespace, "github")
		as.setDown(true)
		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		Eventually(func(g Gomega) string {
			return readyMessage(getServer(g, namespace, "github"))
		}).Should(HavePrefix("Deleting, retrying: revoking credentials"))
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) {
			s.Annotations = map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"}
		})
		expectGone(created)
		Expect(eventsFor(Default, namespace, "github", "CredentialsNotRevoked")).To(ConsistOf(
			And(ContainSubstring("not revoked: 1 token"), ContainSubstring("issued by "+as.issuer()))))
	})

	It("revokes what it obtained and removes its Secret when the server stops using OAuth2", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		createServer(namespace, "github", mcp.URL(), withSecretClient("client"))
		expectReady(namespace, "github")
		issued := as.issuedTo("registry")
		Expect(issued).To(HaveLen(1))
		Eventually(func(g Gomega) { credentialsSecret(g, "github") }).Should(Succeed())

		// The server now takes no authentication: the old token is revoked and the Secret goes.
		mcp.Update(func(c *mcpserver.Config) { c.OAuth = nil })
		updateServer(namespace, "github", func(s *mcpv1alpha1.MCPServer) { s.Spec.Auth = nil })
		expectGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "github-oauth2"}})
		Expect(as.active(issued[0])).To(BeFalse())
		server := expectReady(namespace, "github")
		Expect(server.Status.OAuth2).To(BeNil())
		Expect(eventsFor(Default, namespace, "github", "CredentialsRevoked")).To(ConsistOf(ContainSubstring("auth.type is no longer OAuth2: revoked 1 OAuth token")))
	})

	It("revokes even when the credentials Secret was deleted first: its finalizer holds it until then", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		created := createServer(namespace, "github", mcp.URL(), withSecretClient("client"))
		expectReady(namespace, "github")
		owned := &corev1.Secret{}
		Eventually(func(g Gomega) {
			owned = credentialsSecret(g, "github")
			g.Expect(owned.Finalizers).To(ContainElement(mcpv1alpha1.CredentialsFinalizer))
		}).Should(Succeed())

		// As a namespace delete or a foreground delete's garbage collector would.
		Expect(k8sClient.Delete(ctx, owned)).To(Succeed())
		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		expectGone(created)
		expectGone(owned)
		for _, tok := range as.issuedTo("registry") {
			Expect(as.active(tok)).To(BeFalse())
		}
		Expect(eventsFor(Default, namespace, "github", "CredentialsRevoked")).To(HaveLen(1))
	})

	It("discovers an https endpoint with a private CA through spec.tls", func() {
		as.addClient("registry", "s3cret")
		tlsMCP := mcpserver.StartTLS(mcpserver.Config{Name: "private-ca", Version: "1", Tools: mcpserver.GeneratedTools(2)})
		DeferCleanup(tlsMCP.Close)
		tlsMCP.Update(func(c *mcpserver.Config) {
			c.OAuth = &mcpserver.OAuth{
				IntrospectionURL: as.issuer() + "/introspect", ClientID: introspectorID, ClientSecret: introspectorSecret,
				AuthorizationServers: []string{as.issuer()}, MetadataInHeader: true,
			}
		})
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		userSecret("ca", map[string]string{"ca.crt": string(tlsMCP.CACertPEM())})
		createServer(namespace, "private", tlsMCP.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			withSecretClient("client")(s)
			s.TLS = &mcpv1alpha1.MCPServerTLS{CASecretRef: &mcpv1alpha1.SecretKeyReference{Name: "ca", Key: "ca.crt"}}
		})
		server := expectReady(namespace, "private")
		Expect(server.Status.ToolCount).To(Equal(int32(2)))
		Expect(tlsMCP.MetadataRequests()).To(BeNumerically(">=", 1), "the metadata was read over TLS with the CA")
	})

	It("revokes nothing on Orphan and releases the credentials Secret", func() {
		as.addClient("registry", "s3cret")
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		created := createServer(namespace, "github", mcp.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			withSecretClient("client")(s)
			s.DeletionPolicy = mcpv1alpha1.DeletionPolicyOrphan
		})
		expectReady(namespace, "github")
		Eventually(func(g Gomega) { credentialsSecret(g, "github") }).Should(Succeed())
		Expect(k8sClient.Delete(ctx, created)).To(Succeed())
		expectGone(created)
		Expect(as.count("/revoke")).To(Equal(0))
		Expect(as.active(as.issuedTo("registry")[0])).To(BeTrue())
		Eventually(func(g Gomega) {
			released := credentialsSecret(g, "github")
			g.Expect(released.OwnerReferences).To(BeEmpty())
			g.Expect(released.Finalizers).To(BeEmpty(), "a released Secret is not held by the operator")
		}).Should(Succeed())
	})

	It("is Stalled with DiscoveryFailed, making no connection, when resource_metadata names a denied address", func() {
		denied := startCountingListener("127.0.0.2:0")
		mcp.Update(func(c *mcpserver.Config) {
			c.OAuth.MetadataURL = "http://" + denied.addr() + "/.well-known/oauth-protected-resource"
		})
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		createServer(namespace, "hostile", mcp.URL(), withSecretClient("client"))
		Eventually(func(g Gomega) {
			stalled := condition(getServer(g, namespace, "hostile").Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(mcpv1alpha1.ReasonDiscoveryFailed))
			g.Expect(stalled.Message).To(ContainSubstring("refused by the endpoint policy"))
		}).Should(Succeed())
		Expect(denied.accepted()).To(BeZero())
		Expect(as.count("/token")).To(BeZero())
	})

	It("reports 403 insufficient_scope without looping", func() {
		as.addClient("registry", "s3cret")
		mcp.Update(func(c *mcpserver.Config) { c.OAuth.RequiredScope = "mcp:admin" })
		userSecret("client", map[string]string{"client_id": "registry", "client_secret": "s3cret"})
		createServer(namespace, "scoped", mcp.URL(), func(s *mcpv1alpha1.MCPServerSpec) {
			withSecretClient("client")(s)
			s.Auth.OAuth2.Scopes = []string{"mcp:read"}
		})
		Eventually(func(g Gomega) {
			stalled := condition(getServer(g, namespace, "scoped").Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(mcpv1alpha1.ReasonAuthenticationFailed))
			g.Expect(stalled.Message).To(ContainSubstring(`403 insufficient_scope: it needs scope "mcp:admin"`))
		}).Should(Succeed())
		Expect(as.issuedTo("registry")).To(HaveLen(1), "a 403 gets no renewal")
		Expect(strings.Join(as.issuedTo("registry"), "")).NotTo(BeEmpty())
	})
})
