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
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// What the reliability drills share: managers with the shipped leader-election timings, the
// leader-election Lease, the API server's request metrics, a watch counting writes, and a seed.

// drillSeed, when set, replaces the drills' random seed (each drill prints the one it used).
var drillSeed = flag.Uint64("drill.seed", 0, "seed of the reliability drills' random choices; 0: a new one each run")

// The shipped leader-election timings (cmd/main.go's defaults), which the drills' managers run with.
const (
	shippedLeaseDuration = 15 * time.Second
	shippedRenewDeadline = 10 * time.Second
	shippedRetryPeriod   = 2 * time.Second
)

// leaseName is the leader-election Lease of the managers (cmd/main.go's leaderElectionID).
const leaseName = "mcp-registry-operator.toolregistry.io"

// drillRand returns the drill's random source and logs its seed.
func drillRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := *drillSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("DRILL seed %d (rerun with E2E_FLAGS=\"-run %s -drill.seed=%d\")", seed, t.Name(), seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// drillManagers replaces the suite's manager, for the test, with n managers (distinct processes,
// identities, ports and logs) running the shipped leader-election timings; the first one started
// leads. The suite's manager is put back afterwards.
func drillManagers(t *testing.T, n int) []*manager {
	t.Helper()
	if err := suite.manager.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := suite.manager.Start(); err != nil {
			t.Errorf("cannot restart the suite's manager: %v", err)
		}
	})
	var ms []*manager
	for i := range n {
		ms = append(ms, startDrillManager(t, i))
		if i == 0 {
			waitAcquired(t, ms[0], 0, 60*time.Second)
		}
	}
	return ms
}

// startDrillManager starts the test's manager number i with the shipped leader-election timings,
// stopped when the test ends.
func startDrillManager(t *testing.T, i int) *manager {
	t.Helper()
	m, err := newManager(suite.manager.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	m.Log = filepath.Join(suite.dir, fmt.Sprintf("manager-%s-%d.log", strings.ReplaceAll(t.Name(), "/", "-"), i))
	var args []string
	for _, a := range m.Args {
		if !strings.HasPrefix(a, "--leader-elect-") || strings.HasPrefix(a, "--leader-elect-namespace") {
			args = append(args, a)
		}
	}
	m.Args = args
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	t.Logf("drill manager %d: bin/manager %s (pid %d, log %s)", i, strings.Join(m.Args, " "), m.Pid(), m.Log)
	return m
}

// acquisitions counts how often the manager logged that it acquired the leader lease, over all
// its runs (its log is appended to).
func (m *manager) acquisitions() int {
	log, _ := os.ReadFile(m.Log)
	return strings.Count(string(log), "Successfully acquired lease")
}

// waitAcquired waits until m has acquired the lease more than before times, and returns when the
// test saw it.
func waitAcquired(t *testing.T, m *manager, before int, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for m.acquisitions() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the manager (pid %d) did not acquire the lease within %s; see %s", m.Pid(), timeout, m.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Now()
}

// lease is the leader-election Lease as the API server has it.
type lease struct {
	holder      string
	acquireTime time.Time
	renewTime   time.Time
	transitions int
}

func readLease(t *testing.T) lease {
	t.Helper()
	out, err := runKubectl("", "get", "lease", leaseName, "-n", operatorNamespace, "-o",
		`jsonpath={.spec.holderIdentity}|{.spec.acquireTime}|{.spec.renewTime}|{.spec.leaseTransitions}`)
	if err != nil {
		t.Fatalf("cannot read the Lease: %v\n%s", err, out)
	}
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 4 {
		t.Fatalf("unexpected Lease fields %q", out)
	}
	l := lease{holder: f[0]}
	l.acquireTime, _ = time.Parse(time.RFC3339Nano, f[1])
	l.renewTime, _ = time.Parse(time.RFC3339Nano, f[2])
	l.transitions, _ = strconv.Atoi(f[3])
	return l
}

// apiMetrics is a scrape of kube-apiserver's /metrics: sample lines by metric name.
type apiMetrics map[string][]metricSample

type metricSample struct {
	labels map[string]string
	value  float64
}

// scrapeAPIServer reads kube-apiserver's /metrics as the admin user.
func scrapeAPIServer(t *testing.T) apiMetrics {
	t.Helper()
	c, err := rest.HTTPClientFor(suite.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 20 * time.Second
	resp, err := c.Get(strings.TrimRight(suite.cluster.Config.Host, "/") + "/metrics")
	if err != nil {
		t.Fatalf("cannot scrape kube-apiserver: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("cannot scrape kube-apiserver: %d %v", resp.StatusCode, err)
	}
	return parseMetrics(string(body))
}

// parseMetrics reads the Prometheus text format's sample lines (names, labels without escaped
// quotes, values), which is all kube-apiserver's request metrics use.
func parseMetrics(text string) apiMetrics {
	m := apiMetrics{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, labels := line, "", map[string]string{}
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, rest = line[:i], strings.TrimSpace(line[j+1:])
			for _, kv := range strings.Split(line[i+1:j], `",`) {
				k, v, ok := strings.Cut(kv, `="`)
				if ok {
					labels[strings.TrimSpace(k)] = strings.TrimSuffix(v, `"`)
				}
			}
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			name, rest = line[:i], strings.TrimSpace(line[i+1:])
		}
		value, err := strconv.ParseFloat(strings.Fields(rest + " 0")[0], 64)
		if err != nil {
			continue
		}
		m[name] = append(m[name], metricSample{labels: labels, value: value})
	}
	return m
}

// sum adds the samples of name whose labels include all of want.
func (m apiMetrics) sum(name string, want map[string]string) float64 {
	var total float64
	for _, s := range m[name] {
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			total += s.value
		}
	}
	return total
}

// relistResources are the kinds whose relists the drills count: the operator's two and what its
// informers watch besides (Secrets' metadata, Namespaces, and Deployments as consumers).
var relistResources = []string{"mcptools", "mcpservers", "secrets", "namespaces", "deployments"}

// relists counts, per resource, the cluster-wide initial lists kube-apiserver served: LISTs
// (verb LIST, scope cluster) and the streaming lists informers use instead since client-go 1.35
// (WatchListClient: a WATCH with sendInitialEvents, counted in apiserver_watch_list_duration_seconds).
func (m apiMetrics) relists(resource string) float64 {
	return m.sum("apiserver_request_total", map[string]string{"verb": "LIST", "scope": "cluster", "resource": resource}) +
		m.sum("apiserver_watch_list_duration_seconds_count", map[string]string{"scope": "cluster", "resource": resource})
}

// informers is the number of cluster-wide watches open on resource: one per informer of every
// client (the managers, kube-controller-manager's garbage collector and namespace controller,
// kube-apiserver's own).
func (m apiMetrics) informers(resource string) float64 {
	return m.sum("apiserver_longrunning_requests", map[string]string{"verb": "WATCH", "scope": "cluster", "resource": resource})
}

// writes counts the write requests kube-apiserver served for resource (subresource "" or
// "status"), by verb.
func (m apiMetrics) writes(resource, subresource string) map[string]float64 {
	out := map[string]float64{}
	for _, verb := range []string{"CREATE", "UPDATE", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"} {
		out[verb] = m.sum("apiserver_request_total", map[string]string{"verb": verb, "resource": resource, "subresource": subresource})
	}
	return out
}

// writeCounter watches the MCPServers and MCPTools of a namespace and counts every change the
// API server made to them (each watch event is one new resourceVersion), keeping each event's
// object for the checks.
type writeCounter struct {
	mu     sync.Mutex
	events map[string]map[watch.EventType]int
	seen   []watch.Event
	err    error
	cancel context.CancelFunc
	done   sync.WaitGroup
}

var (
	mcpServersGVR = schema.GroupVersionResource{Group: "mcp.toolregistry.io", Version: "v1alpha1", Resource: "mcpservers"}
	mcpToolsGVR   = schema.GroupVersionResource{Group: "mcp.toolregistry.io", Version: "v1alpha1", Resource: "mcptools"}
)

// countWrites starts watching ns from now (each kind from the resourceVersion of a list).
func countWrites(t *testing.T, ns string) *writeCounter {
	t.Helper()
	client, err := dynamic.NewForConfig(suite.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeCounter{events: map[string]map[watch.EventType]int{}, cancel: cancel}
	t.Cleanup(w.stop)
	for _, gvr := range []schema.GroupVersionResource{mcpServersGVR, mcpToolsGVR} {
		list, err := client.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wi, err := client.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			t.Fatal(err)
		}
		w.events[gvr.Resource] = map[watch.EventType]int{}
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			defer wi.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-wi.ResultChan():
					w.mu.Lock()
					if !ok || ev.Type == watch.Error {
						if ctx.Err() == nil && w.err == nil {
							w.err = fmt.Errorf("the watch of %s ended early (%v)", gvr.Resource, ev.Object)
						}
						w.mu.Unlock()
						return
					}
					if ev.Type != watch.Bookmark {
						w.events[gvr.Resource][ev.Type]++
						w.seen = append(w.seen, ev)
					}
					w.mu.Unlock()
				}
			}
		}()
	}
	return w
}

// stop ends the watches; the counts stay.
func (w *writeCounter) stop() {
	w.cancel()
	w.done.Wait()
}

// count returns the events of one type for one resource so far, failing if a watch broke (a
// count that missed events proves nothing).
func (w *writeCounter) count(t *testing.T, resource string, typ watch.EventType) int {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatal(w.err)
	}
	return w.events[resource][typ]
}

// objects returns the objects of the events seen so far for one resource, in order.
func (w *writeCounter) objects(resource string) []*unstructured.Unstructured {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*unstructured.Unstructured
	for _, ev := range w.seen {
		if u, ok := ev.Object.(*unstructured.Unstructured); ok && strings.EqualFold(u.GetKind()+"s", resource) {
			out = append(out, u)
		}
	}
	return out
}

// readyOf returns status, reason and message of an object's Ready condition.
func readyOf(obj *unstructured.Unstructured) (string, string, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			return s, r, msg
		}
	}
	return "", "", ""
}
