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
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// 12. Uninstall never destroys the registry: with the operator removed, MCPServers and MCPTools
// stay untouched; reinstalled, it adopts them (nothing re-created, deleted or rewritten); the full
// teardown is explicit (kubectl mcp uninstall --purge), refused while a server is in use.
func TestUninstallKeepsTheRegistry(t *testing.T) {
	u := newUser(t, "e2e-uninstall")
	u.apply(secretManifest("everything-token", "token", "user-owned-token"))
	u.apply(serverManifest("everything", suite.everythingHTTP, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: everything-token, key: token}}}"))
	u.waitReady(60*time.Second, "mcpserver/everything")
	u.apply(consumerManifest("agent", "everything:echo"))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/everything")

	snapshot := func() string {
		return u.run("get", "mcpservers,mcptools", "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.uid} {.metadata.resourceVersion} {.metadata.deletionTimestamp}{"\n"}{end}`)
	}
	before := snapshot()
	if strings.Count(before, "MCPTool/") == 0 {
		t.Fatalf("no MCPTools:\n%s", before)
	}

	// The operator is removed (its process stops, as when its Deployment is deleted): nothing in
	// the registry changes.
	if err := suite.manager.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = suite.manager.Start()
		}
	})
	time.Sleep(3 * time.Second)
	if after := snapshot(); after != before {
		t.Fatalf("the registry changed with the operator gone:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out := u.plugin("uninstall"); !strings.Contains(out, "Servers in use: e2e-uninstall/everything: Deployment e2e-uninstall/agent") {
		t.Errorf("kubectl mcp uninstall does not name the server in use:\n%s", out)
	}

	// Reinstalled: it adopts every object as it is. A spec change shows it reconciled the server,
	// and its MCPTools are neither re-created nor rewritten.
	if err := suite.manager.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	u.run("patch", "mcpserver", "everything", "--type=merge", "-p", `{"spec":{"description":"after the reinstall"}}`)
	generation := u.jsonpath("mcpserver/everything", "{.metadata.generation}")
	u.run("wait", "--for=jsonpath={.status.observedGeneration}="+generation, "--timeout=60s", "mcpserver/everything")
	u.waitReady(60*time.Second, "mcpserver/everything")
	after := snapshot()
	for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
		if strings.HasPrefix(line, "MCPTool/") && !strings.Contains(after, line) {
			t.Errorf("MCPTool changed across the reinstall: %q\nnow:\n%s", line, after)
		}
	}

	// The teardown: refused while the consumer uses the server (exit 3), then done with the
	// operator gone; the user's Secret is kept.
	if out, err := u.pluginTry("uninstall", "--purge"); exitCode(err) != 3 || !strings.Contains(out, "Refused") {
		t.Fatalf("purge while in use: exit %d, want 3\n%s", exitCode(err), out)
	}
	if after := snapshot(); strings.Count(after, "\n") != strings.Count(before, "\n") {
		t.Fatalf("a refused purge changed the registry:\n%s", after)
	}
	if err := suite.manager.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted = false
	u.run("delete", "deployment", "agent")
	out := u.plugin("uninstall", "--purge")
	if !strings.Contains(out, "Purged 1 MCPServers") {
		t.Errorf("purge output:\n%s", out)
	}
	if left := strings.TrimSpace(snapshot()); left != "" {
		t.Fatalf("left after the purge:\n%s", left)
	}
	if got := u.names("secrets"); contains(got, "everything-token") != "" {
		t.Fatalf("the user's Secret is gone: %v", got)
	}
	if err := suite.manager.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
}

// pluginTry runs bin/kubectl-mcp in the user's namespace and returns its output and error.
func (u *user) pluginTry(args ...string) (string, error) {
	u.t.Helper()
	cmd := exec.Command(filepath.Join(suite.root, "bin", "kubectl-mcp"), append(args, "-n", u.ns)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+suite.kubeconfig)
	out, err := cmd.CombinedOutput()
	u.output.Write(out)
	u.t.Logf("$ kubectl mcp %s\n%s", strings.Join(args, " "), strings.TrimRight(string(out), "\n"))
	return string(out), err
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
