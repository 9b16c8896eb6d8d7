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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// cluster is an envtest API server with the CRDs, a kubeconfig file for the plugin and a client to
// set the scene. The operator does not run: objects are written as it leaves them.
type cluster struct {
	kubeconfig string
	c          client.Client
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	e := utils.StartEnvtest(t)
	user, err := e.Env.AddUser(envtest.User{Name: "plugin-user", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{kubeconfig: path, c: e.Client}
}

// run runs `kubectl mcp args...` with the cluster's kubeconfig and returns its output and error.
func (k *cluster) run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(append([]string{"--kubeconfig", k.kubeconfig}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func (k *cluster) create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := k.c.Create(context.Background(), obj); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
	}
}

// server creates an MCPServer with its tools as a sync leaves them, and returns it.
func (k *cluster) server(t *testing.T, ns, name string, tools []string, mutate func(*mcpv1alpha1.MCPServer)) *mcpv1alpha1.MCPServer {
	t.Helper()
	s := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp"},
	}
	if mutate != nil {
		mutate(s)
	}
	k.create(t, s)
	discovered := make([]mcp.Tool, len(tools))
	for i, n := range tools {
		discovered[i] = mcp.Tool{Name: n, Description: "does " + n}
	}
	desired, _ := registry.DesiredTools(s, discovered)
	for _, tool := range desired {
		k.create(t, tool)
	}
	return s
}

func TestPlugin(t *testing.T) {
	k := startCluster(t)
	for _, ns := range []string{"tools", "agents", "other"} {
		k.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	github := k.server(t, "tools", "github", []string{"create_issue", "search_issues", "merge_pull_request"}, func(s *mcpv1alpha1.MCPServer) {
		s.Spec.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer,
			Bearer: &mcpv1alpha1.BearerAuth{SecretRef: mcpv1alpha1.SecretKeyReference{Name: "github-token", Key: "token"}}}
		s.Spec.Consumers = &mcpv1alpha1.ConsumerPolicy{Namespaces: mcpv1alpha1.ConsumerNamespacesSelector,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "agents"}}}
	})
	k.server(t, "tools", "jira", []string{"create_ticket"}, func(s *mcpv1alpha1.MCPServer) {
		s.Spec.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthBearer,
			Bearer: &mcpv1alpha1.BearerAuth{SecretRef: mcpv1alpha1.SecretKeyReference{Name: "jira-token", Key: "token"}}}
	})
	k.server(t, "tools", "kept", []string{"a"}, func(s *mcpv1alpha1.MCPServer) { s.Spec.DeletionPolicy = mcpv1alpha1.DeletionPolicyOrphan })
	k.create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github-token", Namespace: "tools"}, StringData: map[string]string{"token": "x"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github-issued", Namespace: "tools", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "mcp.toolregistry.io/v1alpha1", Kind: "MCPServer", Name: "github", UID: github.UID, Controller: ptr.To(true)}}}},
		utils.ConsumerDeployment("agents", "triage", "tools/github:create_issue,tools/github:search_issues"),
		utils.ConsumerDeployment("agents", "planner", "tools/github"),
		utils.ConsumerDeployment("other", "intruder", "tools/github:merge_pull_request"), // namespace not allowed: never counts
		utils.ConsumerDeployment("tools", "jira-bot", "jira:create_ticket"),
		utils.ConsumerDeployment("tools", "jira-typo", "jira:create_tikcet"), // a tool jira lacks: never blocks
		utils.ConsumerDeployment("tools", "kept-bot", "kept"),
	)

	t.Run("impact: blocked, per tool, exit 3", func(t *testing.T) {
		out, err := k.run("impact", "github", "-n", "tools")
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("err = %v, want ErrBlocked\n%s", err, out)
		}
		for _, want := range []string{
			"MCPServer tools/github (deletionPolicy Delete)",
			"Delete would: WAIT (DeletionBlocked)",
			"MCPTools removed: 3",
			"create_issue        github-create-issue-",
			"Consumers of the whole server: Deployment agents/planner",
			"Secrets deleted (owned by the server): github-issued",
			"Secrets kept (yours, only referenced): github-token",
			"Credentials revoked: none",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "intruder") {
			t.Errorf("a consumer from a namespace the server does not allow is counted:\n%s", out)
		}
	})
	t.Run("impact -o json: the report", func(t *testing.T) {
		out, err := k.run("impact", "github", "-n", "tools", "-o", "json")
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("err = %v", err)
		}
		var r Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var perTool []string
		for _, tool := range r.Tools {
			perTool = append(perTool, tool.Tool+"="+strings.Join(tool.Consumers, ";"))
		}
		want := []string{"create_issue=Deployment agents/triage", "merge_pull_request=", "search_issues=Deployment agents/triage"}
		if diff := cmp.Diff(want, perTool); diff != "" || !r.Blocked || r.Forced {
			t.Fatalf("report (-want +got):\n%s\n%+v", diff, r)
		}
	})
	t.Run("impact: free, exit 0", func(t *testing.T) {
		ctx := context.Background()
		bot := &appsv1.Deployment{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "tools", Name: "jira-bot"}, bot); err != nil {
			t.Fatal(err)
		}
		if err := k.c.Delete(ctx, bot); err != nil {
			t.Fatal(err)
		}
		out, err := k.run("impact", "jira", "-n", "tools")
		if err != nil || !strings.Contains(out, "Delete would: proceed at once") || !strings.Contains(out, "create_ticket") ||
			!strings.Contains(out, "Secrets kept (yours, only referenced): jira-token (missing)") {
			t.Fatalf("err %v\n%s", err, out)
		}
		if strings.Contains(out, "jira-typo") {
			t.Errorf("a reference to a tool the server lacks is counted:\n%s", out)
		}
	})
	t.Run("impact: forced proceeds, naming who breaks", func(t *testing.T) {
		ctx := context.Background()
		s := &mcpv1alpha1.MCPServer{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "tools", Name: "github"}, s); err != nil {
			t.Fatal(err)
		}
		s.Annotations = map[string]string{mcpv1alpha1.ForceDeleteAnnotation: "true"}
		if err := k.c.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		defer func() {
			s.Annotations = nil
			_ = k.c.Update(ctx, s)
		}()
		out, err := k.run("impact", "github", "-n", "tools")
		if err != nil || !strings.Contains(out, "proceed, forced by") || !strings.Contains(out, "Deployment agents/triage") {
			t.Fatalf("err %v\n%s", err, out)
		}
	})
	t.Run("impact: orphan policy blocks nothing and deletes nothing", func(t *testing.T) {
		out, err := k.run("impact", "kept", "-n", "tools")
		if err != nil || !strings.Contains(out, "keep its 1 MCPTools") || !strings.Contains(out, "Secrets deleted (owned by the server): none") {
			t.Fatalf("err %v\n%s", err, out)
		}
	})
	t.Run("impact: OAuth2 credentials the delete would revoke, without secrets", func(t *testing.T) {
		vault := k.server(t, "other", "vault", []string{"read"}, func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Auth = &mcpv1alpha1.MCPServerAuth{Type: mcpv1alpha1.AuthOAuth2, OAuth2: &mcpv1alpha1.OAuth2Auth{
				PrivateKeyRef: &mcpv1alpha1.SecretReference{Name: "vault-key"}}}
		})
		pending := `revoke 2 tokens (valid until 2026-12-02T15:00:00Z at the latest) issued to client "registry" by https://auth.example.com at https://auth.example.com/revoke; ` +
			`de-register dynamic client "dyn-1" at https://auth.example.com/reg/dyn-1`
		k.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vault-oauth2", Namespace: "other",
			Annotations:     map[string]string{mcpv1alpha1.RevocationPendingAnnotation: pending},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "mcp.toolregistry.io/v1alpha1", Kind: "MCPServer", Name: "vault", UID: vault.UID, Controller: ptr.To(true)}}},
			StringData: map[string]string{"tokens": "secret-token-value"}})
		out, err := k.run("impact", "vault", "-n", "other")
		if err != nil {
			t.Fatalf("err %v\n%s", err, out)
		}
		for _, want := range []string{
			"Secrets deleted (owned by the server): vault-oauth2",
			"Secrets kept (yours, only referenced): vault-key (missing)",
			`Credentials revoked: revoke 2 tokens (valid until 2026-12-02T15:00:00Z at the latest) issued to client "registry" by https://auth.example.com at https://auth.example.com/revoke, de-register dynamic client "dyn-1"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "secret-token-value") {
			t.Errorf("the output shows a token:\n%s", out)
		}
	})
	t.Run("impact: unknown server", func(t *testing.T) {
		_, err := k.run("impact", "nope", "-n", "tools")
		if err == nil || errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "MCPServer tools/nope not found") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("export: server and tools, re-creatable", func(t *testing.T) {
		out, err := k.run("export", "github", "-n", "tools")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			APIVersion string           `json:"apiVersion"`
			Kind       string           `json:"kind"`
			Items      []map[string]any `json:"items"`
		}
		if err := yaml.UnmarshalStrict([]byte(out), &list); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var kinds []string
		for _, item := range list.Items {
			kinds = append(kinds, item["kind"].(string)+"/"+item["metadata"].(map[string]any)["name"].(string))
			md := item["metadata"].(map[string]any)
			for _, field := range []string{"uid", "resourceVersion", "managedFields", "ownerReferences", "finalizers", "creationTimestamp"} {
				if _, ok := md[field]; ok {
					t.Errorf("%s exported with metadata.%s", kinds[len(kinds)-1], field)
				}
			}
			if _, ok := item["status"]; ok {
				t.Errorf("%s exported with status", kinds[len(kinds)-1])
			}
		}
		if list.APIVersion != "v1" || list.Kind != "List" || len(kinds) != 4 || kinds[0] != "MCPServer/github" || !strings.HasPrefix(kinds[1], "MCPTool/github-create-issue-") {
			t.Fatalf("exported %v", kinds)
		}
		if !strings.Contains(out, "description: does search_issues") {
			t.Fatalf("tool spec missing:\n%s", out)
		}
	})
	t.Run("tools: table, all namespaces, json", func(t *testing.T) {
		out, err := k.run("tools", "-n", "tools")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 6 || !strings.HasPrefix(lines[0], "SERVER") || !strings.Contains(lines[1], "github") || !strings.Contains(lines[1], "create_issue") {
			t.Fatalf("table:\n%s", out)
		}
		out, err = k.run("tools", "-A")
		if err != nil || !strings.HasPrefix(out, "NAMESPACE") {
			t.Fatalf("err %v\n%s", err, out)
		}
		out, err = k.run("tools", "-n", "agents")
		if err != nil || !strings.Contains(out, "No MCPTools found in agents namespace.") {
			t.Fatalf("err %v\n%s", err, out)
		}
		out, err = k.run("tools", "-n", "tools", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var list mcpv1alpha1.MCPToolList
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 5 {
			t.Fatalf("json: %v, %d items", err, len(list.Items))
		}
		if _, err := k.run("tools", "-o", "xml"); err == nil || !strings.Contains(err.Error(), `unknown output format "xml"`) {
			t.Fatalf("bad -o: %v", err)
		}
	})
	t.Run("pin: prints the overrides with digests, --apply patches them, tools -o wide shows them", func(t *testing.T) {
		ctx := context.Background()
		tools := &mcpv1alpha1.MCPToolList{}
		if err := k.c.List(ctx, tools, client.InNamespace("tools"), client.MatchingLabels{mcpv1alpha1.ServerLabel: "jira"}); err != nil || len(tools.Items) != 1 {
			t.Fatalf("jira's tools: %v, %d", err, len(tools.Items))
		}
		// The operator records the digest; here the test does.
		digest := "sha256:" + strings.Repeat("ab", 32)
		tool := &tools.Items[0]
		tool.Status.Digest = digest
		if err := k.c.Status().Update(ctx, tool); err != nil {
			t.Fatal(err)
		}
		out, err := k.run("pin", "jira", "-n", "tools")
		want := "spec:\n  tools:\n    overrides:\n    - digest: " + digest + "\n      name: create_ticket\n"
		if err != nil || out != want {
			t.Fatalf("pin: %v\n%s\nwant:\n%s", err, out, want)
		}
		if _, err := k.run("pin", "jira", "nope", "-n", "tools"); err == nil || !strings.Contains(err.Error(), `no MCPTool for tool "nope"`) {
			t.Fatalf("pin of an unknown tool: %v", err)
		}
		if out, err := k.run("pin", "jira", "create_ticket", "--apply", "-n", "tools"); err != nil || !strings.Contains(out, "mcpserver/jira pinned 1 tools: create_ticket") {
			t.Fatalf("pin --apply: %v\n%s", err, out)
		}
		server := &mcpv1alpha1.MCPServer{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "tools", Name: "jira"}, server); err != nil {
			t.Fatal(err)
		}
		if server.Spec.Tools == nil || len(server.Spec.Tools.Overrides) != 1 || server.Spec.Tools.Overrides[0].Digest != digest {
			t.Fatalf("after --apply: %+v", server.Spec.Tools)
		}
		if out, err := k.run("tools", "-n", "tools", "-o", "wide"); err != nil || !strings.Contains(out, "DIGEST") || !strings.Contains(out, digest) {
			t.Fatalf("tools -o wide: %v\n%s", err, out)
		}
	})
	t.Run("tools --prompts: table, all namespaces, json; export lists them as comments", func(t *testing.T) {
		ctx := context.Background()
		out, err := k.run("tools", "--prompts", "-n", "tools")
		if err != nil || out != "No prompts found in tools namespace.\n" {
			t.Fatalf("before any prompts: %v\n%s", err, out)
		}
		// The operator reports prompts in status; here the test does, one with a hostile title.
		server := &mcpv1alpha1.MCPServer{}
		if err := k.c.Get(ctx, client.ObjectKey{Namespace: "tools", Name: "github"}, server); err != nil {
			t.Fatal(err)
		}
		server.Status.PromptCount = 3
		server.Status.Prompts = []mcpv1alpha1.Prompt{
			{Name: "review", Title: "Review\n  - kind: Secret", Alias: "code_review", Enabled: true, Arguments: []string{"language", "style"}},
			{Name: "summarize", Enabled: false, Arguments: []string{"text"}},
		}
		if err := k.c.Status().Update(ctx, server); err != nil {
			t.Fatal(err)
		}

		out, err = k.run("tools", "--prompts", "-n", "tools")
		want := "SERVER   PROMPT      ALIAS         ENABLED   ARGUMENTS\n" +
			"github   review      code_review   true      language,style\n" +
			"github   summarize   <none>        false     text\n" +
			"MCPServer tools/github offers 1 more prompts than its status.prompts lists (at most 256)\n"
		if err != nil || out != want {
			t.Fatalf("table: %v\n%s\nwant:\n%s", err, out, want)
		}
		out, err = k.run("tools", "--prompts", "-A", "-o", "wide")
		if err != nil || !strings.HasPrefix(out, "NAMESPACE   SERVER") || !strings.Contains(out, "TITLE") ||
			!strings.Contains(out, "Review   - kind: Secret") {
			t.Fatalf("-A -o wide: %v\n%s", err, out)
		}
		out, err = k.run("tools", "--prompts", "-n", "tools", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var rows []PromptRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		wantRows := []PromptRow{
			{Namespace: "tools", Server: "github", Name: "review", Title: "Review\n  - kind: Secret", Alias: "code_review", Enabled: true, Arguments: []string{"language", "style"}},
			{Namespace: "tools", Server: "github", Name: "summarize", Arguments: []string{"text"}},
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Fatalf("json (-want +got):\n%s", diff)
		}
		if out, err := k.run("tools", "--prompts", "-n", "tools", "-o", "yaml"); err != nil || !strings.Contains(out, "- alias: code_review") {
			t.Fatalf("yaml: %v\n%s", err, out)
		}
		if _, err := k.run("tools", "--prompts", "-o", "xml"); err == nil || !strings.Contains(err.Error(), `unknown output format "xml"`) {
			t.Fatalf("bad -o: %v", err)
		}

		out, err = k.run("export", "github", "-n", "tools")
		if err != nil {
			t.Fatal(err)
		}
		wantComment := "# MCPServer tools/github offered 3 prompts at its last sync (status.prompts; informational, not applied:\n" +
			"# a re-created server lists them again, with the filters and overrides of spec.prompts):\n" +
			"#   review (alias code_review; arguments: language, style): Review   - kind: Secret\n" +
			"#   summarize (disabled; arguments: text)\n" +
			"#   ... and 1 more, not listed in status\n" +
			"apiVersion: v1\n"
		if !strings.HasPrefix(out, wantComment) {
			t.Fatalf("export:\n%s\nwant it to start with:\n%s", out, wantComment)
		}
		var list struct {
			APIVersion string           `json:"apiVersion"`
			Kind       string           `json:"kind"`
			Items      []map[string]any `json:"items"`
		}
		if err := yaml.UnmarshalStrict([]byte(out), &list); err != nil || list.Kind != "List" || len(list.Items) != 4 {
			t.Fatalf("export with prompts is no longer the same List: %v, %d items", err, len(list.Items))
		}
		if strings.Contains(out, "\n  - kind: Secret") {
			t.Fatalf("a prompt's title escaped the comment:\n%s", out)
		}
	})
	t.Run("--context of another kubeconfig context fails clearly", func(t *testing.T) {
		_, err := k.run("tools", "--context", "does-not-exist")
		if err == nil || !strings.Contains(err.Error(), "does-not-exist") {
			t.Fatalf("err = %v", err)
		}
	})
}
