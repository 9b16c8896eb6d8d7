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

// Package bench holds the benchmarks of `make bench` and `make bench-scale`: the operator's real
// controllers (bin/manager, as its own process) on the local control plane `make run` uses (etcd,
// kube-apiserver and kube-controller-manager with the garbage collector), measured against
// baselines run side by side in the same run. It has no tests: `make test` only compiles it.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// env is a local control plane, a direct client and bin/manager.
type env struct {
	cluster *localcluster.Cluster
	c       client.WithWatch
	rest    rest.Interface
	mgr     *manager
	dir     string
}

// startEnv starts the local control plane with the CRDs and bin/manager with extra flags; both
// stop when the benchmark ends.
func startEnv(b *testing.B, managerArgs ...string) *env {
	b.Helper()
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	root, err := utils.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	// BENCH_MANAGER names another build, to measure a change against bin/manager.
	binary := filepath.Join(root, "bin", "manager")
	if other := os.Getenv("BENCH_MANAGER"); other != "" {
		binary = other
	}
	if _, err := os.Stat(binary); err != nil {
		b.Fatalf("%s is missing: run 'make build' (make bench and make bench-scale build it)", binary)
	}
	assets, err := utils.BinaryAssetsDir()
	if err != nil {
		b.Fatal(err)
	}
	crds, err := utils.CRDDir()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	cluster, err := localcluster.Start(context.Background(), localcluster.Options{AssetsDir: assets, CRDDir: crds, Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cluster.Stop() })
	// The benchmark's own client is not rate-limited either (controller-runtime's default).
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	if err := mcpv1alpha1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := rest.RESTClientFor(withCodecs(cfg))
	if err != nil {
		b.Fatal(err)
	}
	e := &env{cluster: cluster, c: c, rest: rc, dir: dir}
	e.mgr, err = newManager(binary, cluster.Kubeconfig, dir, managerArgs)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.mgr.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.mgr.Stop() })
	return e
}

// withCodecs makes cfg usable by a REST client (it reads the API server's /metrics).
func withCodecs(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.GroupVersion = &mcpv1alpha1.GroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	return cfg
}

// manager is bin/manager as its own process, with probes, plain-HTTP metrics and pprof on
// loopback.
type manager struct {
	localcluster.Manager
	metrics, pprof string
}

func newManager(binary, kubeconfig, dir string, extra []string) (*manager, error) {
	var ports [3]int
	for i := range ports {
		p, err := localcluster.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	m := &manager{
		Manager: localcluster.Manager{Bin: binary, Env: []string{"KUBECONFIG=" + kubeconfig}, Log: filepath.Join(dir, "manager.log"),
			Probe: fmt.Sprintf("127.0.0.1:%d", ports[0])},
		metrics: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		pprof:   fmt.Sprintf("127.0.0.1:%d", ports[2]),
	}
	m.Args = append([]string{
		"--health-probe-bind-address=" + m.Probe,
		"--metrics-bind-address=" + m.metrics, "--metrics-secure=false",
		"--pprof-bind-address=" + m.pprof,
		"--endpoint-allow-cidrs=127.0.0.0/8",
	}, extra...)
	return m, nil
}

// profile, when BENCH_PROFILE names a directory, records a CPU profile of the manager for the
// next seconds into <dir>/<name>.pprof (read it with go tool pprof); stop waits for it.
func (m *manager) profile(name string, seconds int) (stop func()) {
	dir := os.Getenv("BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", m.pprof, seconds))
		if err != nil {
			return
		}
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(resp.Body)
		_ = os.WriteFile(filepath.Join(dir, name+".pprof"), data, 0o600)
	}()
	return func() { <-done }
}

// rssBytes is the manager's resident set size (VmRSS).
func (m *manager) rssBytes() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.Pid()))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// cpuSeconds is the CPU time (user and system) the manager has used.
func (m *manager) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.Pid()))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// metric sums the samples of a metric family on the manager's metrics endpoint.
func (m *manager) metric(name string) float64 {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return sumSamples(data, name, nil)
}

// sumSamples adds up, in a Prometheus text exposition, the samples of name whose labels include
// every one of want (label="value" strings).
func sumSamples(data []byte, name string, want []string) float64 {
	total := 0.0
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		labels := ""
		if open := strings.IndexByte(line, '{'); open >= 0 && strings.HasPrefix(line, name+"{") {
			labels = line[open+1 : strings.LastIndexByte(line, '}')]
		}
		if !slices.ContainsFunc(want, func(l string) bool { return !strings.Contains(","+labels+",", ","+l+",") }) {
			value, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err == nil {
				total += value
			}
		}
	}
	return total
}

// writeVerbs are the verbs of apiserver_request_total that write.
var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"}

// apiWrites is the number of write requests the API server has answered for resource (e.g.
// mcptools) and subresource ("" for the object itself, "status"), from its own metrics.
func (e *env) apiWrites(b *testing.B, resource, subresource string) float64 {
	data, err := e.rest.Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("cannot read the API server's metrics: %v", err)
	}
	total := 0.0
	for _, verb := range writeVerbs {
		total += sumSamples(data, "apiserver_request_total",
			[]string{`resource="` + resource + `"`, `subresource="` + subresource + `"`, `verb="` + verb + `"`})
	}
	return total
}

// mcpUpstream is a test MCP server on loopback that counts the JSON-RPC methods it is asked.
type mcpUpstream struct {
	*mcpserver.Server
	url    string
	srv    *http.Server
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

// startUpstream serves cfg (stateless) and counts methods; it stops when the benchmark ends.
func startUpstream(b *testing.B, cfg mcpserver.Config) *mcpUpstream {
	b.Helper()
	inner := mcpserver.New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	u := &mcpUpstream{Server: inner, url: "http://" + l.Addr().String() + "/mcp", counts: map[string]int{}}
	handler := inner.Handler()
	u.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			var msg struct {
				Method string `json:"method"`
				Params struct {
					Cursor string `json:"cursor"`
				} `json:"params"`
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method != "" {
				u.mu.Lock()
				u.counts[msg.Method]++
				if msg.Method == "tools/list" && msg.Params.Cursor == "" {
					u.counts[firstToolsPage]++
				}
				u.mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		u.total.Add(1)
		handler.ServeHTTP(w, r)
	})}
	go func() { _ = u.srv.Serve(l) }()
	b.Cleanup(func() { _ = u.srv.Close() })
	return u
}

// firstToolsPage counts the tools/list requests without a cursor: one per sync.
const firstToolsPage = "tools/list (first page)"

// count is how many requests with method the server has received.
func (u *mcpUpstream) count(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[method]
}

// median returns the middle value (the lower middle of an even number).
func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(values))
	return sorted[(len(sorted)-1)/2]
}

// percentile returns the p-th percentile (nearest rank) of durations.
func percentile(values []time.Duration, p int) time.Duration {
	sorted := slices.Sorted(slices.Values(values))
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// envDuration reads a duration from the environment, or def.
func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// row is one line of a benchmark's table.
type row struct {
	measure, value, baseline, ratio, target string
	met                                     *bool
}

// printTable prints the rows as one Markdown table, as docs/performance.md shows it.
func printTable(title string, rows []row) {
	fmt.Printf("\n%s\n\n| measure | value | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n", title)
	for _, r := range rows {
		met := "info"
		if r.met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.met]
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.measure, r.value, r.baseline, r.ratio, r.target, met)
	}
	fmt.Println()
}

func ptrBool(v bool) *bool { return &v }
