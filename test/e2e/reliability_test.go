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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
)

// drillCases are the outages a drill causes. The manager runs with the shipped leader-election
// timings (lease 15 s, renew deadline 10 s, retry period 2 s): it loses its lease between 10 and
// 12 s after its last renewal. An outage that, restart included, stays under 10 s keeps the same
// manager leading throughout; one over 12 s makes it step down (stop every controller: it cannot
// know whether another replica took over) and stand for election again in the same process, with
// the same identity, so that it takes its own lease back as soon as the API server answers.
var drillCases = []struct {
	component string
	stop      time.Duration
	stepsDown bool
}{
	{component: localcluster.APIServer, stop: 2 * time.Second},
	{component: localcluster.Etcd, stop: 2 * time.Second},
	{component: localcluster.APIServer, stop: 12 * time.Second, stepsDown: true},
}

// drillTools is the size of the cascade a drill interrupts.
const drillTools = 500

// 9. Reliability drill: kube-apiserver or etcd is killed and started again (same flags, port,
// certificates and data) during a blocked delete and in the middle of a 500-tool cascade. Both
// deletes complete, nothing is orphaned, no user object is touched, and the same manager process
// leads throughout or, after an outage longer than its renew deadline, steps down and leads again. The timings are logged (docs/reliability.md has them), never asserted.
func TestControlPlaneOutage(t *testing.T) {
	m := drillManager(t)
	u := newUser(t, "e2e-outage")
	u.apply(secretManifest("test-server-token", "token", testServerToken))
	userSecretVersion := u.jsonpath("secret/test-server-token", "{.metadata.resourceVersion}")
	big := startDrillServer(t, drillTools)

	// The same blocked delete and cascade with no outage: the baseline the drill's figures compare to.
	blockedDelete(t, u, "held-idle", "agent-idle", nil)
	cascade(t, u, big, "big-idle", nil)

	for i, dc := range drillCases {
		short := fmt.Sprintf("%s-%d", strings.TrimPrefix(dc.component, "kube-"), i)
		o := drillOutage{t: t, m: m, component: dc.component, stop: dc.stop, stepsDown: dc.stepsDown}

		blockedDelete(t, u, "held-"+short, "agent-"+short, &o)
		cascade(t, u, big, "big-"+short, &o)
	}
	if rv := u.jsonpath("secret/test-server-token", "{.metadata.resourceVersion}"); rv != userSecretVersion {
		t.Fatalf("the user's Secret was changed (resourceVersion %s, was %s)", rv, userSecretVersion)
	}
	log, err := os.ReadFile(m.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DRILL: over %d manager runs, the manager logged %d reconciler errors", m.runs, strings.Count(string(log), "Reconciler error"))
}

// blockedDelete deletes a server in use, causes the outage o (none when nil) while the delete is
// blocked, removes the consumer two seconds after the control plane is back (while the informers'
// watches may still be re-connecting), and logs how long the delete then took.
func blockedDelete(t *testing.T, u *user, held, agent string, o *drillOutage) {
	t.Helper()
	u.apply(serverManifest(held, suite.testServer, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: test-server-token, key: token}}}"))
	u.waitReady(90*time.Second, "mcpserver/"+held)
	u.apply(consumerManifest(agent, held))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/"+held)
	u.run("delete", "mcpserver", held, "--wait=false")
	u.run("wait", "--for=condition=DeletionBlocked", "--timeout=30s", "mcpserver/"+held)
	back := time.Now()
	if o != nil {
		back = o.run()
	}
	time.Sleep(2 * time.Second)
	start := time.Now()
	u.run("delete", "deployment", agent, "--wait=false")
	u.waitDeleted(60*time.Second, "mcpserver/"+held)
	t.Logf("DRILL %s: blocked delete (%d MCPTools) completed %s after its consumer went (%s after the control plane was back, or the delete was blocked)",
		o, testServerTools, time.Since(start).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	expectNothingLeft(t, u, held)
}

// cascade deletes a server with drillTools MCPTools, causes the outage o (none when nil) once a
// tenth of them are gone, and logs how long the cascade took after the control plane was back.
func cascade(t *testing.T, u *user, url, name string, o *drillOutage) {
	t.Helper()
	u.apply(serverManifest(name, url, "StreamableHTTP"))
	u.run("wait", fmt.Sprintf("--for=jsonpath={.status.toolCount}=%d", drillTools), "--timeout=120s", "mcpserver/"+name)
	u.waitReady(30*time.Second, "mcpserver/"+name)
	u.apply(issuedSecretManifest(name+"-issued", name, u.jsonpath("mcpserver/"+name, "{.metadata.uid}")))
	start := time.Now()
	u.run("delete", "mcpserver", name, "--wait=false")
	u.eventually(60*time.Second, "the cascade under way", func() string {
		if left := len(u.toolsOf(name)); left > drillTools*9/10 {
			return fmt.Sprintf("%d MCPTools left", left)
		}
		return ""
	})
	left := len(u.toolsOf(name))
	back, leftAfter := start, left
	if o != nil {
		back = o.run()
		leftAfter = len(u.toolsOf(name))
	}
	u.waitDeleted(120*time.Second, "mcpserver/"+name)
	if o == nil {
		t.Logf("DRILL no outage: cascade of %d MCPTools completed %s after the delete", drillTools, time.Since(start).Round(time.Millisecond))
	} else {
		t.Logf("DRILL %s: cascade with %d of %d MCPTools left at the outage (%d when it ended) completed %s after the control plane was back",
			o, left, drillTools, leftAfter, time.Since(back).Round(time.Millisecond))
	}
	expectNothingLeft(t, u, name)
	if _, err := u.try("", "get", "secret", name+"-issued"); err == nil {
		t.Fatalf("the Secret %s owned is left", name)
	}
}

// drillOutage is one outage of a drill case.
type drillOutage struct {
	t         *testing.T
	m         *manager
	component string
	stop      time.Duration
	stepsDown bool
}

// String names the outage in the drill's log lines.
func (o *drillOutage) String() string {
	if o == nil {
		return "no outage"
	}
	return fmt.Sprintf("%s stopped for %s", o.component, o.stop)
}

// run stops the component, keeps it stopped, starts it again and waits until the API server is
// ready, and returns when it was. A manager that must lead throughout is checked to have; one that
// steps down is checked to have said why, and is started again.
func (o *drillOutage) run() time.Time {
	t := o.t
	t.Helper()
	runs, pid := o.m.runs, o.m.proc.Pid()
	stopped, err := suite.cluster.StopComponent(o.component)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(o.stop)
	restarted := time.Now()
	back, err := stopped.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DRILL %s: stopped for %s; ready %s after its restart (%s unavailable in all)",
		o.component, o.stop, back.Sub(restarted).Round(time.Millisecond), back.Sub(stopped.At).Round(time.Millisecond))
	if !o.stepsDown {
		if o.m.proc.Exited() || o.m.runs != runs {
			t.Fatalf("the manager (pid %d) did not survive the outage; see %s", pid, o.m.log)
		}
		return back
	}
	// It stopped leading (its renew deadline passed), stopped every controller, and stands again in
	// the same process with the same identity: it takes its own lease back as soon as it can.
	deadline := time.Now().Add(30 * time.Second)
	for {
		log, _ := os.ReadFile(o.m.log)
		if strings.Contains(string(log), "Standing for election again with the same identity") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the manager did not step down during an outage longer than its renew deadline; see %s", o.m.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if o.m.proc.Exited() || o.m.runs != runs {
		t.Fatalf("the manager (pid %d) exited instead of standing for election again; see %s", pid, o.m.log)
	}
	t.Logf("DRILL %s: the manager stepped down during the outage and stood again in the same process (pid %d)", o.component, pid)
	return back
}

// drillManager replaces the suite's manager, for the test, with one running the shipped
// leader-election timings, and puts the suite's back afterwards.
func drillManager(t *testing.T) *manager {
	t.Helper()
	if err := suite.manager.stop(); err != nil {
		t.Fatal(err)
	}
	m, err := newManager(suite.manager.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	m.log = filepath.Join(suite.dir, "manager-drill.log")
	var args []string
	for _, a := range m.args {
		if !strings.HasPrefix(a, "--leader-elect-") || strings.HasPrefix(a, "--leader-elect-namespace") {
			args = append(args, a)
		}
	}
	m.args = args
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("drill manager: bin/manager %s (pid %d)", strings.Join(m.args, " "), m.proc.Pid())
	t.Cleanup(func() {
		_ = m.stop()
		if err := suite.manager.start(); err != nil {
			t.Errorf("cannot restart the suite's manager: %v", err)
		}
	})
	return m
}

// startDrillServer runs a test MCP server offering n tools, for the drill's cascades.
func startDrillServer(t *testing.T, n int) string {
	t.Helper()
	port, err := localcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := localcluster.StartProcess(filepath.Join(suite.root, "bin", "mcp-test-server"),
		[]string{"--addr=" + addr, fmt.Sprintf("--tools=%d", n), "--page-size=100"}, nil,
		filepath.Join(suite.dir, "mcp-test-server-drill.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	if err := waitListening(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/mcp"
}

// expectNothingLeft fails when any MCPTool of server is left.
func expectNothingLeft(t *testing.T, u *user, server string) {
	t.Helper()
	if left := u.toolsOf(server); len(left) != 0 {
		t.Fatalf("%d MCPTools of %s are left", len(left), server)
	}
}
