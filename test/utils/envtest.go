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

// Package utils holds helpers shared by the envtest suites and the e2e harness.
package utils

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// RepoRoot returns the repository root: the nearest parent of the working directory holding go.mod
// with a PROJECT file beside it, so tests work from any package directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("cannot find repository root: %w", err)
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "PROJECT")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find repository root: no parent directory holds go.mod and PROJECT")
		}
		dir = parent
	}
}

// BinaryAssetsDir returns the directory holding etcd and kube-apiserver for envtest:
// KUBEBUILDER_ASSETS when set, or else a bin/k8s/<version>-<os>-<arch> directory that
// `make setup-envtest` built, so tests also run from an IDE. It fails with the command to run when
// neither exists.
func BinaryAssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	candidates, _ := filepath.Glob(filepath.Join(root, "bin", "k8s", "*"))
	sort.Sort(sort.Reverse(sort.StringSlice(candidates)))
	for _, dir := range candidates {
		if fileExists(filepath.Join(dir, "kube-apiserver")) && fileExists(filepath.Join(dir, "etcd")) {
			return dir, nil
		}
	}
	return "", errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS or run 'make setup-envtest'")
}

// CRDDir returns config/crd/bases of the repository.
func CRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "config", "crd", "bases"), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Envtest is a started envtest control plane with the CRDs installed.
type Envtest struct {
	Env    *envtest.Environment
	Config *rest.Config
	Scheme *runtime.Scheme
	// Client is a direct (uncached) client for the admin user.
	Client client.Client
}

// StartEnvtest starts etcd and kube-apiserver with the repository's CRDs, for tests outside the
// Ginkgo suites, and stops them when the test ends.
func StartEnvtest(t testing.TB) *Envtest {
	t.Helper()
	assets, err := BinaryAssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	crds, err := CRDDir()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{crds}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := mcpv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return &Envtest{Env: env, Config: cfg, Scheme: scheme, Client: c}
}

// ConsumerDeployment is a minimal valid Deployment whose mcp.toolregistry.io/tools annotation
// references tools: a consumer, as the suites create them.
func ConsumerDeployment(namespace, name, tools string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: tools}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "example.com/agent:1"}}},
			},
		},
	}
}
