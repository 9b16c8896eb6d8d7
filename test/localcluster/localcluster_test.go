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

package localcluster_test

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// TestLocalCluster proves what `make run` gives a user and envtest alone does not: a control plane
// whose garbage collector and namespace controller work, reachable through the kubeconfig it
// writes, and that leaves no process behind when stopped.
func TestLocalCluster(t *testing.T) {
	assets, err := utils.BinaryAssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	crds, err := utils.CRDDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cluster, err := localcluster.Start(ctx, localcluster.Options{AssetsDir: assets, CRDDir: crds, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = cluster.Stop()
		}
	}()

	if cluster.Version != "v1.37.1" {
		t.Errorf("API server version = %q, want v1.37.1 (the version ldflags of hack/controlplane)", cluster.Version)
	}
	if len(cluster.CRDs) != 2 {
		t.Errorf("installed CRDs = %v, want mcpservers and mcptools", cluster.CRDs)
	}

	// The kubeconfig on disk, as a user in a second terminal would use it.
	restConfig, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatalf("cannot load %s: %v", cluster.Kubeconfig, err)
	}
	c, err := client.New(restConfig, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gc-check"}}
	mustCreate(ctx, t, c, ns)
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: ns.Name}}
	mustCreate(ctx, t, c, owner)
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "dependent", Namespace: ns.Name,
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(true),
		}},
	}}
	mustCreate(ctx, t, c, dependent)

	// Foreground deletion only completes once the garbage collector has removed the dependent.
	if err := c.Delete(ctx, owner, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	waitGone(ctx, t, c, dependent, "the garbage collector did not delete the dependent")
	waitGone(ctx, t, c, owner, "foreground deletion of the owner did not complete")

	if err := c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	waitGone(ctx, t, c, ns, "the namespace controller did not finalize the namespace")

	if err := cluster.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	if err := cluster.Stop(); err != nil {
		t.Errorf("a second Stop must be a no-op, got %v", err)
	}
	if children := localcluster.ChildPids(os.Getpid()); len(children) > 0 {
		t.Errorf("processes left running after Stop: %v", children)
	}
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("cannot create %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitGone polls, at most 60s, until obj no longer exists.
func waitGone(ctx context.Context, t *testing.T, c client.Client, obj client.Object, msg string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s within 60s", msg)
}
