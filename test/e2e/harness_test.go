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

// Package e2e proves the operator the way a user meets it: the local control plane `make run` uses
// (etcd, kube-apiserver, kube-controller-manager with the garbage collector and namespace
// controllers, built from source), the CRDs installed with the repository's kubectl, bin/manager
// running as its own process with the flags a Deployment would use, a third-party MCP server
// (@modelcontextprotocol/server-everything from npm) and the repository's test MCP server. Every
// step goes through kubectl. Run it with `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// suite is what TestMain started, shared by every scenario.
var suite struct {
	root       string
	dir        string // bin/e2e: kubeconfig, logs
	kubectl    string
	kubeconfig string
	// everythingHTTP and everythingSSE are server-everything's endpoints (Streamable HTTP, SSE).
	everythingHTTP, everythingSSE string
	// testServer is the repository's test MCP server with many tools, behind testServerToken.
	testServer string
	manager    *manager
	// cluster is the local control plane, for the reliability drills that stop its components.
	cluster *localcluster.Cluster
}

const (
	// testServerTools is how many tools the repository's test server offers for the crash runs.
	testServerTools = 150
)

// testServerToken is the test server's bearer token: a real secret value, new every run, which
// every scenario checks appears nowhere a user or scraper can read (expectNoSecretLeaked).
var testServerToken = func() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "e2e-" + hex.EncodeToString(b)
}()

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite starts everything, runs the scenarios and stops everything it started, also when a
// step fails, and also shortly before go test's -timeout would panic (a minute before; a panic runs no deferred
// function). Processes die with this one (parent-death signal), and the control plane's are
// recorded so that the next run reaps them after a SIGKILL.
func runSuite(m *testing.M) (code int) {
	var mu sync.Mutex
	var stops []func()
	stopAll := sync.OnceFunc(func() {
		mu.Lock()
		defer mu.Unlock()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		fmt.Println("e2e: stopped every process the suite started")
	})
	addStop := func(stop func()) {
		mu.Lock()
		defer mu.Unlock()
		stops = append(stops, stop)
	}
	defer stopAll()
	flag.Parse()
	if timeout := flag.Lookup("test.timeout").Value.(flag.Getter).Get().(time.Duration); timeout > 0 {
		watchdog := time.AfterFunc(max(timeout-time.Minute, timeout/2), func() {
			fmt.Fprintln(os.Stderr, "e2e: go test's -timeout is near: stopping every process before it panics")
			stopAll()
			os.Exit(1)
		})
		defer watchdog.Stop()
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
		return 1
	}

	root, err := utils.RepoRoot()
	if err != nil {
		return fail("%v", err)
	}
	assets, err := utils.BinaryAssetsDir()
	if err != nil {
		return fail("%v", err)
	}
	suite.root = root
	suite.dir = filepath.Join(root, "bin", "e2e")
	suite.kubectl = filepath.Join(assets, "kubectl")
	everything := filepath.Join(root, "bin", "server-everything", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	for _, need := range []struct{ path, make string }{
		{suite.kubectl, "make setup-envtest"},
		{filepath.Join(root, "bin", "manager"), "make build"},
		{filepath.Join(root, "bin", "mcp-test-server"), "make test-e2e"},
		{everything, "make server-everything"},
		{filepath.Join(root, "dist", "install.yaml"), "make build-installer"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			return fail("missing %s: run '%s' (make test-e2e does it all)", need.path, need.make)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fail("node is not on PATH: server-everything needs Node.js 20 or later")
	}
	if err := os.RemoveAll(suite.dir); err != nil {
		return fail("cannot clean %s: %v", suite.dir, err)
	}
	if err := os.MkdirAll(suite.dir, 0o750); err != nil {
		return fail("cannot create %s: %v", suite.dir, err)
	}

	fmt.Println("e2e: starting the local control plane (etcd, kube-apiserver, kube-controller-manager)")
	cluster, err := localcluster.Start(context.Background(), localcluster.Options{
		AssetsDir: assets, Dir: filepath.Join(root, "bin", "e2e-cluster"), Log: os.Stdout,
		BeforeControllers: func(c *localcluster.Cluster) error {
			suite.kubeconfig = c.Kubeconfig
			fmt.Println("e2e: installing the CRDs with kubectl")
			for _, args := range [][]string{
				{"apply", "--server-side", "-f", filepath.Join(root, "config", "crd", "bases")},
				{"wait", "--for=condition=Established", "--timeout=60s", "crd/mcpservers.mcp.toolregistry.io", "crd/mcptools.mcp.toolregistry.io"},
			} {
				if out, err := runKubectl("", args...); err != nil {
					return fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
				}
			}
			return nil
		},
	})
	if err != nil {
		return fail("%v", err)
	}
	addStop(func() { _ = cluster.Stop() })
	suite.cluster = cluster
	fmt.Printf("e2e: control plane %s; KUBECONFIG=%s\n", cluster.Version, cluster.Kubeconfig)

	preload := filepath.Join(root, "hack", "server-everything", "loopback.cjs")
	for _, s := range []struct {
		mode string
		path string
		addr *string
	}{{"streamableHttp", "/mcp", &suite.everythingHTTP}, {"sse", "/sse", &suite.everythingSSE}} {
		port, err := localcluster.FreePort()
		if err != nil {
			return fail("%v", err)
		}
		fmt.Printf("e2e: starting server-everything (%s) on 127.0.0.1:%d\n", s.mode, port)
		p, err := localcluster.StartProcess(node, []string{"--require", preload, everything, s.mode},
			[]string{fmt.Sprintf("PORT=%d", port)}, filepath.Join(suite.dir, "server-everything-"+s.mode+".log"))
		if err != nil {
			return fail("cannot start server-everything: %v", err)
		}
		addStop(func() { _ = p.Stop(5 * time.Second) })
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if err := waitListening(addr, 30*time.Second); err != nil {
			return fail("server-everything (%s): %v", s.mode, err)
		}
		if err := onlyLoopback(port); err != nil {
			return fail("server-everything (%s): %v", s.mode, err)
		}
		*s.addr = "http://" + addr + s.path
	}

	port, err := localcluster.FreePort()
	if err != nil {
		return fail("%v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	fmt.Printf("e2e: starting the test MCP server (%d tools) on %s\n", testServerTools, addr)
	ts, err := localcluster.StartProcess(filepath.Join(root, "bin", "mcp-test-server"),
		[]string{"--addr=" + addr, "--token=" + testServerToken, fmt.Sprintf("--tools=%d", testServerTools), "--page-size=50"},
		nil, filepath.Join(suite.dir, "mcp-test-server.log"))
	if err != nil {
		return fail("cannot start the test MCP server: %v", err)
	}
	addStop(func() { _ = ts.Stop(5 * time.Second) })
	if err := waitListening(addr, 30*time.Second); err != nil {
		return fail("test MCP server: %v", err)
	}
	suite.testServer = "http://" + addr + "/mcp"

	fmt.Println("e2e: applying the install bundle's Namespace, ServiceAccount and RBAC; the manager runs as that ServiceAccount")
	kubeconfig, err := installRBAC(filepath.Join(root, "dist", "install.yaml"))
	if err != nil {
		return fail("%v", err)
	}
	suite.manager, err = newManager(kubeconfig)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Printf("e2e: starting the manager: bin/manager %s\n", strings.Join(suite.manager.Args, " "))
	if err := suite.manager.Start(); err != nil {
		return fail("%v", err)
	}
	addStop(func() { _ = suite.manager.Stop() })

	code = m.Run()
	if code != 0 {
		fmt.Printf("e2e: FAILED; logs are in %s\n", suite.dir)
	}
	return code
}

// manager is bin/manager running as its own process, as in a Deployment: leader election on (with
// a short lease, so a restart after kill -9 takes over in seconds), probes and secure metrics on
// loopback ports; run, killed and stopped through test/localcluster.Manager.
type manager struct {
	localcluster.Manager
	kubeconfig string
	metrics    string // host:port of the secure metrics endpoint
	registry   string // host:port of the MCP Registry API
}

func newManager(kubeconfig string) (*manager, error) {
	probe, err := localcluster.FreePort()
	if err != nil {
		return nil, err
	}
	metrics, err := localcluster.FreePort()
	if err != nil {
		return nil, err
	}
	registry, err := localcluster.FreePort()
	if err != nil {
		return nil, err
	}
	return &manager{
		Manager: localcluster.Manager{
			Bin: filepath.Join(suite.root, "bin", "manager"), Env: []string{"KUBECONFIG=" + kubeconfig},
			Log: filepath.Join(suite.dir, "manager.log"), Probe: fmt.Sprintf("127.0.0.1:%d", probe),
			Args: []string{
				"--leader-elect", "--leader-elect-namespace=" + operatorNamespace,
				"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
				// The suite's MCP servers listen on 127.0.0.1; 127.0.0.2 stands for a host the policy denies.
				"--endpoint-allow-cidrs=127.0.0.1/32",
				fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe),
				fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metrics),
				fmt.Sprintf("--registry-bind-address=127.0.0.1:%d", registry),
			},
		},
		kubeconfig: kubeconfig,
		metrics:    fmt.Sprintf("127.0.0.1:%d", metrics),
		registry:   fmt.Sprintf("127.0.0.1:%d", registry),
	}, nil
}

const (
	operatorNamespace      = "mcp-registry-operator-system"
	operatorServiceAccount = "system:serviceaccount:" + operatorNamespace + ":mcp-registry-operator-controller-manager"
)

// rbacKinds are the install bundle's kinds applied for real before the manager starts.
var rbacKinds = []string{"Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}

// installRBAC applies the Namespace, ServiceAccount and RBAC of the install bundle and writes a
// kubeconfig that impersonates the ServiceAccount: the manager then runs with exactly the
// permissions the bundle grants, so a missing verb fails a scenario.
func installRBAC(bundle string) (string, error) {
	docs, err := readManifests(bundle)
	if err != nil {
		return "", err
	}
	var keep []string
	for _, doc := range docs {
		if slices.Contains(rbacKinds, doc.kind) {
			keep = append(keep, doc.text)
		}
	}
	if out, err := runKubectl(strings.Join(keep, "\n---\n"), "apply", "--server-side", "-f", "-"); err != nil {
		return "", fmt.Errorf("cannot apply the bundle's RBAC: %w\n%s", err, out)
	}
	cfg, err := clientcmd.LoadFromFile(suite.kubeconfig)
	if err != nil {
		return "", err
	}
	for _, user := range cfg.AuthInfos {
		user.Impersonate = operatorServiceAccount
	}
	path := filepath.Join(suite.dir, "manager.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, nil
}

// manifest is one document of a multi-document YAML file.
type manifest struct {
	kind, name string
	text       string
	object     map[string]any
}

func readManifests(path string) ([]manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []manifest
	for _, text := range strings.Split(string(data), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj == nil {
			continue
		}
		kind, _ := obj["kind"].(string)
		md, _ := obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		out = append(out, manifest{kind: kind, name: name, text: text, object: obj})
	}
	return out, nil
}

// runKubectl runs the repository's kubectl against the suite's cluster.
func runKubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command(suite.kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+suite.kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, timeout)
}

// onlyLoopback checks, in /proc/net/tcp{,6}, that every socket listening on port is bound to a
// loopback address: the suite must expose nothing to the network.
func onlyLoopback(port int) error {
	found := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(f)
		_ = f.Close()
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			local := strings.SplitN(fields[1], ":", 2)
			if len(local) != 2 || local[1] != fmt.Sprintf("%04X", port) {
				continue
			}
			found++
			if local[0] != "0100007F" && local[0] != "00000000000000000000000001000000" {
				return fmt.Errorf("port %d listens on %s (hex), not on loopback only", port, local[0])
			}
		}
	}
	if found == 0 {
		return fmt.Errorf("no listening socket found for port %d", port)
	}
	return nil
}
