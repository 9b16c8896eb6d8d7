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

// drillCases are the outages a drill causes. The managers run with the shipped leader-election
// timings (lease 15 s, renew deadline 10 s, retry period 2 s): the leader's renewals start failing
// up to a retry period after the outage begins, and it steps down once they have failed for the
// renew deadline. An outage that, restart included, stays under 10 s keeps the same manager
// leading throughout; one over 12 s makes it step down (stop every controller: it cannot know
// whether another replica took over) and stand for election again in the same process, with the
// same identity, so that it takes its own lease back as soon as the API server answers.
// The cases with managers 2 run a standby beside the leader (started before the first of them).
var drillCases = []struct {
	component string
	stop      time.Duration
	stepsDown bool
	managers  int
}{
	{component: localcluster.APIServer, stop: 2 * time.Second, managers: 1},
	{component: localcluster.Etcd, stop: 2 * time.Second, managers: 1},
	{component: localcluster.APIServer, stop: 5 * time.Second, managers: 1},
	{component: localcluster.Etcd, stop: 8 * time.Second, managers: 1},
	{component: localcluster.APIServer, stop: 12 * time.Second, stepsDown: true, managers: 1},
	{component: localcluster.APIServer, stop: 5 * time.Second, managers: 2},
	{component: localcluster.Etcd, stop: 8 * time.Second, managers: 2},
}

// drillTools is the size of the cascade a drill interrupts.
const drillTools = 500

// 9. Reliability drill: kube-apiserver or etcd is killed and started again (same flags, port,
// certificates and data) during a blocked delete and in the middle of a 500-tool cascade, with one
// manager and then with a leader and a standby. Both deletes complete, nothing is orphaned, no
// user object is touched, every manager process survives, and the leader leads throughout or,
// after an outage longer than its renew deadline, steps down and leads again; the informers'
// relists after each outage are at most two per informer (no relist storm). The timings are
// logged (docs/reliability.md has them), never asserted.
func TestControlPlaneOutage(t *testing.T) {
	ms := drillManagers(t, 1)
	u := newUser(t, "e2e-outage")
	u.apply(secretManifest("test-server-token", "token", testServerToken))
	userSecretVersion := u.jsonpath("secret/test-server-token", "{.metadata.resourceVersion}")
	big := startDrillServer(t, drillTools)

	// The same blocked delete and cascade with no outage: the baseline the drill's figures compare to.
	blockedDelete(t, u, "held-idle", "agent-idle", nil)
	cascade(t, u, big, "big-idle", nil)

	for i, dc := range drillCases {
		if len(ms) < dc.managers {
			ms = append(ms, startDrillManager(t, len(ms)))
		}
		short := fmt.Sprintf("%s-%d", strings.TrimPrefix(dc.component, "kube-"), i)
		o := drillOutage{t: t, ms: ms, component: dc.component, stop: dc.stop, stepsDown: dc.stepsDown}

		blockedDelete(t, u, "held-"+short, "agent-"+short, &o)
		cascade(t, u, big, "big-"+short, &o)
	}
	if rv := u.jsonpath("secret/test-server-token", "{.metadata.resourceVersion}"); rv != userSecretVersion {
		t.Fatalf("the user's Secret was changed (resourceVersion %s, was %s)", rv, userSecretVersion)
	}
	for i, m := range ms {
		log, err := os.ReadFile(m.Log)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("DRILL: manager %d logged %d reconciler errors over the drill (%d runs)", i, strings.Count(string(log), "Reconciler error"), m.Runs)
	}
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
	if o != nil {
		o.countRelists()
	}
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
	if o != nil {
		o.countRelists()
	}
}

// drillOutage is one outage of a drill case.
type drillOutage struct {
	t         *testing.T
	ms        []*manager // the first leads
	component string
	stop      time.Duration
	stepsDown bool
	// before is kube-apiserver's metrics just before the stop.
	before apiMetrics
}

// String names the outage in the drill's log lines.
func (o *drillOutage) String() string {
	if o == nil {
		return "no outage"
	}
	return fmt.Sprintf("%s stopped for %s, %d manager(s)", o.component, o.stop, len(o.ms))
}

// run stops the component, keeps it stopped, starts it again and waits until the API server is
// ready, and returns when it was. Every manager is checked to have survived in the same process;
// a leader that must step down is checked to have said why, and to stand again.
func (o *drillOutage) run() time.Time {
	t := o.t
	t.Helper()
	leader := o.ms[0]
	runs := make([]int, len(o.ms))
	acquired := make([]int, len(o.ms))
	for i, m := range o.ms {
		runs[i], acquired[i] = m.Runs, m.acquisitions()
	}
	o.before = scrapeAPIServer(t)
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
	if o.stepsDown {
		// It stopped leading (its renew deadline passed), stopped every controller, and stands
		// again in the same process with the same identity: it takes its own lease back as soon
		// as it can.
		deadline := time.Now().Add(30 * time.Second)
		for {
			log, _ := os.ReadFile(leader.Log)
			if strings.Contains(string(log), "Standing for election again with the same identity") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the manager did not step down during an outage longer than its renew deadline; see %s", leader.Log)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("DRILL %s: the manager stepped down during the outage and stood again in the same process (pid %d)", o.component, leader.Pid())
	}
	for i, m := range o.ms {
		if m.Exited() || m.Runs != runs[i] {
			t.Fatalf("manager %d (pid %d) did not survive the outage; see %s", i, m.Pid(), m.Log)
		}
		if m.acquisitions() != acquired[i] {
			t.Logf("DRILL %s: manager %d acquired the lease again after the outage", o.component, i)
		}
	}
	return back
}

// countRelists logs, per resource, how many initial lists kube-apiserver served since the outage
// began (a restarted kube-apiserver counts from zero; etcd's restart leaves its counters), and
// fails when a resource was listed more than twice per informer watching it: one relist per
// informer is what a watch that cannot resume costs (a restarted kube-apiserver's watch cache
// starts anew, so every watch ends with 410 Gone); a second covers a watch that breaks again while
// the API server settles; more is a relist loop. The informers are the cluster-wide watches open
// on the resource, the more of the counts before the stop and now (a watch being re-opened at
// either moment is missing from that count).
func (o *drillOutage) countRelists() {
	t := o.t
	t.Helper()
	after := scrapeAPIServer(t)
	var parts []string
	for _, r := range relistResources {
		n := after.relists(r)
		if o.component == localcluster.Etcd {
			n -= o.before.relists(r)
		}
		informers := max(o.before.informers(r), after.informers(r))
		parts = append(parts, fmt.Sprintf("%s %.0f (%.0f informers)", r, n, informers))
		if n > 2*max(informers, 1) {
			t.Errorf("%s: %s listed %.0f times after the outage, for %.0f informers watching it: a relist storm", o, r, n, informers)
		}
	}
	t.Logf("DRILL %s: relists (LIST and streaming lists, cluster scope) since the outage: %s", o, strings.Join(parts, ", "))
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
		filepath.Join(suite.dir, fmt.Sprintf("mcp-test-server-drill-%d.log", n)))
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
