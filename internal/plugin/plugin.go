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

// Package plugin is `kubectl mcp`: impact (what deleting an MCPServer would remove, and who
// blocks it), export (a server and its tools as YAML, its prompts as comments) and tools (the
// registry as a table; --prompts for the servers' prompts). It uses the user's kubeconfig and
// kubectl's flags.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/controller"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// ExitBlocked is the exit code of `kubectl mcp impact` when consumers would block the delete.
const ExitBlocked = 3

// ErrBlocked is returned by impact when the delete would be blocked; main turns it into
// ExitBlocked after the report is printed.
var ErrBlocked = errors.New("the delete would be blocked")

// NewCommand returns the kubectl-mcp command.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	var consumerResources string
	root := &cobra.Command{
		Use:           "kubectl-mcp",
		Short:         "Inspect the MCP registry: deletion impact, export, tools, pins, uninstall",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&consumerResources, "consumer-resources", consumers.DefaultResources,
		"the resources whose "+mcpv1alpha1.ToolsAnnotation+" annotation references tools; give the manager's --consumer-resources")

	session := func() (*session, error) {
		return newSession(flags, consumerResources, streams)
	}

	var output string
	impact := &cobra.Command{
		Use:   "impact SERVER",
		Short: "Show what deleting an MCPServer would remove and who blocks it (exit 3 when blocked)",
		Long: "Show exactly what `kubectl delete mcpserver SERVER` would remove (its MCPTools, the Secrets it owns, " +
			"credentials to revoke) and which consumers block it, per tool, read live. Exit code 0: the delete would " +
			"proceed; 3: consumers would block it; 1: error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := session()
			if err != nil {
				return err
			}
			return s.impact(cmd.Context(), args[0], output)
		},
	}
	impact.Flags().StringVarP(&output, "output", "o", "", "output format: empty for text, yaml or json")

	export := &cobra.Command{
		Use:   "export SERVER",
		Short: "Print an MCPServer and its discovered MCPTools as YAML, for audit or re-creation (its prompts as comments)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := session()
			if err != nil {
				return err
			}
			return s.export(cmd.Context(), args[0])
		},
	}

	var allNamespaces, listPrompts bool
	var toolsOutput string
	tools := &cobra.Command{
		Use:   "tools",
		Short: "List MCPTools with their server, enabled state and consumers (--prompts: the servers' prompts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := session()
			if err != nil {
				return err
			}
			if listPrompts {
				return s.prompts(cmd.Context(), allNamespaces, toolsOutput)
			}
			return s.tools(cmd.Context(), allNamespaces, toolsOutput)
		},
	}
	tools.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the tools of every namespace")
	tools.Flags().StringVarP(&toolsOutput, "output", "o", "", "output format: empty for a table, wide, yaml or json")
	tools.Flags().BoolVar(&listPrompts, "prompts", false,
		"list the prompts the MCPServers offer (status.prompts, after spec.prompts) instead of MCPTools")

	var apply bool
	pin := &cobra.Command{
		Use:   "pin SERVER [TOOL...]",
		Short: "Print the spec.tools.overrides that pin an MCPServer's tools to their current definitions (--apply: patch them in)",
		Long: "Print, for each named tool (every tool of SERVER by default), the override that pins it to the digest its " +
			"MCPTool shows now (status.digest), merged with the server's existing overrides: paste it into the MCPServer in Git. " +
			"With --apply, patch the MCPServer directly (refused when it changed meanwhile). Review a changed definition " +
			"(kubectl mcp tools -o yaml) before re-pinning it.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := session()
			if err != nil {
				return err
			}
			return s.pin(cmd.Context(), args[0], args[1:], apply)
		},
	}
	pin.Flags().BoolVar(&apply, "apply", false, "patch the MCPServer's spec.tools.overrides instead of printing them")

	root.AddCommand(impact, export, tools, pin, newUninstallCommand(session))
	return root
}

// pin prints (or, with apply, patches in) the server's overrides with each named tool pinned to
// its current discovered digest.
func (s *session) pin(ctx context.Context, name string, toolNames []string, apply bool) error {
	server := &mcpv1alpha1.MCPServer{}
	if err := s.c.Get(ctx, types.NamespacedName{Namespace: s.namespace, Name: name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("MCPServer %s/%s not found", s.namespace, name)
		}
		return err
	}
	list := &mcpv1alpha1.MCPToolList{}
	if err := s.c.List(ctx, list, client.InNamespace(s.namespace), client.MatchingLabels{mcpv1alpha1.ServerLabel: name}); err != nil {
		return err
	}
	digests := map[string]string{}
	for _, t := range list.Items {
		if registry.OwnedBy(&t, server) && t.Status.Digest != "" {
			digests[t.Spec.ToolName] = t.Status.Digest
		}
	}
	if len(toolNames) == 0 {
		for tool := range digests {
			toolNames = append(toolNames, tool)
		}
		if len(toolNames) == 0 {
			return fmt.Errorf("MCPServer %s/%s has no MCPTool with a digest yet: wait for its first sync", s.namespace, name)
		}
	}
	var spec mcpv1alpha1.ToolsSpec
	if server.Spec.Tools != nil {
		spec = *server.Spec.Tools.DeepCopy()
	}
	for _, tool := range toolNames {
		digest, ok := digests[tool]
		if !ok {
			return fmt.Errorf("MCPServer %s/%s has no MCPTool for tool %q with a digest (tools are named by their MCP name)", s.namespace, name, tool)
		}
		i := slices.IndexFunc(spec.Overrides, func(o mcpv1alpha1.ToolOverride) bool { return o.Name == tool })
		if i < 0 {
			spec.Overrides = append(spec.Overrides, mcpv1alpha1.ToolOverride{Name: tool})
			i = len(spec.Overrides) - 1
		}
		spec.Overrides[i].Digest = digest
	}
	slices.SortFunc(spec.Overrides, func(a, b mcpv1alpha1.ToolOverride) int { return strings.Compare(a.Name, b.Name) })
	if !apply {
		return printStructured(s.out, "yaml", map[string]any{"spec": map[string]any{"tools": map[string]any{"overrides": spec.Overrides}}})
	}
	patch := client.MergeFromWithOptions(server.DeepCopy(), client.MergeFromWithOptimisticLock{})
	server.Spec.Tools = &spec
	if err := s.c.Patch(ctx, server, patch); err != nil {
		return fmt.Errorf("cannot patch MCPServer %s/%s: %w", s.namespace, name, err)
	}
	fmt.Fprintf(s.out, "mcpserver/%s pinned %d tools: %s\n", name, len(toolNames), strings.Join(sorted(toolNames), ", "))
	return nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// session is one invocation: a client for the user's kubeconfig, the namespace to use and the
// consumer kinds.
type session struct {
	c         client.Client
	namespace string
	kinds     []schema.GroupVersionKind
	out       io.Writer
}

func newSession(flags *genericclioptions.ConfigFlags, consumerResources string, streams genericiooptions.IOStreams) (*session, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	namespace, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := mcpv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	mapper, err := flags.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, err
	}
	resources, err := consumers.ParseResources(consumerResources)
	if err != nil {
		return nil, fmt.Errorf("invalid --consumer-resources: %w", err)
	}
	gvks, err := consumers.ResolveKinds(mapper, resources)
	if err != nil {
		return nil, fmt.Errorf("invalid --consumer-resources: %w", err)
	}
	return &session{c: c, namespace: namespace, kinds: gvks, out: streams.Out}, nil
}

// Report is what `kubectl mcp impact -o yaml|json` prints.
type Report struct {
	// Server is namespace/name.
	Server string `json:"server"`
	// Policy is the server's deletionPolicy, or Orphan when orphaning was asked for.
	Policy string `json:"deletionPolicy"`
	// Forced is whether the force-delete annotation is set.
	Forced bool `json:"forced"`
	// Blocked is whether the delete would wait for consumers.
	Blocked bool `json:"blocked"`
	// Tools are the MCPTools a delete removes, each with its counting consumers.
	Tools []ToolImpact `json:"tools"`
	// ServerConsumers reference the server as a whole (every tool).
	ServerConsumers []string `json:"serverConsumers"`
	// Secrets are the Secrets the server owns, deleted with it.
	Secrets []string `json:"secrets"`
	// KeptSecrets are Secrets the server references but does not own: never deleted.
	KeptSecrets []string `json:"keptSecrets"`
	// Credentials are credentials the operator would revoke.
	Credentials []string `json:"credentials"`
}

// ToolImpact is one MCPTool in a Report.
type ToolImpact struct {
	Name      string   `json:"name"`
	Tool      string   `json:"tool"`
	Consumers []string `json:"consumers"`
}

func (s *session) impact(ctx context.Context, name, output string) error {
	server := &mcpv1alpha1.MCPServer{}
	if err := s.c.Get(ctx, types.NamespacedName{Namespace: s.namespace, Name: name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("MCPServer %s/%s not found", s.namespace, name)
		}
		return err
	}
	report := Report{
		Server: s.namespace + "/" + name, Policy: string(server.Spec.DeletionPolicy),
		Forced:          server.Annotations[mcpv1alpha1.ForceDeleteAnnotation] == "true",
		Tools:           []ToolImpact{},
		ServerConsumers: []string{}, Secrets: []string{}, KeptSecrets: []string{}, Credentials: []string{},
	}
	if report.Policy == "" {
		report.Policy = string(mcpv1alpha1.DeletionPolicyDelete)
	}

	tools := &mcpv1alpha1.MCPToolList{}
	if err := s.c.List(ctx, tools, client.InNamespace(server.Namespace), client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}); err != nil {
		return err
	}
	owned := make([]*mcpv1alpha1.MCPTool, 0, len(tools.Items))
	for i := range tools.Items {
		if registry.OwnedBy(&tools.Items[i], server) {
			owned = append(owned, &tools.Items[i])
		}
	}
	allowed, byKey, err := s.liveUsers(ctx, server, owned)
	if err != nil {
		return err
	}
	counting := func(key string) []string {
		names := []string{}
		for _, r := range allowed {
			if slices.Contains(byKey[key], r) {
				names = append(names, r.Kind+" "+r.Namespace+"/"+r.Name)
			}
		}
		return names
	}
	report.ServerConsumers = counting(consumers.AllToolsKey(server.Namespace, server.Name))
	blocked := len(allowed) > 0

	for _, t := range owned {
		users := counting(consumers.ToolKey(t.Namespace, server.Name, t.Spec.ToolName))
		report.Tools = append(report.Tools, ToolImpact{Name: t.Name, Tool: t.Spec.ToolName, Consumers: users})
	}
	slices.SortFunc(report.Tools, func(a, b ToolImpact) int { return strings.Compare(a.Tool, b.Tool) })

	secrets := &metav1.PartialObjectMetadataList{}
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := s.c.List(ctx, secrets, client.InNamespace(server.Namespace)); err != nil {
		return fmt.Errorf("cannot list Secrets: %w", err)
	}
	for _, sec := range secrets.Items {
		if ref := metav1.GetControllerOf(&sec); ref != nil && ref.UID == server.UID {
			report.Secrets = append(report.Secrets, sec.Name)
			// The operator notes, without secrets, what the delete would revoke first.
			if pending := sec.Annotations[mcpv1alpha1.RevocationPendingAnnotation]; pending != "" {
				report.Credentials = append(report.Credentials, strings.Split(pending, "; ")...)
			}
		}
	}
	var referenced []string
	if a := server.Spec.Auth; a != nil && a.Bearer != nil {
		referenced = append(referenced, a.Bearer.SecretRef.Name)
	}
	if a := server.Spec.Auth; a != nil && a.OAuth2 != nil {
		for _, ref := range []*mcpv1alpha1.SecretReference{a.OAuth2.ClientSecretRef, a.OAuth2.PrivateKeyRef} {
			if ref != nil {
				referenced = append(referenced, ref.Name)
			}
		}
		if ref := a.OAuth2.InitialAccessTokenRef; ref != nil {
			referenced = append(referenced, ref.Name)
		}
	}
	if tls := server.Spec.TLS; tls != nil && tls.CASecretRef != nil {
		referenced = append(referenced, tls.CASecretRef.Name)
	}
	for _, name := range referenced {
		if slices.Contains(report.Secrets, name) || slices.Contains(report.KeptSecrets, name) {
			continue
		}
		exists := slices.ContainsFunc(secrets.Items, func(s metav1.PartialObjectMetadata) bool { return s.Name == name })
		if !exists {
			name += " (missing)"
		}
		report.KeptSecrets = append(report.KeptSecrets, name)
	}

	orphan := report.Policy == string(mcpv1alpha1.DeletionPolicyOrphan)
	report.Blocked = blocked && !report.Forced && !orphan
	if orphan {
		// Orphan releases everything and blocks nothing.
		report.Secrets, report.Tools, report.Credentials = []string{}, releaseOnly(report.Tools), []string{}
	}

	switch output {
	case "":
		s.printImpact(report, orphan)
	case "yaml", "json":
		if err := printStructured(s.out, output, report); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown output format %q: use yaml or json", output)
	}
	if report.Blocked {
		return ErrBlocked
	}
	return nil
}

// liveUsers reads, live, the consumers that count for server under the operator's rules
// (consumers.UsesServer, then the server's namespace policy), and which index keys (the server,
// each tool) each of them references.
func (s *session) liveUsers(ctx context.Context, server *mcpv1alpha1.MCPServer, owned []*mcpv1alpha1.MCPTool) (
	[]mcpv1alpha1.ConsumerReference, map[string][]mcpv1alpha1.ConsumerReference, error) {
	has := controller.ServerToolNames(server, owned)
	var users []mcpv1alpha1.ConsumerReference
	byKey := map[string][]mcpv1alpha1.ConsumerReference{}
	for _, gvk := range s.kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := s.c.List(ctx, list, client.InNamespace(consumers.CountingNamespace(server))); err != nil {
			return nil, nil, fmt.Errorf("cannot list %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if !consumers.UsesServer(item, server.Namespace, server.Name, func(tool string) bool { return has[tool] }) {
				continue // a consumer being deleted, or one naming only tools the server lacks
			}
			ref := mcpv1alpha1.ConsumerReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
				Namespace: item.Namespace, Name: item.Name}
			users = append(users, ref)
			for _, key := range consumers.IndexKeys(item) {
				byKey[key] = append(byKey[key], ref)
			}
		}
	}
	// The server's namespace policy, applied once to everyone using the server or a tool.
	allowed, err := controller.CountingConsumers(ctx, s.c, server, users)
	if err != nil {
		return nil, nil, err
	}
	return allowed, byKey, nil
}

// releaseOnly keeps the tools of an orphaning delete: they stay, so nobody is broken.
func releaseOnly(tools []ToolImpact) []ToolImpact {
	out := make([]ToolImpact, len(tools))
	for i, t := range tools {
		out[i] = ToolImpact{Name: t.Name, Tool: t.Tool, Consumers: []string{}}
	}
	return out
}

func (s *session) printImpact(r Report, orphan bool) {
	w := s.out
	fmt.Fprintf(w, "MCPServer %s (deletionPolicy %s)\n", r.Server, r.Policy)
	switch {
	case orphan:
		fmt.Fprintf(w, "Delete would: keep its %d MCPTools and owned Secrets, released from their owner\n", len(r.Tools))
	case r.Blocked:
		fmt.Fprintln(w, "Delete would: WAIT (DeletionBlocked) until the consumers below stop referencing it")
	case r.Forced:
		fmt.Fprintln(w, "Delete would: proceed, forced by "+mcpv1alpha1.ForceDeleteAnnotation+", breaking the consumers below")
	default:
		fmt.Fprintln(w, "Delete would: proceed at once")
	}
	fmt.Fprintf(w, "\nMCPTools removed: %d\n", len(r.Tools))
	if orphan {
		fmt.Fprintf(w, "\nMCPTools kept: %d\n", len(r.Tools))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Tools) > 0 {
		fmt.Fprintln(tw, "  TOOL\tMCPTOOL\tCONSUMERS")
		for _, t := range r.Tools {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Tool, t.Name, orNone(t.Consumers))
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nConsumers of the whole server: %s\n", orNone(r.ServerConsumers))
	fmt.Fprintf(w, "Secrets deleted (owned by the server): %s\n", orNone(r.Secrets))
	fmt.Fprintf(w, "Secrets kept (yours, only referenced): %s\n", orNone(r.KeptSecrets))
	fmt.Fprintf(w, "Credentials revoked: %s\n", orNone(r.Credentials))
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

// export prints the server and its tools as a YAML List, without server-set fields, so it can be
// audited or applied elsewhere.
func (s *session) export(ctx context.Context, name string) error {
	server := &mcpv1alpha1.MCPServer{}
	if err := s.c.Get(ctx, types.NamespacedName{Namespace: s.namespace, Name: name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("MCPServer %s/%s not found", s.namespace, name)
		}
		return err
	}
	tools := &mcpv1alpha1.MCPToolList{}
	if err := s.c.List(ctx, tools, client.InNamespace(server.Namespace), client.MatchingLabels{mcpv1alpha1.ServerLabel: server.Name}); err != nil {
		return err
	}
	items := []any{}
	item, err := exported(s.c.Scheme(), server.DeepCopy())
	if err != nil {
		return err
	}
	items = append(items, item)
	slices.SortFunc(tools.Items, func(a, b mcpv1alpha1.MCPTool) int { return strings.Compare(a.Name, b.Name) })
	for i := range tools.Items {
		if !registry.OwnedBy(&tools.Items[i], server) {
			continue
		}
		item, err := exported(s.c.Scheme(), &tools.Items[i])
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	fmt.Fprint(s.out, promptsComment(server))
	return printStructured(s.out, "yaml", map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}

// promptsComment lists, as YAML comments, the prompts the server offered at its last sync: they
// are status, which an export drops (a re-created server discovers them again, and spec.prompts
// carries their filters and overrides), but an audit wants to see them. Everything is sanitized
// onto one line, so nothing in status can escape the comment.
func promptsComment(server *mcpv1alpha1.MCPServer) string {
	prompts := server.Status.Prompts
	if len(prompts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# MCPServer %s/%s offered %d prompts at its last sync (status.prompts; informational, not applied:\n",
		server.Namespace, server.Name, max(int(server.Status.PromptCount), len(prompts)))
	b.WriteString("# a re-created server lists them again, with the filters and overrides of spec.prompts):\n")
	for _, p := range prompts {
		var details []string
		if p.Alias != "" {
			details = append(details, "alias "+p.Alias)
		}
		if !p.Enabled {
			details = append(details, "disabled")
		}
		if len(p.Arguments) > 0 {
			details = append(details, "arguments: "+strings.Join(p.Arguments, ", "))
		}
		line := "#   " + p.Name
		if len(details) > 0 {
			line += " (" + strings.Join(details, "; ") + ")"
		}
		if p.Title != "" {
			line += ": " + p.Title
		}
		b.WriteString(text.Sanitize(line) + "\n")
	}
	if more := int(server.Status.PromptCount) - len(prompts); more > 0 {
		fmt.Fprintf(&b, "#   ... and %d more, not listed in status\n", more)
	}
	return b.String()
}

// exported is obj as an exported manifest: kind set; status and what the API server or the
// operator sets dropped (uid, resourceVersion, generation, timestamps, managed fields,
// finalizers, last-applied annotation, ownerReferences), so it describes rather than snapshots.
func exported(scheme *runtime.Scheme, obj client.Object) (map[string]any, error) {
	obj = withKind(scheme, cleanMeta(obj))
	obj.SetFinalizers(nil)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}

// cleanMeta drops what the API server sets, so the export describes, not snapshots.
func cleanMeta[T client.Object](obj T) T {
	obj.SetUID("")
	obj.SetResourceVersion("")
	obj.SetGeneration(0)
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetManagedFields(nil)
	obj.SetDeletionTimestamp(nil)
	annotations := obj.GetAnnotations()
	delete(annotations, corev1.LastAppliedConfigAnnotation)
	if len(annotations) == 0 {
		annotations = nil
	}
	obj.SetAnnotations(annotations)
	// A re-created server gets a new UID; the operator adopts its labelled, ownerless MCPTools.
	obj.SetOwnerReferences(nil)
	return obj
}

func withKind(scheme *runtime.Scheme, obj client.Object) client.Object {
	if gvk, err := apiutil.GVKForObject(obj, scheme); err == nil {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	return obj
}

// tools prints the MCPTools of the namespace (or of every namespace).
func (s *session) tools(ctx context.Context, all bool, output string) error {
	list := &mcpv1alpha1.MCPToolList{}
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(s.namespace))
	}
	if err := s.c.List(ctx, list, opts...); err != nil {
		return err
	}
	slices.SortFunc(list.Items, func(a, b mcpv1alpha1.MCPTool) int {
		return strings.Compare(a.Namespace+"/"+a.Spec.ServerRef.Name+"/"+a.Spec.ToolName, b.Namespace+"/"+b.Spec.ServerRef.Name+"/"+b.Spec.ToolName)
	})
	switch output {
	case "yaml", "json":
		list.SetGroupVersionKind(mcpv1alpha1.GroupVersion.WithKind("MCPToolList"))
		return printStructured(s.out, output, list)
	case "", "wide":
	default:
		return fmt.Errorf("unknown output format %q: use wide, yaml or json", output)
	}
	if len(list.Items) == 0 {
		if all {
			fmt.Fprintln(s.out, "No MCPTools found.")
		} else {
			fmt.Fprintf(s.out, "No MCPTools found in %s namespace.\n", s.namespace)
		}
		return nil
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 3, ' ', 0)
	header := []string{"SERVER", "TOOL", "ALIAS", "ENABLED", "CONSUMERS"}
	if all {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if output == "wide" {
		header = append(header, "USED BY", "DIGEST", "NAME")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, t := range list.Items {
		enabled := "true"
		if t.Spec.Enabled != nil && !*t.Spec.Enabled {
			enabled = "false"
		}
		alias := t.Spec.Alias
		if alias == "" {
			alias = "<none>"
		}
		row := []string{t.Spec.ServerRef.Name, t.Spec.ToolName, alias, enabled, fmt.Sprint(t.Status.ConsumerCount)}
		if all {
			row = append([]string{t.Namespace}, row...)
		}
		if output == "wide" {
			var users []string
			for _, c := range t.Status.Consumers {
				users = append(users, c.Kind+" "+c.Namespace+"/"+c.Name)
			}
			if int(t.Status.ConsumerCount) > len(users) {
				users = append(users, fmt.Sprintf("and %d more", int(t.Status.ConsumerCount)-len(users)))
			}
			digest := t.Status.Digest
			if digest == "" {
				digest = "<none>"
			}
			row = append(row, orNone(users), digest, t.Name)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// PromptRow is one prompt in `kubectl mcp tools --prompts -o yaml|json`.
type PromptRow struct {
	Namespace   string   `json:"namespace"`
	Server      string   `json:"server"`
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	Enabled     bool     `json:"enabled"`
	Arguments   []string `json:"arguments"`
}

// prompts prints the prompts of the namespace's MCPServers (or of every namespace's), as their
// status.prompts lists them.
func (s *session) prompts(ctx context.Context, all bool, output string) error {
	list := &mcpv1alpha1.MCPServerList{}
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(s.namespace))
	}
	if err := s.c.List(ctx, list, opts...); err != nil {
		return err
	}
	slices.SortFunc(list.Items, func(a, b mcpv1alpha1.MCPServer) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	rows := []PromptRow{}
	var unlisted []string
	for _, server := range list.Items {
		for _, p := range server.Status.Prompts {
			rows = append(rows, PromptRow{Namespace: server.Namespace, Server: server.Name, Name: p.Name, Title: p.Title,
				Description: p.Description, Alias: p.Alias, Enabled: p.Enabled, Arguments: append([]string{}, p.Arguments...)})
		}
		if more := int(server.Status.PromptCount) - len(server.Status.Prompts); more > 0 {
			unlisted = append(unlisted, fmt.Sprintf("MCPServer %s/%s offers %d more prompts than its status.prompts lists (at most %d)",
				server.Namespace, server.Name, more, registry.MaxStatusPrompts))
		}
	}
	switch output {
	case "yaml", "json":
		return printStructured(s.out, output, rows)
	case "", "wide":
	default:
		return fmt.Errorf("unknown output format %q: use wide, yaml or json", output)
	}
	if len(rows) == 0 {
		if all {
			fmt.Fprintln(s.out, "No prompts found.")
		} else {
			fmt.Fprintf(s.out, "No prompts found in %s namespace.\n", s.namespace)
		}
		return nil
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 3, ' ', 0)
	header := []string{"SERVER", "PROMPT", "ALIAS", "ENABLED", "ARGUMENTS"}
	if all {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if output == "wide" {
		header = append(header, "TITLE")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		alias, arguments := r.Alias, strings.Join(r.Arguments, ",")
		if alias == "" {
			alias = "<none>"
		}
		if arguments == "" {
			arguments = "<none>"
		}
		row := []string{r.Server, r.Name, alias, fmt.Sprint(r.Enabled), arguments}
		if all {
			row = append([]string{r.Namespace}, row...)
		}
		if output == "wide" {
			title := r.Title
			if title == "" {
				title = "<none>"
			}
			row = append(row, title)
		}
		// status is anyone's to write who may patch it: one line per row, no escapes.
		for i := range row {
			row[i] = text.Sanitize(row[i])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, note := range unlisted {
		fmt.Fprintln(s.out, note)
	}
	return nil
}

func printStructured(w io.Writer, format string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}
