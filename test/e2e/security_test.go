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
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 10. Tenant safety on loopback aliases: the manager allows only 127.0.0.1 (as --endpoint-allow-cidrs),
// so 127.0.0.2 stands for a host the policy denies. A server there is Stalled with
// EndpointNotAllowed and gets no connection at all; a server that redirects to another host gets
// no token there, and the sync fails saying why.
func TestEndpointPolicyAndRedirects(t *testing.T) {
	u := newUser(t, "e2e-tenant")
	u.apply(secretManifest("token", "token", testServerToken))
	auth := "auth: {type: Bearer, bearer: {secretRef: {name: token, key: token}}}"

	denied, accepted := countingListener(t, "127.0.0.2:0")
	u.apply(serverManifest("internal", "http://"+denied+"/mcp", "StreamableHTTP", auth))
	u.run("wait", `--for=jsonpath={.status.conditions[?(@.type=="Stalled")].reason}=EndpointNotAllowed`, "--timeout=60s", "mcpserver/internal")
	msg := u.jsonpath("mcpserver/internal", `{.status.conditions[?(@.type=="Stalled")].message}`)
	for _, want := range []string{"connection to 127.0.0.2 refused by the endpoint policy", "127.0.0.0/8 is in --endpoint-deny-cidrs", "--endpoint-allow-cidrs"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Stalled message %q lacks %q", msg, want)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the denied host accepted %d connections", n)
	}

	// The endpoint answers every request with a redirect to another host name for the same
	// machine (localhost), where a server records what it receives.
	var received []string
	var mu sync.Mutex
	target := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	_, targetPort, _ := net.SplitHostPort(target)
	var origin atomic.Int64
	redirector := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin.Add(1)
		http.Redirect(w, r, "http://localhost:"+targetPort+"/mcp", http.StatusTemporaryRedirect)
	}))
	u.apply(serverManifest("moved", "http://"+redirector+"/mcp", "StreamableHTTP", auth))
	u.eventually(60*time.Second, "the sync fails on the redirect", func() string {
		if e := u.jsonpath("mcpserver/moved", "{.status.lastSyncError}"); !strings.Contains(e, "redirected to another host") {
			return fmt.Sprintf("lastSyncError %q", e)
		}
		return ""
	})
	if origin.Load() == 0 {
		t.Fatal("the endpoint was never contacted")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 0 {
		t.Fatalf("the host redirected to received %v", received)
	}
	u.run("delete", "mcpserver", "internal", "moved")

	// Metrics are process-wide: one scrape, with a token bound to the metrics-reader role.
	u.run("create", "serviceaccount", "leak-scraper")
	u.run("create", "clusterrolebinding", "e2e-leak-scraper", "--clusterrole=mcp-registry-operator-metrics-reader",
		"--serviceaccount="+u.ns+":leak-scraper")
	t.Cleanup(func() {
		_, _ = runKubectl("", "delete", "clusterrolebinding", "e2e-leak-scraper", "--ignore-not-found")
	})
	u.eventually(30*time.Second, "the metrics carry no secret", func() string {
		code, body, err := scrapeMetrics(strings.TrimSpace(u.run("create", "token", "leak-scraper")))
		switch {
		case err != nil:
			return err.Error()
		case code != http.StatusOK:
			return fmt.Sprintf("HTTP %d", code)
		case strings.Contains(body, testServerToken) || strings.Contains(body, base64.StdEncoding.EncodeToString([]byte(testServerToken))):
			t.Fatal("the manager's metrics show the test server's token")
		case !strings.Contains(body, "mcp_registry_servers_deletion_blocked"):
			return "no mcp_registry_ metrics yet"
		}
		return ""
	})
}

// countingListener accepts and closes connections on addr, counting them.
func countingListener(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	n := &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	return l.Addr().String(), n
}

// serve runs h on addr until the test ends and returns the address.
func serve(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String()
}

// expectNoSecretLeaked fails the scenario when the test server's token (or its base64 form)
// appears in anything a user or a log reader can see: the manager's logs, the namespace's Events,
// MCPServers and MCPTools, or any kubectl output of the scenario.
func (u *user) expectNoSecretLeaked() {
	u.t.Helper()
	var secrets []string
	for _, v := range append([]string{testServerToken}, u.secrets...) {
		secrets = append(secrets, v, base64.StdEncoding.EncodeToString([]byte(v)))
	}
	places := map[string]string{"kubectl output": u.output.String()}
	if out, err := runKubectl("", "get", "events,mcpservers,mcptools", "-n", u.ns, "-o", "json"); err == nil {
		places["Events, MCPServers and MCPTools"] = out
	}
	logs, _ := filepath.Glob(filepath.Join(suite.dir, "manager*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			places[filepath.Base(l)] = string(b)
		}
	}
	for where, text := range places {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				u.t.Errorf("a secret (%d characters) appears in %s", len(s), where)
			}
		}
	}
}
