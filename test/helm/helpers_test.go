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

package helm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	releaseName = "mcp-registry-operator"
	// namespace is the bundle's, so that names and ServiceAccount subjects compare as they are.
	namespace = "mcp-registry-operator-system"
	// managerRole is the manager's ClusterRole, in the chart and in the bundle.
	managerRole = "mcp-registry-operator-manager-role"
)

// repoRoot is the repository root: this module lives in test/helm.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "PROJECT")); err != nil {
		t.Fatalf("cannot find the repository root from test/helm: %v", err)
	}
	return root
}

func chartDir(t testing.TB) string { return filepath.Join(repoRoot(t), "dist", "chart") }

// render renders the chart as helm template (helm install --dry-run=client) does, validating the
// values against values.schema.json, and decodes the manifests.
func render(t testing.TB, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objects, err := renderErr(t, values)
	if err != nil {
		t.Fatal(err)
	}
	return objects
}

func renderErr(t testing.TB, values map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir(t))
	if err != nil {
		return nil, fmt.Errorf("cannot load the chart (run 'make chart'): %w", err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.ClientOnly = true
	install.DryRun = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	rel, err := install.Run(chrt, values)
	if err != nil {
		return nil, err
	}
	return decode(t, []byte(rel.Manifest))
}

// decode reads a multi-document YAML stream, numbers as int64 where they are whole, as the API
// machinery does; empty documents are skipped.
func decode(t testing.TB, data []byte) ([]*unstructured.Unstructured, error) {
	t.Helper()
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
}

// bundle is dist/install.yaml, the kustomize bundle of make build-installer.
func bundle(t testing.TB) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "dist", "install.yaml"))
	if err != nil {
		t.Fatalf("%v: run 'make build-installer'", err)
	}
	objects, err := decode(t, data)
	if err != nil {
		t.Fatal(err)
	}
	return objects
}

func id(u *unstructured.Unstructured) string { return u.GetKind() + "/" + u.GetName() }

// find returns the object of that kind and name, or nil.
func find(objects []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objects {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// kinds returns the kinds rendered, sorted, once each.
func kinds(objects []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objects {
		if !slices.Contains(out, u.GetKind()) {
			out = append(out, u.GetKind())
		}
	}
	sort.Strings(out)
	return out
}

// grants flattens RBAC rules into "<group>/<resource>" -> sorted verbs, as the e2e suite pins them.
func grants(t testing.TB, role *unstructured.Unstructured) map[string][]string {
	t.Helper()
	if role == nil {
		t.Fatal("no such role")
	}
	rules, _, err := unstructured.NestedSlice(role.Object, "rules")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rules {
		rule := r.(map[string]any)
		for _, g := range stringList(rule["apiGroups"]) {
			for _, res := range stringList(rule["resources"]) {
				key := g + "/" + res
				for _, v := range stringList(rule["verbs"]) {
					if !slices.Contains(out[key], v) {
						out[key] = append(out[key], v)
					}
				}
				slices.Sort(out[key])
			}
		}
		for _, u := range stringList(rule["nonResourceURLs"]) {
			out[u] = append(out[u], stringList(rule["verbs"])...)
		}
	}
	return out
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// managerArgs returns the manager container's args.
func managerArgs(t testing.TB, objects []*unstructured.Unstructured) []string {
	t.Helper()
	c := managerContainer(t, objects)
	return stringList(c["args"])
}

func managerContainer(t testing.TB, objects []*unstructured.Unstructured) map[string]any {
	t.Helper()
	d := find(objects, "Deployment", "mcp-registry-operator-controller-manager")
	if d == nil {
		t.Fatal("no manager Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	return containers[0].(map[string]any)
}

// assetsDir holds etcd and kube-apiserver: KUBEBUILDER_ASSETS, or what make setup-envtest built
// under bin/k8s (as test/utils.BinaryAssetsDir finds it; this module does not import the operator's).
func assetsDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	candidates, _ := filepath.Glob(filepath.Join(repoRoot(t), "bin", "k8s", "*"))
	sort.Sort(sort.Reverse(sort.StringSlice(candidates)))
	for _, dir := range candidates {
		_, apiserver := os.Stat(filepath.Join(dir, "kube-apiserver"))
		_, etcd := os.Stat(filepath.Join(dir, "etcd"))
		if apiserver == nil && etcd == nil {
			return dir
		}
	}
	t.Fatal("no control-plane binaries: set KUBEBUILDER_ASSETS or run 'make setup-envtest'")
	return ""
}

// custom are non-default values for every value the chart has.
func custom() map[string]any {
	return map[string]any{
		"image":              map[string]any{"repository": "registry.example.com/mcp/operator", "tag": "v1.2.3", "pullPolicy": "IfNotPresent"},
		"replicas":           2,
		"resources":          map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi", "cpu": nil}},
		"leaderElection":     map[string]any{"enabled": true, "leaseDuration": "30s", "renewDeadline": "20s", "retryPeriod": "4s"},
		"consumerResources":  []any{"deployments.apps", "configmaps", "agents.example.com", "agentpools.example.com"},
		"metrics":            map[string]any{"enabled": true, "port": 9443, "secure": false},
		"deletionProtection": map[string]any{"enabled": true},
		"endpointDenyCIDRs":  []any{"10.0.0.0/8", "169.254.0.0/16", "fd00:ec2::254/128"},
		"endpointAllowCIDRs": []any{"10.1.0.0/16"},
		"maxRequestsPerHost": 8, "maxToolsPerServer": 2000, "maxConcurrentSyncs": 8, "maxConcurrentToolReconciles": 32,
		"registry": map[string]any{"enabled": true, "port": 9082, "auth": "Kubernetes", "namePrefix": "com.example",
			"tls": map[string]any{"secretName": "registry-tls"}},
		"maxLiveStreams": 500,
		"extraArgs":      []any{"--zap-log-level=debug"},
	}
}

func lines(s []string) string { return strings.Join(s, "\n") }
