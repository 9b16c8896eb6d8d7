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
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/controller"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/livesync"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
)

// version is the manager's version, reported to MCP servers; set with -ldflags "-X main.version=...".
var version = "dev"

// options are the manager's command-line flags.
type options struct {
	metricsAddr          string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	secureMetrics        bool
	enableHTTP2          bool
	probeAddr            string
	pprofAddr            string
	enableLeaderElection bool
	leaderElectionNS     string
	leaseDuration        time.Duration
	renewDeadline        time.Duration
	retryPeriod          time.Duration
	consumerResources    string
	maxToolsPerServer    int
	maxConcurrentSyncs   int
	maxConcurrentTools   int
	endpointDeny         string
	endpointAllow        string
	maxRequestsPerHost   int
	maxLiveStreams       int
	registryAddr         string
	registryAuth         string
	registryNamePrefix   string
	registryCertPath     string
	registryCertName     string
	registryCertKey      string
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
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"The address Go's profiles (/debug/pprof/) are served on, e.g. 127.0.0.1:6060, or 0 to serve none. Unauthenticated: keep it on loopback.")
	fs.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.StringVar(&o.leaderElectionNS, "leader-elect-namespace", "",
		"The namespace of the leader election Lease. Empty: the manager's own namespace, which only a manager running "+
			"in a Pod has; set it when running outside the cluster with --leader-elect.")
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby waits, after the leader stops renewing (for example because it was killed), before taking over.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps retrying to renew its lease before it stops leading. Must be less than the lease duration.")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often candidates try to acquire or renew the lease. Must be less than the renew deadline.")
	fs.StringVar(&o.consumerResources, "consumer-resources", consumers.DefaultResources,
		"Comma-separated resources, as <plural>.<group> (or <plural> for the core group), whose objects may "+
			"reference MCP tools with the "+mcpv1alpha1.ToolsAnnotation+" annotation. They are watched metadata-only; "+
			"the manager needs get, list and watch on each.")
	fs.IntVar(&o.maxToolsPerServer, "max-tools-per-server", mcp.DefaultLimits.MaxTools,
		"The most tools an MCP server may offer. A server offering more fails to sync (its MCPTools are kept) "+
			"with a message naming this flag.")
	fs.IntVar(&o.maxConcurrentSyncs, "max-concurrent-syncs", 4,
		"How many MCPServers are synced at once. Each sync may wait up to the server's spec.timeout per call.")
	fs.IntVar(&o.maxConcurrentTools, "max-concurrent-tool-reconciles", 16,
		"How many MCPTools are reconciled at once. Deleting a server releases every tool's finalizer, so this sets "+
			"how fast a large server is deleted.")
	fs.StringVar(&o.endpointDeny, "endpoint-deny-cidrs", strings.Join(egress.DefaultDenyCIDRs, ","),
		"Comma-separated CIDRs the operator never connects to (MCP endpoints, and every address their names resolve to or "+
			"they redirect to), checked at dial time. Replaces the default list: loopback, unspecified, link-local and cloud metadata addresses.")
	fs.StringVar(&o.endpointAllow, "endpoint-allow-cidrs", "",
		"Comma-separated CIDRs exempted from --endpoint-deny-cidrs, e.g. 127.0.0.0/8 for a local MCP server in development.")
	fs.IntVar(&o.maxRequestsPerHost, "max-requests-per-host", egress.DefaultMaxRequestsPerHost,
		"The most requests in flight to one MCP host (host:port), across every MCPServer that names it.")
	fs.IntVar(&o.maxLiveStreams, "max-live-streams", livesync.DefaultMaxStreams,
		"The most MCP servers kept on a live notification stream at once (spec.liveSync); servers past it are polled at "+
			"their syncInterval, and say so in status.liveSyncMessage. 0 turns live sync off for the whole manager.")
	fs.StringVar(&o.registryAddr, "registry-bind-address", "0",
		"The address the MCP Registry API (GET /v0.1/servers, ...) binds to, e.g. :8082, or 0 to serve no registry. Every "+
			"replica serves it from its cache, a standby too.")
	fs.StringVar(&o.registryAuth, "registry-auth", registryapi.AuthNone,
		"Who may read the MCP Registry API: None (anyone; put an Ingress or gateway in front) or Kubernetes (a bearer token "+
			"the API server authenticates, allowed to get the non-resource URL /v0.1/*; TokenReview and SubjectAccessReview).")
	fs.StringVar(&o.registryNamePrefix, "registry-name-prefix", defaultRegistryNamePrefix,
		"The reverse-DNS prefix of the registry name of an MCPServer that sets no spec.registry.name: "+
			"<prefix>.<namespace>/<name>. Use your organisation's, e.g. com.example.")
	fs.StringVar(&o.registryCertPath, "registry-cert-path", "",
		"The directory holding the MCP Registry API's certificate (e.g. a mounted cert-manager Secret): the registry then "+
			"serves HTTPS and reloads the certificate when it changes. Empty: plain HTTP.")
	fs.StringVar(&o.registryCertName, "registry-cert-name", "tls.crt", "The certificate file name in --registry-cert-path.")
	fs.StringVar(&o.registryCertKey, "registry-cert-key", "tls.key", "The key file name in --registry-cert-path.")
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
	if opts.maxToolsPerServer < 1 || opts.maxToolsPerServer > 10000 {
		return fmt.Errorf("invalid --max-tools-per-server %d: must be between 1 and 10000", opts.maxToolsPerServer)
	}
	if opts.maxConcurrentSyncs < 1 || opts.maxConcurrentSyncs > 64 {
		return fmt.Errorf("invalid --max-concurrent-syncs %d: must be between 1 and 64", opts.maxConcurrentSyncs)
	}
	if opts.maxConcurrentTools < 1 || opts.maxConcurrentTools > 256 {
		return fmt.Errorf("invalid --max-concurrent-tool-reconciles %d: must be between 1 and 256", opts.maxConcurrentTools)
	}
	if err := validateLeaderElection(opts.leaseDuration, opts.renewDeadline, opts.retryPeriod); err != nil {
		return err
	}
	if opts.maxRequestsPerHost < 1 || opts.maxRequestsPerHost > 256 {
		return fmt.Errorf("invalid --max-requests-per-host %d: must be between 1 and 256", opts.maxRequestsPerHost)
	}
	if opts.maxLiveStreams < 0 || opts.maxLiveStreams > 100000 {
		return fmt.Errorf("invalid --max-live-streams %d: must be between 0 (off) and 100000", opts.maxLiveStreams)
	}
	if err := validateRegistry(opts); err != nil {
		return err
	}
	policy, err := egress.NewPolicy(egress.ParseList(opts.endpointDeny), egress.ParseList(opts.endpointAllow))
	if err != nil {
		return err
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
	// What outlives one manager: metrics, the API server gate, the egress (its per-host state)
	// and the leader-election identity.
	operatorMetrics, err := metrics.New(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("cannot register metrics: %w", err)
	}
	registryMetrics, err := metrics.NewRegistryAPI(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("cannot register metrics: %w", err)
	}
	liveSyncMetrics, err := metrics.NewLiveSync(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("cannot register metrics: %w", err)
	}
	gate, err := apiServerGate(restConfig, operatorMetrics)
	if err != nil {
		return err
	}
	shared := sharedParts{
		scheme: scheme, restConfig: restConfig,
		metrics: operatorMetrics, gate: gate, consumerResources: consumerResources, gauges: &gauges{},
		egress:          egress.New(policy, opts.maxRequestsPerHost, operatorMetrics.CountThrottled),
		registryMetrics: registryMetrics, liveSyncMetrics: liveSyncMetrics,
	}
	if opts.enableLeaderElection {
		if shared.lock, err = leaderLock(restConfig, opts); err != nil {
			return err
		}
	}
	log.Info("Endpoint policy", "policy", policy.String())

	ctx := ctrl.SetupSignalHandler()
	// What serves the process, not one manager: the gate's prober, the metrics and probe servers
	// and the certificate watcher outlast a manager that loses its lease and the next one.
	go func() { _ = gate.Start(ctx) }()
	if certWatcher != nil {
		go func() {
			if err := certWatcher.Start(ctx); err != nil {
				log.Error(err, "Metrics certificate watcher stopped")
			}
		}()
	}
	httpClient, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		return fmt.Errorf("cannot build an HTTP client for the API server: %w", err)
	}
	metricsServer, err := metricsserver.NewServer(metricsOptions, restConfig, httpClient)
	if err != nil {
		return fmt.Errorf("cannot create the metrics server: %w", err)
	}
	serveErrs := make(chan error, 3)
	if metricsServer != nil {
		go func() { serveErrs <- metricsServer.Start(ctx) }()
	}
	if err := serveProbes(ctx, opts.probeAddr, serveErrs); err != nil {
		return err
	}
	if err := servePprof(ctx, opts.pprofAddr, serveErrs); err != nil {
		return err
	}
	// maxSetupRetries bounds the set-up attempts of a manager standing again (about a minute).
	const maxSetupRetries = 30
	standingAgain, setupRetries := false, 0
	for {
		select {
		case err := <-serveErrs:
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("a server of the manager stopped: %w", err)
			}
		default:
		}
		fence := &controller.Fence{}
		err := runManager(ctx, opts, shared, fence)
		if ctx.Err() != nil {
			return nil // stopped by a signal, in whatever phase
		}
		var setup *setupError
		if standingAgain && errors.As(err, &setup) && setupRetries < maxSetupRetries {
			// An API server just back may refuse discovery for a moment (its caches warming):
			// keep trying, at the API server gate's pace, a bounded number of times.
			setupRetries++
			log.Info("Cannot set the manager up again yet; retrying", "error", err.Error(), "attempt", setupRetries)
			if err := shared.gate.Recheck(ctx); err != nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "leader election lost") {
			return err
		}
		standingAgain, setupRetries = true, 0
		fence.Close()
		// The next manager needs the API server from its first step (discovery, the lease).
		if err := shared.gate.Recheck(ctx); err != nil {
			return nil
		}
		// The API server was unreachable for longer than --leader-elect-renew-deadline, so this
		// manager stopped leading and stopped every controller. It stands again with the same
		// identity: unless another replica took the lease meanwhile, it takes it back at once
		// (the lease names it), instead of a restarted process waiting out the whole lease.
		log.Info("Lost the leader lease; every controller stopped. Standing for election again with the same identity",
			"identity", shared.lock.Identity())
	}
}

// sharedParts are built once per process and used by every manager it runs.
type sharedParts struct {
	scheme            *runtime.Scheme
	restConfig        *rest.Config
	metrics           *metrics.Metrics
	gate              *apigate.Gate
	egress            *egress.Egress
	consumerResources []schema.GroupResource
	lock              resourcelock.Interface
	gauges            *gauges
	registryMetrics   *metrics.RegistryAPI
	liveSyncMetrics   *metrics.LiveSync
}

// gauges are the registry gauges computed from the cache at scrape time, registered once per
// process and reading the cache of the manager that runs now.
type gauges struct {
	mu       sync.Mutex
	reader   client.Reader
	register sync.Once
}

// use points the gauges at c, registering them on the first call.
func (g *gauges) use(c client.Reader, consumerKinds []schema.GroupVersionKind) error {
	g.mu.Lock()
	g.reader = c
	g.mu.Unlock()
	var err error
	g.register.Do(func() {
		err = metrics.Register(crmetrics.Registry, controller.RegistryGauges(g, consumerKinds)...)
	})
	return err
}

func (g *gauges) current() client.Reader {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reader
}

// Get and List read the current manager's cache.
func (g *gauges) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return g.current().Get(ctx, key, obj, opts...)
}

func (g *gauges) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return g.current().List(ctx, list, opts...)
}

// serveProbes serves /healthz and /readyz on addr ("0": not at all) for the life of the process;
// a serving error goes to errs.
func serveProbes(ctx context.Context, addr string, errs chan<- error) error {
	if addr == "0" || addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	checks := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	mux.Handle("/healthz", http.StripPrefix("/healthz", checks))
	mux.Handle("/healthz/", http.StripPrefix("/healthz", checks))
	mux.Handle("/readyz", http.StripPrefix("/readyz", checks))
	mux.Handle("/readyz/", http.StripPrefix("/readyz", checks))
	return serve(ctx, "--health-probe-bind-address", addr, mux, errs)
}

// serve serves handler on addr (named by flag in errors) until ctx ends; a serving error goes to
// errs.
func serve(ctx context.Context, flag, addr string, handler http.Handler, errs chan<- error) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot serve on %s %s: %w", flag, addr, err)
	}
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- err
		}
	}()
	return nil
}

// runManager runs one manager with every controller until ctx ends or it stops leading.
func runManager(ctx context.Context, opts options, shared sharedParts, fence *controller.Fence) error {
	// mgrCtx ends with this manager, whether it stops or could not be set up.
	mgrCtx, done := context.WithCancel(ctx)
	defer done()
	mgr, err := setUpManager(mgrCtx, opts, shared, fence)
	if err != nil {
		return &setupError{err}
	}
	ctrl.Log.WithName("setup").Info("Starting manager")
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager stopped: %w", err)
	}
	return nil
}

// setupError is a manager that could not be set up (as opposed to one that stopped).
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// setUpManager builds a manager with every controller.
func setUpManager(mgrCtx context.Context, opts options, shared sharedParts, fence *controller.Fence) (ctrl.Manager, error) {
	log := ctrl.Log.WithName("setup")
	mgr, err := newManager(mgrCtx, shared.restConfig, ctrl.Options{
		Scheme: shared.scheme,
		// Informers list and watch through the gate: after an outage they resume the moment the
		// API server answers, not after the reflector's own backoff.
		// Cached objects lose managedFields' field sets and kubectl's last-applied copy, which no
		// controller reads (controller.TrimForCache).
		Cache: cache.Options{NewInformer: shared.gate.NewInformer, DefaultTransform: controller.TrimForCache},
		// The process serves metrics and probes itself, across managers.
		Metrics:                             metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:              "0",
		LeaderElection:                      opts.enableLeaderElection,
		LeaderElectionID:                    leaderElectionID,
		LeaderElectionResourceLockInterface: shared.lock,
		LeaseDuration:                       &opts.leaseDuration,
		RenewDeadline:                       &opts.renewDeadline,
		RetryPeriod:                         &opts.retryPeriod,
		// On a signal the process exits as soon as the manager stops, so stepping down at once
		// is safe and lets a new leader take over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create the manager: %w", err)
	}

	consumerKinds, err := consumers.ResolveKinds(mgr.GetRESTMapper(), shared.consumerResources)
	if err != nil {
		return nil, fmt.Errorf("invalid --consumer-resources: %w", err)
	}
	log.Info("Consumer kinds", "kinds", fmt.Sprint(consumerKinds))

	if err := controller.SetupIndexes(mgrCtx, mgr, consumerKinds); err != nil {
		return nil, err
	}
	// The gauges are registered once per process and read the current manager's cache.
	if err := shared.gauges.use(mgr.GetClient(), consumerKinds); err != nil {
		return nil, fmt.Errorf("cannot register metrics: %w", err)
	}
	limits := mcp.DefaultLimits
	limits.MaxTools = opts.maxToolsPerServer
	if err := (&controller.MCPServerReconciler{
		Client:                  controller.OperatorClient(mgr),
		APIReader:               mgr.GetAPIReader(),
		Discoverer:              &mcp.Client{Egress: shared.egress, Limits: limits, Version: version},
		OAuth:                   &oauth.Manager{Egress: shared.egress, Clock: clock.RealClock{}},
		Recorder:                mgr.GetEventRecorder("mcp-registry-operator"),
		Clock:                   clock.RealClock{},
		MaxConcurrentReconciles: opts.maxConcurrentSyncs,
		ConsumerKinds:           consumerKinds,
		Metrics:                 shared.metrics,
		Gate:                    shared.gate,
		Fence:                   fence,
		// One per manager: its streams run while this manager leads, and close with it.
		LiveSync: livesync.New(livesync.Options{
			Egress: shared.egress, MaxStreams: opts.maxLiveStreams, Version: version, Log: ctrl.Log.WithName("livesync"),
			Metrics: shared.liveSyncMetrics,
		}),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("cannot set up the MCPServer controller: %w", err)
	}
	if err := (&controller.MCPToolReconciler{
		Client: controller.OperatorClient(mgr), APIReader: mgr.GetAPIReader(), ConsumerKinds: consumerKinds,
		MaxConcurrentReconciles: opts.maxConcurrentTools, Gate: shared.gate, Fence: fence, Recorder: mgr.GetEventRecorder("mcp-registry-operator"),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("cannot set up the MCPTool controller: %w", err)
	}

	for _, gvk := range consumerKinds {
		if err := (&controller.ConsumerReconciler{
			Client: controller.OperatorClient(mgr), Recorder: mgr.GetEventRecorder("mcp-registry-operator"), Kind: gvk, Gate: shared.gate, Fence: fence,
		}).SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("cannot set up the %s consumer controller: %w", gvk.Kind, err)
		}
	}

	if err := addRegistryAPI(mgr, opts, shared); err != nil {
		return nil, err
	}
	return mgr, nil
}

// newManager is ctrl.NewManager, retried for up to 30 s while its ports are still held by the
// manager that stopped before it (a manager that lost its lease does not wait for its HTTP
// servers to close).
func newManager(ctx context.Context, cfg *rest.Config, o ctrl.Options) (ctrl.Manager, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		mgr, err := ctrl.NewManager(cfg, o)
		inUse := err != nil && (errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use"))
		if !inUse || time.Now().After(deadline) {
			return mgr, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// leaderElectionID names the leader-election Lease.
const leaderElectionID = "mcp-registry-operator.toolregistry.io"

// leaderLock is the Lease lock of this process, with one identity for its whole life (host name
// and a random suffix), so that a manager started again after losing the lease can take it back.
func leaderLock(cfg *rest.Config, opts options) (resourcelock.Interface, error) {
	namespace := opts.leaderElectionNS
	if namespace == "" {
		data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		if err != nil {
			return nil, errors.New("--leader-elect needs --leader-elect-namespace when not running in a Pod")
		}
		namespace = strings.TrimSpace(string(data))
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg = rest.AddUserAgent(cfg, "leader-election")
	// A hung request must not outlast the renew deadline (as controller-runtime does).
	cfg.Timeout = max(opts.renewDeadline/2, time.Second)
	coreClient, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coordinationClient, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, namespace, leaderElectionID, coreClient, coordinationClient,
		resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
}

// apiServerGate is the gate every reconcile and informer waits at while the API server cannot be
// reached, reporting to the operator's metrics.
func apiServerGate(cfg *rest.Config, m *metrics.Metrics) (*apigate.Gate, error) {
	probe, err := apigate.ReadyzProbe(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot build the API server probe: %w", err)
	}
	return apigate.New(probe, apigate.Options{Log: ctrl.Log.WithName("apiserver"), OnChange: m.SetAPIServerUnreachable}), nil
}

// validateLeaderElection checks the lease timings the way client-go's leader election does, so a
// bad combination fails at start with the flag names rather than inside the elector.
func validateLeaderElection(lease, renew, retry time.Duration) error {
	switch {
	case retry <= 0:
		return fmt.Errorf("invalid --leader-elect-retry-period %s: must be positive", retry)
	case float64(renew) <= leaderelection.JitterFactor*float64(retry):
		return fmt.Errorf("invalid --leader-elect-renew-deadline %s: must be greater than %.1f times --leader-elect-retry-period %s",
			renew, leaderelection.JitterFactor, retry)
	case lease <= renew:
		return fmt.Errorf("invalid --leader-elect-lease-duration %s: must be greater than --leader-elect-renew-deadline %s", lease, renew)
	}
	return nil
}
