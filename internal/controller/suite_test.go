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
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// The controllers run in a real manager against envtest's kube-apiserver, and talk MCP to the
// in-repo test server over loopback: the whole path from an MCP answer to an MCPTool is exercised.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	// testRegistry holds the operator's metrics, for assertions.
	testRegistry *prometheus.Registry
	// managerCache is the manager's informer cache, which the MCP Registry API reads.
	managerCache cache.Cache
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(mcpv1alpha1.AddToScheme(scheme)).To(Succeed())

	assets, err := utils.BinaryAssetsDir()
	Expect(err).NotTo(HaveOccurred())
	crds, err := utils.CRDDir()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The controllers run behind the API server gate, as in the manager.
	probe, err := apigate.ReadyzProbe(cfg)
	Expect(err).NotTo(HaveOccurred())
	gate := apigate.New(probe, apigate.Options{Log: logf.Log.WithName("apiserver")})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{NewInformer: gate.NewInformer},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(gate)).To(Succeed())
	managerCache = mgr.GetCache()
	consumerKinds := []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "batch", Version: "v1", Kind: "Job"},
	}
	Expect(SetupIndexes(ctx, mgr, consumerKinds)).To(Succeed())
	testRegistry = prometheus.NewRegistry()
	operatorMetrics, err := metrics.New(testRegistry, RegistryGauges(mgr.GetClient(), consumerKinds)...)
	Expect(err).NotTo(HaveOccurred())
	Expect((&MCPServerReconciler{
		Client:                  OperatorClient(mgr),
		APIReader:               mgr.GetAPIReader(),
		Discoverer:              &mcp.Client{Egress: utils.LoopbackEgress(), Version: "test"},
		OAuth:                   &oauth.Manager{Egress: utils.LoopbackEgress(), Clock: clock.RealClock{}},
		Recorder:                mgr.GetEventRecorder("mcp-registry-operator"),
		Clock:                   clock.RealClock{},
		MaxConcurrentReconciles: 4,
		ConsumerKinds:           consumerKinds,
		Metrics:                 operatorMetrics,
		Gate:                    gate,
	}).SetupWithManager(mgr)).To(Succeed())
	for _, gvk := range consumerKinds {
		Expect((&ConsumerReconciler{Client: OperatorClient(mgr), Recorder: mgr.GetEventRecorder("mcp-registry-operator"), Kind: gvk, Gate: gate}).
			SetupWithManager(mgr)).To(Succeed())
	}
	Expect((&MCPToolReconciler{Client: OperatorClient(mgr), APIReader: mgr.GetAPIReader(), ConsumerKinds: consumerKinds, MaxConcurrentReconciles: 16, Gate: gate,
		Recorder: mgr.GetEventRecorder("mcp-registry-operator")}).SetupWithManager(mgr)).To(Succeed())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})
