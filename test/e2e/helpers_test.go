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
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// user drives the cluster the way a user does: kubectl commands in one namespace, each printed with
// its output.
type user struct {
	t  testing.TB
	ns string
	// output is everything kubectl printed for the user, searched for leaked secrets.
	output strings.Builder
	// secrets are values of this scenario's own that must appear nowhere either (e.g. OAuth
	// tokens and client secrets), besides the test server's token.
	secrets []string
}

// newUser creates the scenario's namespace. When the scenario fails, what is left in it, its events
// and the end of the manager's log are printed; the namespace is deleted in any case.
func newUser(t testing.TB, ns string) *user {
	t.Helper()
	u := &user{t: t, ns: ns}
	u.run("create", "namespace", ns)
	t.Cleanup(func() {
		u.expectNoSecretLeaked()
		if t.Failed() {
			out, _ := runKubectl("", "get", "mcpservers,mcptools,deployments,secrets,events", "-n", ns, "-o", "wide")
			t.Logf("left in %s:\n%s", ns, out)
			if log, err := os.ReadFile(suite.manager.Log); err == nil {
				t.Logf("end of the manager log:\n%s", tail(string(log), 40))
			}
		}
		_, _ = runKubectl("", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	return u
}

// run runs kubectl in the user's namespace, failing the test when it fails.
func (u *user) run(args ...string) string {
	u.t.Helper()
	return u.runIn("", args...)
}

// runIn is run with stdin.
func (u *user) runIn(stdin string, args ...string) string {
	u.t.Helper()
	out, err := u.try(stdin, args...)
	if err != nil {
		u.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// try runs kubectl in the user's namespace and returns its output and error.
func (u *user) try(stdin string, args ...string) (string, error) {
	u.t.Helper()
	if !hasNamespaceFlag(args) {
		args = append([]string{"-n", u.ns}, args...)
	}
	start := time.Now()
	out, err := runKubectl(stdin, args...)
	u.output.WriteString(out)
	u.t.Logf("$ kubectl %s   (%s)\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), strings.TrimRight(out, "\n"))
	return out, err
}

// apply applies a manifest in the user's namespace.
func (u *user) apply(manifest string) {
	u.t.Helper()
	u.runIn(manifest, "apply", "-f", "-")
}

// jsonpath returns one field of one object.
func (u *user) jsonpath(object, path string) string {
	u.t.Helper()
	return strings.TrimSpace(u.run("get", object, "-o", "jsonpath="+path))
}

// names lists the names of the objects kubectl get returns for args.
func (u *user) names(args ...string) []string {
	u.t.Helper()
	out := u.run(append(append([]string{"get"}, args...), "-o", `jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}`)...)
	return strings.Fields(out)
}

// toolsOf lists the MCP names (spec.toolName) of a server's MCPTools.
func (u *user) toolsOf(server string) []string {
	u.t.Helper()
	out := u.run("get", "mcptools", "-l", "mcp.toolregistry.io/server="+server,
		"-o", `jsonpath={range .items[*]}{.spec.toolName}{"\n"}{end}`)
	return strings.Fields(out)
}

// waitReady waits for the objects' Ready condition.
func (u *user) waitReady(timeout time.Duration, objects ...string) {
	u.t.Helper()
	u.run(append([]string{"wait", "--for=condition=Ready", "--timeout=" + timeout.String()}, objects...)...)
}

// waitDeleted waits until the objects are gone and returns how long that took.
func (u *user) waitDeleted(timeout time.Duration, objects ...string) time.Duration {
	u.t.Helper()
	start := time.Now()
	u.run(append([]string{"wait", "--for=delete", "--timeout=" + timeout.String()}, objects...)...)
	return time.Since(start)
}

// events returns "type reason message" lines of the namespace's events matching a field selector.
func (u *user) events(selector string) []string {
	u.t.Helper()
	out := u.run("get", "events", "--field-selector", selector,
		"-o", `jsonpath={range .items[*]}{.type}{" "}{.reason}{" "}{.message}{"\n"}{end}`)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// eventually retries check every 200 ms until it returns "", failing with its last message after
// timeout.
func (u *user) eventually(timeout time.Duration, what string, check func() string) {
	u.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s: still not true after %s: %s", what, timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serverManifest is an MCPServer; extra is appended to its spec (indented by four spaces).
func serverManifest(name, url, transport string, extra ...string) string {
	m := fmt.Sprintf(`apiVersion: mcp.toolregistry.io/v1alpha1
kind: MCPServer
metadata:
  name: %s
spec:
  url: %s
  transport: %s
`, name, url, transport)
	for _, line := range extra {
		m += "  " + line + "\n"
	}
	return m
}

// consumerManifest is a Deployment that references tools through the annotation.
func consumerManifest(name, tools string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  annotations:
    mcp.toolregistry.io/tools: %[2]q
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: agent
        image: example.com/agent:1.0
`, name, tools)
}

// secretManifest is an Opaque Secret with one key.
func secretManifest(name, key, value string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s
stringData:
  %s: %s
`, name, key, value)
}

// issuedSecretManifest is a Secret controlled by the MCPServer with the given UID, as the operator
// makes the credentials it issues for a server: deleting the server must delete it.
func issuedSecretManifest(name, server, uid string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s
  ownerReferences:
  - apiVersion: mcp.toolregistry.io/v1alpha1
    kind: MCPServer
    name: %s
    uid: %s
    controller: true
    blockOwnerDeletion: true
stringData:
  client-secret: issued-by-the-operator
`, name, server, uid)
}

func hasNamespaceFlag(args []string) bool {
	for _, a := range args {
		if a == "-n" || a == "-A" || a == "--all-namespaces" || strings.HasPrefix(a, "--namespace") {
			return true
		}
	}
	return false
}

// table reads the first row of a kubectl table (the printer columns a user sees) into a map from
// column header to cell, cutting cells at the headers' offsets.
func table(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("not a table with a row:\n%s", out)
	}
	header, row := lines[0], lines[1]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	cells := map[string]string{}
	for j, start := range starts {
		end := len(header)
		if j+1 < len(starts) {
			end = starts[j+1]
		}
		name := strings.TrimSpace(header[start:end])
		if j+1 == len(starts) {
			end = len(row)
		}
		if start < len(row) {
			cells[name] = strings.TrimSpace(row[start:min(end, len(row))])
		}
	}
	return cells
}

func contains(list []string, want ...string) string {
	for _, w := range want {
		found := false
		for _, l := range list {
			if l == w {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("%q not in %v", w, list)
		}
	}
	return ""
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// scrapeMetrics GETs the manager's secure metrics endpoint with token ("" for none) and returns
// the status code and body.
func scrapeMetrics(token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+suite.manager.metrics+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// The manager serves a self-signed certificate unless --metrics-cert-path is given.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
