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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// defaultConsumers are the manager's default --consumer-resources, as the RBAC markers grant them.
var defaultConsumers = map[string][]string{
	"apps/daemonsets":   {"get", "list", "watch"},
	"apps/deployments":  {"get", "list", "watch"},
	"apps/statefulsets": {"get", "list", "watch"},
	"batch/cronjobs":    {"get", "list", "watch"},
	"batch/jobs":        {"get", "list", "watch"},
}

// The chart loads, is valid, lints clean (helm lint --strict) and renders objects that each have
// an apiVersion, a kind and a name, with default and with non-default values.
func TestChartLints(t *testing.T) {
	chrt, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := chrt.Validate(); err != nil {
		t.Errorf("Chart.yaml: %v", err)
	}
	if chrt.Metadata.APIVersion != "v2" || chrt.Metadata.Name != "mcp-registry-operator" || chrt.Metadata.Type != "application" {
		t.Errorf("Chart.yaml: %+v", chrt.Metadata)
	}
	if len(chrt.Schema) == 0 {
		t.Error("no values.schema.json")
	}
	for name, values := range map[string]map[string]any{"defaults": nil, "custom": custom()} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			result := lint.Run([]string{chartDir(t)}, values)
			for _, err := range result.Errors {
				t.Errorf("lint: %v", err)
			}
			for _, m := range result.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("lint: %s", m)
				}
			}
			namespaced := []string{"Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}
			for _, u := range render(t, values) {
				if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
					t.Errorf("object without apiVersion, kind or metadata.name: %v", u.Object)
				}
				if want := map[bool]string{true: namespace}[slices.Contains(namespaced, u.GetKind())]; u.GetNamespace() != want {
					t.Errorf("%s: namespace %q, want %q", id(u), u.GetNamespace(), want)
				}
				if u.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" || u.GetLabels()["helm.sh/chart"] != "mcp-registry-operator-"+chrt.Metadata.Version {
					t.Errorf("%s: labels %v", id(u), u.GetLabels())
				}
			}
		})
	}
}

// The CRDs are in crds/ (Helm installs them, and never upgrades or deletes them), are those of
// config/crd/bases, and carry helm.sh/resource-policy: keep.
func TestCRDs(t *testing.T) {
	chrt, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	bases, err := filepath.Glob(filepath.Join(repoRoot(t), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("config/crd/bases: %v", err)
	}
	want := map[string]any{}
	for _, file := range bases {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		want[crd["metadata"].(map[string]any)["name"].(string)] = crd["spec"]
	}
	got := map[string]any{}
	for _, f := range chrt.CRDObjects() {
		var crd map[string]any
		if err := yaml.Unmarshal(f.File.Data, &crd); err != nil {
			t.Fatal(err)
		}
		meta := crd["metadata"].(map[string]any)
		name := meta["name"].(string)
		if crd["kind"] != "CustomResourceDefinition" {
			t.Errorf("%s: kind %v", f.Filename, crd["kind"])
		}
		if a, _ := meta["annotations"].(map[string]any); a["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: annotations %v, want helm.sh/resource-policy: keep", name, a)
		}
		got[name] = crd["spec"]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("crds/ differ from config/crd/bases (run 'make chart') (-bases +chart):\n%s", diff)
	}
	for _, u := range render(t, nil) {
		if u.GetKind() == "CustomResourceDefinition" {
			t.Errorf("%s rendered from templates/: CRDs belong in crds/", u.GetName())
		}
	}
}

// With default values the chart renders the bundle's objects (but its Namespace and CRDs): RBAC
// rule for rule and binding for binding, and the Deployment with one more flag, the consumer
// resources the chart grants RBAC for.
func TestDefaultsMatchTheBundle(t *testing.T) {
	chart := render(t, nil)
	var want []*unstructured.Unstructured
	for _, u := range bundle(t) {
		if u.GetKind() != "Namespace" && u.GetKind() != "CustomResourceDefinition" {
			want = append(want, u)
		}
	}
	var gotIDs, wantIDs []string
	for _, u := range chart {
		gotIDs = append(gotIDs, id(u))
	}
	for _, u := range want {
		wantIDs = append(wantIDs, id(u))
	}
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Fatalf("objects (-bundle +chart):\n%s", diff)
	}

	t.Run("manager ClusterRole", func(t *testing.T) {
		if diff := cmp.Diff(grants(t, find(want, "ClusterRole", managerRole)), grants(t, find(chart, "ClusterRole", managerRole))); diff != "" {
			t.Errorf("grants (-bundle +chart):\n%s", diff)
		}
	})
	t.Run("Deployment args", func(t *testing.T) {
		wantArgs := append(managerArgs(t, want), "--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch")
		if diff := cmp.Diff(wantArgs, managerArgs(t, chart)); diff != "" {
			t.Errorf("args (-bundle +chart):\n%s", diff)
		}
		if got := managerContainer(t, chart)["image"]; got != "ghcr.io/toolregistry/mcp-registry-operator:latest" {
			t.Errorf("image %v", got)
		}
		if got, ok := managerContainer(t, chart)["imagePullPolicy"]; ok {
			t.Errorf("imagePullPolicy %v, want Kubernetes' default", got)
		}
	})
	// Everything else is the bundle's, field for field: the labels but Helm's, the rest of the
	// Deployment (image aside: make build-installer takes IMG), every other role and binding.
	for _, w := range want {
		t.Run(id(w), func(t *testing.T) {
			normalize := func(u *unstructured.Unstructured) map[string]any {
				o := u.DeepCopy().Object
				labels, _, _ := unstructured.NestedStringMap(o, "metadata", "labels")
				delete(labels, "app.kubernetes.io/managed-by")
				delete(labels, "helm.sh/chart")
				if len(labels) == 0 {
					unstructured.RemoveNestedField(o, "metadata", "labels")
				} else {
					_ = unstructured.SetNestedStringMap(o, labels, "metadata", "labels")
				}
				switch id(u) {
				case "ClusterRole/" + managerRole:
					unstructured.RemoveNestedField(o, "rules")
				case "Deployment/mcp-registry-operator-controller-manager":
					containers, _, _ := unstructured.NestedSlice(o, "spec", "template", "spec", "containers")
					delete(containers[0].(map[string]any), "args")
					delete(containers[0].(map[string]any), "image")
					_ = unstructured.SetNestedSlice(o, containers, "spec", "template", "spec", "containers")
				}
				return o
			}
			if diff := cmp.Diff(normalize(w), normalize(find(chart, w.GetKind(), w.GetName()))); diff != "" {
				t.Errorf("(-bundle +chart):\n%s", diff)
			}
		})
	}
}

// Every value reaches the manager: image, replicas, resources and each flag.
func TestValues(t *testing.T) {
	objects := render(t, custom())
	c := managerContainer(t, objects)
	if c["image"] != "registry.example.com/mcp/operator:v1.2.3" || c["imagePullPolicy"] != "IfNotPresent" {
		t.Errorf("image %v, pull policy %v", c["image"], c["imagePullPolicy"])
	}
	// Helm merges maps with the defaults; null removes a default (limits.cpu here).
	if diff := cmp.Diff(map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}}, c["resources"]); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	d := find(objects, "Deployment", "mcp-registry-operator-controller-manager")
	if replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); replicas != 2 {
		t.Errorf("replicas %d", replicas)
	}
	wantArgs := []string{
		"--metrics-bind-address=:9443",
		"--metrics-secure=false",
		"--leader-elect",
		"--leader-elect-lease-duration=30s",
		"--leader-elect-renew-deadline=20s",
		"--leader-elect-retry-period=4s",
		"--health-probe-bind-address=:8081",
		"--registry-bind-address=:9082",
		"--registry-auth=Kubernetes",
		"--registry-cert-path=/tmp/k8s-registry-server/serving-certs",
		"--registry-name-prefix=com.example",
		"--max-live-streams=500",
		"--consumer-resources=deployments.apps,configmaps,agents.example.com,agentpools.example.com",
		"--endpoint-deny-cidrs=10.0.0.0/8,169.254.0.0/16,fd00:ec2::254/128",
		"--endpoint-allow-cidrs=10.1.0.0/16",
		"--max-requests-per-host=8",
		"--max-tools-per-server=2000",
		"--max-concurrent-syncs=8",
		"--max-concurrent-tool-reconciles=32",
		"--zap-log-level=debug",
	}
	if diff := cmp.Diff(wantArgs, managerArgs(t, objects)); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	svc := find(objects, "Service", "mcp-registry-operator-controller-manager-metrics-service")
	if svc == nil {
		t.Fatal("no metrics Service")
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if diff := cmp.Diff([]any{map[string]any{"name": "http", "port": int64(9443), "protocol": "TCP", "targetPort": int64(9443)}}, ports); diff != "" {
		t.Errorf("metrics Service ports (-want +got):\n%s", diff)
	}
	registrySvc := find(objects, "Service", "mcp-registry-operator-controller-manager-registry-service")
	if registrySvc == nil {
		t.Fatal("no registry Service")
	}
	ports, _, _ = unstructured.NestedSlice(registrySvc.Object, "spec", "ports")
	if diff := cmp.Diff([]any{map[string]any{"name": "http-registry", "port": int64(9082), "protocol": "TCP", "targetPort": int64(9082)}}, ports); diff != "" {
		t.Errorf("registry Service ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{map[string]any{"containerPort": int64(9082), "name": "http-registry", "protocol": "TCP"}}, c["ports"]); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	// registry.tls.secretName is mounted where --registry-cert-path reads it.
	if diff := cmp.Diff([]any{map[string]any{"mountPath": "/tmp/k8s-registry-server/serving-certs", "name": "registry-cert", "readOnly": true}}, c["volumeMounts"]); diff != "" {
		t.Errorf("volumeMounts (-want +got):\n%s", diff)
	}
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	if diff := cmp.Diff([]any{map[string]any{"name": "registry-cert", "secret": map[string]any{"secretName": "registry-tls"}}}, volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	// Plain-HTTP metrics are not checked with TokenReview and SubjectAccessReview: no grant for it.
	for _, name := range []string{"mcp-registry-operator-metrics-auth-role", "mcp-registry-operator-metrics-reader"} {
		if find(objects, "ClusterRole", name) != nil {
			t.Errorf("ClusterRole %s rendered with metrics.secure: false", name)
		}
	}
}

// Switches: each optional part comes and goes with its value, and nothing else changes.
func TestToggles(t *testing.T) {
	defaults := render(t, nil)
	for _, tc := range []struct {
		name   string
		values map[string]any
		gone   []string
		args   []string
	}{
		{
			name:   "metrics off",
			values: map[string]any{"metrics": map[string]any{"enabled": false}},
			gone: []string{"Service/mcp-registry-operator-controller-manager-metrics-service", "ClusterRole/mcp-registry-operator-metrics-auth-role",
				"ClusterRoleBinding/mcp-registry-operator-metrics-auth-rolebinding", "ClusterRole/mcp-registry-operator-metrics-reader"},
			args: []string{"--leader-elect", "--health-probe-bind-address=:8081",
				"--registry-bind-address=:8082", "--registry-name-prefix=local.cluster",
				"--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch"},
		},
		{
			name:   "leader election off",
			values: map[string]any{"leaderElection": map[string]any{"enabled": false}},
			gone:   []string{"Role/mcp-registry-operator-leader-election-role", "RoleBinding/mcp-registry-operator-leader-election-rolebinding"},
			args: []string{"--metrics-bind-address=:8443", "--health-probe-bind-address=:8081",
				"--registry-bind-address=:8082", "--registry-name-prefix=local.cluster",
				"--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch"},
		},
		{
			name:   "registry off",
			values: map[string]any{"registry": map[string]any{"enabled": false}},
			gone:   []string{"Service/mcp-registry-operator-controller-manager-registry-service"},
			args: []string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081",
				"--registry-name-prefix=local.cluster",
				"--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch"},
		},
		{
			name:   "live sync off",
			values: map[string]any{"maxLiveStreams": 0},
			args: []string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081",
				"--registry-bind-address=:8082", "--registry-name-prefix=local.cluster", "--max-live-streams=0",
				"--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch"},
		},
		{
			name:   "empty deny list replaces the default",
			values: map[string]any{"endpointDenyCIDRs": []any{}},
			args: []string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081",
				"--registry-bind-address=:8082", "--registry-name-prefix=local.cluster",
				"--consumer-resources=deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch", "--endpoint-deny-cidrs="},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects := render(t, tc.values)
			var want []string
			for _, u := range defaults {
				if !slices.Contains(tc.gone, id(u)) {
					want = append(want, id(u))
				}
			}
			var got []string
			for _, u := range objects {
				got = append(got, id(u))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.args, managerArgs(t, objects)); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

// consumerResources decides the manager's get/list/watch rules for consumer kinds: exactly those
// resources, one rule per API group, beside the manager's own grants, which stay as they are.
func TestConsumerResourcesRBAC(t *testing.T) {
	own := grants(t, find(render(t, nil), "ClusterRole", managerRole))
	for key := range defaultConsumers {
		delete(own, key)
	}
	for _, tc := range []struct {
		name      string
		resources []any
		want      map[string][]string
		groups    int
	}{
		{name: "defaults", want: defaultConsumers, groups: 2},
		{
			name:      "core, built-in and custom resources",
			resources: []any{"deployments.apps", "configmaps", "agents.example.com", "agentpools.example.com"},
			want: map[string][]string{
				"/configmaps":            {"get", "list", "watch"},
				"apps/deployments":       {"get", "list", "watch"},
				"example.com/agentpools": {"get", "list", "watch"},
				"example.com/agents":     {"get", "list", "watch"},
			},
			groups: 3,
		},
		{
			name:      "one resource",
			resources: []any{"pipelines.tekton.dev"},
			want:      map[string][]string{"tekton.dev/pipelines": {"get", "list", "watch"}},
			groups:    1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var values map[string]any
			if tc.resources != nil {
				values = map[string]any{"consumerResources": tc.resources}
			}
			role := find(render(t, values), "ClusterRole", managerRole)
			want := map[string][]string{}
			for k, v := range own {
				want[k] = v
			}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, grants(t, role)); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
			// The consumer rules are the last ones, one per group, with get, list and watch only.
			rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
			ownRules := len(rules) - tc.groups
			for _, r := range rules[ownRules:] {
				rule := r.(map[string]any)
				if !slices.Equal(stringList(rule["verbs"]), []string{"get", "list", "watch"}) || len(stringList(rule["apiGroups"])) != 1 {
					t.Errorf("consumer rule %v", rule)
				}
			}
		})
	}
}

// deletionProtection.enabled adds config/deletion-protection's ValidatingAdmissionPolicy and its
// binding, as the kustomize component does; it is off by default.
func TestDeletionProtection(t *testing.T) {
	policyKinds := []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	for _, k := range kinds(render(t, nil)) {
		if slices.Contains(policyKinds, k) {
			t.Errorf("%s rendered by default", k)
		}
	}
	objects := render(t, map[string]any{"deletionProtection": map[string]any{"enabled": true}})
	const name = "mcp-registry-operator-mcpserver-deletion-protection"
	policy := find(objects, "ValidatingAdmissionPolicy", name)
	binding := find(objects, "ValidatingAdmissionPolicyBinding", name)
	if policy == nil || binding == nil {
		t.Fatalf("rendered %v, want the policy and its binding named %s", kinds(objects), name)
	}
	if got, _, _ := unstructured.NestedString(binding.Object, "spec", "policyName"); got != name {
		t.Errorf("binding's policyName %q, want %q", got, name)
	}
	for file, u := range map[string]*unstructured.Unstructured{"policy.yaml": policy, "binding.yaml": binding} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "deletion-protection", file))
		if err != nil {
			t.Fatal(err)
		}
		var source map[string]any
		if err := yaml.Unmarshal(data, &source); err != nil {
			t.Fatal(err)
		}
		spec := source["spec"].(map[string]any)
		if file == "binding.yaml" {
			spec["policyName"] = name // kustomize's namePrefix, which the component gets in config/default
		}
		got, _, _ := unstructured.NestedMap(u.Object, "spec")
		if diff := cmp.Diff(spec, got); diff != "" {
			t.Errorf("%s spec (-config/deletion-protection +chart):\n%s", u.GetKind(), diff)
		}
	}
}

// Values the manager would refuse, or that would run it unsafely, fail at helm install/template
// with a message naming them.
func TestInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"no consumer resources", map[string]any{"consumerResources": []any{}}, "consumerResources"},
		{"a version in a consumer resource", map[string]any{"consumerResources": []any{"deployments.v1.apps"}}, "consumerResources"},
		{"a kind instead of a resource", map[string]any{"consumerResources": []any{"Deployment"}}, "consumerResources"},
		{"a consumer resource twice", map[string]any{"consumerResources": []any{"jobs.batch", "jobs.batch"}}, "consumerResources"},
		{"two managers without leader election", map[string]any{"replicas": 2, "leaderElection": map[string]any{"enabled": false}}, "leaderElection.enabled"},
		{"a pull policy Kubernetes lacks", map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, "pullPolicy"},
		{"metrics port 0", map[string]any{"metrics": map[string]any{"port": 0}}, "port"},
		{"a duration without a unit", map[string]any{"leaderElection": map[string]any{"leaseDuration": "15"}}, "leaseDuration"},
		{"max requests per host 0", map[string]any{"maxRequestsPerHost": 0}, "maxRequestsPerHost"},
		{"a CIDR that is a name", map[string]any{"endpointAllowCIDRs": []any{"localhost"}}, "endpointAllowCIDRs"},
		{"a misspelt value", map[string]any{"replica": 2}, "replica"},
		{"a registry auth mode the manager lacks", map[string]any{"registry": map[string]any{"auth": "Basic"}}, "auth"},
		{"a registry name prefix with a slash", map[string]any{"registry": map[string]any{"namePrefix": "com.example/tools"}}, "namePrefix"},
		{"negative live streams", map[string]any{"maxLiveStreams": -1}, "maxLiveStreams"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderErr(t, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}
