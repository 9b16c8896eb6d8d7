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

// Command manager runs the mcp-registry-operator controllers.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
)

// options are the manager's command-line flags.
type options struct {
	metricsAddr          string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	secureMetrics        bool
	enableHTTP2          bool
	probeAddr            string
	enableLeaderElection bool
	consumerResources    string
	zap                  zap.Options
}

func (o *options) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served over HTTPS and requires an authenticated, authorized client. "+
			"Use --metrics-secure=false to serve plain HTTP.")
	fs.StringVar(&o.metricsCertPath, "metrics-cert-path", "",
		"The directory holding the metrics server's certificate (e.g. a mounted cert-manager Secret). "+
			"Empty: the manager serves a self-signed certificate.")
	fs.StringVar(&o.metricsCertName, "metrics-cert-name", "tls.crt", "The certificate file name in --metrics-cert-path.")
	fs.StringVar(&o.metricsCertKey, "metrics-cert-key", "tls.key", "The key file name in --metrics-cert-path.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 is enabled for the metrics server (off by default: HTTP/2 Rapid Reset mitigations).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.StringVar(&o.consumerResources, "consumer-resources", consumers.DefaultResources,
		"Comma-separated resources, as <plural>.<group> (or <plural> for the core group), whose objects may "+
			"reference MCP tools with the "+mcpv1alpha1.ToolsAnnotation+" annotation. They are watched metadata-only; "+
			"the manager needs get, list and watch on each.")
	o.zap = zap.Options{Development: false}
	o.zap.BindFlags(fs)
}

func main() {
	var opts options
	opts.bindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.zap)))

	if err := run(opts); err != nil {
		ctrl.Log.WithName("setup").Error(err, "Manager failed")
		os.Exit(1)
	}
}

func run(opts options) error {
	log := ctrl.Log.WithName("setup")

	// Validate flags before contacting anything, so a typo fails fast with a clear message.
	consumerResources, err := consumers.ParseResources(opts.consumerResources)
	if err != nil {
		return fmt.Errorf("invalid --consumer-resources: %w", err)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mcpv1alpha1.AddToScheme(scheme))

	var tlsOpts []func(*tls.Config)
	var certWatcher *certwatcher.CertWatcher
	if !opts.enableHTTP2 {
		// HTTP/2 stays off unless asked for: it exposes the metrics server to the HTTP/2 Stream
		// Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOptions := metricsserver.Options{
		BindAddress:   opts.metricsAddr,
		SecureServing: opts.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if opts.secureMetrics {
		// Only authenticated clients allowed to GET /metrics (config/rbac/metrics_reader_role.yaml)
		// may scrape; the manager checks with TokenReview and SubjectAccessReview.
		metricsOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	if opts.metricsCertPath != "" {
		// Reload the certificate when it is renewed, without a restart.
		watcher, err := certwatcher.New(
			filepath.Join(opts.metricsCertPath, opts.metricsCertName),
			filepath.Join(opts.metricsCertPath, opts.metricsCertKey))
		if err != nil {
			return fmt.Errorf("cannot load the metrics certificate from --metrics-cert-path %s: %w", opts.metricsCertPath, err)
		}
		metricsOptions.TLSOpts = append(metricsOptions.TLSOpts, func(c *tls.Config) {
			c.GetCertificate = watcher.GetCertificate
		})
		certWatcher = watcher
	}

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("cannot load a kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions,
		HealthProbeBindAddress: opts.probeAddr,
		LeaderElection:         opts.enableLeaderElection,
		LeaderElectionID:       "mcp-registry-operator.toolregistry.io",
		// The process exits as soon as the manager stops, so stepping down at once is safe and
		// lets a new leader take over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("cannot create the manager: %w", err)
	}

	if certWatcher != nil {
		if err := mgr.Add(certWatcher); err != nil {
			return fmt.Errorf("cannot watch the metrics certificate: %w", err)
		}
	}

	consumerKinds, err := consumers.ResolveKinds(mgr.GetRESTMapper(), consumerResources)
	if err != nil {
		return fmt.Errorf("invalid --consumer-resources: %w", err)
	}
	log.Info("Consumer kinds", "kinds", fmt.Sprint(consumerKinds))

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("cannot set up the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("cannot set up the ready check: %w", err)
	}

	log.Info("Starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("manager stopped: %w", err)
	}
	return nil
}
