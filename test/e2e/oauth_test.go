//go:build e2e

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

package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/oauthserver"
)

// 11. OAuth2 against a real authorization server (oidc-provider, pinned in hack/oidc-provider)
// and the test MCP server validating tokens by RFC 7662 introspection: each client kind syncs
// (client_secret_basic through the 401 header, client_secret_post through the well-known
// fallback, private_key_jwt, dynamic registration with an initial access token); a manager
// restart mid-life; delete revokes every token the authorization server issued to the operator,
// de-registers the dynamic client, removes the owned Secret and keeps the user's; an
// authorization server down during delete blocks it, with the reason, until it returns; a
// forced delete completes with a Warning; Orphan revokes nothing; a resource_metadata URL on a
// denied address is Stalled without a connection.
func TestOAuth2(t *testing.T) {
	rsaKey, err := oauthserver.NewRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := oauthserver.NewECKey()
	if err != nil {
		t.Fatal(err)
	}
	basicSecret, postSecret, initialToken := randomSecret("basic"), randomSecret("post"), randomSecret("iat")
	as, err := oauthserver.Start(oauthserver.Options{
		Root: suite.root, Dir: suite.dir, InitialAccessToken: initialToken,
		Clients: []oauthserver.Client{
			{ID: "e2e-basic", Secret: basicSecret, AuthMethod: oauthserver.ClientSecretBasic},
			{ID: "e2e-post", Secret: postSecret, AuthMethod: oauthserver.ClientSecretPost},
			{ID: "e2e-jwt", AuthMethod: oauthserver.PrivateKeyJWT, JWKS: oauthserver.JWKS(rsaKey)},
			{ID: "e2e-jwt-ec", AuthMethod: oauthserver.PrivateKeyJWT, JWKS: oauthserver.JWKS(ecKey)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = as.Close() })
	fmt.Printf("e2e: oidc-provider at %s (log %s)\n", as.Issuer(), as.LogPath())

	introID, introSecret := as.IntrospectionClient()
	protected := func(inHeader bool, where string) *mcpserver.Server {
		s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{
			Name: "protected", Version: "1.0.0", Tools: mcpserver.SampleTools(), PageSize: 2,
			OAuth: &mcpserver.OAuth{
				IntrospectionURL: as.DirectURL() + oauthserver.IntrospectionPath, ClientID: introID, ClientSecret: introSecret,
				AuthorizationServers: []string{as.Issuer()}, ScopesSupported: []string{"mcp:tools"}, RequiredScope: "mcp:tools",
				MetadataInHeader: inHeader, MetadataPath: where, CheckAudience: true,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	headerMCP := protected(true, mcpserver.MetadataAtPath)
	wellKnownMCP := protected(false, mcpserver.MetadataAtPath)

	u := newUser(t, "e2e-oauth")
	u.secrets = append(u.secrets, basicSecret, postSecret, initialToken, string(rsaKey.PKCS8PEM), string(ecKey.PKCS8PEM))
	u.apply(clientSecretManifest("basic-client", map[string]string{"client_id": "e2e-basic", "client_secret": basicSecret}))
	u.apply(clientSecretManifest("post-client", map[string]string{"client_id": "e2e-post", "client_secret": postSecret}))
	u.apply(clientSecretManifest("jwt-key", map[string]string{"client_id": "e2e-jwt", "private_key": string(rsaKey.PKCS8PEM), "key_id": rsaKey.KID}))
	u.apply(clientSecretManifest("jwt-ec-key", map[string]string{"client_id": "e2e-jwt-ec", "private_key": string(ecKey.TraditionalPEM)}))
	u.apply(clientSecretManifest("initial-token", map[string]string{"token": initialToken}))
	userSecrets := map[string]string{}
	for _, name := range []string{"basic-client", "post-client", "jwt-key", "jwt-ec-key", "initial-token"} {
		userSecrets[name] = u.jsonpath("secret/"+name, "{.metadata.resourceVersion}")
	}

	oauth2 := func(fields string) string { return "auth: {type: OAuth2, oauth2: " + fields + "}" }
	servers := map[string]struct{ url, auth, client string }{
		"basic":   {headerMCP.URL(), oauth2("{clientSecretRef: {name: basic-client}}"), "e2e-basic"},
		"post":    {wellKnownMCP.URL(), oauth2("{clientSecretRef: {name: post-client}, tokenEndpointAuthMethod: client_secret_post}"), "e2e-post"},
		"jwt":     {headerMCP.URL(), oauth2("{privateKeyRef: {name: jwt-key}}"), "e2e-jwt"},
		"jwt-ec":  {wellKnownMCP.URL(), oauth2("{privateKeyRef: {name: jwt-ec-key}}"), "e2e-jwt-ec"},
		"dynamic": {headerMCP.URL(), oauth2("{registration: Dynamic, initialAccessTokenRef: {name: initial-token, key: token}}"), ""},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range servers {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		s := servers[name]
		u.apply(serverManifest(name, s.url, "StreamableHTTP", s.auth, "syncInterval: 30s"))
	}
	for _, name := range names {
		u.waitReady(90*time.Second, "mcpserver/"+name)
		if tools := u.toolsOf(name); contains(tools, "create_issue", "search_issues") != "" {
			t.Errorf("%s: tools %v", name, tools)
		}
	}
	u.run("get", "mcpservers", "-o", "wide")

	// What status shows, and that the dynamic client is recorded in the Secret the server owns.
	for _, name := range names {
		issuer := u.jsonpath("mcpserver/"+name, "{.status.oauth2.issuer}")
		client := u.jsonpath("mcpserver/"+name, "{.status.oauth2.clientID}")
		expires := u.jsonpath("mcpserver/"+name, "{.status.oauth2.tokenExpiresAt}")
		if issuer != as.Issuer() || client == "" || expires == "" {
			t.Errorf("%s: status.oauth2 issuer=%q clientID=%q tokenExpiresAt=%q", name, issuer, client, expires)
		}
		if want := servers[name].client; want != "" && client != want {
			t.Errorf("%s: clientID %q, want %q", name, client, want)
		}
		if owner := u.jsonpath("secret/"+name+"-oauth2", "{.metadata.ownerReferences[0].name}"); owner != name {
			t.Errorf("%s: the credentials Secret's owner is %q", name, owner)
		}
	}
	dynamicID := u.jsonpath("mcpserver/dynamic", "{.status.oauth2.clientID}")
	servers["dynamic"] = struct{ url, auth, client string }{servers["dynamic"].url, servers["dynamic"].auth, dynamicID}
	registered, err := as.Clients()
	if err != nil {
		t.Fatal(err)
	}
	if len(registered) != 1 || registered[0].ClientID != dynamicID || !registered[0].Exists {
		t.Fatalf("dynamic clients at the authorization server: %+v, want one: %s", registered, dynamicID)
	}
	// Read without recording the output: the registration access token is a secret.
	regURI, regToken := secretValue(t, u.ns, "dynamic-oauth2", "registration_client_uri"), secretValue(t, u.ns, "dynamic-oauth2", "registration_access_token")
	if regURI == "" || regToken == "" {
		t.Fatal("the credentials Secret lacks registration_client_uri or registration_access_token")
	}
	u.secrets = append(u.secrets, regToken)
	if code, err := as.ReadRegistration(regURI, regToken); err != nil || code != http.StatusOK {
		t.Fatalf("RFC 7592 read of the dynamic client: HTTP %d (%v), want 200", code, err)
	}
	if out := u.plugin("impact", "dynamic"); !strings.Contains(out, "revoke 1 token (valid until ") || !strings.Contains(out, "de-register dynamic client") {
		t.Errorf("kubectl mcp impact does not list what would be revoked:\n%s", out)
	}

	// A manager restart mid-life: the new manager reuses the registration, and revokes tokens the
	// old one obtained.
	tokensBefore := map[string][]string{}
	for _, name := range names {
		toks, err := as.IssuedTokens(servers[name].client)
		if err != nil || len(toks) == 0 {
			t.Fatalf("%s: tokens issued to %s: %v %v", name, servers[name].client, toks, err)
		}
		tokensBefore[name] = toks
		u.secrets = append(u.secrets, toks...)
	}
	if err := suite.manager.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := suite.manager.Start(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		u.run("patch", "mcpserver", name, "--type=merge", "-p", `{"spec":{"description":"after the restart"}}`)
	}
	for _, name := range names {
		// Synced by the new manager: Ready at the new generation.
		generation := u.jsonpath("mcpserver/"+name, "{.metadata.generation}")
		u.run("wait", "--for=jsonpath={.status.observedGeneration}="+generation, "--timeout=90s", "mcpserver/"+name)
		u.waitReady(90*time.Second, "mcpserver/"+name)
	}
	if clients, _ := as.Clients(); len(clients) != 1 {
		t.Errorf("after the restart: %d dynamic clients, want the one registered before", len(clients))
	}
	for _, name := range names {
		toks, _ := as.IssuedTokens(servers[name].client)
		u.secrets = append(u.secrets, toks...)
		if len(toks) != len(tokensBefore[name]) {
			t.Logf("%s: %d tokens after the restart (%d before): the recorded one was %s", name, len(toks), len(tokensBefore[name]),
				map[bool]string{true: "reused", false: "renewed"}[len(toks) == len(tokensBefore[name])])
		}
	}

	// Delete: every token the authorization server issued for each server is revoked, the dynamic
	// client no longer exists, the owned Secrets are gone and the user's are untouched.
	u.run("delete", "mcpserver", "basic", "post", "jwt", "jwt-ec", "dynamic", "--wait=false")
	u.waitDeleted(90*time.Second, "mcpserver/basic", "mcpserver/post", "mcpserver/jwt", "mcpserver/jwt-ec", "mcpserver/dynamic")
	for _, name := range names {
		toks, err := as.IssuedTokens(servers[name].client)
		if err != nil {
			t.Fatal(err)
		}
		for i, tok := range toks {
			if active, err := as.Introspect(tok); err != nil || active {
				t.Errorf("%s: token %d of %d issued to %s introspects active=%v (%v) after the delete", name, i+1, len(toks), servers[name].client, active, err)
			}
		}
		if left := u.names("secrets"); contains(left, name+"-oauth2") == "" {
			t.Errorf("%s: the owned Secret %s-oauth2 is left", name, name)
		}
		ev := u.events("involvedObject.name=" + name)
		if !slices.ContainsFunc(ev, func(e string) bool { return strings.HasPrefix(e, "Normal CredentialsRevoked") }) {
			t.Errorf("%s: no CredentialsRevoked event in %v", name, ev)
		}
	}
	if code, err := as.ReadRegistration(regURI, regToken); err != nil || code != http.StatusUnauthorized {
		t.Errorf("RFC 7592 read of the deleted dynamic client: HTTP %d (%v), want 401", code, err)
	}
	if clients, _ := as.Clients(); len(clients) != 1 || clients[0].Exists {
		t.Errorf("dynamic client after the delete: %+v, want it gone", clients)
	}
	if !slices.ContainsFunc(u.events("involvedObject.name=dynamic"), func(e string) bool { return strings.HasPrefix(e, "Normal ClientDeregistered") }) {
		t.Error("no ClientDeregistered event")
	}
	for name, rv := range userSecrets {
		if got := u.jsonpath("secret/"+name, "{.metadata.resourceVersion}"); got != rv {
			t.Errorf("the user's Secret %s changed: resourceVersion %s, was %s", name, got, rv)
		}
	}

	// A foreground delete (as Argo CD's foreground prune does): the garbage collector deletes the
	// credentials Secret at once, and its finalizer holds it until the tokens are revoked.
	u.apply(serverManifest("foreground", headerMCP.URL(), "StreamableHTTP", oauth2("{clientSecretRef: {name: basic-client}}")))
	u.waitReady(90*time.Second, "mcpserver/foreground")
	before := tokenSet(t, as, "e2e-basic")
	u.run("delete", "mcpserver", "foreground", "--cascade=foreground", "--wait=false")
	u.waitDeleted(90*time.Second, "mcpserver/foreground")
	for tok := range tokenSet(t, as, "e2e-basic") {
		u.secrets = append(u.secrets, tok)
		if active, err := as.Introspect(tok); err != nil || active {
			t.Errorf("after a foreground delete a token introspects active=%v (%v); new since the last check: %v", active, err, !before[tok])
		}
	}
	if left := u.names("secrets"); contains(left, "foreground-oauth2") == "" {
		t.Error("the credentials Secret is left after a foreground delete")
	}

	// The authorization server is down during a delete: blocked with the reason, one Warning,
	// then it completes when the server returns.
	u.apply(serverManifest("outage", headerMCP.URL(), "StreamableHTTP", oauth2("{clientSecretRef: {name: basic-client}}")))
	u.waitReady(90*time.Second, "mcpserver/outage")
	if err := as.SetReachable(false); err != nil {
		t.Fatal(err)
	}
	u.run("delete", "mcpserver", "outage", "--wait=false")
	u.eventually(60*time.Second, "the delete waits for the authorization server", func() string {
		msg := u.jsonpath("mcpserver/outage", `{.status.conditions[?(@.type=="Ready")].message}`)
		if !strings.HasPrefix(msg, "Deleting, retrying: revoking credentials at "+as.Issuer()) {
			return fmt.Sprintf("Ready message %q", msg)
		}
		return ""
	})
	if tools := u.toolsOf("outage"); len(tools) == 0 {
		t.Error("MCPTools were removed before the credentials were revoked")
	}
	if err := as.SetReachable(true); err != nil {
		t.Fatal(err)
	}
	u.waitDeleted(120*time.Second, "mcpserver/outage")
	warnings := 0
	for _, e := range u.events("involvedObject.name=outage") {
		if strings.HasPrefix(e, "Warning RevocationFailed") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d RevocationFailed warnings, want 1", warnings)
	}

	// Forced, with the authorization server unreachable: completes, saying what was not revoked.
	u.apply(serverManifest("forced", headerMCP.URL(), "StreamableHTTP", oauth2("{clientSecretRef: {name: basic-client}}")))
	u.waitReady(90*time.Second, "mcpserver/forced")
	if err := as.SetReachable(false); err != nil {
		t.Fatal(err)
	}
	u.run("annotate", "mcpserver", "forced", "mcp.toolregistry.io/force-delete=true")
	u.run("delete", "mcpserver", "forced", "--wait=false")
	u.waitDeleted(90*time.Second, "mcpserver/forced")
	if err := as.SetReachable(true); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(u.events("involvedObject.name=forced"), func(e string) bool {
		return strings.HasPrefix(e, "Warning CredentialsNotRevoked") && strings.Contains(e, "not revoked: 1 token")
	}) {
		t.Errorf("no CredentialsNotRevoked warning: %v", u.events("involvedObject.name=forced"))
	}

	// Orphan: nothing revoked, the credentials Secret kept without an owner.
	u.apply(serverManifest("orphan", headerMCP.URL(), "StreamableHTTP", oauth2("{clientSecretRef: {name: basic-client}}"), "deletionPolicy: Orphan"))
	u.waitReady(90*time.Second, "mcpserver/orphan")
	revocations := requestCount(t, as, "revocation")
	u.run("delete", "mcpserver", "orphan")
	if n := requestCount(t, as, "revocation"); n != revocations {
		t.Errorf("Orphan made %d revocation requests", n-revocations)
	}
	if owners := u.jsonpath("secret/orphan-oauth2", "{.metadata.ownerReferences}"); owners != "" {
		t.Errorf("the orphaned credentials Secret still has owners %s", owners)
	}

	// A resource_metadata URL on a denied address: Stalled, and no connection made.
	denied, accepted := countingListener(t, "127.0.0.2:0")
	hostile, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Name: "hostile", Tools: mcpserver.SampleTools(), OAuth: &mcpserver.OAuth{
		IntrospectionURL: as.DirectURL() + oauthserver.IntrospectionPath, ClientID: introID, ClientSecret: introSecret,
		AuthorizationServers: []string{as.Issuer()}, MetadataInHeader: true, MetadataURL: "http://" + denied + "/.well-known/oauth-protected-resource",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hostile.Close() })
	u.apply(serverManifest("hostile", hostile.URL(), "StreamableHTTP", oauth2("{clientSecretRef: {name: basic-client}}")))
	u.run("wait", `--for=jsonpath={.status.conditions[?(@.type=="Stalled")].reason}=DiscoveryFailed`, "--timeout=60s", "mcpserver/hostile")
	if msg := u.jsonpath("mcpserver/hostile", `{.status.conditions[?(@.type=="Stalled")].message}`); !strings.Contains(msg, "refused by the endpoint policy") {
		t.Errorf("Stalled message %q does not say the endpoint policy refused it", msg)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the denied address accepted %d connections", n)
	}
	u.run("delete", "mcpserver", "hostile")
	fmt.Printf("e2e: oidc-provider requests: %v (log %s)\n", mustRequests(t, as), filepath.Base(as.LogPath()))
}

// clientSecretManifest is an Opaque Secret with several keys.
func clientSecretManifest(name string, data map[string]string) string {
	m := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\nstringData:\n", name)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range data {
			if !yield(k) {
				return
			}
		}
	}) {
		m += fmt.Sprintf("  %s: %q\n", k, data[k])
	}
	return m
}

func randomSecret(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// secretValue reads one key of a Secret without printing or recording it.
func secretValue(t *testing.T, ns, name, key string) string {
	t.Helper()
	out, err := runKubectl("", "get", "secret", name, "-n", ns, "-o", "jsonpath={.data."+key+"}")
	if err != nil {
		t.Fatalf("cannot read Secret %s: %v", name, err)
	}
	v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("Secret %s key %s: %v", name, key, err)
	}
	return string(v)
}

// plugin runs bin/kubectl-mcp in the user's namespace, as `kubectl mcp` would, failing the test
// when it fails.
func (u *user) plugin(args ...string) string {
	u.t.Helper()
	out, err := u.pluginTry(args...)
	if err != nil {
		u.t.Fatalf("kubectl mcp %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// tokenSet is every token the authorization server issued to clientID.
func tokenSet(t *testing.T, as *oauthserver.Server, clientID string) map[string]bool {
	t.Helper()
	toks, err := as.IssuedTokens(clientID)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, tok := range toks {
		set[tok] = true
	}
	return set
}

func requestCount(t *testing.T, as *oauthserver.Server, what string) int {
	t.Helper()
	return mustRequests(t, as)[what]
}

func mustRequests(t *testing.T, as *oauthserver.Server) map[string]int {
	t.Helper()
	r, err := as.Requests()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
