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

package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// The components a Cluster can stop and start again.
const (
	APIServer = "kube-apiserver"
	Etcd      = "etcd"
)

// Stopped is a control-plane component that was stopped, with what it takes to start it again
// exactly as it ran: binary, flags, environment, ports, certificates and data directory.
type Stopped struct {
	c    *Cluster
	name string
	path string
	args []string
	env  []string
	// At is when the component was stopped.
	At time.Time
}

// StopComponent stops etcd or kube-apiserver (SIGKILL) and returns it for Start. It is for reliability drills: the other processes, and every file the component uses,
// stay as they are.
func (c *Cluster) StopComponent(name string) (*Stopped, error) {
	pid, proc, err := c.component(name)
	if err != nil {
		return nil, err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, fmt.Errorf("cannot read the command line of %s (pid %d): %w", name, pid, err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, fmt.Errorf("cannot read the environment of %s (pid %d): %w", name, pid, err)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, err
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	s := &Stopped{c: c, name: name, path: exe, args: args[1:], env: splitNul(environ)}

	// SIGKILL, as an OOM kill or a lost node would: the component stops serving at once, and
	// the outage lasts as long as the drill says (a SIGTERM makes kube-apiserver refuse new
	// connections at once but exit only seconds later, once its requests have drained).
	s.At = time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return nil, fmt.Errorf("cannot stop %s: %w", name, err)
	}
	if proc != nil {
		<-proc.Done()
	} else if err := waitExited(pid, 10*time.Second); err != nil {
		return nil, fmt.Errorf("cannot stop %s: %w", name, err)
	}
	return s, nil
}

// Start starts the component again and, for either component, waits until kube-apiserver answers
// /readyz (with etcd back, it is ready again only once it reaches its storage).
func (s *Stopped) Start(ctx context.Context) (time.Time, error) {
	logPath := filepath.Join(s.c.opts.Dir, s.name+"-restarted.log")
	cmd := exec.Command(s.path, s.args...)
	cmd.Env = s.env // replaced, not extended: the component runs exactly as before
	proc, err := startCommand(cmd, logPath)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot start %s again: %w", s.name, err)
	}
	s.c.restarted[s.name] = proc
	recordChildren(s.c.opts)
	return s.c.WaitReady(ctx, 60*time.Second)
}

// WaitReady waits until kube-apiserver answers /readyz with 200 and returns when it did.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) (time.Time, error) {
	httpClient, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		return time.Time{}, err
	}
	httpClient.Timeout = time.Second
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Config.Host, "/")+"/readyz", nil)
		if resp, err := httpClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("kube-apiserver not ready within %s", timeout)
}

// component finds the running process of a component: one this Cluster restarted, else envtest's.
func (c *Cluster) component(name string) (int, *Process, error) {
	if name != APIServer && name != Etcd {
		return 0, nil, fmt.Errorf("unknown component %q: want %s or %s", name, APIServer, Etcd)
	}
	if p, ok := c.restarted[name]; ok && !p.Exited() {
		return p.Pid(), p, nil
	}
	for _, pid := range ChildPids(os.Getpid()) {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err == nil && isControlPlaneProcess(c.opts, pid) && filepath.Base(exe) == name && !zombie(pid) {
			return pid, nil, nil
		}
	}
	return 0, nil, fmt.Errorf("%s is not running", name)
}

// waitExited waits until pid has exited.
func waitExited(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if zombie(pid) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("process %d did not exit within %s of SIGKILL", pid, timeout)
}

// zombie reports whether pid has exited (gone, or a zombie its parent has not waited for yet).
func zombie(pid int) bool {
	fields := statFields(pid)
	return len(fields) == 0 || fields[0] == "Z" || fields[0] == "X"
}

func splitNul(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
