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
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"
)

// Manager is bin/manager running as its own process, as in a Deployment, for the suites that run
// it against a local control plane (the e2e suite, the soak and test/bench). Each run appends to Log, after a "===== manager run N =====" line.
type Manager struct {
	// Bin is the manager binary; Args and Env its flags and extra environment (KUBECONFIG).
	Bin  string
	Args []string
	Env  []string
	// Log receives the manager's output; Probe is the host:port of its health probe server
	// (--health-probe-bind-address).
	Log, Probe string
	// Runs counts the starts.
	Runs int
	proc *Process
}

// Start runs the manager and waits until it answers its readiness probe (at most a minute).
func (m *Manager) Start() error {
	m.Runs++
	if f, err := os.OpenFile(m.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "===== manager run %d =====\n", m.Runs)
		_ = f.Close()
	}
	var err error
	if m.proc, err = StartProcess(m.Bin, m.Args, m.Env, m.Log); err != nil {
		return fmt.Errorf("cannot start %s: %w", m.Bin, err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m.proc.Exited() {
			return fmt.Errorf("%s exited with code %d; see %s", m.Bin, m.proc.ExitCode(), m.Log)
		}
		if resp, err := http.Get("http://" + m.Probe + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not ready within a minute; see %s", m.Bin, m.Log)
}

// Kill kills the manager outright (SIGKILL: no lease release, no cleanup) and waits for it to die.
func (m *Manager) Kill() error {
	if err := syscall.Kill(m.proc.Pid(), syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-m.proc.Done():
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the manager did not die after SIGKILL")
	}
}

// Stop stops the manager (SIGTERM, then SIGKILL after 10 s); nothing when it does not run.
func (m *Manager) Stop() error {
	if m.proc == nil {
		return nil
	}
	return m.proc.Stop(10 * time.Second)
}

// Pid is the process id of the manager's current run.
func (m *Manager) Pid() int { return m.proc.Pid() }

// Exited reports whether the manager's current run has exited.
func (m *Manager) Exited() bool { return m.proc.Exited() }
