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
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
)

// Tools server-everything always offers, whatever the client's capabilities: the suite checks
// membership, never counts.
var everythingTools = []string{"echo", "get-sum"}

// 1. server-everything over Streamable HTTP and over SSE: Ready, tools listed, printer columns.
func TestServerEverythingBecomesReady(t *testing.T) {
	u := newUser(t, "e2e-ready")
	u.apply(serverManifest("everything-http", suite.everythingHTTP, "StreamableHTTP"))
	u.apply(serverManifest("everything-sse", suite.everythingSSE, "SSE"))
	u.waitReady(60*time.Second, "mcpserver/everything-http", "mcpserver/everything-sse")

	for _, s := range []struct{ name, url string }{{"everything-http", suite.everythingHTTP}, {"everything-sse", suite.everythingSSE}} {
		tools := u.toolsOf(s.name)
		if msg := contains(tools, everythingTools...); msg != "" {
			t.Fatalf("%s: %s", s.name, msg)
		}
		server := table(t, u.run("get", "mcpserver", s.name))
		if server["URL"] != s.url || server["TOOLS"] != strconv.Itoa(len(tools)) || server["CONSUMERS"] != "0" ||
			server["READY"] != "True" || server["STATUS"] == "" {
			t.Fatalf("%s: printer columns %v, want URL %s, TOOLS %d, CONSUMERS 0, READY True and a STATUS", s.name, server, s.url, len(tools))
		}
		tool := table(t, u.run("get", "mcptools", "-l", "mcp.toolregistry.io/server="+s.name, "--sort-by=.spec.toolName"))
		for _, col := range []string{"SERVER", "TOOL", "ENABLED", "CONSUMERS", "READY"} {
			if tool[col] == "" {
				t.Fatalf("%s: MCPTool printer column %s is empty: %v", s.name, col, tool)
			}
		}
		if tool["SERVER"] != s.name || tool["READY"] != "True" {
			t.Fatalf("%s: MCPTool columns %v", s.name, tool)
		}
	}
}

// 2. A consumer blocks the delete; deleting the consumer lets it complete within seconds, taking
// the MCPTools and the Secret the server owns, and leaving the user's bearer Secret.
func TestDeleteBlockedUntilConsumerGoes(t *testing.T) {
	u := newUser(t, "e2e-blocked")
	u.apply(secretManifest("everything-token", "token", "user-owned-token"))
	u.apply(serverManifest("everything", suite.everythingHTTP, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: everything-token, key: token}}}"))
	u.waitReady(60*time.Second, "mcpserver/everything")
	u.apply(issuedSecretManifest("everything-issued", "everything", u.jsonpath("mcpserver/everything", "{.metadata.uid}")))
	u.apply(consumerManifest("agent", "everything:echo"))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/everything")
	tools := u.toolsOf("everything")

	u.run("delete", "mcpserver", "everything", "--wait=false")
	u.run("wait", "--for=condition=DeletionBlocked", "--timeout=30s", "mcpserver/everything")
	if u.jsonpath("mcpserver/everything", "{.metadata.deletionTimestamp}") == "" {
		t.Fatal("the blocked server is not Terminating")
	}
	msg := u.jsonpath("mcpserver/everything", `{.status.conditions[?(@.type=="DeletionBlocked")].message}`)
	if !strings.Contains(msg, "Deployment e2e-blocked/agent") {
		t.Fatalf("DeletionBlocked does not name the Deployment: %q", msg)
	}
	if got := u.toolsOf("everything"); len(got) != len(tools) {
		t.Fatalf("MCPTools changed while blocked: %d, were %d", len(got), len(tools))
	}
	if ts := u.run("get", "mcptools", "-o", "jsonpath={.items[*].metadata.deletionTimestamp}"); strings.TrimSpace(ts) != "" {
		t.Fatalf("MCPTools marked for deletion while blocked: %s", ts)
	}
	if ev := u.events("type=Warning,reason=DeletionBlocked,involvedObject.name=everything"); len(ev) != 1 {
		t.Fatalf("want one DeletionBlocked Warning, got %v", ev)
	}

	u.run("delete", "deployment", "agent")
	took := u.waitDeleted(30*time.Second, "mcpserver/everything")
	t.Logf("the server was gone %s after the consumer's delete returned", took.Round(time.Millisecond))
	if left := u.names("mcptools"); len(left) != 0 {
		t.Fatalf("MCPTools left: %v", left)
	}
	if left := u.names("secrets"); contains(left, "everything-token") != "" || contains(left, "everything-issued") == "" {
		t.Fatalf("Secrets after the delete: %v; want the user's everything-token kept and everything-issued deleted", left)
	}
}

// 3. --cascade=orphan: the server goes, its MCPTools stay, without an owner.
func TestOrphanKeepsTools(t *testing.T) {
	u := newUser(t, "e2e-orphan")
	u.apply(serverManifest("everything", suite.everythingHTTP, "StreamableHTTP"))
	u.waitReady(60*time.Second, "mcpserver/everything")
	tools := u.toolsOf("everything")

	u.run("delete", "mcpserver", "everything", "--cascade=orphan", "--timeout=60s")
	// Give the garbage collector time to act on anything still owned.
	time.Sleep(3 * time.Second)
	if got := u.toolsOf("everything"); len(got) != len(tools) {
		t.Fatalf("%d MCPTools after an orphaning delete, want %d", len(got), len(tools))
	}
	if owners := u.run("get", "mcptools", "-o", "jsonpath={.items[*].metadata.ownerReferences}"); strings.TrimSpace(owners) != "" {
		t.Fatalf("orphaned MCPTools still have owners: %s", owners)
	}
}

// 4. Foreground and background deletes both complete with the garbage collector running, and
// nothing is left behind.
func TestForegroundAndBackgroundDeletes(t *testing.T) {
	u := newUser(t, "e2e-propagation")
	for _, name := range []string{"foreground", "background"} {
		u.apply(serverManifest(name, suite.everythingHTTP, "StreamableHTTP"))
	}
	u.waitReady(60*time.Second, "mcpserver/foreground", "mcpserver/background")
	for _, name := range []string{"foreground", "background"} {
		u.apply(issuedSecretManifest(name+"-issued", name, u.jsonpath("mcpserver/"+name, "{.metadata.uid}")))
	}

	u.run("delete", "mcpserver", "foreground", "--cascade=foreground", "--timeout=60s")
	u.run("delete", "mcpserver", "background", "--cascade=background", "--timeout=60s")
	u.eventually(30*time.Second, "nothing left behind", func() string {
		if left := u.names("mcptools"); len(left) != 0 {
			return fmt.Sprintf("MCPTools left: %v", left)
		}
		if left := u.names("secrets"); contains(left, "foreground-issued") == "" || contains(left, "background-issued") == "" {
			return fmt.Sprintf("owned Secrets left: %v", left)
		}
		return ""
	})
}

// 5. Deleting a namespace that holds servers, tools and their consumers completes.
func TestNamespaceDeleteCompletes(t *testing.T) {
	u := newUser(t, "e2e-namespace")
	u.apply(secretManifest("everything-token", "token", "user-owned-token"))
	u.apply(serverManifest("everything", suite.everythingHTTP, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: everything-token, key: token}}}"))
	u.apply(serverManifest("everything-sse", suite.everythingSSE, "SSE"))
	u.waitReady(60*time.Second, "mcpserver/everything", "mcpserver/everything-sse")
	u.apply(consumerManifest("agent", "everything:echo,everything-sse"))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/everything", "mcpserver/everything-sse")

	u.run("delete", "namespace", u.ns, "--wait=false")
	took := u.waitDeleted(120*time.Second, "namespace/"+u.ns)
	t.Logf("namespace deleted in %s", took.Round(time.Millisecond))
}

// 6. kill -9 the manager at random points of cascades of servers with many tools, restart it: every
// server is gone, no MCPTool or owned Secret is left, and no user object was touched.
func TestCrashDuringCascade(t *testing.T) {
	const runs = 10
	u := newUser(t, "e2e-crash")
	u.apply(secretManifest("test-server-token", "token", testServerToken))
	u.apply(`apiVersion: v1
kind: ConfigMap
metadata:
  name: user-config
data:
  owner: the user
`)
	u.apply(consumerManifest("bystander", "some-other-server"))
	userObjects := []string{"secret/test-server-token", "configmap/user-config", "deployment/bystander"}
	versions := map[string]string{}
	for _, obj := range userObjects {
		versions[obj] = u.jsonpath(obj, "{.metadata.resourceVersion}")
	}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill points drawn with seed %d", seed)
	for run := range runs {
		name := fmt.Sprintf("big-%02d", run)
		u.apply(serverManifest(name, suite.testServer, "StreamableHTTP",
			"auth: {type: Bearer, bearer: {secretRef: {name: test-server-token, key: token}}}"))
		u.run("wait", fmt.Sprintf("--for=jsonpath={.status.toolCount}=%d", testServerTools), "--timeout=90s", "mcpserver/"+name)
		u.waitReady(30*time.Second, "mcpserver/"+name)
		u.apply(issuedSecretManifest(name+"-issued", name, u.jsonpath("mcpserver/"+name, "{.metadata.uid}")))

		kill := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		u.run("delete", "mcpserver", name, "--wait=false")
		time.Sleep(kill)
		if err := suite.manager.Kill(); err != nil {
			t.Fatal(err)
		}
		left := len(u.toolsOf(name))
		t.Logf("run %d: manager killed %s into the cascade, %d of %d MCPTools left", run+1, kill.Round(time.Millisecond), left, testServerTools)
		if err := suite.manager.Start(); err != nil {
			t.Fatal(err)
		}
		u.waitDeleted(90*time.Second, "mcpserver/"+name)
		if left := u.toolsOf(name); len(left) != 0 {
			t.Fatalf("run %d: %d MCPTools left", run+1, len(left))
		}
		if _, err := u.try("", "get", "secret", name+"-issued"); err == nil {
			t.Fatalf("run %d: the owned Secret is left", run+1)
		}
	}
	for _, obj := range userObjects {
		if rv := u.jsonpath(obj, "{.metadata.resourceVersion}"); rv != versions[obj] {
			t.Fatalf("%s was changed (resourceVersion %s, was %s)", obj, rv, versions[obj])
		}
	}
}

// 7. The force annotation deletes a blocked server, with Warning Events on the server and on the
// consumer it breaks.
func TestForceDelete(t *testing.T) {
	u := newUser(t, "e2e-force")
	u.apply(serverManifest("everything", suite.everythingHTTP, "StreamableHTTP"))
	u.waitReady(60*time.Second, "mcpserver/everything")
	u.apply(consumerManifest("agent", "everything"))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/everything")
	u.run("delete", "mcpserver", "everything", "--wait=false")
	u.run("wait", "--for=condition=DeletionBlocked", "--timeout=30s", "mcpserver/everything")

	u.run("annotate", "mcpserver", "everything", "mcp.toolregistry.io/force-delete=true")
	u.waitDeleted(30*time.Second, "mcpserver/everything")
	if left := u.names("mcptools"); len(left) != 0 {
		t.Fatalf("MCPTools left: %v", left)
	}
	u.eventually(10*time.Second, "force-delete Warning Events", func() string {
		onServer := u.events("type=Warning,reason=ForceDeleted,involvedObject.kind=MCPServer,involvedObject.name=everything")
		onConsumer := u.events("type=Warning,reason=MCPServerForceDeleted,involvedObject.kind=Deployment,involvedObject.name=agent")
		if len(onServer) != 1 || !strings.Contains(onServer[0], "Deployment e2e-force/agent") || len(onConsumer) != 1 {
			return fmt.Sprintf("on the server %v, on the consumer %v", onServer, onConsumer)
		}
		return ""
	})
	if u.jsonpath("deployment/agent", "{.metadata.name}") != "agent" {
		t.Fatal("the consumer is gone")
	}
}

// 8. A server whose endpoint is dead and one whose Secret is missing both delete.
func TestBrokenServersStillDelete(t *testing.T) {
	u := newUser(t, "e2e-broken")
	port, err := localcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	u.apply(serverManifest("dead", fmt.Sprintf("http://127.0.0.1:%d/mcp", port), "StreamableHTTP", "timeout: 2s"))
	u.apply(serverManifest("no-secret", suite.everythingHTTP, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: does-not-exist, key: token}}}"))
	u.run("wait", `--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SyncFailed`, "--timeout=60s", "mcpserver/dead")
	u.run("wait", `--for=jsonpath={.status.conditions[?(@.type=="Stalled")].reason}=SecretNotFound`, "--timeout=60s", "mcpserver/no-secret")

	u.run("delete", "mcpserver", "dead", "no-secret", "--wait=false")
	u.waitDeleted(30*time.Second, "mcpserver/dead", "mcpserver/no-secret")
}
