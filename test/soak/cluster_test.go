//go:build soak

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

package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
)

// resources are the kinds the soak writes and the observer watches.
var resources = map[string]schema.GroupVersionResource{
	KindServer:    {Group: "mcp.toolregistry.io", Version: "v1alpha1", Resource: "mcpservers"},
	KindTool:      {Group: "mcp.toolregistry.io", Version: "v1alpha1", Resource: "mcptools"},
	KindConsumer:  {Group: "apps", Version: "v1", Resource: "deployments"},
	KindSecret:    {Version: "v1", Resource: "secrets"},
	KindNamespace: {Version: "v1", Resource: "namespaces"},
}

// rbacResources are the install bundle's kinds applied before the manager starts, so that it runs
// with exactly the permissions the bundle grants.
var rbacResources = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
}

const operatorNamespace = "mcp-registry-operator-system"

// applyBundleRBAC server-side applies the RBAC of dist/install.yaml and returns a kubeconfig that
// impersonates the bundle's ServiceAccount.
func applyBundleRBAC(ctx context.Context, c *localcluster.Cluster, client dynamic.Interface, bundle, dir string) (string, error) {
	f, err := os.Open(bundle)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	serviceAccount := ""
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("%s: %w", bundle, err)
		}
		gvr, ok := rbacResources[obj.GetKind()]
		if !ok {
			continue
		}
		if obj.GetKind() == "ServiceAccount" {
			serviceAccount = "system:serviceaccount:" + obj.GetNamespace() + ":" + obj.GetName()
		}
		data, err := obj.MarshalJSON()
		if err != nil {
			return "", err
		}
		var ri dynamic.ResourceInterface = client.Resource(gvr)
		if obj.GetNamespace() != "" {
			ri = client.Resource(gvr).Namespace(obj.GetNamespace())
		}
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "soak", Force: ptrTo(true)}); err != nil {
			return "", fmt.Errorf("cannot apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	if serviceAccount == "" {
		return "", fmt.Errorf("%s has no ServiceAccount", bundle)
	}
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return "", err
	}
	for _, user := range cfg.AuthInfos {
		user.Impersonate = serviceAccount
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

func ptrTo[T any](v T) *T { return &v }

// newManager is bin/manager as the install bundle's ServiceAccount, with leader election on a
// short lease (a restart after SIGKILL takes over in seconds).
func newManager(root, dir, kubeconfig string) (*localcluster.Manager, error) {
	bin := filepath.Join(root, "bin", "manager")
	if v := os.Getenv("SOAK_MANAGER"); v != "" {
		bin = v // another build, e.g. a deliberately broken one
	}
	m := &localcluster.Manager{
		Bin: bin, Log: filepath.Join(dir, "manager.log"),
		Env: []string{"KUBECONFIG=" + kubeconfig},
	}
	return m, freshPorts(m)
}

// freshPorts gives the manager new loopback ports for its probes and metrics: a port freed by a
// SIGKILL may be taken by another process on the machine before the restart binds it again.
func freshPorts(m *localcluster.Manager) error {
	probe, err := localcluster.FreePort()
	if err != nil {
		return err
	}
	metrics, err := localcluster.FreePort()
	if err != nil {
		return err
	}
	m.Probe = fmt.Sprintf("127.0.0.1:%d", probe)
	m.Args = []string{
		"--leader-elect", "--leader-elect-namespace=" + operatorNamespace,
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
		"--endpoint-allow-cidrs=127.0.0.1/32",
		"--health-probe-bind-address=" + m.Probe,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metrics),
	}
	return nil
}

// startManager starts the manager on fresh ports, retrying (three times in all) when it cannot
// bind them.
func startManager(m *localcluster.Manager) error {
	var err error
	for range 3 {
		if err = freshPorts(m); err != nil {
			return err
		}
		if err = m.Start(); err == nil || !strings.Contains(tail(m.Log, 5), "address already in use") {
			return err
		}
	}
	return err
}

// liveAPI is the observer's Live: uncached reads through the dynamic client.
type liveAPI struct{ client dynamic.Interface }

func (l liveAPI) resource(kind, namespace string) dynamic.ResourceInterface {
	if namespace == "" || kind == KindNamespace {
		return l.client.Resource(resources[kind])
	}
	return l.client.Resource(resources[kind]).Namespace(namespace)
}

func (l liveAPI) Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	obj, err := l.resource(kind, namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

func (l liveAPI) List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := l.resource(kind, namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		list.Items[i].SetKind(kind)
		out[i] = &list.Items[i]
	}
	return out, nil
}

// watch feeds the observer from one informer per kind, started before the soak writes anything.
func watch(ctx context.Context, client dynamic.Interface, o *Observer) error {
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 0)
	kinds := make([]string, 0, len(resources))
	for kind := range resources {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	var synced []cache.InformerSynced
	for _, kind := range kinds {
		inf := factory.ForResource(resources[kind]).Informer()
		feed := func(obj any, deleted bool) {
			unknown := false
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj, unknown = tomb.Obj, true
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return
			}
			u = u.DeepCopy()
			u.SetKind(kind)
			o.Observe(kind, u, deleted, unknown)
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { feed(obj, false) },
			UpdateFunc: func(_, obj any) { feed(obj, false) },
			DeleteFunc: func(obj any) { feed(obj, true) },
		}); err != nil {
			return err
		}
		synced = append(synced, inf.HasSynced)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return errors.New("the observer's informers did not sync")
	}
	return nil
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
