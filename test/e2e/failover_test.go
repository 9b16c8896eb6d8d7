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
	"slices"
	"testing"
	"time"
)

// 16. Failover: two managers with leader election and the shipped timings (lease 15 s, renew
// deadline 10 s, retry period 2 s). The leader is killed (SIGKILL) in the middle of a 500-tool
// sync, in the middle of a 500-tool cascade and while a delete is blocked (its consumer then goes
// while nobody leads), and stopped (SIGTERM) in the middle of a cascade. Each time the standby
// takes over and completes; nothing the servers owned is left; the user's Secret, a foreign
// MCPTool and a bystander consumer are untouched. The takeover times (signal to the Lease's
// acquireTime) are logged against the lease duration and the retry period, never asserted.
func TestFailover(t *testing.T) {
	rng := drillRand(t)
	f := &failover{t: t, ms: drillManagers(t, 2)}
	f.leader, f.standby = f.ms[0], f.ms[1]
	u := newUser(t, "e2e-failover")
	f.u = u
	u.apply(secretManifest("test-server-token", "token", testServerToken))
	u.apply(consumerManifest("bystander", "some-other-server"))
	u.apply(`apiVersion: mcp.toolregistry.io/v1alpha1
kind: MCPTool
metadata:
  name: hand-made
spec:
  serverRef: {name: someone-else}
  toolName: hand-made
`)
	// The foreign MCPTool gets its status (its server does not exist) once; then nothing changes it.
	u.run("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=ServerNotFound", "--timeout=30s", "mcptool/hand-made")
	time.Sleep(2 * time.Second)
	foreign := []string{"secret/test-server-token", "deployment/bystander", "mcptool/hand-made"}
	versions := map[string]string{}
	for _, obj := range foreign {
		versions[obj] = u.jsonpath(obj, "{.metadata.resourceVersion}")
	}
	big := startDrillServer(t, drillTools)

	// (c) During a sync: the leader dies while it creates the MCPTools of a new server.
	u.apply(serverManifest("synced", big, "StreamableHTTP"))
	at := 50 + rng.IntN(drillTools/2) // well before the last: MCPTools keep being created while kubectl counts
	u.eventually(120*time.Second, "the sync under way", func() string {
		if n := len(u.toolsOf("synced")); n < at {
			return fmt.Sprintf("%d of %d MCPTools", n, drillTools)
		}
		return ""
	})
	f.kill("during a sync", false, func(time.Time) {
		t.Logf("DRILL failover: the leader killed during a sync, %d of %d MCPTools created", len(u.toolsOf("synced")), drillTools)
	})
	u.run("wait", fmt.Sprintf("--for=jsonpath={.status.toolCount}=%d", drillTools), "--timeout=120s", "mcpserver/synced")
	u.waitReady(60*time.Second, "mcpserver/synced")
	if n := len(u.toolsOf("synced")); n != drillTools {
		t.Fatalf("after the takeover the server has %d MCPTools, want %d", n, drillTools)
	}
	f.report("sync completed", time.Now())

	// (a) During a cascade: the leader dies with part of the 500 MCPTools deleted.
	f.cascade("synced", rng, false)

	// (b) A blocked delete: the leader dies, the consumer goes while nobody leads, the standby
	// finds the delete unblocked when it takes over.
	u.apply(serverManifest("held", suite.testServer, "StreamableHTTP",
		"auth: {type: Bearer, bearer: {secretRef: {name: test-server-token, key: token}}}"))
	u.waitReady(90*time.Second, "mcpserver/held")
	u.apply(consumerManifest("agent", "held"))
	u.run("wait", "--for=condition=InUse", "--timeout=30s", "mcpserver/held")
	u.apply(issuedSecretManifest("held-issued", "held", u.jsonpath("mcpserver/held", "{.metadata.uid}")))
	u.run("delete", "mcpserver", "held", "--wait=false")
	u.run("wait", "--for=condition=DeletionBlocked", "--timeout=30s", "mcpserver/held")
	var consumerGone time.Time
	f.kill("while a delete is blocked", false, func(time.Time) {
		u.run("delete", "deployment", "agent", "--wait=false")
		consumerGone = time.Now()
	})
	u.waitDeleted(60*time.Second, "mcpserver/held")
	f.report(fmt.Sprintf("blocked delete completed (%s after its consumer went, which was while nobody led)",
		time.Since(consumerGone).Round(time.Millisecond)), time.Now())
	f.expectGone("held")

	// Graceful: SIGTERM in the middle of a cascade; the leader releases the lease as it stops.
	u.apply(serverManifest("graceful", big, "StreamableHTTP"))
	u.run("wait", fmt.Sprintf("--for=jsonpath={.status.toolCount}=%d", drillTools), "--timeout=120s", "mcpserver/graceful")
	u.waitReady(30*time.Second, "mcpserver/graceful")
	f.cascade("graceful", rng, true)

	for _, obj := range foreign {
		if rv := u.jsonpath(obj, "{.metadata.resourceVersion}"); rv != versions[obj] {
			t.Fatalf("%s was changed (resourceVersion %s, was %s)", obj, rv, versions[obj])
		}
	}
	var kill9, term []time.Duration
	for _, tk := range f.takeovers {
		if tk.graceful {
			term = append(term, tk.took)
		} else {
			kill9 = append(kill9, tk.took)
		}
	}
	t.Logf("DRILL failover summary: kill -9 → standby acquired the lease in %s (lease duration %s); SIGTERM → %s (retry period %s)",
		spread(kill9), shippedLeaseDuration, spread(term), shippedRetryPeriod)
}

// failover is the state of a failover drill: which manager leads and the takeovers so far.
type failover struct {
	t               *testing.T
	u               *user
	ms              []*manager
	leader, standby *manager
	takeovers       []takeover
	last            takeover
}

// takeover is one change of leader: how long from the signal to the new leader's acquireTime.
type takeover struct {
	what     string
	graceful bool
	signaled time.Time
	acquired time.Time
	took     time.Duration
}

// kill stops the leader (SIGTERM when graceful, else SIGKILL), runs meanwhile (without a leader)
// right after, waits for the standby to acquire the lease, and starts the stopped manager again as
// the new standby.
func (f *failover) kill(what string, graceful bool, meanwhile func(signaled time.Time)) {
	t := f.t
	t.Helper()
	old := readLease(t)
	before := f.standby.acquisitions()
	signaled := time.Now()
	var err error
	if graceful {
		err = f.leader.Stop()
	} else {
		err = f.leader.Kill()
	}
	if err != nil {
		t.Fatal(err)
	}
	meanwhile(signaled)
	seen := waitAcquired(t, f.standby, before, 3*shippedLeaseDuration)
	l := readLease(t)
	if l.holder == old.holder || l.holder == "" {
		t.Fatalf("the Lease still names %q after the standby logged it acquired it", l.holder)
	}
	tk := takeover{what: what, graceful: graceful, signaled: signaled, acquired: l.acquireTime, took: l.acquireTime.Sub(signaled)}
	f.takeovers = append(f.takeovers, tk)
	f.last = tk
	signal := "kill -9"
	if graceful {
		signal = "SIGTERM"
	}
	t.Logf("DRILL failover %s (%s): standby acquired the lease %s after the signal (its log: %s; lease duration %s, retry period %s; lease transitions %d → %d)",
		what, signal, tk.took.Round(time.Millisecond), seen.Sub(signaled).Round(time.Millisecond),
		shippedLeaseDuration, shippedRetryPeriod, old.transitions, l.transitions)
	stopped := f.leader
	f.leader, f.standby = f.standby, stopped
	if err := stopped.Start(); err != nil {
		t.Fatal(err)
	}
}

// report logs when the last takeover's work completed.
func (f *failover) report(what string, done time.Time) {
	f.t.Helper()
	f.t.Logf("DRILL failover %s: %s %s after the new leader acquired the lease (%s after the signal)",
		f.last.what, what, done.Sub(f.last.acquired).Round(time.Millisecond), done.Sub(f.last.signaled).Round(time.Millisecond))
}

// cascade deletes a Ready server with drillTools MCPTools and a Secret it owns, stops the leader
// once a random share (10 to 60 %) of the MCPTools is gone, and checks that the standby finishes.
func (f *failover) cascade(name string, rng *rand.Rand, graceful bool) {
	t, u := f.t, f.u
	t.Helper()
	u.apply(issuedSecretManifest(name+"-issued", name, u.jsonpath("mcpserver/"+name, "{.metadata.uid}")))
	left := drillTools - drillTools*(10+rng.IntN(51))/100
	u.run("delete", "mcpserver", name, "--wait=false")
	u.eventually(60*time.Second, "the cascade under way", func() string {
		if n := len(u.toolsOf(name)); n > left {
			return fmt.Sprintf("%d MCPTools left", n)
		}
		return ""
	})
	what := "during a cascade"
	f.kill(what, graceful, func(time.Time) {
		t.Logf("DRILL failover: the leader stopped during a cascade, %d of %d MCPTools left", len(u.toolsOf(name)), drillTools)
	})
	u.waitDeleted(120*time.Second, "mcpserver/"+name)
	f.report("cascade completed", time.Now())
	f.expectGone(name)
}

// expectGone fails when an MCPTool or the Secret of a deleted server is left.
func (f *failover) expectGone(server string) {
	f.t.Helper()
	expectNothingLeft(f.t, f.u, server)
	if _, err := f.u.try("", "get", "secret", server+"-issued"); err == nil {
		f.t.Fatalf("the Secret %s owned is left", server)
	}
}

// spread prints durations as "a" or "min-max (n)".
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 1 {
		return s[0].Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%s-%s (%d)", s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}
