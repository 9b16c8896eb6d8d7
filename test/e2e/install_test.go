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
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The install bundle (make build-installer) applies cleanly, grants least privilege (every
// scenario above runs the manager as its ServiceAccount) and runs the manager locked down.
func TestInstallBundle(t *testing.T) {
	bundle := filepath.Join(suite.root, "dist", "install.yaml")
	u := &user{t: t, ns: operatorNamespace}
	out := u.run("apply", "--server-side", "--dry-run=server", "-f", bundle)
	if !strings.Contains(out, "deployment.apps/mcp-registry-operator-controller-manager serverside-applied (server dry run)") {
		t.Fatalf("dry run did not reach the Deployment:\n%s", out)
	}

	docs, err := readManifests(bundle)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(m manifest, into any) {
		t.Helper()
		data, err := json.Marshal(m.object)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatal(err)
		}
	}
	var deployment *appsv1.Deployment
	var managerRole *rbacv1.ClusterRole
	for _, m := range docs {
		switch {
		case m.kind == "Deployment":
			deployment = &appsv1.Deployment{}
			decode(m, deployment)
		case m.kind == "ClusterRole" && m.name == "mcp-registry-operator-manager-role":
			managerRole = &rbacv1.ClusterRole{}
			decode(m, managerRole)
		}
	}
	if deployment == nil || managerRole == nil {
		t.Fatal("the bundle lacks the manager Deployment or its ClusterRole")
	}

	t.Run("manager runs locked down", func(t *testing.T) {
		pod := deployment.Spec.Template.Spec
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
			pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", pod.SecurityContext)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers", len(pod.Containers))
		}
		c := pod.Containers[0]
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
			(sc.Privileged != nil && *sc.Privileged) {
			t.Errorf("container securityContext %+v: want read-only root, no privilege escalation, all capabilities dropped", sc)
		}
		if !slices.Contains(c.Args, "--metrics-bind-address=:8443") || slices.Contains(c.Args, "--metrics-secure=false") {
			t.Errorf("args %v: want metrics on :8443 behind authentication and authorization", c.Args)
		}
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("resources %+v: want requests and a memory limit", c.Resources)
		}
	})

	t.Run("metrics need an authorized token", func(t *testing.T) {
		// A scraper's ServiceAccount bound to the bundle's metrics-reader role, and one without.
		u.run("create", "serviceaccount", "scraper")
		u.run("create", "serviceaccount", "stranger")
		u.run("create", "clusterrolebinding", "e2e-scraper-metrics", "--clusterrole=mcp-registry-operator-metrics-reader",
			"--serviceaccount="+operatorNamespace+":scraper")
		t.Cleanup(func() {
			_, _ = runKubectl("", "delete", "clusterrolebinding", "e2e-scraper-metrics", "--ignore-not-found")
		})
		scrape := func(token string) (int, string) {
			code, body, err := scrapeMetrics(token)
			if err != nil {
				t.Fatal(err)
			}
			return code, body
		}
		if code, _ := scrape(""); code != http.StatusUnauthorized {
			t.Errorf("no token: HTTP %d, want 401", code)
		}
		if code, _ := scrape(strings.TrimSpace(u.run("create", "token", "stranger"))); code != http.StatusForbidden {
			t.Errorf("token without the metrics-reader role: HTTP %d, want 403", code)
		}
		u.eventually(30*time.Second, "the scraper reads the metrics", func() string {
			code, body := scrape(strings.TrimSpace(u.run("create", "token", "scraper")))
			if code != http.StatusOK || !strings.Contains(body, "mcp_registry_") {
				return fmt.Sprintf("HTTP %d", code)
			}
			return ""
		})
	})

	t.Run("manager role is least privilege", func(t *testing.T) {
		// The reviewed grant, verb by verb (see the RBAC comment in mcpserver_controller.go).
		want := map[string][]string{
			"/namespaces":                    {"get", "list", "watch"},
			"/secrets":                       {"create", "delete", "get", "list", "patch", "watch"},
			"apps/daemonsets":                {"get", "list", "watch"},
			"apps/deployments":               {"get", "list", "watch"},
			"apps/statefulsets":              {"get", "list", "watch"},
			"batch/cronjobs":                 {"get", "list", "watch"},
			"batch/jobs":                     {"get", "list", "watch"},
			"events.k8s.io/events":           {"create", "patch"},
			"mcp.toolregistry.io/mcpservers": {"get", "list", "patch", "watch"},
			"mcp.toolregistry.io/mcpservers/finalizers": {"update"},
			"mcp.toolregistry.io/mcpservers/status":     {"patch"},
			"mcp.toolregistry.io/mcptools":              {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
			"mcp.toolregistry.io/mcptools/status":       {"patch"},
		}
		got := map[string][]string{}
		for _, rule := range managerRole.Rules {
			if len(rule.ResourceNames) > 0 || len(rule.NonResourceURLs) > 0 {
				t.Errorf("unexpected rule %+v", rule)
			}
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					key := g + "/" + r
					for _, v := range rule.Verbs {
						if v == "*" || r == "*" || g == "*" {
							t.Errorf("wildcard in rule %+v", rule)
						}
						if !slices.Contains(got[key], v) {
							got[key] = append(got[key], v)
						}
					}
					slices.Sort(got[key])
				}
			}
		}
		for key, verbs := range want {
			if !slices.Equal(got[key], verbs) {
				t.Errorf("%s: verbs %v, want %v", key, got[key], verbs)
			}
		}
		for key := range got {
			if _, ok := want[key]; !ok {
				t.Errorf("%s: granted %v, not in the reviewed list", key, got[key])
			}
		}
	})
}
