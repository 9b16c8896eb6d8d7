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

package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

func TestUninstall(t *testing.T) {
	k := startCluster(t)
	ctx := context.Background()
	for _, ns := range []string{"reg", "clean", "elsewhere"} {
		k.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	withFinalizer := func(s *mcpv1alpha1.MCPServer) {
		s.Finalizers = []string{mcpv1alpha1.ServerFinalizer, "example.com/someone-else"}
	}
	k.server(t, "reg", "used", []string{"create_issue"}, withFinalizer)
	oauth := k.server(t, "reg", "oauth", []string{"read"}, withFinalizer)
	k.server(t, "reg", "plain", []string{"a", "b"}, withFinalizer)
	k.server(t, "clean", "plain", []string{"a"}, func(s *mcpv1alpha1.MCPServer) { s.Finalizers = []string{mcpv1alpha1.ServerFinalizer} })
	k.server(t, "elsewhere", "kept", []string{"a"}, withFinalizer)
	userSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "reg"}, StringData: map[string]string{"client_id": "x"}}
	k.create(t, userSecret,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "oauth-oauth2", Namespace: "reg",
			Labels:      map[string]string{mcpv1alpha1.ServerLabel: "oauth"},
			Finalizers:  []string{mcpv1alpha1.CredentialsFinalizer},
			Annotations: map[string]string{mcpv1alpha1.RevocationPendingAnnotation: `revoke 1 token issued to client "x" by https://auth.example.com at https://auth.example.com/revoke`},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "mcp.toolregistry.io/v1alpha1", Kind: "MCPServer", Name: "oauth",
				UID: oauth.UID, Controller: ptr.To(true)}}}},
		utils.ConsumerDeployment("reg", "agent", "used:create_issue"),
	)
	count := func(ns string) (servers, tools int) {
		t.Helper()
		sl, tl := &mcpv1alpha1.MCPServerList{}, &mcpv1alpha1.MCPToolList{}
		if err := k.c.List(ctx, sl, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := k.c.List(ctx, tl, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		return len(sl.Items), len(tl.Items)
	}

	t.Run("without --purge: the state and the procedures, nothing changed", func(t *testing.T) {
		out, err := k.run("uninstall", "-n", "reg")
		if err != nil {
			t.Fatalf("err %v\n%s", err, out)
		}
		for _, want := range []string{
			"Registry in namespace reg: 3 MCPServers, 4 MCPTools",
			"Servers in use: reg/used: Deployment reg/agent",
			`OAuth credentials a delete would revoke: reg/oauth: revoke 1 token issued to client "x"`,
			"helm uninstall",
			"kubectl delete deployment -n mcp-registry-operator-system mcp-registry-operator-controller-manager",
			"Never delete the CRDs",
			"kubectl mcp uninstall --purge",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if s, tl := count("reg"); s != 3 || tl != 4 {
			t.Fatalf("%d servers and %d tools left, want 3 and 4", s, tl)
		}
	})

	t.Run("--purge refuses while a server is in use or holds credentials, exit 3", func(t *testing.T) {
		out, err := k.run("uninstall", "-n", "reg", "--purge")
		if !errors.Is(err, ErrBlocked) || !strings.Contains(out, "Refused") {
			t.Fatalf("err = %v, want ErrBlocked\n%s", err, out)
		}
		if s, tl := count("reg"); s != 3 || tl != 4 {
			t.Fatalf("a refused purge changed something: %d servers, %d tools", s, tl)
		}
		if _, err := k.run("uninstall", "-n", "reg", "--force"); err == nil || !strings.Contains(err.Error(), "--force only applies to --purge") {
			t.Fatalf("--force without --purge: err = %v", err)
		}
	})

	t.Run("--purge on an unused namespace removes the operator's finalizers and everything goes", func(t *testing.T) {
		out, err := k.run("uninstall", "-n", "clean", "--purge")
		if err != nil {
			t.Fatalf("err %v\n%s", err, out)
		}
		if !strings.Contains(out, "Purged 1 MCPServers and 1 MCPTools") {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("--purge --force: gone despite the consumer; only the operator's finalizers are dropped; the user's Secret and other namespaces kept", func(t *testing.T) {
		// Another controller's finalizer would hold the server: purge drops only the operator's.
		for _, name := range []string{"used", "oauth", "plain"} {
			s := &mcpv1alpha1.MCPServer{}
			if err := k.c.Get(ctx, client.ObjectKey{Namespace: "reg", Name: name}, s); err != nil {
				t.Fatal(err)
			}
			s.Finalizers = []string{mcpv1alpha1.ServerFinalizer}
			if err := k.c.Update(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		out, err := k.run("uninstall", "-n", "reg", "--purge", "--force")
		if err != nil {
			t.Fatalf("err %v\n%s", err, out)
		}
		for _, want := range []string{"Purged 3 MCPServers and 4 MCPTools", "Not revoked (--force): reg/oauth", "kubectl delete crd"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if s, tl := count("reg"); s != 0 || tl != 0 {
			t.Fatalf("%d servers and %d tools left", s, tl)
		}
		if err := k.c.Get(ctx, client.ObjectKeyFromObject(userSecret), &corev1.Secret{}); err != nil {
			t.Fatalf("the user's Secret: %v", err)
		}
		// The credentials Secret is freed for the garbage collector (envtest runs none).
		creds := &corev1.Secret{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "reg", Name: "oauth-oauth2"}, creds); err != nil {
			t.Fatal(err)
		}
		if len(creds.Finalizers) != 0 {
			t.Fatalf("the credentials Secret keeps finalizers %v", creds.Finalizers)
		}
		if s, tl := count("elsewhere"); s != 1 || tl != 1 {
			t.Fatalf("another namespace was touched: %d servers, %d tools", s, tl)
		}
	})

	t.Run("a finalizer of someone else's is kept, and purge says what holds the object", func(t *testing.T) {
		out, err := k.run("uninstall", "-n", "elsewhere", "--purge", "--timeout=2s")
		if err == nil || !strings.Contains(err.Error(), "is still there") || !strings.Contains(err.Error(), "example.com/someone-else") {
			t.Fatalf("err = %v\n%s", err, out)
		}
		s := &mcpv1alpha1.MCPServer{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "elsewhere", Name: "kept"}, s); apierrors.IsNotFound(err) {
			t.Fatal("the server went although another finalizer holds it")
		}
		if len(s.Finalizers) != 1 || s.Finalizers[0] != "example.com/someone-else" {
			t.Fatalf("finalizers %v", s.Finalizers)
		}
	})
}
