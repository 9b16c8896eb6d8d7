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

// Package localcluster runs a local control plane, the one `make run` and the e2e suite use:
// etcd and kube-apiserver (started through envtest, bound to 127.0.0.1 on free ports) and
// kube-controller-manager with the garbage-collector and namespace controllers, all built from
// source by `make setup-envtest`. It writes an admin kubeconfig and installs the CRDs.
package localcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Controllers are the kube-controller-manager controllers the local control plane runs: what a
// user of this operator meets on a real cluster and envtest lacks.
var Controllers = []string{"garbagecollector", "namespace"}

// Options configure a local control plane.
type Options struct {
	// AssetsDir holds etcd, kube-apiserver, kube-controller-manager and kubectl.
	AssetsDir string
	// CRDDir holds the CRD manifests to install; empty: install none (the e2e suite installs them
	// with kubectl, as a user does).
	CRDDir string
	// Dir receives the kubeconfig, logs and the record of started processes. It is created.
	Dir string
	// Log receives progress messages; nil discards them.
	Log io.Writer
	// BeforeControllers, when set, runs once the API server is up and the kubeconfig written, before
	// kube-controller-manager starts: the garbage collector then knows, from its first discovery,
	// the resources installed here (it only rediscovers every 30 seconds).
	BeforeControllers func(*Cluster) error
}

// Cluster is a running local control plane.
type Cluster struct {
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Config is a rest.Config for the same admin user.
	Config *rest.Config
	// Version is the kube-apiserver's version, e.g. v1.37.1.
	Version string
	// CRDs are the names of the installed CustomResourceDefinitions.
	CRDs []string

	env  *envtest.Environment
	kcm  *Process
	opts Options
	// restarted are the components StopComponent stopped and Stopped.Start started again.
	restarted map[string]*Process
}

// Start brings up etcd, kube-apiserver and kube-controller-manager, installs the CRDs and writes
// the kubeconfig. Processes a previous run left behind (for example after a SIGKILL) are stopped
// first. On error, everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl"} {
		if _, statErr := os.Stat(filepath.Join(opts.AssetsDir, bin)); statErr != nil {
			return nil, fmt.Errorf("cannot find %s in %s: run 'make setup-envtest' first", bin, opts.AssetsDir)
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", opts.Dir, err)
	}
	reapStale(opts)

	c := &Cluster{opts: opts, restarted: map[string]*Process{}}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	c.env = &envtest.Environment{BinaryAssetsDirectory: opts.AssetsDir}
	if opts.CRDDir != "" {
		c.env.CRDDirectoryPaths = []string{opts.CRDDir}
		c.env.ErrorIfCRDPathMissing = true
	}
	fmt.Fprintf(opts.Log, "starting etcd and kube-apiserver from %s\n", opts.AssetsDir)
	if _, err := c.env.Start(); err != nil {
		return nil, fmt.Errorf("cannot start etcd and kube-apiserver: %w", err)
	}
	recordChildren(opts)
	for _, crd := range c.env.CRDs {
		c.CRDs = append(c.CRDs, crd.Name)
	}

	admin, err := c.env.AddUser(envtest.User{Name: "local-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot create the admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot render the admin kubeconfig: %w", err)
	}
	c.Kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", c.Kubeconfig, err)
	}
	c.Config = admin.Config()

	if c.Version, err = serverVersion(c.Config); err != nil {
		return nil, err
	}

	if opts.BeforeControllers != nil {
		if err := opts.BeforeControllers(c); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(opts.Log, "starting kube-controller-manager (%s)\n", strings.Join(Controllers, ", "))
	if err := c.startControllerManager(ctx); err != nil {
		return nil, err
	}
	recordChildren(opts)
	return c, nil
}

// startControllerManager runs kube-controller-manager against the admin kubeconfig and waits until
// its /healthz answers.
func (c *Cluster) startControllerManager(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.opts.Dir, "kube-controller-manager.log")
	c.kcm, err = StartProcess(filepath.Join(c.opts.AssetsDir, "kube-controller-manager"), []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--controllers=" + strings.Join(Controllers, ","),
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.opts.Dir, "kube-controller-manager-certs"),
	}, nil, logPath)
	if err != nil {
		return fmt.Errorf("cannot start kube-controller-manager: %w", err)
	}

	healthz := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	httpClient := &http.Client{
		Timeout: 2 * time.Second,
		// The probe only asks whether the process serves; the certificate is its own self-signed one.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.kcm.Exited() {
			return fmt.Errorf("kube-controller-manager exited during start-up; see %s", logPath)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthz, nil)
		if resp, err := httpClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-controller-manager did not become healthy within 60s; see %s", logPath)
}

// Stop stops kube-controller-manager, kube-apiserver and etcd, and removes their temporary data.
// It is safe to call more than once and on a partly started cluster.
func (c *Cluster) Stop() error {
	var errs []error
	if c.kcm != nil {
		errs = append(errs, c.kcm.Stop(10*time.Second))
		c.kcm = nil
	}
	for _, name := range []string{APIServer, Etcd} {
		if p, ok := c.restarted[name]; ok {
			errs = append(errs, p.Stop(10*time.Second))
			delete(c.restarted, name)
		}
	}
	if c.env != nil {
		errs = append(errs, c.env.Stop())
		c.env = nil
	}
	_ = os.Remove(pidFile(c.opts))
	return errors.Join(errs...)
}

// InstallCRDs installs the CRDs in dir into the cluster cfg points at and waits until they are served.
func InstallCRDs(cfg *rest.Config, dir string) ([]string, error) {
	crds, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true})
	if err != nil {
		return nil, fmt.Errorf("cannot install the CRDs from %s: %w", dir, err)
	}
	names := make([]string, 0, len(crds))
	for _, crd := range crds {
		names = append(names, crd.Name)
	}
	return names, nil
}

func serverVersion(cfg *rest.Config) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("cannot build a discovery client: %w", err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cannot read the API server's version: %w", err)
	}
	return info.GitVersion, nil
}

func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is a child process that dies with its parent (Linux parent-death signal) and lives in its
// own process group, so a terminal's Ctrl-C reaches the supervisor, which stops children in order.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts path with args and extra environment, its output appended to logPath (or
// inherited from this process when logPath is empty).
func StartProcess(path string, args, env []string, logPath string) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	return startCommand(cmd, logPath)
}

// startCommand starts cmd as StartProcess describes.
func startCommand(cmd *exec.Cmd, logPath string) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if logPath == "" {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	} else {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", logPath, err)
		}
		defer func() { _ = f.Close() }()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit code once the process has exited (-1 when killed by a signal).
func (p *Process) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Stop sends SIGTERM, waits up to grace, then kills the process. It returns nil once the process
// has exited, whatever its exit status.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d (%s) did not exit after SIGKILL", p.Pid(), p.cmd.Path)
	}
}

// pidFile records the processes a run started, so a run after a crash can stop what was left.
func pidFile(opts Options) string { return filepath.Join(opts.Dir, "pids") }

// recordChildren writes the pids of this process' children that run one of the control-plane
// binaries. envtest starts etcd and kube-apiserver without a parent-death signal, so this record
// is what lets the next run clean up after a supervisor that was killed outright.
func recordChildren(opts Options) {
	var pids []string
	for _, pid := range ChildPids(os.Getpid()) {
		if isControlPlaneProcess(opts, pid) {
			pids = append(pids, strconv.Itoa(pid))
		}
	}
	_ = os.WriteFile(pidFile(opts), []byte(strings.Join(pids, "\n")+"\n"), 0o600)
}

// reapStale kills processes recorded by an earlier run that still run one of our binaries.
func reapStale(opts Options) {
	data, err := os.ReadFile(pidFile(opts))
	if err != nil {
		return
	}
	for _, field := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(field)
		if err != nil || !isControlPlaneProcess(opts, pid) {
			continue
		}
		fmt.Fprintf(opts.Log, "stopping process %d left behind by an earlier run\n", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.Remove(pidFile(opts))
}

// isControlPlaneProcess reports whether pid runs a binary from opts.AssetsDir.
func isControlPlaneProcess(opts Options, pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	assets, err := filepath.Abs(opts.AssetsDir)
	if err != nil {
		return false
	}
	return filepath.Dir(exe) == assets
}

// statFields are the fields of /proc/<pid>/stat after the command name (state, ppid, ...); nil
// when the process is gone.
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	// The command name may contain spaces and parentheses: fields start after the last ')'.
	s := string(stat)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// ChildPids lists the direct children of parent, from /proc.
func ChildPids(parent int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fields := statFields(pid); len(fields) > 1 {
			if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == parent {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
