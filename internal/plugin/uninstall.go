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
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

func newUninstallCommand(session func() (*session, error)) *cobra.Command {
	var all, purge, force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Show how to remove the operator without touching the registry; --purge tears the registry down (exit 3 when refused)",
		Long: "Without --purge: print what the registry holds (MCPServers, MCPTools, servers in use, OAuth credentials a delete would revoke) " +
			"and the supported ways to remove the operator, which leave every MCPServer and MCPTool in place for a later reinstall to adopt.\n\n" +
			"With --purge: delete every MCPServer and MCPTool in the namespace (-A: in every namespace) and remove the operator's finalizers " +
			"from them, so that they go even without the operator and the CRDs can then be deleted. Refused (exit 3) while any server is " +
			"used by a workload, or holds OAuth credentials the operator would revoke, unless --force. Your Secrets are kept; the Secrets " +
			"the servers own are removed by the garbage collector.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := session()
			if err != nil {
				return err
			}
			if !purge && force {
				return errors.New("--force only applies to --purge")
			}
			return s.uninstall(cmd.Context(), all, purge, force, timeout)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "every namespace")
	cmd.Flags().BoolVar(&purge, "purge", false, "delete every MCPServer and MCPTool and remove the operator's finalizers from them")
	cmd.Flags().BoolVar(&force, "force", false, "with --purge: go on although servers are in use or hold credentials that will not be revoked")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "with --purge: how long to wait for the deleted objects to be gone")
	return cmd
}

// registryState is what uninstall reads: the servers and tools in scope, who uses which server,
// and the OAuth credentials deletes would revoke.
type registryState struct {
	servers []mcpv1alpha1.MCPServer
	tools   []mcpv1alpha1.MCPTool
	// credentials are the servers' credentials Secrets, held by the operator's finalizer.
	credentials []metav1.PartialObjectMetadata
	inUse       []string // "namespace/server: consumers"
	pending     []string // "namespace/server: what would be revoked"
}

func (s *session) readRegistry(ctx context.Context, all bool) (*registryState, error) {
	var scope []client.ListOption
	where := "namespace " + s.namespace
	if !all {
		scope = append(scope, client.InNamespace(s.namespace))
	} else {
		where = "every namespace"
	}
	servers := &mcpv1alpha1.MCPServerList{}
	if err := s.c.List(ctx, servers, scope...); err != nil {
		return nil, fmt.Errorf("cannot list MCPServers in %s: %w", where, err)
	}
	tools := &mcpv1alpha1.MCPToolList{}
	if err := s.c.List(ctx, tools, scope...); err != nil {
		return nil, fmt.Errorf("cannot list MCPTools in %s: %w", where, err)
	}
	// The servers' own Secrets (labelled by the operator), in one call for every server.
	secrets := &metav1.PartialObjectMetadataList{}
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := s.c.List(ctx, secrets, append(scope, client.HasLabels{mcpv1alpha1.ServerLabel})...); err != nil {
		return nil, fmt.Errorf("cannot list Secrets in %s: %w", where, err)
	}
	st := &registryState{servers: servers.Items, tools: tools.Items}
	for i := range servers.Items {
		server := &servers.Items[i]
		var owned []*mcpv1alpha1.MCPTool
		for j := range tools.Items {
			if tools.Items[j].Namespace == server.Namespace && registry.OwnedBy(&tools.Items[j], server) {
				owned = append(owned, &tools.Items[j])
			}
		}
		users, _, err := s.liveUsers(ctx, server, owned)
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			st.inUse = append(st.inUse, fmt.Sprintf("%s/%s: %s", server.Namespace, server.Name, describe(users)))
		}
		for _, sec := range secrets.Items {
			if ref := metav1.GetControllerOf(&sec); ref != nil && ref.UID == server.UID {
				if p := sec.Annotations[mcpv1alpha1.RevocationPendingAnnotation]; p != "" {
					st.pending = append(st.pending, fmt.Sprintf("%s/%s: %s", server.Namespace, server.Name, p))
				}
				if slices.Contains(sec.Finalizers, mcpv1alpha1.CredentialsFinalizer) {
					sec.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
					st.credentials = append(st.credentials, sec)
				}
			}
		}
	}
	return st, nil
}

func describe(users []mcpv1alpha1.ConsumerReference) string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Kind + " " + u.Namespace + "/" + u.Name
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (s *session) uninstall(ctx context.Context, all, purge, force bool, timeout time.Duration) error {
	st, err := s.readRegistry(ctx, all)
	if err != nil {
		return err
	}
	w := s.out
	scope := "namespace " + s.namespace
	flag := ""
	if all {
		scope, flag = "every namespace", " -A"
	}
	fmt.Fprintf(w, "Registry in %s: %d MCPServers, %d MCPTools\n", scope, len(st.servers), len(st.tools))
	fmt.Fprintf(w, "Servers in use: %s\n", orNone(st.inUse))
	fmt.Fprintf(w, "OAuth credentials a delete would revoke: %s\n", orNone(st.pending))
	if !purge {
		fmt.Fprint(w, `
To remove the operator and keep the registry (a reinstall adopts every object as it is):
  Helm:    helm uninstall <release>          (the CRDs are in the chart's crds/ and kept)
  bundle:  kubectl delete deployment -n mcp-registry-operator-system mcp-registry-operator-controller-manager
           then, optionally, the rest of the bundle but its CRDs:
           kubectl delete namespace mcp-registry-operator-system
           kubectl delete clusterrole,clusterrolebinding -l app.kubernetes.io/name=mcp-registry-operator
  Never delete the CRDs (kubectl delete -f dist/install.yaml does): that deletes every MCPServer and MCPTool,
  and without the operator they hang Terminating on its finalizers.

To tear the registry down: delete the MCPServers while the operator runs (it revokes credentials and waits
for consumers), or, without it:
  kubectl mcp uninstall`+flag+` --purge
then delete the CRDs.
`)
		return nil
	}

	if (len(st.inUse) > 0 || len(st.pending) > 0) && !force {
		fmt.Fprintln(w, "\nRefused: purging would break the consumers above, or leave OAuth credentials unrevoked. Delete those MCPServers while the operator runs, or add --force.")
		return ErrBlocked
	}

	// Deleted first, so that a running operator does not put its finalizer back; then the
	// operator's finalizers are removed, so that they go without it.
	var deleted []client.Object
	for i := range st.servers {
		deleted = append(deleted, &st.servers[i])
	}
	for i := range st.tools {
		deleted = append(deleted, &st.tools[i])
	}
	for _, obj := range deleted {
		if err := s.c.Delete(ctx, obj, client.Preconditions{UID: ptrUID(obj)}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("cannot delete %s %s/%s: %w", kindOf(obj), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	held := deleted
	for i := range st.credentials {
		held = append(held, &st.credentials[i]) // deleted by the garbage collector once free
	}
	for _, obj := range held {
		if err := s.dropFinalizers(ctx, obj); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(timeout)
	for _, obj := range deleted {
		for {
			err := s.c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s/%s is still there after %s, held by finalizers %v", kindOf(obj), obj.GetNamespace(), obj.GetName(), timeout, obj.GetFinalizers())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fmt.Fprintf(w, "\nPurged %d MCPServers and %d MCPTools. The Secrets they owned are removed by the garbage collector; yours are kept.\n",
		len(st.servers), len(st.tools))
	if len(st.pending) > 0 {
		fmt.Fprintf(w, "Not revoked (--force): %s\n", strings.Join(st.pending, "; "))
	}
	fmt.Fprintln(w, "The CRDs can now be deleted: kubectl delete crd mcpservers.mcp.toolregistry.io mcptools.mcp.toolregistry.io")
	return nil
}

// dropFinalizers removes the operator's finalizers from obj (others' are kept), re-reading on a
// conflict.
func (s *session) dropFinalizers(ctx context.Context, obj client.Object) error {
	ours := []string{mcpv1alpha1.ServerFinalizer, mcpv1alpha1.ToolFinalizer, mcpv1alpha1.CredentialsFinalizer}
	for attempt := 0; attempt < 5; attempt++ {
		if err := s.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return client.IgnoreNotFound(err)
		}
		kept := slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), func(f string) bool { return slices.Contains(ours, f) })
		if len(kept) == len(obj.GetFinalizers()) {
			return nil
		}
		before := obj.DeepCopyObject().(client.Object)
		obj.SetFinalizers(kept)
		err := s.c.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("cannot remove the finalizers of %s %s/%s: %w", kindOf(obj), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return fmt.Errorf("cannot remove the finalizers of %s %s/%s: it keeps changing", kindOf(obj), obj.GetNamespace(), obj.GetName())
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *mcpv1alpha1.MCPServer:
		return "MCPServer"
	case *mcpv1alpha1.MCPTool:
		return "MCPTool"
	}
	return "Secret"
}

func ptrUID(obj client.Object) *types.UID {
	uid := obj.GetUID()
	return &uid
}
