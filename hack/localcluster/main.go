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

// Command localcluster is what `make run` runs: it starts the local control plane (or, with
// --use-existing-cluster, uses the current kubeconfig), installs the CRDs, runs the manager command
// given after `--`, and on Ctrl-C stops the manager and then the control plane, leaving no process
// behind.
//
//	localcluster --assets bin/k8s/1.37.1-linux-amd64 --crds config/crd/bases --dir bin/local-cluster -- bin/manager [flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("localcluster", flag.ContinueOnError)
	assets := fs.String("assets", "", "directory holding etcd, kube-apiserver, kube-controller-manager and kubectl")
	crds := fs.String("crds", "config/crd/bases", "directory holding the CRD manifests to install")
	dir := fs.String("dir", "bin/local-cluster", "directory for the kubeconfig and control-plane logs")
	useExisting := fs.Bool("use-existing-cluster", false,
		"install the CRDs into, and run the manager against, the cluster of the current kubeconfig")
	sidecar := fs.String("sidecar", "",
		"a command line started before the manager and stopped after it (e.g. the test MCP server); its output goes to <dir>/<command>.log")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	manager := fs.Args()
	if len(manager) == 0 {
		fmt.Fprintln(os.Stderr, "localcluster: give the manager command after --, e.g. -- bin/manager")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var env []string
	if *useExisting {
		cfg, err := config.GetConfig()
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: cannot load the current kubeconfig: %v\n", err)
			return 1
		}
		names, err := localcluster.InstallCRDs(cfg, *crds)
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		fmt.Printf("\nUsing the existing cluster at %s\nInstalled CRDs: %s\n\n", cfg.Host, strings.Join(names, ", "))
	} else {
		absDir, err := filepath.Abs(*dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		cluster, err := localcluster.Start(ctx, localcluster.Options{
			AssetsDir: *assets, CRDDir: *crds, Dir: absDir, Log: os.Stdout,
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		defer func() {
			fmt.Println("stopping the local control plane")
			if err := cluster.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			}
		}()
		absAssets, _ := filepath.Abs(*assets)
		fmt.Printf(`
Local control plane %s is running: etcd, kube-apiserver, kube-controller-manager (%s).
Installed CRDs: %s

In a second terminal:
  export KUBECONFIG=%s
  export PATH=%s:$PATH
  kubectl get crd mcpservers.mcp.toolregistry.io

kube-controller-manager logs to %s; the manager logs below.
Press Ctrl-C to stop the manager and the control plane.

`, cluster.Version, strings.Join(localcluster.Controllers, ", "), strings.Join(cluster.CRDs, ", "),
			cluster.Kubeconfig, absAssets, filepath.Join(absDir, "kube-controller-manager.log"))
		env = []string{"KUBECONFIG=" + cluster.Kubeconfig}
	}

	if fields := strings.Fields(*sidecar); len(fields) > 0 {
		logPath := filepath.Join(*dir, filepath.Base(fields[0])+".log")
		if err := os.MkdirAll(*dir, 0o750); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		side, err := localcluster.StartProcess(fields[0], fields[1:], nil, logPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: cannot start %s: %v\n", fields[0], err)
			return 1
		}
		defer func() { _ = side.Stop(5 * time.Second) }()
		fmt.Printf("Started %s (logs: %s)\n\n", *sidecar, logPath)
	}

	mgr, err := localcluster.StartProcess(manager[0], manager[1:], env, "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: cannot start %s: %v\n", manager[0], err)
		return 1
	}
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping the manager")
		if err := mgr.Stop(15 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		return 0
	case <-mgr.Done():
		code := mgr.ExitCode()
		fmt.Fprintf(os.Stderr, "localcluster: the manager exited with code %d\n", code)
		if code == 0 {
			return 1 // a manager that stops by itself, unasked, is a failure of `make run`
		}
		return code
	}
}
