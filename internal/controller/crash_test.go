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

package controller

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

var errCrashed = errors.New("simulated crash")

// crashingClient lets `budget` writes through, then "kills" its manager: it cancels the manager's
// context and fails every later write, as if the process had died at that instant.
type crashingClient struct {
	client.Client
	budget *atomic.Int64
	crash  context.CancelFunc
}

func (c *crashingClient) spend() error {
	if c.budget.Add(-1) < 0 {
		c.crash()
		return errCrashed
	}
	return nil
}

func (c *crashingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c *crashingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Update(ctx, obj, opts...)
}

func (c *crashingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *crashingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Delete(ctx, obj, opts...)
}

func (c *crashingClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

func (c *crashingClient) Status() client.SubResourceWriter {
	return &crashingStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type crashingStatus struct {
	client.SubResourceWriter
	c *crashingClient
}

func (s *crashingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := s.c.spend(); err != nil {
		return err
	}
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

func (s *crashingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if err := s.c.spend(); err != nil {
		return err
	}
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

// startTestEnv starts an envtest control plane with the CRDs, for tests that run managers of their
// own (outside the Ginkgo suite's), and stops it when the test ends.
func startTestEnv(t testing.TB) (*rest.Config, *runtime.Scheme, client.Client) {
	t.Helper()
	e := utils.StartEnvtest(t)
	return e.Config, e.Scheme, e.Client
}

// runManager runs the controllers, crashing after budget writes (budget < 0: never). stop stops it
// and waits; stopped is closed when the manager has exited, by a crash or by stop.
func runManager(t testing.TB, cfg *rest.Config, scheme *runtime.Scheme, budget int64) (stop func(), stopped <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := OperatorClient(mgr)
	if budget >= 0 {
		b := &atomic.Int64{}
		b.Store(budget)
		c = &crashingClient{Client: OperatorClient(mgr), budget: b, crash: cancel}
	}
	kinds := []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}}
	if err := SetupIndexes(ctx, mgr, kinds); err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := (&MCPServerReconciler{
		Client: c, APIReader: mgr.GetAPIReader(), Discoverer: &mcp.Client{Egress: utils.LoopbackEgress()},
		Recorder: mgr.GetEventRecorder("crash-test"), Clock: clock.RealClock{},
		ConsumerKinds: kinds, Metrics: m,
	}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&MCPToolReconciler{Client: c, APIReader: mgr.GetAPIReader(), ConsumerKinds: kinds, MaxConcurrentReconciles: 16}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Start(ctx)
	}()
	return func() {
		cancel()
		<-done
	}, done
}

// TestDeleteCompletesAfterCrashAtAnyWrite deletes a server with tools and an owned Secret, kills
// the manager after k API writes for many k, restarts it, and checks the delete completes with
// nothing orphaned and nothing the operator does not own touched.
func TestDeleteCompletesAfterCrashAtAnyWrite(t *testing.T) {
	cfg, scheme, c := startTestEnv(t)
	ctx := context.Background()

	const tools = 12
	for _, crashAfter := range []int64{0, 1, 2, 3, 4, 6, 9, 13, 15, 20} {
		ns := fmt.Sprintf("crash-%d", crashAfter)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		// The state a synced server is in, created directly: the delete path needs no MCP server.
		server := &mcpv1alpha1.MCPServer{
			ObjectMeta: metav1.ObjectMeta{Name: "srv", Namespace: ns, Finalizers: []string{mcpv1alpha1.ServerFinalizer}},
			Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp"},
		}
		mustCreateT(t, c, server)
		desired, _ := registry.DesiredTools(server, generatedMCPTools(tools))
		for _, tool := range desired {
			mustCreateT(t, c, tool)
		}
		owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owned", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: mcpv1alpha1.GroupVersion.String(), Kind: "MCPServer", Name: "srv", UID: server.UID, Controller: ptr.To(true),
		}}}}
		mustCreateT(t, c, owned)
		foreignTool := &mcpv1alpha1.MCPTool{
			ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: ns, Labels: map[string]string{mcpv1alpha1.ServerLabel: "srv"}},
			Spec:       mcpv1alpha1.MCPToolSpec{ServerRef: mcpv1alpha1.ServerReference{Name: "other"}, ToolName: "x"},
		}
		mustCreateT(t, c, foreignTool)
		userSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: ns}}
		mustCreateT(t, c, userSecret)

		if err := c.Delete(ctx, server); err != nil {
			t.Fatal(err)
		}
		// The crashing manager stops itself once its budget is spent, unless it finishes first.
		stop, stopped := runManager(t, cfg, scheme, crashAfter)
		deadline := time.After(20 * time.Second)
	wait:
		for !serverGone(ctx, c, server) {
			select {
			case <-stopped:
				break wait
			case <-deadline:
				t.Fatalf("crash after %d writes: the manager neither crashed nor finished", crashAfter)
			case <-time.After(50 * time.Millisecond):
			}
		}
		stop()

		stop, _ = runManager(t, cfg, scheme, -1)
		until := time.Now().Add(30 * time.Second)
		for time.Now().Before(until) && !serverGone(ctx, c, server) {
			time.Sleep(50 * time.Millisecond)
		}
		stop()

		if !serverGone(ctx, c, server) {
			t.Fatalf("crash after %d writes: the server was not deleted after a restart", crashAfter)
		}
		list := &mcpv1alpha1.MCPToolList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "foreign" || list.Items[0].DeletionTimestamp != nil {
			t.Errorf("crash after %d writes: MCPTools left = %d, want only the foreign one, untouched", crashAfter, len(list.Items))
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(owned), &corev1.Secret{}); !apierrors.IsNotFound(err) {
			t.Errorf("crash after %d writes: the owned Secret is still there (%v)", crashAfter, err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(userSecret), &corev1.Secret{}); err != nil {
			t.Errorf("crash after %d writes: the user's Secret is gone: %v", crashAfter, err)
		}
	}
}

func mustCreateT(t testing.TB, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("cannot create %s: %v", obj.GetName(), err)
	}
}

func serverGone(ctx context.Context, c client.Client, server *mcpv1alpha1.MCPServer) bool {
	return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(server), &mcpv1alpha1.MCPServer{}))
}

func generatedMCPTools(n int) []mcp.Tool {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("tool-%02d", i)
	}
	return generatedNamedTools(names)
}

func generatedNamedTools(names []string) []mcp.Tool {
	tools := make([]mcp.Tool, len(names))
	for i, n := range names {
		tools[i] = mcp.Tool{Name: n}
	}
	return tools
}
