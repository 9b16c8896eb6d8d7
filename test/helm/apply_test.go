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
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The rendered manifests apply to a real kube-apiserver (server-side apply, dry run), with default
// and with non-default values: the CRDs of crds/ installed for real first, as Helm does, and the
// release namespace created.
func TestServerSideDryRun(t *testing.T) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(chartDir(t), "crds")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir(t),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}

	for name, values := range map[string]map[string]any{"defaults": nil, "custom": custom()} {
		t.Run(name, func(t *testing.T) {
			objects := render(t, values)
			for _, u := range objects {
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
					client.FieldOwner("helm"), client.ForceOwnership, client.DryRunAll)
				if err != nil {
					t.Errorf("%s: %v", id(u), err)
				}
			}
			// A dry run persists nothing.
			for _, u := range objects {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(u.GroupVersionKind())
				if err := c.Get(ctx, client.ObjectKeyFromObject(u), got); !apierrors.IsNotFound(err) {
					t.Errorf("%s after a dry run: %v, want NotFound", id(u), err)
				}
			}
		})
	}
}
