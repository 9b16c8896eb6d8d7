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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// fuzzEnv is one API server and manager for every input of FuzzServerSpecThroughAdmission.
var fuzzEnv struct {
	once    sync.Once
	err     error
	client  client.Client
	ns      string
	mcpURL  string
	counter int
	mu      sync.Mutex
}

// fuzzAPIServerEnv carries the coordinator's API server (rest.Config's host and TLS material, as
// JSON) to the fuzz workers, which inherit the coordinator's environment.
const fuzzAPIServerEnv = "MCP_FUZZ_APISERVER"

// fuzzAPIServer is what fuzzAPIServerEnv holds.
type fuzzAPIServer struct {
	Host                      string
	CAData, CertData, KeyData []byte
}

// fuzzRole says which process of a fuzz run this is: under -fuzz, a coordinator that only runs
// workers, or a worker that runs inputs; without it, the one process that runs the seeds.
func fuzzRole() (coordinator, worker bool) {
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	w := flag.Lookup("test.fuzzworker")
	worker = w != nil && w.Value.String() == "true"
	return fuzzing && !worker, worker
}

// fuzzConfig is the API server the inputs go to. Workers use the coordinator's: an API server
// started in a worker would outlive it (the fuzzing engine ends workers without their cleanups)
// and, holding the worker's output pipes, keep the coordinator waiting for it forever.
func fuzzConfig(t testing.TB) (*rest.Config, *runtime.Scheme, error) {
	if shared := os.Getenv(fuzzAPIServerEnv); shared != "" {
		var s fuzzAPIServer
		if err := json.Unmarshal([]byte(shared), &s); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fuzzAPIServerEnv, err)
		}
		scheme := runtime.NewScheme()
		if err := errors.Join(clientgoscheme.AddToScheme(scheme), mcpv1alpha1.AddToScheme(scheme)); err != nil {
			return nil, nil, err
		}
		return &rest.Config{Host: s.Host, TLSClientConfig: rest.TLSClientConfig{CAData: s.CAData, CertData: s.CertData, KeyData: s.KeyData}}, scheme, nil
	}
	e := utils.StartEnvtest(t)
	if coordinator, _ := fuzzRole(); coordinator {
		shared, err := json.Marshal(fuzzAPIServer{Host: e.Config.Host, CAData: e.Config.CAData, CertData: e.Config.CertData, KeyData: e.Config.KeyData})
		if err != nil {
			return nil, nil, err
		}
		if err := os.Setenv(fuzzAPIServerEnv, string(shared)); err != nil { // before the workers start
			return nil, nil, err
		}
	}
	return e.Config, e.Scheme, nil
}

func startFuzzEnv(t testing.TB) {
	fuzzEnv.once.Do(func() {
		cfg, scheme, err := fuzzConfig(t)
		if err != nil {
			fuzzEnv.err = err
			return
		}
		if coordinator, _ := fuzzRole(); coordinator {
			return // it only keeps the API server for its workers
		}
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			fuzzEnv.err = err
			return
		}
		// Each process its own namespace, and a manager that reconciles only that one.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fuzz-"}}
		if err := c.Create(context.Background(), ns); err != nil {
			fuzzEnv.err = err
			return
		}
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
			Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns.Name: {}}}})
		if err != nil {
			fuzzEnv.err = err
			return
		}
		kinds := []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := SetupIndexes(ctx, mgr, kinds); err != nil {
			fuzzEnv.err = err
			return
		}
		m, err := metrics.New(prometheus.NewRegistry(), RegistryGauges(mgr.GetClient(), kinds)...)
		if err != nil {
			fuzzEnv.err = err
			return
		}
		egress := utils.LoopbackEgress()
		recorder := mgr.GetEventRecorder("fuzz")
		if err := (&MCPServerReconciler{Client: OperatorClient(mgr), APIReader: mgr.GetAPIReader(), Discoverer: &mcp.Client{Egress: egress},
			OAuth: &oauth.Manager{Egress: egress}, Recorder: recorder, Clock: clock.RealClock{}, MaxConcurrentReconciles: 4,
			ConsumerKinds: kinds, Metrics: m}).SetupWithManager(mgr); err != nil {
			fuzzEnv.err = err
			return
		}
		if err := (&MCPToolReconciler{Client: OperatorClient(mgr), APIReader: mgr.GetAPIReader(), ConsumerKinds: kinds, MaxConcurrentReconciles: 4,
			Recorder: recorder}).SetupWithManager(mgr); err != nil {
			fuzzEnv.err = err
			return
		}
		go func() { _ = mgr.Start(ctx) }()
		server, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Name: "fuzz", Tools: mcpserver.GeneratedTools(3), Prompts: 2})
		if err != nil {
			fuzzEnv.err = err
			return
		}
		t.Cleanup(func() { _ = server.Close() })
		fuzzEnv.client, fuzzEnv.ns, fuzzEnv.mcpURL = c, ns.Name, server.URL()
	})
	if fuzzEnv.err != nil {
		t.Fatal(fuzzEnv.err)
	}
}

// reconcilePanics reads controller-runtime's count of recovered reconcile panics.
func reconcilePanics(t testing.TB) float64 {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == "controller_runtime_reconcile_panics_total" {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// FuzzServerSpecThroughAdmission pushes random MCPServer specs through the real API server's
// admission; whatever is accepted is reconciled and then deleted. Nothing may panic, and the
// delete always completes.
func FuzzServerSpecThroughAdmission(f *testing.F) {
	if _, err := utils.BinaryAssetsDir(); err != nil {
		f.Skip(err)
	}
	f.Add("", "StreamableHTTP", "30s", "5s", "*", "alias", false, "Delete", "None", "", "")
	f.Add("http://127.0.0.1:1/mcp", "SSE", "10s", "1s", "tool_00[0-1]", "a.b", true, "Orphan", "Bearer", "tok", "")
	f.Add("https://mcp.example.com/mcp", "", "1h", "5m", "[", "", false, "", "OAuth2", "", "https://auth.example.com")
	f.Add("ftp://x", "WebSocket", "hourly", "-1s", "", "bad alias!", false, "Retain", "Basic", "My_Secret", "http://auth.example.com")
	f.Add("", "StreamableHTTP", "24h", "5m", "prompt-*", "p", false, "Delete", "OAuth2", "client", "http://127.0.0.1:9/")
	startFuzzEnv(f) // one API server and manager for every input, stopped with the fuzz target
	f.Fuzz(func(t *testing.T, url, transport, interval, timeout, pattern, alias string, suspend bool, policy, authType, secret, issuer string) {
		before := reconcilePanics(t)
		fuzzEnv.mu.Lock()
		fuzzEnv.counter++
		name := fmt.Sprintf("fuzz-%d", fuzzEnv.counter)
		fuzzEnv.mu.Unlock()
		if url == "" {
			url = fuzzEnv.mcpURL
		}
		spec := map[string]any{"url": url, "transport": transport, "syncInterval": interval, "timeout": timeout,
			"suspend": suspend, "deletionPolicy": policy,
			"tools":   map[string]any{"include": []any{pattern}, "overrides": []any{map[string]any{"name": "tool_000", "alias": alias}}},
			"prompts": map[string]any{"exclude": []any{pattern}},
		}
		auth := map[string]any{"type": authType}
		switch authType {
		case "Bearer":
			auth["bearer"] = map[string]any{"secretRef": map[string]any{"name": secret, "key": "token"}}
		case "OAuth2":
			auth["oauth2"] = map[string]any{"clientSecretRef": map[string]any{"name": secret}, "issuerURL": issuer}
		}
		spec["auth"] = auth
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "mcp.toolregistry.io/v1alpha1", "kind": "MCPServer",
			"metadata": map[string]any{"name": name, "namespace": fuzzEnv.ns}, "spec": spec,
		}}
		ctx := context.Background()
		if err := fuzzEnv.client.Create(ctx, obj); err != nil {
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
				return // refused at admission, with a message: fine
			}
			t.Fatalf("create: %v", err)
		}
		// Let it reconcile (the finalizer shows the operator took it), then delete it.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if err := fuzzEnv.client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				t.Fatal(err)
			}
			if len(obj.GetFinalizers()) > 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := fuzzEnv.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			err := fuzzEnv.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("MCPServer %s is not gone 30 s after its delete: finalizers %v, status %v", name, obj.GetFinalizers(), obj.Object["status"])
			}
			time.Sleep(50 * time.Millisecond)
		}
		if after := reconcilePanics(t); after != before {
			t.Fatalf("%v reconcile panics with spec %v", after-before, spec)
		}
	})
}
