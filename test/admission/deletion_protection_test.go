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

// Package admission tests the opt-in ValidatingAdmissionPolicy in config/deletion-protection on a
// real kube-apiserver (envtest): the manifests exactly as shipped.
package admission

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

func TestDeletionProtectionPolicy(t *testing.T) {
	c := utils.StartEnvtest(t).Client
	ctx := context.Background()

	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "config", "deletion-protection")
	policy := &admissionv1.ValidatingAdmissionPolicy{}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	for file, obj := range map[string]client.Object{"policy.yaml": policy, "binding.yaml": binding} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tools"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// newServer creates a server whose status says it has consumers, as the operator writes it.
	newServer := func(name string, count int32, annotations map[string]string) *mcpv1alpha1.MCPServer {
		t.Helper()
		s := &mcpv1alpha1.MCPServer{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name, Annotations: annotations},
			Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp"},
		}
		if err := c.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		s.Status.ConsumerCount = count
		for i := range min(count, 2) {
			s.Status.Consumers = append(s.Status.Consumers, mcpv1alpha1.ConsumerReference{
				APIVersion: "apps/v1", Kind: "Deployment", Namespace: "agents", Name: []string{"planner", "triage-agent"}[i]})
		}
		if err := c.Status().Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	inUse := newServer("github", 3, nil)
	// The policy is enforced once the API server has compiled it: wait for the first refusal.
	var refusal error
	deadline := time.Now().Add(30 * time.Second)
	for {
		refusal = c.Delete(ctx, inUse, client.DryRunAll)
		if refusal != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("dry run shows the refusal", func(t *testing.T) {
		if !apierrors.IsForbidden(refusal) && !apierrors.IsInvalid(refusal) {
			t.Fatalf("dry-run delete of an in-use server: %v, want a refusal", refusal)
		}
		want := `MCPServer tools/github is in use by 3 consumers (Deployment agents/planner, Deployment agents/triage-agent, ...); ` +
			`remove their mcp.toolregistry.io/tools annotations first, or set the annotation mcp.toolregistry.io/force-delete: "true" to delete it anyway`
		if !strings.Contains(refusal.Error(), want) {
			t.Fatalf("refusal %q does not say %q", refusal, want)
		}
	})
	t.Run("in-use delete refused, object stays live", func(t *testing.T) {
		err := c.Delete(ctx, inUse)
		if err == nil || !strings.Contains(err.Error(), "is in use by 3 consumers") {
			t.Fatalf("delete of an in-use server: %v, want a refusal", err)
		}
		got := &mcpv1alpha1.MCPServer{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(inUse), got); err != nil || got.DeletionTimestamp != nil {
			t.Fatalf("refused server should stay live: err %v, deletionTimestamp %v", err, got.DeletionTimestamp)
		}
	})
	t.Run("one consumer named in the singular", func(t *testing.T) {
		one := newServer("jira", 1, nil)
		err := c.Delete(ctx, one)
		if err == nil || !strings.Contains(err.Error(), "is in use by 1 consumer (Deployment agents/planner);") {
			t.Fatalf("delete: %v", err)
		}
	})
	t.Run("unused delete allowed", func(t *testing.T) {
		if err := c.Delete(ctx, newServer("unused", 0, nil)); err != nil {
			t.Fatalf("delete of an unused server: %v", err)
		}
	})
	t.Run("force allowed", func(t *testing.T) {
		forced := newServer("forced", 2, map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"})
		if err := c.Delete(ctx, forced); err != nil {
			t.Fatalf("forced delete of an in-use server: %v", err)
		}
	})
	t.Run("force annotation other than \"true\" does not count", func(t *testing.T) {
		s := newServer("almost", 2, map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "yes"})
		if err := c.Delete(ctx, s); err == nil {
			t.Fatal("delete with force-delete: yes was allowed")
		}
	})
	t.Run("only MCPServers are affected", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: ns.Name}}
		if err := c.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, cm); err != nil {
			t.Fatalf("delete of a ConfigMap: %v", err)
		}
	})
}
